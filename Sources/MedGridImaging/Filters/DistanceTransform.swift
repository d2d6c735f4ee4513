import Foundation
import MedGridCore

/// Exact Euclidean distance transforms in physical units (millimetres), with anisotropic spacing.
///
/// Definition: for every voxel `p` the value is `min over foreground voxels q of ‖S (p − q)‖` where
/// `S = diag(spacing)` (distances between voxel centres, in index space scaled by the spacing; for an
/// orthonormal `direction` this is the physical distance). Foreground is a voxel with value `> 0` (the
/// convention of ``OverlapMetrics``). Foreground voxels get 0. With no foreground at all every value is `+∞`.
///
/// Algorithm: separable exact transform — a two-sweep 1-D nearest-feature scan along x, then the
/// Felzenszwalb–Huttenlocher lower envelope of parabolas along y and then z, all in `Double`. Each pass is
/// parallel over lines with `DispatchQueue.concurrentPerform`; every line is computed by the same code
/// whatever the thread that runs it, so the result is bitwise identical for any number of threads.
/// Scratch memory is allocated once per work chunk, never per voxel.
///
/// Relation to scipy: `scipy.ndimage.distance_transform_edt(a, sampling=s)` gives, for every *non-zero*
/// element of `a`, the distance to the nearest *zero* element. So our `euclidean(toForegroundOf: m)` equals
/// `distance_transform_edt(m == 0, sampling=(sx, sy, sz))` on an array indexed `[x, y, z]` (or with the
/// sampling reversed on a `[z, y, x]` array); the reference tests check this to 1e-9 mm.
public enum DistanceTransform {
    /// Squared distance (mm²) from every voxel to the nearest foreground voxel (value `> 0`); see the type's
    /// documentation. `+∞` everywhere when there is no foreground.
    public static func squaredEuclidean(toForegroundOf volume: Volume) throws -> [Double] {
        try checkVolume(volume)
        return squaredEuclidean(foreground: volume.voxels, size: volume.size, spacing: volume.spacing) { $0 > 0 }
    }

    /// Distance (mm) from every voxel to the nearest foreground voxel (value `> 0`), `+∞` when there is none.
    /// Equals `scipy.ndimage.distance_transform_edt(mask == 0, sampling=spacing)`.
    public static func euclidean(toForegroundOf volume: Volume) throws -> [Double] {
        var d = try squaredEuclidean(toForegroundOf: volume)
        squareRootInPlace(&d)
        return d
    }

    /// Squared distance (mm²) from every voxel to the nearest `true` element of `mask` (x fastest, then y, then z).
    /// Throws when `mask.count` is not `size.x * size.y * size.z` or the size or spacing is not positive and finite.
    public static func squaredEuclidean(
        toForegroundOf mask: [Bool], size: SIMD3<Int>, spacing: SIMD3<Double>
    ) throws -> [Double] {
        try checkGeometry(size: size, spacing: spacing, count: mask.count, what: "mask")
        return squaredEuclidean(foreground: mask, size: size, spacing: spacing) { $0 }
    }

    /// Distance (mm) from every voxel to the nearest `true` element of `mask` (x fastest), `+∞` when none is true.
    public static func euclidean(
        toForegroundOf mask: [Bool], size: SIMD3<Int>, spacing: SIMD3<Double>
    ) throws -> [Double] {
        var d = try squaredEuclidean(toForegroundOf: mask, size: size, spacing: spacing)
        squareRootInPlace(&d)
        return d
    }

    /// The distance map as a float32 ``Volume`` with the input's geometry (values rounded to `Float`; use
    /// ``euclidean(toForegroundOf:)-(Volume)`` for full precision).
    public static func distanceMap(toForegroundOf volume: Volume) throws -> Volume {
        let d = try euclidean(toForegroundOf: volume)
        var out = volume
        out.voxels = d.map { Float($0) }
        out.storedType = .float32
        return out
    }

    /// Signed distance (mm) in the convention of SimpleITK's `SignedMaurerDistanceMap` with
    /// `insideIsPositive=False, squaredDistance=False, useImageSpacing=True` (its defaults apart from spacing):
    ///
    /// - outside the object (value `<= 0`): `+` the distance to the nearest foreground voxel;
    /// - inside (value `> 0`): `−` the distance to the nearest *contour* voxel, a foreground voxel that has a
    ///   background voxel among its 26 neighbours inside the image (the image border does not make a contour).
    ///   Contour voxels therefore get 0 (SimpleITK prints `-0`).
    ///
    /// With no foreground the map is `+∞` everywhere; with no contour (all foreground) it is `−∞` inside.
    /// SimpleITK returns float32, so it agrees to about 1e-6 relative; the tests check that.
    public static func signedEuclidean(_ volume: Volume) throws -> [Double] {
        try checkVolume(volume)
        let size = volume.size
        let nx = size.x, ny = size.y, nz = size.z
        var contour = [Bool](repeating: false, count: volume.voxelCount)
        volume.voxels.withUnsafeBufferPointer { v in
            contour.withUnsafeMutableBufferPointer { c in
                let cp = UncheckedSendable(c.baseAddress!)
                let vp = UncheckedSendable(UnsafeMutablePointer(mutating: v.baseAddress!))
                DispatchQueue.concurrentPerform(iterations: nz) { z in
                    for y in 0..<ny {
                        for x in 0..<nx {
                            let i = x + nx * (y + ny * z)
                            guard vp.value[i] > 0 else { continue }
                            var edge = false
                            search: for dz in -1...1 {
                                let zz = z + dz
                                if zz < 0 || zz >= nz { continue }
                                for dy in -1...1 {
                                    let yy = y + dy
                                    if yy < 0 || yy >= ny { continue }
                                    for dx in -1...1 {
                                        let xx = x + dx
                                        if xx < 0 || xx >= nx { continue }
                                        if !(vp.value[xx + nx * (yy + ny * zz)] > 0) { edge = true; break search }
                                    }
                                }
                            }
                            cp.value[i] = edge
                        }
                    }
                }
            }
        }
        var outside = squaredEuclidean(foreground: volume.voxels, size: size, spacing: volume.spacing) { $0 > 0 }
        let inside = squaredEuclidean(foreground: contour, size: size, spacing: volume.spacing) { $0 }
        volume.voxels.withUnsafeBufferPointer { v in
            outside.withUnsafeMutableBufferPointer { o in
                inside.withUnsafeBufferPointer { ins in
                    for i in 0..<o.count {
                        o[i] = v[i] > 0 ? -ins[i].squareRoot() : o[i].squareRoot()
                    }
                }
            }
        }
        return outside
    }

    // MARK: - Core

    /// Squared EDT of the feature set `isFeature(values[i])`; geometry already validated.
    static func squaredEuclidean<T>(
        foreground values: [T], size: SIMD3<Int>, spacing: SIMD3<Double>, parallelism: Int? = nil,
        isFeature: (T) -> Bool
    ) -> [Double] {
        var d = [Double](repeating: .infinity, count: values.count)
        values.withUnsafeBufferPointer { v in
            d.withUnsafeMutableBufferPointer { out in
                for i in 0..<v.count where isFeature(v[i]) { out[i] = 0 }
            }
        }
        d.withUnsafeMutableBufferPointer { buf in
            squaredInPlace(buf, size: size, spacing: spacing, parallelism: parallelism)
        }
        return d
    }

    /// In-place squared EDT: on entry `f` holds 0 at features and `+∞` elsewhere; on exit the squared
    /// distance to the nearest feature. `parallelism` fixes the number of work chunks (default: a multiple of
    /// the core count); it never changes the result.
    static func squaredInPlace(
        _ f: UnsafeMutableBufferPointer<Double>, size: SIMD3<Int>, spacing: SIMD3<Double>, parallelism: Int? = nil
    ) {
        let nx = size.x, ny = size.y, nz = size.z
        guard nx > 0, ny > 0, nz > 0, f.count == nx * ny * nz else { return }
        let chunksWanted = max(1, parallelism ?? ProcessInfo.processInfo.activeProcessorCount * 4)
        let base = UncheckedSendable(f.baseAddress!)

        // Pass 1: along x, lines are contiguous; 1-D distance to the nearest feature by two sweeps.
        let wx = spacing.x
        let linesX = ny * nz
        parallelChunks(count: linesX, chunks: chunksWanted) { range in
            let p = base.value
            for line in range {
                let row = p + line * nx
                var last = -1
                for i in 0..<nx {
                    if row[i] == 0 { last = i } else if last >= 0 {
                        let d = Double(i - last) * wx
                        row[i] = d * d
                    }
                }
                last = -1
                var i = nx - 1
                while i >= 0 {
                    if row[i] == 0 { last = i } else if last >= 0 {
                        let d = Double(last - i) * wx
                        let dd = d * d
                        if dd < row[i] { row[i] = dd }
                    }
                    i -= 1
                }
            }
        }
        // Pass 2: along y (stride nx), groups of consecutive x in one z-slice.
        if ny > 1 {
            let groupsPerRow = (nx + tileWidth - 1) / tileWidth
            parallelChunks(count: groupsPerRow * nz, chunks: chunksWanted) { range in
                var scratch = EnvelopeScratch(length: ny)
                for g in range {
                    let z = g / groupsPerRow, x0 = (g % groupsPerRow) * tileWidth
                    let width = min(tileWidth, nx - x0)
                    scratch.transform(
                        base.value + x0 + nx * ny * z, stride: nx, length: ny, width: width, spacing: spacing.y)
                }
            }
        }
        // Pass 3: along z (stride nx*ny), groups of consecutive voxels of the xy-plane.
        if nz > 1 {
            let plane = nx * ny
            let groups = (plane + tileWidth - 1) / tileWidth
            parallelChunks(count: groups, chunks: chunksWanted) { range in
                var scratch = EnvelopeScratch(length: nz)
                for g in range {
                    let s = g * tileWidth
                    scratch.transform(
                        base.value + s, stride: plane, length: nz, width: min(tileWidth, plane - s), spacing: spacing.z)
                }
            }
        }
    }

    /// Lines processed together in the strided passes (one cache line of doubles or more per row read).
    static let tileWidth = 16

    /// Runs `body` over `count` items split into at most `chunks` fixed contiguous ranges.
    static func parallelChunks(count: Int, chunks: Int, _ body: @Sendable (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let n = min(chunks, count)
        if n == 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: n) { c in
            body((count * c / n)..<(count * (c + 1) / n))
        }
    }

    static func squareRootInPlace(_ d: inout [Double]) {
        d.withUnsafeMutableBufferPointer { b in
            for i in 0..<b.count { b[i] = b[i].squareRoot() }
        }
    }

    static func checkVolume(_ v: Volume) throws {
        try checkGeometry(size: v.size, spacing: v.spacing, count: v.voxels.count, what: "volume voxels")
    }

    static func checkGeometry(size: SIMD3<Int>, spacing: SIMD3<Double>, count: Int, what: String) throws {
        guard size.x > 0, size.y > 0, size.z > 0 else {
            throw MedGridError(.invalidInput, "size \(size.x)x\(size.y)x\(size.z): every dimension must be positive")
        }
        let (xy, o1) = size.x.multipliedReportingOverflow(by: size.y)
        let (n, o2) = xy.multipliedReportingOverflow(by: size.z)
        guard !o1, !o2, count == n else {
            throw MedGridError(
                .invalidInput, "\(what): \(count) values for size \(size.x)x\(size.y)x\(size.z) (expected the product)")
        }
        for (axis, s) in [("x", spacing.x), ("y", spacing.y), ("z", spacing.z)] where !(s.isFinite && s > 0) {
            throw MedGridError(.invalidInput, "spacing.\(axis) is \(s) mm; expected a positive finite number")
        }
    }
}

/// Scratch buffers for the Felzenszwalb–Huttenlocher lower envelope of one tile of parallel lines.
struct EnvelopeScratch {
    var tile: [Double]
    var line: [Double]
    var vertices: [Int]
    var bounds: [Double]

    init(length: Int) {
        tile = [Double](repeating: 0, count: length * DistanceTransform.tileWidth)
        line = [Double](repeating: 0, count: length)
        vertices = [Int](repeating: 0, count: length)
        bounds = [Double](repeating: 0, count: length + 1)
    }

    /// Transforms `width` lines starting at `start`, `start + 1`, …, each with `length` elements `stride` apart.
    mutating func transform(
        _ start: UnsafeMutablePointer<Double>, stride: Int, length n: Int, width: Int, spacing w: Double
    ) {
        tile.withUnsafeMutableBufferPointer { t in
            line.withUnsafeMutableBufferPointer { out in
                vertices.withUnsafeMutableBufferPointer { v in
                    bounds.withUnsafeMutableBufferPointer { z in
                        let tp = t.baseAddress!
                        // gather: tile[j * n + i] = line j, element i (rows of `width` contiguous values)
                        for i in 0..<n {
                            let row = start + i * stride
                            for j in 0..<width { tp[j * n + i] = row[j] }
                        }
                        for j in 0..<width {
                            let f = tp + j * n
                            Self.envelope(f, out.baseAddress!, n, w, v.baseAddress!, z.baseAddress!)
                            for i in 0..<n { f[i] = out[i] }
                        }
                        for i in 0..<n {
                            let row = start + i * stride
                            for j in 0..<width { row[j] = tp[j * n + i] }
                        }
                    }
                }
            }
        }
    }

    /// `out[p] = min_q f[q] + (w (p − q))²` over the finite `f[q]`; `+∞` when there is none.
    @inline(__always)
    static func envelope(
        _ f: UnsafeMutablePointer<Double>, _ out: UnsafeMutablePointer<Double>, _ n: Int, _ w: Double,
        _ v: UnsafeMutablePointer<Int>, _ z: UnsafeMutablePointer<Double>
    ) {
        var k = -1
        for q in 0..<n {
            let fq = f[q]
            if fq == .infinity { continue }
            let xq = Double(q) * w
            let gq = fq + xq * xq
            if k < 0 {
                k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity
                continue
            }
            var s: Double
            while true {
                let vk = v[k]
                let xv = Double(vk) * w
                s = (gq - (f[vk] + xv * xv)) / (2 * (xq - xv))
                if s <= z[k] { k -= 1 } else { break }
            }
            k += 1
            v[k] = q; z[k] = s; z[k + 1] = .infinity
        }
        if k < 0 {
            for p in 0..<n { out[p] = .infinity }
            return
        }
        k = 0
        for p in 0..<n {
            let xp = Double(p) * w
            while z[k + 1] < xp { k += 1 }
            let vk = v[k]
            let d = Double(p - vk) * w
            out[p] = d * d + f[vk]
        }
    }
}

import Foundation
import MedGridCore

/// What binary erosion assumes lies beyond the image's edges (dilation always assumes background).
public enum MorphologyBorder: String, Sendable, CaseIterable {
    /// Outside is background, so erosion eats foreground that touches the edge:
    /// `scipy.ndimage.binary_erosion(border_value=0)` (scipy's default).
    case background
    /// Outside is foreground, so the edge does not erode: `scipy.ndimage.binary_erosion(border_value=1)`,
    /// ITK `BinaryErodeImageFilter` with `BoundaryToForeground` on (SimpleITK's default).
    case foreground
}

/// A ball of radius `radiusMM` millimetres sampled on a voxel grid — an ellipsoid in voxels when the
/// spacing is anisotropic.
///
/// Definition: the voxel offset `(dx, dy, dz)` belongs to the element when
/// `(dx·sx)² + (dy·sy)² + (dz·sz)² ≤ radiusMM²`, evaluated in Double exactly in that order (numpy's
/// `(dx*sx)**2 + (dy*sy)**2 + (dz*sz)**2 <= r**2` gives the same set). The element is symmetric and always
/// contains the centre. SimpleITK's `sitkBall` kernel of voxel radius `(kx, ky, kz)` is the set
/// `Σ (d_i / (k_i + 0.5))² ≤ 1`, which is this element with `radiusMM = 1` and spacing `1 / (k + 0.5)`
/// (for an isotropic radius `k` on spacing `s`: `radiusMM = (k + 0.5)·s`).
public struct BallStructuringElement: Sendable, Equatable {
    /// One x-run of the element: offsets `(dx, dy, dz)` for `|dx| ≤ halfWidth`.
    public struct Run: Sendable, Equatable {
        public var dy: Int
        public var dz: Int
        public var halfWidth: Int
    }

    /// The radius in millimetres.
    public let radiusMM: Double
    /// The voxel spacing (mm) the ball is sampled on.
    public let spacing: SIMD3<Double>
    /// The element as x-runs, one per `(dy, dz)` it contains.
    public let runs: [Run]

    /// The ball of `radiusMM` on a grid of `spacing`.
    ///
    /// - Throws: `MedGridError(.invalidInput)` if the radius is negative or not finite, a spacing is not finite
    ///   and positive, or the ball would reach more than 1000 voxels from its centre along an axis.
    public init(radiusMM: Double, spacing: SIMD3<Double>) throws {
        try self.init(radiusMM: radiusMM, spacing: spacing, cap: SIMD3(repeating: 1000), limit: true)
    }

    /// With `limit` false, reaches beyond `cap` are silently cut to `cap` (the filters use the image size,
    /// beyond which a longer reach changes nothing).
    init(radiusMM: Double, spacing: SIMD3<Double>, cap: SIMD3<Int>, limit: Bool) throws {
        let names = ["x", "y", "z"]
        guard radiusMM.isFinite && radiusMM >= 0 else {
            throw MedGridError(.invalidInput, "ball structuring element: radiusMM is \(radiusMM) (expected finite and >= 0)")
        }
        for axis in 0..<3 {
            guard spacing[axis].isFinite && spacing[axis] > 0 else {
                throw MedGridError(
                    .invalidInput,
                    "ball structuring element: spacing.\(names[axis]) is \(spacing[axis]) (expected finite and > 0 mm)")
            }
            let reach = radiusMM / spacing[axis]
            if limit && reach >= Double(cap[axis] + 1) {
                throw MedGridError(
                    .invalidInput,
                    "ball structuring element: radius \(radiusMM) mm is \(reach) voxels along \(names[axis]) "
                        + "(expected at most \(cap[axis]))")
            }
        }
        let r2 = radiusMM * radiusMM
        let sx = spacing.x, sy = spacing.y, sz = spacing.z
        func inside(_ dx: Int, _ dy: Int, _ dz: Int) -> Bool {
            let ex = Double(dx) * sx, ey = Double(dy) * sy, ez = Double(dz) * sz
            return ex * ex + ey * ey + ez * ez <= r2
        }
        var runs: [Run] = []
        var dz = 0
        var zReach = 0
        while dz <= cap.z && inside(0, 0, dz) {
            zReach = dz
            dz += 1
        }
        for dz in -zReach...zReach {
            var yReach = 0
            var dy = 0
            while dy <= cap.y && inside(0, dy, dz) {
                yReach = dy
                dy += 1
            }
            for dy in -yReach...yReach {
                let ey = Double(dy) * sy, ez = Double(dz) * sz
                let rest = r2 - ey * ey - ez * ez
                var a = Int(min(Double(cap.x), (max(0, rest).squareRoot() / sx).rounded(.down)))
                while a < cap.x && inside(a + 1, dy, dz) { a += 1 }
                while a > 0 && !inside(a, dy, dz) { a -= 1 }
                runs.append(Run(dy: dy, dz: dz, halfWidth: a))
            }
        }
        self.radiusMM = radiusMM
        self.spacing = spacing
        self.runs = runs
    }

    /// Every voxel offset of the element, ordered by z, then y, then x.
    public var offsets: [SIMD3<Int>] {
        runs.flatMap { run in (-run.halfWidth...run.halfWidth).map { SIMD3($0, run.dy, run.dz) } }
    }

    /// Number of voxels in the element.
    public var voxelCount: Int { runs.reduce(0) { $0 + 2 * $1.halfWidth + 1 } }
}

extension Volume {
    /// Binary dilation by a ball of `radiusMM` millimetres (see ``BallStructuringElement``).
    ///
    /// Foreground is every voxel `≠ 0` (NaN counts as foreground, as `bool(nan)` does in numpy); beyond the
    /// edges is background. The result is 1 where the element centred on the voxel meets foreground, else 0,
    /// stored as `.uint8` on the same geometry — `scipy.ndimage.binary_dilation(mask, structure=ball)` exactly.
    ///
    /// Cost: `O(N · R)` for `R` x-runs in the element (about `π·r_y·r_z` in voxels, capped by the image size),
    /// vectorised along x: each voxel's distance to the nearest foreground voxel in its own row is computed once,
    /// and a run `(dy, dz, a)` covers `(x, y, z)` iff row `(y+dy, z+dz)` has foreground within `a` of `x`.
    /// Parallel over rows; the result does not depend on the number of threads.
    ///
    /// - Throws: `MedGridError(.invalidInput)` for a negative or non-finite radius or a non-positive spacing.
    public func binaryDilated(radiusMM: Double) throws -> Volume {
        try binaryMorphology(.dilate, radiusMM: radiusMM, border: .background, parallel: .standard)
    }

    /// Binary erosion by a ball of `radiusMM` millimetres (see ``BallStructuringElement``).
    ///
    /// A voxel stays foreground (1) when every voxel of the element centred on it is foreground (`≠ 0`);
    /// element voxels beyond the image count as `border` — `.background` (default) equals
    /// `scipy.ndimage.binary_erosion(mask, structure=ball, border_value=0)`, `.foreground` equals
    /// `border_value=1` and SimpleITK `BinaryErode` (`BoundaryToForeground` on). Computed as the complement of
    /// the dilation of the complement. Stored as `.uint8` 0/1 on the same geometry. Cost as
    /// ``binaryDilated(radiusMM:)``.
    public func binaryEroded(radiusMM: Double, border: MorphologyBorder = .background) throws -> Volume {
        try binaryMorphology(.erode, radiusMM: radiusMM, border: border, parallel: .standard)
    }

    /// Binary opening: erosion (with `border`) then dilation, by the same ball — `scipy.ndimage.binary_opening`
    /// with `border_value` 0 for `.background`. Removes foreground smaller than the ball. `.uint8` 0/1.
    public func binaryOpened(radiusMM: Double, border: MorphologyBorder = .background) throws -> Volume {
        try binaryMorphology(.open, radiusMM: radiusMM, border: border, parallel: .standard)
    }

    /// Binary closing: dilation then erosion (with `border`), by the same ball — `scipy.ndimage.binary_closing`
    /// with `border_value` 0 for `.background`. Fills gaps smaller than the ball; with `.background` foreground
    /// near the edge can be lost (the erosion sees background outside), `.foreground` avoids that. `.uint8` 0/1.
    public func binaryClosed(radiusMM: Double, border: MorphologyBorder = .background) throws -> Volume {
        try binaryMorphology(.close, radiusMM: radiusMM, border: border, parallel: .standard)
    }

    enum MorphologyOperation: Sendable { case dilate, erode, open, close }

    /// The morphology operations with an explicit number of worker threads (tests).
    func binaryMorphology(
        _ operation: MorphologyOperation, radiusMM: Double, border: MorphologyBorder, parallel: FilterParallel
    ) throws -> Volume {
        let spacing = try validatedSpacing(for: "binary morphology")
        let element = try BallStructuringElement(radiusMM: radiusMM, spacing: spacing, cap: size, limit: false)
        var mask = [UInt8](repeating: 0, count: voxelCount)
        voxels.withUnsafeBufferPointer { v in
            mask.withUnsafeMutableBufferPointer { m in
                for i in 0..<v.count { m[i] = v[i] != 0 ? 1 : 0 }
            }
        }
        func dilate(_ m: [UInt8]) -> [UInt8] {
            Self.dilateRuns(m, size: size, runs: element.runs, outsideIsSet: false, parallel: parallel)
        }
        func erode(_ m: [UInt8]) -> [UInt8] {
            let complement = m.map { 1 &- $0 }
            let grown = Self.dilateRuns(
                complement, size: size, runs: element.runs, outsideIsSet: border == .background,
                parallel: parallel)
            return grown.map { 1 &- $0 }
        }
        switch operation {
        case .dilate: mask = dilate(mask)
        case .erode: mask = erode(mask)
        case .open: mask = dilate(erode(mask))
        case .close: mask = erode(dilate(mask))
        }
        return withVoxels(mask.map { Float($0) }, storedType: .uint8)
    }

    /// The set (1) grown by the element's runs: `out(p) = 1` iff some run `(dy, dz, a)` has a set voxel within
    /// `a` of `p.x` in row `(p.y + dy, p.z + dz)`. With `outsideIsSet` every voxel beyond the image is set.
    static func dilateRuns(
        _ set: [UInt8], size: SIMD3<Int>, runs: [BallStructuringElement.Run], outsideIsSet: Bool, parallel: FilterParallel
    ) -> [UInt8] {
        let nx = size.x, ny = size.y, nz = size.z
        let rows = ny * nz
        // Distance along x from each voxel to the nearest set voxel of its row (Int32.max if none).
        var distance = [Int32](repeating: 0, count: set.count)
        set.withUnsafeBufferPointer { s in
            distance.withUnsafeMutableBufferPointer { d in
                let shared = SharedOutput(base: d.baseAddress!, count: d.count)
                parallel.forEachRowChunk(rows: rows, rowCost: nx) { chunk in
                    let far = Int32.max
                    for row in chunk {
                        let s = s.baseAddress! + row * nx
                        let d = shared.base + row * nx
                        // Left to right: distance to the nearest set voxel at or before x.
                        var last: Int32 = outsideIsSet ? -1 : far
                        for x in 0..<nx {
                            if s[x] != 0 { last = Int32(x) }
                            d[x] = last == far ? far : Int32(x) - last
                        }
                        // Right to left.
                        var next: Int32 = outsideIsSet ? Int32(nx) : far
                        for x in stride(from: nx - 1, through: 0, by: -1) {
                            if s[x] != 0 { next = Int32(x) }
                            if next != far { d[x] = min(d[x], next - Int32(x)) }
                        }
                    }
                }
            }
        }
        return [UInt8](unsafeUninitializedCapacity: set.count) { outBuffer, initialised in
            let out = SharedOutput(base: outBuffer.baseAddress!, count: outBuffer.count)
            distance.withUnsafeBufferPointer { d in
                runs.withUnsafeBufferPointer { runs in
                    parallel.forEachRowChunk(rows: rows, rowCost: nx * max(1, runs.count)) { chunk in
                        for row in chunk {
                            let y = row % ny, z = row / ny
                            let o = out.base + row * nx
                            for x in 0..<nx { o[x] = 0 }
                            for run in runs {
                                let yy = y + run.dy, zz = z + run.dz
                                if yy < 0 || yy >= ny || zz < 0 || zz >= nz {
                                    if outsideIsSet {
                                        for x in 0..<nx { o[x] = 1 }
                                        break
                                    }
                                    continue
                                }
                                let other = d.baseAddress! + nx * (yy + ny * zz)
                                let a = Int32(run.halfWidth)
                                for x in 0..<nx { o[x] |= other[x] <= a ? 1 : 0 }
                            }
                        }
                    }
                }
            }
            initialised = set.count
        }
    }
}

import Foundation

/// Morphological features (IBSI 3.1). The surface is a marching-cubes mesh of the morphological mask
/// (iso-level 0.5 between voxel centres, mask padded with empty voxels, so every vertex is the midpoint of
/// two face-adjacent voxels of different state). Each cube's surface loops are traced face by face; on an
/// ambiguous face (diagonal inside corners) the inside corners are kept apart (the mask is treated as
/// 6-connected; scikit-image and PyRadiomics resolve some of these cases differently, so masks with voxels
/// touching only along an edge can give slightly different meshes); each loop is fanned into triangles as
/// described at `bestFan`. Volume by the divergence theorem
/// (signed tetrahedra), area as the sum of triangle areas. All lengths in mm (index × spacing; the
/// direction matrix does not change any morphological feature). Internal.
enum RadiomicsMorphology {
    // Cube corner k sits at (k & 1, (k >> 1) & 1, (k >> 2) & 1).
    static let cornerOffsets: [SIMD3<Int>] = (0..<8).map { SIMD3($0 & 1, ($0 >> 1) & 1, ($0 >> 2) & 1) }
    /// Faces with corners counter-clockwise seen from outside the cube.
    static let faces: [[Int]] = [[0, 4, 6, 2], [1, 3, 7, 5], [0, 1, 5, 4], [2, 6, 7, 3], [0, 2, 3, 1], [4, 5, 7, 6]]
    static let edges: [(Int, Int)] = {
        var e: [(Int, Int)] = []
        for a in 0..<8 { for b in (a + 1)..<8 where (a ^ b).nonzeroBitCount == 1 { e.append((a, b)) } }
        return e
    }()
    static func edgeIndex(_ a: Int, _ b: Int) -> Int {
        let lo = min(a, b), hi = max(a, b)
        return edges.firstIndex { $0.0 == lo && $0.1 == hi }!
    }
    /// Doubled cube-local coordinates of each edge midpoint.
    static let edgeMidpoints2: [SIMD3<Int>] = edges.map { cornerOffsets[$0.0] &+ cornerOffsets[$0.1] }

    /// For each of the 256 corner configurations, the oriented surface loops as lists of edge indices
    /// (normal pointing from inside to outside).
    static let loopTable: [[[Int]]] = (0..<256).map { config in
        func inside(_ c: Int) -> Bool { config & (1 << c) != 0 }
        var next = [Int](repeating: -1, count: 12)
        for f in faces {
            var crossings: [(edge: Int, entering: Bool)] = []
            for k in 0..<4 {
                let a = f[k], b = f[(k + 1) % 4]
                if inside(a) != inside(b) { crossings.append((edgeIndex(a, b), inside(b))) }
            }
            let m = crossings.count
            for p in 0..<m where crossings[p].entering {
                // From the crossing entering an inside corner to the one leaving it.
                next[crossings[p].edge] = crossings[(p + 1) % m].edge
            }
        }
        var used = [Bool](repeating: false, count: 12)
        var loops: [[Int]] = []
        for s in 0..<12 where next[s] >= 0 && !used[s] {
            var loop: [Int] = []
            var e = s
            while !used[e] {
                used[e] = true
                loop.append(e)
                e = next[e]
            }
            loops.append(bestFan(loop, insideCorners: config.nonzeroBitCount))
        }
        return loops
    }

    /// Rotates a loop so that the fan from its first vertex bulges towards the minority corners: the
    /// largest enclosed volume when at most 4 of the 8 corners are inside, the smallest otherwise (ties: the
    /// smaller area, then the earlier start). This is the complement-symmetric choice of the classic
    /// marching-cubes case table; without ambiguous faces it reproduces scikit-image's and PyRadiomics'
    /// meshes triangle for triangle (checked cube by cube on the test masks). It does not depend on the
    /// cube's position.
    static func bestFan(_ loop: [Int], insideCorners: Int) -> [Int] {
        guard loop.count > 3 else { return loop }
        let pts = loop.map { e in SIMD3<Double>(Double(edgeMidpoints2[e].x), Double(edgeMidpoints2[e].y), Double(edgeMidpoints2[e].z)) }
        let sign: Double = insideCorners <= 4 ? 1 : -1
        var best = 0
        var bestV = -Double.infinity, bestA = Double.infinity
        for s in 0..<pts.count {
            var v = 0.0, a = 0.0
            for k in 1..<(pts.count - 1) {
                let p0 = pts[s], p1 = pts[(s + k) % pts.count], p2 = pts[(s + k + 1) % pts.count]
                v += (p0 * cross(p1, p2)).sum() / 6
                let c = cross(p1 - p0, p2 - p0)
                a += 0.5 * (c * c).sum().squareRoot()
            }
            v *= sign
            if v > bestV + 1e-9 || (abs(v - bestV) <= 1e-9 && a < bestA - 1e-9) {
                best = s; bestV = v; bestA = a
            }
        }
        return Array(loop[best...] + loop[..<best])
    }

    struct Mesh {
        var volume = 0.0
        var area = 0.0
        /// Unique vertices in doubled index coordinates relative to the box (voxel (x,y,z) ↔ (2x,2y,2z)).
        var vertices2: [SIMD3<Int>] = []
    }

    static func mesh(_ roi: RadiomicsROI) -> Mesh {
        let nx = roi.nx, ny = roi.ny, nz = roi.nz
        let sp = roi.spacing
        @inline(__always) func inside(_ x: Int, _ y: Int, _ z: Int) -> Bool {
            x >= 0 && x < nx && y >= 0 && y < ny && z >= 0 && z < nz && roi.morph[x + nx * (y + ny * z)]
        }
        var result = Mesh()
        var vol = 0.0, area = 0.0
        let half = sp * 0.5
        for z in -1..<nz {
            for y in -1..<ny {
                for x in -1..<nx {
                    var config = 0
                    for c in 0..<8 {
                        let o = cornerOffsets[c]
                        if inside(x + o.x, y + o.y, z + o.z) { config |= 1 << c }
                    }
                    if config == 0 || config == 255 { continue }
                    let base = SIMD3<Int>(2 * x, 2 * y, 2 * z)
                    for loop in loopTable[config] {
                        let pts = loop.map { e -> SIMD3<Double> in
                            let p = base &+ edgeMidpoints2[e]
                            return SIMD3<Double>(Double(p.x), Double(p.y), Double(p.z)) * half
                        }
                        for k in 1..<(pts.count - 1) {
                            let a = pts[0], b = pts[k], c = pts[k + 1]
                            let cr = cross(b - a, c - a)
                            area += 0.5 * (cr * cr).sum().squareRoot()
                            vol += (a * cross(b, c)).sum() / 6
                        }
                    }
                }
            }
        }
        result.volume = vol
        result.area = area
        // Vertices: midpoints of face-adjacent voxel pairs with different state.
        var verts: [SIMD3<Int>] = []
        for z in -1..<(nz + 1) {
            for y in -1..<(ny + 1) {
                for x in -1..<(nx + 1) {
                    let here = inside(x, y, z)
                    if x + 1 <= nx, here != inside(x + 1, y, z) { verts.append([2 * x + 1, 2 * y, 2 * z]) }
                    if y + 1 <= ny, here != inside(x, y + 1, z) { verts.append([2 * x, 2 * y + 1, 2 * z]) }
                    if z + 1 <= nz, here != inside(x, y, z + 1) { verts.append([2 * x, 2 * y, 2 * z + 1]) }
                }
            }
        }
        result.vertices2 = verts
        return result
    }

    @inline(__always) static func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }

    // MARK: - Convex hull (exact integer arithmetic)

    /// Hull triangles (outward) of integer points; nil if the points are coplanar.
    static func convexHull(_ input: [SIMD3<Int>]) -> (points: [SIMD3<Int>], faces: [SIMD3<Int>])? {
        // A hull vertex is extreme on its line along each axis; keep only such candidates.
        func extremes(_ axis: Int) -> Set<SIMD3<Int>> {
            var lo: [SIMD2<Int>: SIMD3<Int>] = [:], hi: [SIMD2<Int>: SIMD3<Int>] = [:]
            for p in input {
                let key: SIMD2<Int> = axis == 0 ? [p.y, p.z] : axis == 1 ? [p.x, p.z] : [p.x, p.y]
                if let c = lo[key] { if p[axis] < c[axis] { lo[key] = p } } else { lo[key] = p }
                if let c = hi[key] { if p[axis] > c[axis] { hi[key] = p } } else { hi[key] = p }
            }
            return Set(lo.values).union(hi.values)
        }
        let cand = extremes(0).intersection(extremes(1)).intersection(extremes(2))
        let pts = cand.sorted { ($0.z, $0.y, $0.x) < ($1.z, $1.y, $1.x) }
        guard pts.count >= 4 else { return nil }
        func sub(_ a: SIMD3<Int>, _ b: SIMD3<Int>) -> SIMD3<Int> { a &- b }
        func crossI(_ a: SIMD3<Int>, _ b: SIMD3<Int>) -> SIMD3<Int> {
            SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
        }
        func orient(_ a: SIMD3<Int>, _ b: SIMD3<Int>, _ c: SIMD3<Int>, _ d: SIMD3<Int>) -> Int {
            (crossI(sub(b, a), sub(c, a)) &* sub(d, a)).wrappedSum()
        }
        // Initial tetrahedron.
        let p0 = pts[0]
        guard let i1 = pts.indices.max(by: { (sub(pts[$0], p0) &* sub(pts[$0], p0)).wrappedSum() < (sub(pts[$1], p0) &* sub(pts[$1], p0)).wrappedSum() }),
            pts[i1] != p0
        else { return nil }
        let p1 = pts[i1]
        guard let i2 = pts.indices.first(where: { crossI(sub(p1, p0), sub(pts[$0], p0)) != .zero }) else { return nil }
        let p2 = pts[i2]
        guard let i3 = pts.indices.first(where: { orient(p0, p1, p2, pts[$0]) != 0 }) else { return nil }
        let p3 = pts[i3]
        var faces: [SIMD3<Int>] = []  // indices into pts
        let o = orient(pts[0], p1, p2, p3)
        // Outward: orient(face, interior point) < 0.
        if o < 0 {
            faces = [[0, i1, i2], [0, i3, i1], [i1, i3, i2], [0, i2, i3]]
        } else {
            faces = [[0, i2, i1], [0, i1, i3], [i1, i2, i3], [0, i3, i2]]
        }
        let used: Set<Int> = [0, i1, i2, i3]
        for (pi, p) in pts.enumerated() where !used.contains(pi) {
            var visible = [Bool](repeating: false, count: faces.count)
            var any = false
            for (fi, f) in faces.enumerated() where orient(pts[f.x], pts[f.y], pts[f.z], p) > 0 {
                visible[fi] = true
                any = true
            }
            if !any { continue }
            var edgeSet = Set<SIMD2<Int>>()
            for (fi, f) in faces.enumerated() where visible[fi] {
                edgeSet.insert([f.x, f.y]); edgeSet.insert([f.y, f.z]); edgeSet.insert([f.z, f.x])
            }
            var newFaces: [SIMD3<Int>] = []
            for (fi, f) in faces.enumerated() {
                if !visible[fi] { newFaces.append(f); continue }
                for e in [SIMD2(f.x, f.y), SIMD2(f.y, f.z), SIMD2(f.z, f.x)] where !edgeSet.contains([e.y, e.x]) {
                    newFaces.append([e.x, e.y, pi])
                }
            }
            faces = newFaces
        }
        return (pts, faces)
    }

    // MARK: - Features

    static func compute(
        _ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink
    ) {
        let f = RadiomicsSettings.Family.morphology
        let sp = roi.spacing
        let m = mesh(roi)
        let v = m.volume, a = m.area
        var nMorph = 0
        for b in roi.morph where b { nMorph += 1 }
        let voxelVolume = Double(nMorph) * sp.x * sp.y * sp.z
        sink.add("RNU0", f, "Volume (mesh)", v)
        sink.add("YEKZ", f, "Volume (voxel counting)", voxelVolume)
        sink.add("C0JK", f, "Surface area (mesh)", a)
        sink.add("2PR5", f, "Surface to volume ratio", a / v)
        sink.add("SKGS", f, "Compactness 1", v / (Double.pi.squareRoot() * pow(a, 1.5)))
        sink.add("BQWJ", f, "Compactness 2", 36 * Double.pi * v * v / (a * a * a))
        sink.add("KRCK", f, "Spherical disproportion", a / cbrt(36 * Double.pi * v * v))
        sink.add("QCFX", f, "Sphericity", cbrt(36 * Double.pi * v * v) / a)
        sink.add("25C7", f, "Asphericity", cbrt(a * a * a / (36 * Double.pi * v * v)) - 1)

        // Centre of mass shift.
        var gm = SIMD3<Double>(0, 0, 0), gi = SIMD3<Double>(0, 0, 0), wsum = 0.0
        var positions: [SIMD3<Double>] = []
        positions.reserveCapacity(nMorph)
        for z in 0..<roi.nz {
            for y in 0..<roi.ny {
                for x in 0..<roi.nx {
                    let i = roi.index(x, y, z)
                    let p = SIMD3<Double>(Double(x), Double(y), Double(z)) * sp
                    if roi.morph[i] { gm += p; positions.append(p) }
                    if roi.inROI[i] { gi += p * roi.intensity[i]; wsum += roi.intensity[i] }
                }
            }
        }
        gm /= Double(nMorph)
        gi /= wsum
        let shift = gm - gi
        sink.add("KLMA", f, "Centre of mass shift", (shift * shift).sum().squareRoot())

        // Hull (also gives the maximum diameter, attained between hull vertices).
        let hull = convexHull(m.vertices2)
        func phys(_ p: SIMD3<Int>) -> SIMD3<Double> { SIMD3<Double>(Double(p.x), Double(p.y), Double(p.z)) * sp * 0.5 }
        var diameter = 0.0
        let hullPoints = hull.map { h in Array(Set(h.faces.flatMap { [$0.x, $0.y, $0.z] })).sorted().map { phys(h.points[$0]) } }
            ?? m.vertices2.map(phys)
        for i in 0..<hullPoints.count {
            for j in (i + 1)..<hullPoints.count {
                let d = hullPoints[i] - hullPoints[j]
                diameter = max(diameter, (d * d).sum())
            }
        }
        sink.add("L0JK", f, "Maximum 3D diameter", diameter.squareRoot())

        // PCA of the morphological voxel positions.
        var cov = [[Double]](repeating: [0, 0, 0], count: 3)
        for p in positions {
            let d = p - gm
            for r in 0..<3 { for c in 0..<3 { cov[r][c] += d[r] * d[c] } }
        }
        let denom = Double(settings.axisCovariance == .sample ? max(1, nMorph - 1) : nMorph)
        for r in 0..<3 { for c in 0..<3 { cov[r][c] /= denom } }
        let ev = RadiomicsMath.symmetricEigenvalues3(cov).map { max(0, $0) }
        sink.add("TDIC", f, "Major axis length", 4 * ev[0].squareRoot())
        sink.add("P9VJ", f, "Minor axis length", 4 * ev[1].squareRoot())
        sink.add("7J51", f, "Least axis length", 4 * ev[2].squareRoot())
        sink.add("Q3CK", f, "Elongation", ev[0] > 0 ? (ev[1] / ev[0]).squareRoot() : .nan)
        sink.add("N17B", f, "Flatness", ev[0] > 0 ? (ev[2] / ev[0]).squareRoot() : .nan)

        // Axis-aligned bounding box of the mesh.
        var lo = SIMD3<Double>(repeating: .infinity), hi = SIMD3<Double>(repeating: -.infinity)
        for p in hullPoints { lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p) }
        let ext = hi - lo
        sink.add("PBX1", f, "Volume density (axis-aligned bounding box)", v / (ext.x * ext.y * ext.z))
        sink.add(
            "R59B", f, "Area density (axis-aligned bounding box)",
            a / (2 * (ext.x * ext.y + ext.y * ext.z + ext.x * ext.z)))

        // Approximate enclosing ellipsoid: semi-axes 2√λ.
        let sa = 2 * ev[0].squareRoot(), sb = 2 * ev[1].squareRoot(), sc = 2 * ev[2].squareRoot()
        sink.add("6BDE", f, "Volume density (approximate enclosing ellipsoid)", v / (4 * Double.pi * sa * sb * sc / 3))
        sink.add("RDD2", f, "Area density (approximate enclosing ellipsoid)", a / ellipsoidArea(sa, sb, sc))

        // Convex hull.
        if let hull {
            var hv = 0.0, ha = 0.0
            for t in hull.faces {
                let p = phys(hull.points[t.x]), q = phys(hull.points[t.y]), r = phys(hull.points[t.z])
                let cr = cross(q - p, r - p)
                ha += 0.5 * (cr * cr).sum().squareRoot()
                hv += (p * cross(q, r)).sum() / 6
            }
            sink.add("R3ER", f, "Volume density (convex hull)", v / hv)
            sink.add("7T7F", f, "Area density (convex hull)", a / ha)
        }

        // Integrated intensity: mean intensity of the intensity mask × mesh volume.
        var s = 0.0
        for x in roi.roiValues { s += x }
        sink.add("99N0", f, "Integrated intensity", s / Double(roi.roiValues.count) * v)

        if roi.roiValues.count <= settings.spatialAutocorrelationVoxelLimit, roi.roiValues.count >= 2 {
            let (moran, geary) = spatialAutocorrelation(roi)
            sink.add("N365", f, "Moran’s I index", moran)
            sink.add("NPT7", f, "Geary’s C measure", geary)
        }
    }

    /// Surface area of an ellipsoid with semi-axes a ≥ b ≥ c by the IBSI Legendre series (20 terms):
    /// `4π a b Σ_{ν=0}^{20} (αβ)^ν / (1 − 4ν²) P_ν((α² + β²)/(2αβ))`, `α = √(1 − b²/a²)`, `β = √(1 − c²/a²)`.
    static func ellipsoidArea(_ a: Double, _ b: Double, _ c: Double) -> Double {
        guard a > 0 else { return .nan }
        let alpha = (max(0, 1 - b * b / (a * a))).squareRoot(), beta = (max(0, 1 - c * c / (a * a))).squareRoot()
        // Q_ν = (αβ)^ν P_ν(u/(αβ)) with u = (α² + β²)/2, by the Legendre recurrence multiplied through by
        // (αβ)^ν: Q_ν = ((2ν − 1) u Q_{ν−1} − (ν − 1)(αβ)² Q_{ν−2}) / ν — finite also when αβ = 0.
        let u = (alpha * alpha + beta * beta) / 2, v2 = alpha * alpha * beta * beta
        var qPrev = 1.0, qCur = u
        var sum = 1.0 + u / (1 - 4)
        for nu in 2...20 {
            let n = Double(nu)
            let q = ((2 * n - 1) * u * qCur - (n - 1) * v2 * qPrev) / n
            qPrev = qCur
            qCur = q
            sum += q / (1 - 4 * n * n)
        }
        return 4 * Double.pi * a * b * sum
    }

    /// Moran's I and Geary's C over all pairs of intensity-mask voxels with weights `1/‖r_i − r_j‖` (mm).
    /// Sums run over fixed chunks of `i` combined in order, so results do not depend on the thread count.
    static func spatialAutocorrelation(_ roi: RadiomicsROI) -> (Double, Double) {
        var pos: [SIMD3<Double>] = []
        var val: [Double] = []
        for z in 0..<roi.nz {
            for y in 0..<roi.ny {
                for x in 0..<roi.nx where roi.inROI[roi.index(x, y, z)] {
                    pos.append(SIMD3<Double>(Double(x), Double(y), Double(z)) * roi.spacing)
                    val.append(roi.intensity[roi.index(x, y, z)])
                }
            }
        }
        let n = val.count
        var sum = 0.0
        for v in val { sum += v }
        let mu = sum / Double(n)
        var ss = 0.0
        for v in val { ss += (v - mu) * (v - mu) }
        let chunk = 256
        let chunks = (n + chunk - 1) / chunk
        let partial = RadiomicsChunkResults(count: chunks)  // (W, Moran numerator, Geary numerator)
        let positions = pos, values = val
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            var w = 0.0, mn = 0.0, gn = 0.0
            positions.withUnsafeBufferPointer { p in
                values.withUnsafeBufferPointer { v in
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                        let pi = p[i], di = v[i] - mu
                        for j in 0..<n where j != i {
                            let d = pi - p[j]
                            let wij = 1 / (d * d).sum().squareRoot()
                            w += wij
                            mn += wij * di * (v[j] - mu)
                            let g = v[i] - v[j]
                            gn += wij * g * g
                        }
                    }
                }
            }
            partial.set(c, SIMD3(w, mn, gn))
        }
        var total = SIMD3<Double>.zero
        for t in partial.array() { total += t }
        guard ss > 0 else { return (.nan, .nan) }
        let moran = Double(n) / total.x * total.y / ss
        let geary = Double(n - 1) * total.z / (2 * total.x * ss)
        return (moran, geary)
    }
}

/// Per-chunk results written by `concurrentPerform` workers (each chunk writes only its own slot).
final class RadiomicsChunkResults: @unchecked Sendable {
    private let pointer: UnsafeMutableBufferPointer<SIMD3<Double>>
    init(count: Int) {
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: .zero)
        self.count = count
    }
    let count: Int
    deinit { pointer.deallocate() }
    func set(_ i: Int, _ v: SIMD3<Double>) { pointer[i] = v }
    func array() -> [SIMD3<Double>] { Array(pointer.prefix(count)) }
}

import Foundation

/// Texture matrices and features: GLCM (IBSI 3.6), GLRLM (3.7), GLSZM (3.8), GLDZM (3.9), NGTDM (3.10),
/// NGLDM (3.11). Neighbourhoods use Chebyshev distance 1 (26 neighbours in 3D, 8 in-plane in 2D);
/// slices are the planes of constant z index. Internal.
enum RadiomicsTexture {
    /// The 13 unique 3-D directions (half of the 26-neighbourhood); the first four lie in the xy-plane.
    static let directions3D: [SIMD3<Int>] = [
        [1, 0, 0], [1, 1, 0], [0, 1, 0], [-1, 1, 0],
        [-1, -1, 1], [0, -1, 1], [1, -1, 1], [-1, 0, 1], [0, 0, 1], [1, 0, 1], [-1, 1, 1], [0, 1, 1], [1, 1, 1],
    ]
    static let directions2D: [SIMD3<Int>] = Array(directions3D[0..<4])

    // MARK: - Aggregation of directional matrices

    /// Aggregates a directional matrix family over the requested IBSI methods.
    /// `matrix(d, zRange)` builds the matrix of direction `d` over slices `zRange`; `combine` adds two;
    /// `features(m, nv)` computes the features (nil if the matrix is empty) where `nv` is the voxel count
    /// multiplied by the number of merged directions.
    static func aggregate<M>(
        _ roi: RadiomicsROI, _ methods: [RadiomicsSettings.TextureAggregation],
        matrix: (SIMD3<Int>, Range<Int>) -> M, combine: (inout M, M) -> Void, features: (M, Double) -> [Double]?
    ) -> [(RadiomicsSettings.TextureAggregation, [Double])] {
        var out: [(RadiomicsSettings.TextureAggregation, [Double])] = []
        func mean(_ rows: [[Double]]) -> [Double]? {
            guard let first = rows.first else { return nil }
            var acc = [Double](repeating: 0, count: first.count)
            for r in rows { for k in 0..<acc.count { acc[k] += r[k] } }
            return acc.map { $0 / Double(rows.count) }
        }
        let nvTotal = Double(roi.roiValues.count)
        var sliceCount = [Double](repeating: 0, count: roi.nz)
        for z in 0..<roi.nz {
            var c = 0
            for i in (roi.nx * roi.ny * z)..<(roi.nx * roi.ny * (z + 1)) where roi.inROI[i] { c += 1 }
            sliceCount[z] = Double(c)
        }
        let want3D = methods.contains(.threeDAveraged) || methods.contains(.threeDMerged)
        let want2D = methods.contains { $0.isSliceBased }
        var m3D: [M] = []
        if want3D { m3D = directions3D.map { matrix($0, 0..<roi.nz) } }
        var perSliceFeatures: [[Double]] = []  // 2D:avg
        var sliceMergedFeatures: [[Double]] = []  // 2D:s-mrg
        var directionSums: [M?] = [nil, nil, nil, nil]  // 2.5D
        if want2D {
            for z in 0..<roi.nz where sliceCount[z] > 0 {
                var merged: M? = nil
                for (k, d) in directions2D.enumerated() {
                    let m = matrix(d, z..<(z + 1))
                    if let f = features(m, sliceCount[z]) { perSliceFeatures.append(f) }
                    if merged == nil { merged = m } else { combine(&merged!, m) }
                    if directionSums[k] == nil { directionSums[k] = m } else { combine(&directionSums[k]!, m) }
                }
                if let merged, let f = features(merged, 4 * sliceCount[z]) { sliceMergedFeatures.append(f) }
            }
        }
        for method in methods {
            var value: [Double]? = nil
            switch method {
            case .threeDAveraged:
                value = mean(m3D.compactMap { features($0, nvTotal) })
            case .threeDMerged:
                var acc = m3D[0]
                for m in m3D.dropFirst() { combine(&acc, m) }
                value = features(acc, 13 * nvTotal)
            case .twoDAveraged:
                value = mean(perSliceFeatures)
            case .twoDSliceMerged:
                value = mean(sliceMergedFeatures)
            case .twoPointFiveDDirectionMerged:
                value = mean(directionSums.compactMap { $0 }.compactMap { features($0, nvTotal) })
            case .twoPointFiveDMerged:
                let present = directionSums.compactMap { $0 }
                if var acc = present.first {
                    for m in present.dropFirst() { combine(&acc, m) }
                    value = features(acc, 4 * nvTotal)
                }
            }
            if let value { out.append((method, value)) }
        }
        return out
    }

    // MARK: - GLCM

    static func cooccurrence(_ roi: RadiomicsROI, _ d: SIMD3<Int>, _ zr: Range<Int>) -> [Double] {
        let ng = roi.ng
        var m = [Double](repeating: 0, count: ng * ng)
        let nx = roi.nx, ny = roi.ny, nz = roi.nz
        roi.levels.withUnsafeBufferPointer { lv in
            m.withUnsafeMutableBufferPointer { mp in
                for z in zr {
                    let z2 = z + d.z
                    if z2 < 0 || z2 >= nz { continue }
                    for y in 0..<ny {
                        let y2 = y + d.y
                        if y2 < 0 || y2 >= ny { continue }
                        let x0 = max(0, -d.x), x1 = min(nx, nx - d.x)
                        let row = nx * (y + ny * z), row2 = nx * (y2 + ny * z2) + d.x
                        for x in x0..<x1 {
                            let a = Int(lv[row + x]), b = Int(lv[row2 + x])
                            if a == 0 || b == 0 { continue }
                            mp[(a - 1) * ng + (b - 1)] += 1
                            mp[(b - 1) * ng + (a - 1)] += 1
                        }
                    }
                }
            }
        }
        return m
    }

    /// The 25 GLCM features of a (symmetric) count matrix, in IBSI order; nil if empty.
    /// Entropies use log2; `Ng` in the normalised inverse differences is the number of grey levels.
    static func glcmFeatures(_ counts: [Double], ng: Int) -> [Double]? {
        var total = 0.0
        for c in counts { total += c }
        guard total > 0 else { return nil }
        let inv = 1 / total
        var pi = [Double](repeating: 0, count: ng)
        var pj = [Double](repeating: 0, count: ng)
        var pdiff = [Double](repeating: 0, count: ng)
        var psum = [Double](repeating: 0, count: 2 * ng + 1)
        var jmax = 0.0, jent = 0.0, asm = 0.0, contrast = 0.0, dissim = 0.0, idf = 0.0, idn = 0.0, idm = 0.0
        var idmn = 0.0, autoc = 0.0
        let ngd = Double(ng)
        for i in 0..<ng {
            for j in 0..<ng {
                let c = counts[i * ng + j]
                if c == 0 { continue }
                let p = c * inv
                let gi = Double(i + 1), gj = Double(j + 1)
                pi[i] += p; pj[j] += p
                let k = abs(i - j)
                pdiff[k] += p
                psum[i + j + 2] += p
                jmax = max(jmax, p)
                jent -= p * log2(p)
                asm += p * p
                let dd = Double(k)
                contrast += dd * dd * p
                dissim += dd * p
                idf += p / (1 + dd)
                idn += p / (1 + dd / ngd)
                idm += p / (1 + dd * dd)
                idmn += p / (1 + dd * dd / (ngd * ngd))
                autoc += gi * gj * p
            }
        }
        var mu = 0.0, muj = 0.0
        for i in 0..<ng { mu += Double(i + 1) * pi[i]; muj += Double(i + 1) * pj[i] }
        var varI = 0.0, varJ = 0.0, hx = 0.0, hy = 0.0
        for i in 0..<ng {
            varI += (Double(i + 1) - mu) * (Double(i + 1) - mu) * pi[i]
            varJ += (Double(i + 1) - muj) * (Double(i + 1) - muj) * pj[i]
            if pi[i] > 0 { hx -= pi[i] * log2(pi[i]) }
            if pj[i] > 0 { hy -= pj[i] * log2(pj[i]) }
        }
        var jvar = 0.0, cov = 0.0, ctend = 0.0, cshade = 0.0, cprom = 0.0, hxy1 = 0.0, hxy2 = 0.0
        for i in 0..<ng {
            for j in 0..<ng {
                let pp = pi[i] * pj[j]
                if pp > 0 { hxy2 -= pp * log2(pp) }
                let c = counts[i * ng + j]
                if c == 0 { continue }
                let p = c * inv
                let gi = Double(i + 1), gj = Double(j + 1)
                jvar += (gi - mu) * (gi - mu) * p
                cov += (gi - mu) * (gj - muj) * p
                let t = gi + gj - mu - muj
                ctend += t * t * p
                cshade += t * t * t * p
                cprom += t * t * t * t * p
                hxy1 -= p * log2(pp)
            }
        }
        var davg = 0.0, dent = 0.0, invVar = 0.0
        for k in 0..<ng where pdiff[k] > 0 {
            davg += Double(k) * pdiff[k]
            dent -= pdiff[k] * log2(pdiff[k])
            if k > 0 { invVar += pdiff[k] / Double(k * k) }
        }
        var dvar = 0.0
        for k in 0..<ng where pdiff[k] > 0 { dvar += (Double(k) - davg) * (Double(k) - davg) * pdiff[k] }
        var savg = 0.0, sent = 0.0
        for k in 2...(2 * ng) where psum[k] > 0 {
            savg += Double(k) * psum[k]
            sent -= psum[k] * log2(psum[k])
        }
        var svar = 0.0
        for k in 2...(2 * ng) where psum[k] > 0 { svar += (Double(k) - savg) * (Double(k) - savg) * psum[k] }
        let sd = (varI * varJ).squareRoot()
        let corr = sd > 0 ? cov / sd : .nan
        let hxy = jent
        let ic1 = max(hx, hy) > 0 ? (hxy - hxy1) / max(hx, hy) : 0
        let ic2 = (max(0, 1 - exp(-2 * (hxy2 - hxy)))).squareRoot()
        return [
            jmax, mu, jvar, jent, davg, dvar, dent, savg, svar, sent, asm, contrast, dissim, idf, idn, idm, idmn,
            invVar, corr, autoc, ctend, cshade, cprom, ic1, ic2,
        ]
    }

    static let glcmNames: [(String, String)] = [
        ("GYBY", "Joint maximum"), ("60VM", "Joint average"), ("UR99", "Joint variance"), ("TU9B", "Joint entropy"),
        ("TF7R", "Difference average"), ("D3YU", "Difference variance"), ("NTRS", "Difference entropy"),
        ("ZGXS", "Sum average"), ("OEEB", "Sum variance"), ("P6QZ", "Sum entropy"),
        ("8ZQL", "Angular second moment"), ("ACUI", "Contrast"), ("8S9J", "Dissimilarity"),
        ("IB1Z", "Inverse difference"), ("NDRX", "Normalised inverse difference"),
        ("WF0Z", "Inverse difference moment"), ("1QCO", "Normalised inverse difference moment"),
        ("E8JP", "Inverse variance"), ("NI2N", "Correlation"), ("QWB0", "Autocorrelation"),
        ("DG8W", "Cluster tendency"), ("7NFM", "Cluster shade"), ("AE86", "Cluster prominence"),
        ("R8DG", "Information correlation 1"), ("JN9H", "Information correlation 2"),
    ]

    static func glcm(_ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink) {
        let ng = roi.ng
        let results = aggregate(
            roi, settings.textureAggregations,
            matrix: { cooccurrence(roi, $0, $1) },
            combine: { a, b in for k in 0..<a.count { a[k] += b[k] } },
            features: { m, _ in glcmFeatures(m, ng: ng) })
        for (method, values) in results {
            for (k, (id, name)) in glcmNames.enumerated() {
                sink.add(id, .glcm, name, values[k], method.rawValue)
            }
        }
    }

    // MARK: - Sparse level × count matrices (GLRLM, GLSZM, GLDZM, NGLDM)

    /// A sparse matrix of counts indexed by grey level `i ≥ 1` and a second index `j ≥ 1` (run length,
    /// zone size, zone distance or dependence count).
    struct SparseMatrix {
        var entries: [Int: Double] = [:]
        static let stride = 1 << 32
        mutating func add(_ i: Int, _ j: Int, _ c: Double = 1) { entries[i * SparseMatrix.stride + j, default: 0] += c }
        mutating func merge(_ o: SparseMatrix) { for (k, v) in o.entries { entries[k, default: 0] += v } }
    }

    /// The 16 (17 with `energy`) features shared by the run/zone/dependence families, in IBSI order:
    /// eight emphases (j⁻², j², i⁻², i², i⁻²j⁻², i²j⁻², i⁻²j², i²j²), grey level non-uniformity and its
    /// normalised form, j non-uniformity and its normalised form, percentage `Ns/nv`, grey level variance,
    /// j variance, j entropy (log2) [, energy Σp²].
    static func countFeatures(_ m: SparseMatrix, nv: Double, energy: Bool) -> [Double]? {
        var ns = 0.0
        for (_, c) in m.entries { ns += c }
        guard ns > 0 else { return nil }
        var e = [Double](repeating: 0, count: 8)
        var byI: [Int: Double] = [:], byJ: [Int: Double] = [:]
        var mui = 0.0, muj = 0.0, ent = 0.0, en = 0.0
        for (key, c) in m.entries {
            let i = Double(key / SparseMatrix.stride), j = Double(key % SparseMatrix.stride)
            let i2 = i * i, j2 = j * j
            e[0] += c / j2; e[1] += c * j2; e[2] += c / i2; e[3] += c * i2
            e[4] += c / (i2 * j2); e[5] += c * i2 / j2; e[6] += c * j2 / i2; e[7] += c * i2 * j2
            byI[key / SparseMatrix.stride, default: 0] += c
            byJ[key % SparseMatrix.stride, default: 0] += c
            let p = c / ns
            mui += i * p; muj += j * p
            ent -= p * log2(p)
            en += p * p
        }
        var vi = 0.0, vj = 0.0
        for (key, c) in m.entries {
            let i = Double(key / SparseMatrix.stride), j = Double(key % SparseMatrix.stride)
            vi += (i - mui) * (i - mui) * c / ns
            vj += (j - muj) * (j - muj) * c / ns
        }
        var glnu = 0.0, jnu = 0.0
        for (_, s) in byI { glnu += s * s }
        for (_, s) in byJ { jnu += s * s }
        var out = e.map { $0 / ns }
        out += [glnu / ns, glnu / (ns * ns), jnu / ns, jnu / (ns * ns), ns / nv, vi, vj, ent]
        if energy { out.append(en) }
        return out
    }

    // MARK: - GLRLM

    static func runMatrix(_ roi: RadiomicsROI, _ d: SIMD3<Int>, _ zr: Range<Int>) -> SparseMatrix {
        var m = SparseMatrix()
        let nx = roi.nx, ny = roi.ny, nz = roi.nz
        roi.levels.withUnsafeBufferPointer { lv in
            for z in zr {
                for y in 0..<ny {
                    for x in 0..<nx {
                        let l = lv[x + nx * (y + ny * z)]
                        if l == 0 { continue }
                        // Run start: the previous voxel along -d is outside or has another level.
                        let px = x - d.x, py = y - d.y, pz = z - d.z
                        if px >= 0, px < nx, py >= 0, py < ny, pz >= 0, pz < nz, lv[px + nx * (py + ny * pz)] == l {
                            continue
                        }
                        var len = 1
                        var cx = x + d.x, cy = y + d.y, cz = z + d.z
                        while cx >= 0, cx < nx, cy >= 0, cy < ny, cz >= 0, cz < nz, lv[cx + nx * (cy + ny * cz)] == l {
                            len += 1; cx += d.x; cy += d.y; cz += d.z
                        }
                        m.add(Int(l), len)
                    }
                }
            }
        }
        return m
    }

    static let glrlmNames: [(String, String)] = [
        ("22OV", "Short runs emphasis"), ("W4KF", "Long runs emphasis"), ("V3SW", "Low grey level run emphasis"),
        ("G3QZ", "High grey level run emphasis"), ("HTZT", "Short run low grey level emphasis"),
        ("GD3A", "Short run high grey level emphasis"), ("IVPO", "Long run low grey level emphasis"),
        ("3KUM", "Long run high grey level emphasis"), ("R5YN", "Grey level non-uniformity"),
        ("OVBL", "Normalised grey level non-uniformity"), ("W92Y", "Run length non-uniformity"),
        ("IC23", "Normalised run length non-uniformity"), ("9ZK5", "Run percentage"), ("8CE5", "Grey level variance"),
        ("SXLW", "Run length variance"), ("HJ9O", "Run entropy"),
    ]

    static func glrlm(_ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink) {
        let results = aggregate(
            roi, settings.textureAggregations,
            matrix: { runMatrix(roi, $0, $1) },
            combine: { a, b in a.merge(b) },
            features: { m, nv in countFeatures(m, nv: nv, energy: false) })
        for (method, values) in results {
            for (k, (id, name)) in glrlmNames.enumerated() { sink.add(id, .glrlm, name, values[k], method.rawValue) }
        }
    }

    // MARK: - Zones (GLSZM, GLDZM)

    /// The dimensions reported by the direction-free families for the requested methods.
    static func zoneDimensions(_ methods: [RadiomicsSettings.TextureAggregation]) -> [String] {
        var dims: [String] = []
        if methods.contains(where: { $0 == .twoDAveraged || $0 == .twoDSliceMerged }) { dims.append("2D") }
        if methods.contains(where: { $0 == .twoPointFiveDMerged || $0 == .twoPointFiveDDirectionMerged }) {
            dims.append("2.5D")
        }
        if methods.contains(where: { !$0.isSliceBased }) { dims.append("3D") }
        return dims
    }

    /// Runs `perSlice(zRange)` → matrix for the requested dimensions; 2D averages the per-slice features,
    /// 2.5D merges the slice matrices, 3D uses one matrix over the whole volume.
    static func sliceAggregate<M>(
        _ roi: RadiomicsROI, _ settings: RadiomicsSettings, matrix: (Range<Int>, Bool) -> M,
        combine: (inout M, M) -> Void, features: (M, Double) -> [Double]?
    ) -> [(String, [Double])] {
        var out: [(String, [Double])] = []
        let dims = zoneDimensions(settings.textureAggregations)
        if dims.contains("2D") || dims.contains("2.5D") {
            var perSlice: [[Double]] = []
            var merged: M? = nil
            for z in 0..<roi.nz {
                var c = 0
                for i in (roi.nx * roi.ny * z)..<(roi.nx * roi.ny * (z + 1)) where roi.inROI[i] { c += 1 }
                if c == 0 { continue }
                let m = matrix(z..<(z + 1), true)
                if let f = features(m, Double(c)) { perSlice.append(f) }
                if merged == nil { merged = m } else { combine(&merged!, m) }
            }
            if dims.contains("2D"), let first = perSlice.first {
                var acc = [Double](repeating: 0, count: first.count)
                for r in perSlice { for k in 0..<acc.count { acc[k] += r[k] } }
                out.append(("2D", acc.map { $0 / Double(perSlice.count) }))
            }
            if dims.contains("2.5D"), let merged, let f = features(merged, Double(roi.roiValues.count)) {
                out.append(("2.5D", f))
            }
        }
        if dims.contains("3D"), let f = features(matrix(0..<roi.nz, false), Double(roi.roiValues.count)) {
            out.append(("3D", f))
        }
        return out
    }

    /// Labels zones (connected voxels of equal grey level; 26-connectivity, or 8 in-plane when `planar`)
    /// inside slices `zr`; calls `visit(level, voxelIndices)` per zone.
    static func forEachZone(
        _ roi: RadiomicsROI, _ zr: Range<Int>, planar: Bool, _ visit: (Int, [Int]) -> Void
    ) {
        let nx = roi.nx, ny = roi.ny, nz = roi.nz
        var seen = [Bool](repeating: false, count: roi.count)
        var stack: [Int] = []
        var members: [Int] = []
        let zlo = zr.lowerBound, zhi = zr.upperBound
        for z in zr {
            for y in 0..<ny {
                for x in 0..<nx {
                    let s = x + nx * (y + ny * z)
                    let l = roi.levels[s]
                    if l == 0 || seen[s] { continue }
                    seen[s] = true
                    stack.append(s)
                    members.removeAll(keepingCapacity: true)
                    while let v = stack.popLast() {
                        members.append(v)
                        let vx = v % nx, vy = (v / nx) % ny, vz = v / (nx * ny)
                        let dzr = planar ? 0...0 : -1...1
                        for dz in dzr {
                            let zz = vz + dz
                            if zz < zlo || zz >= zhi || zz >= nz { continue }
                            for dy in -1...1 {
                                let yy = vy + dy
                                if yy < 0 || yy >= ny { continue }
                                for dx in -1...1 {
                                    let xx = vx + dx
                                    if xx < 0 || xx >= nx { continue }
                                    let w = xx + nx * (yy + ny * zz)
                                    if !seen[w] && roi.levels[w] == l {
                                        seen[w] = true
                                        stack.append(w)
                                    }
                                }
                            }
                        }
                    }
                    visit(Int(l), members)
                }
            }
        }
    }

    static let glszmNames: [(String, String)] = [
        ("5QRC", "Small zone emphasis"), ("48P8", "Large zone emphasis"), ("XMSY", "Low grey level zone emphasis"),
        ("5GN9", "High grey level zone emphasis"), ("5RAI", "Small zone low grey level emphasis"),
        ("HW1V", "Small zone high grey level emphasis"), ("YH51", "Large zone low grey level emphasis"),
        ("J17V", "Large zone high grey level emphasis"), ("JNSA", "Grey level non-uniformity"),
        ("Y1RO", "Normalised grey level non-uniformity"), ("4JP3", "Zone size non-uniformity"),
        ("VB3A", "Normalised zone size non-uniformity"), ("P30P", "Zone percentage"), ("BYLV", "Grey level variance"),
        ("3NSA", "Zone size variance"), ("GU8N", "Zone size entropy"),
    ]

    static func glszm(_ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink) {
        let results = sliceAggregate(
            roi, settings,
            matrix: { zr, planar in
                var m = SparseMatrix()
                forEachZone(roi, zr, planar: planar) { l, members in m.add(l, members.count) }
                return m
            },
            combine: { a, b in a.merge(b) },
            features: { m, nv in countFeatures(m, nv: nv, energy: false) })
        for (dim, values) in results {
            for (k, (id, name)) in glszmNames.enumerated() { sink.add(id, .glszm, name, values[k], dim) }
        }
    }

    /// Distance of each morphological-mask voxel to the mask edge: 1 for voxels with a face neighbour
    /// (6-connectivity; 4 in-plane when `planar`) outside the mask or the image, else 1 + the smallest
    /// neighbour distance (city-block distance by breadth-first search). 0 outside the mask.
    static func edgeDistance(_ roi: RadiomicsROI, planar: Bool) -> [Int32] {
        let nx = roi.nx, ny = roi.ny, nz = roi.nz
        var dist = [Int32](repeating: 0, count: roi.count)
        var queue: [Int] = []
        let steps: [SIMD3<Int>] =
            planar
            ? [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]]
            : [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
        for z in 0..<nz {
            for y in 0..<ny {
                for x in 0..<nx {
                    let i = roi.index(x, y, z)
                    guard roi.morph[i] else { continue }
                    for s in steps {
                        let xx = x + s.x, yy = y + s.y, zz = z + s.z
                        if xx < 0 || xx >= nx || yy < 0 || yy >= ny || zz < 0 || zz >= nz
                            || !roi.morph[roi.index(xx, yy, zz)]
                        {
                            dist[i] = 1
                            queue.append(i)
                            break
                        }
                    }
                }
            }
        }
        var head = 0
        while head < queue.count {
            let v = queue[head]
            head += 1
            let vx = v % nx, vy = (v / nx) % ny, vz = v / (nx * ny)
            for s in steps {
                let xx = vx + s.x, yy = vy + s.y, zz = vz + s.z
                if xx < 0 || xx >= nx || yy < 0 || yy >= ny || zz < 0 || zz >= nz { continue }
                let w = roi.index(xx, yy, zz)
                if roi.morph[w] && dist[w] == 0 {
                    dist[w] = dist[v] + 1
                    queue.append(w)
                }
            }
        }
        return dist
    }

    static let gldzmNames: [(String, String)] = [
        ("0GBI", "Small distance emphasis"), ("MB4I", "Large distance emphasis"),
        ("S1RA", "Low grey level zone emphasis"), ("K26C", "High grey level zone emphasis"),
        ("RUVG", "Small distance low grey level emphasis"), ("DKNJ", "Small distance high grey level emphasis"),
        ("A7WM", "Large distance low grey level emphasis"), ("KLTH", "Large distance high grey level emphasis"),
        ("VFT7", "Grey level non-uniformity"), ("7HP3", "Normalised grey level non-uniformity"),
        ("V294", "Zone distance non-uniformity"), ("IATH", "Normalised zone distance non-uniformity"),
        ("VIWW", "Zone percentage"), ("QK93", "Grey level variance"), ("7WT1", "Zone distance variance"),
        ("GBDU", "Zone distance entropy"),
    ]

    static func gldzm(_ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink) {
        let dims = zoneDimensions(settings.textureAggregations)
        let dist3D = dims.contains("3D") ? edgeDistance(roi, planar: false) : []
        let dist2D = dims.contains("2D") || dims.contains("2.5D") ? edgeDistance(roi, planar: true) : []
        let results = sliceAggregate(
            roi, settings,
            matrix: { zr, planar in
                var m = SparseMatrix()
                forEachZone(roi, zr, planar: planar) { l, members in
                    let d = planar ? dist2D : dist3D
                    var best = Int32.max
                    for v in members { best = min(best, d[v]) }
                    m.add(l, Int(best))
                }
                return m
            },
            combine: { a, b in a.merge(b) },
            features: { m, nv in countFeatures(m, nv: nv, energy: false) })
        for (dim, values) in results {
            for (k, (id, name)) in gldzmNames.enumerated() { sink.add(id, .gldzm, name, values[k], dim) }
        }
    }

    // MARK: - NGTDM

    struct ToneDifference {
        var s: [Double]
        var n: [Double]
    }

    /// For every ROI voxel with at least one ROI neighbour (Chebyshev 1; in-plane if `planar`), adds
    /// `|i − mean neighbour level|` to `s_i` and 1 to `n_i`.
    static func toneDifference(_ roi: RadiomicsROI, _ zr: Range<Int>, planar: Bool) -> ToneDifference {
        var t = ToneDifference(
            s: [Double](repeating: 0, count: roi.ng + 1), n: [Double](repeating: 0, count: roi.ng + 1))
        let nx = roi.nx, ny = roi.ny, nz = roi.nz
        roi.levels.withUnsafeBufferPointer { lv in
            for z in zr {
                for y in 0..<ny {
                    for x in 0..<nx {
                        let l = Int(lv[x + nx * (y + ny * z)])
                        if l == 0 { continue }
                        var sum = 0, cnt = 0
                        for dz in (planar ? 0...0 : -1...1) {
                            let zz = z + dz
                            if zz < 0 || zz >= nz { continue }
                            for dy in -1...1 {
                                let yy = y + dy
                                if yy < 0 || yy >= ny { continue }
                                for dx in -1...1 {
                                    let xx = x + dx
                                    if xx < 0 || xx >= nx || (dx == 0 && dy == 0 && dz == 0) { continue }
                                    let w = Int(lv[xx + nx * (yy + ny * zz)])
                                    if w > 0 { sum += w; cnt += 1 }
                                }
                            }
                        }
                        if cnt == 0 { continue }
                        t.s[l] += abs(Double(l) - Double(sum) / Double(cnt))
                        t.n[l] += 1
                    }
                }
            }
        }
        return t
    }

    /// Coarseness, contrast, busyness, complexity, strength (IBSI 3.10); nil when no voxel has a neighbour.
    static func ngtdmFeatures(_ t: ToneDifference) -> [Double]? {
        var nvc = 0.0
        for c in t.n { nvc += c }
        guard nvc > 0 else { return nil }
        let levels = (0..<t.n.count).filter { t.n[$0] > 0 }
        let p = t.n.map { $0 / nvc }
        var ps = 0.0, ssum = 0.0
        for i in levels { ps += p[i] * t.s[i]; ssum += t.s[i] }
        let ngp = Double(levels.count)
        var c1 = 0.0, busyDen = 0.0, complexity = 0.0, strengthNum = 0.0
        for i in levels {
            for j in levels {
                let d = Double(i - j)
                c1 += p[i] * p[j] * d * d
                busyDen += abs(Double(i) * p[i] - Double(j) * p[j])
                complexity += abs(d) * (p[i] * t.s[i] + p[j] * t.s[j]) / (p[i] + p[j])
                strengthNum += (p[i] + p[j]) * d * d
            }
        }
        let coarseness = ps > 0 ? 1 / ps : 1e6
        let contrast = ngp > 1 ? c1 / (ngp * (ngp - 1)) * ssum / nvc : 0
        let busyness = busyDen > 0 ? ps / busyDen : 0
        let strength = ssum > 0 ? strengthNum / ssum : 0
        return [coarseness, contrast, busyness, complexity / nvc, strength]
    }

    static let ngtdmNames: [(String, String)] = [
        ("QCDE", "Coarseness"), ("65HE", "Contrast"), ("NQ30", "Busyness"), ("HDEZ", "Complexity"),
        ("1X9X", "Strength"),
    ]

    static func ngtdm(_ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink) {
        let results = sliceAggregate(
            roi, settings,
            matrix: { zr, planar in toneDifference(roi, zr, planar: planar) },
            combine: { a, b in
                for k in 0..<a.s.count { a.s[k] += b.s[k]; a.n[k] += b.n[k] }
            },
            features: { t, _ in ngtdmFeatures(t) })
        for (dim, values) in results {
            for (k, (id, name)) in ngtdmNames.enumerated() { sink.add(id, .ngtdm, name, values[k], dim) }
        }
    }

    // MARK: - NGLDM

    static let ngldmNames: [(String, String)] = [
        ("SODN", "Low dependence emphasis"), ("IMOQ", "High dependence emphasis"),
        ("TL9H", "Low grey level count emphasis"), ("OAE7", "High grey level count emphasis"),
        ("EQ3F", "Low dependence low grey level emphasis"), ("JA6D", "Low dependence high grey level emphasis"),
        ("NBZI", "High dependence low grey level emphasis"), ("9QMG", "High dependence high grey level emphasis"),
        ("FP8K", "Grey level non-uniformity"), ("5SPA", "Normalised grey level non-uniformity"),
        ("Z87G", "Dependence count non-uniformity"), ("OKJI", "Normalised dependence count non-uniformity"),
        ("6XV8", "Dependence count percentage"), ("1PFV", "Grey level variance"),
        ("DNX2", "Dependence count variance"), ("FCBV", "Dependence count entropy"),
        ("CAS9", "Dependence count energy"),
    ]

    /// Dependence count `k = 1 + #{ROI neighbours j (Chebyshev 1) with |level_j − level_i| ≤ α}` per voxel.
    static func dependenceMatrix(_ roi: RadiomicsROI, _ zr: Range<Int>, planar: Bool, alpha: Int) -> SparseMatrix {
        var m = SparseMatrix()
        let nx = roi.nx, ny = roi.ny, nz = roi.nz
        roi.levels.withUnsafeBufferPointer { lv in
            for z in zr {
                for y in 0..<ny {
                    for x in 0..<nx {
                        let l = Int(lv[x + nx * (y + ny * z)])
                        if l == 0 { continue }
                        var k = 1
                        for dz in (planar ? 0...0 : -1...1) {
                            let zz = z + dz
                            if zz < 0 || zz >= nz { continue }
                            for dy in -1...1 {
                                let yy = y + dy
                                if yy < 0 || yy >= ny { continue }
                                for dx in -1...1 {
                                    let xx = x + dx
                                    if xx < 0 || xx >= nx || (dx == 0 && dy == 0 && dz == 0) { continue }
                                    let w = Int(lv[xx + nx * (yy + ny * zz)])
                                    if w > 0 && abs(w - l) <= alpha { k += 1 }
                                }
                            }
                        }
                        m.add(l, k)
                    }
                }
            }
        }
        return m
    }

    static func ngldm(_ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink) {
        let results = sliceAggregate(
            roi, settings,
            matrix: { zr, planar in dependenceMatrix(roi, zr, planar: planar, alpha: settings.ngldmAlpha) },
            combine: { a, b in a.merge(b) },
            features: { m, nv in countFeatures(m, nv: nv, energy: true) })
        for (dim, values) in results {
            for (k, (id, name)) in ngldmNames.enumerated() { sink.add(id, .ngldm, name, values[k], dim) }
        }
    }
}

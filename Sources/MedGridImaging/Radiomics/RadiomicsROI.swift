import MedGridCore

/// The region of interest prepared for feature computation: cropped to the bounding box of the
/// morphological mask, resegmented and discretised. Internal.
struct RadiomicsROI: Sendable {
    /// Box size (x fastest).
    let nx: Int, ny: Int, nz: Int
    /// Offset of the box in the full image.
    let offset: SIMD3<Int>
    let spacing: SIMD3<Double>
    /// Intensities in the box.
    let intensity: [Double]
    /// Morphological mask in the box.
    let morph: [Bool]
    /// Intensity mask (after resegmentation) in the box.
    let inROI: [Bool]
    /// Grey level `1...ng` inside the intensity mask, 0 outside.
    let levels: [Int32]
    let ng: Int
    /// Intensities inside the intensity mask, in voxel order.
    let roiValues: [Double]

    var count: Int { nx * ny * nz }
    @inline(__always) func index(_ x: Int, _ y: Int, _ z: Int) -> Int { x + nx * (y + ny * z) }

    static func make(image: Volume, mask: Volume, settings: RadiomicsSettings) throws -> RadiomicsROI {
        guard image.size == mask.size else {
            throw MedGridError(
                .invalidInput,
                "mask size \(mask.size.x)x\(mask.size.y)x\(mask.size.z) does not match image size "
                    + "\(image.size.x)x\(image.size.y)x\(image.size.z)")
        }
        guard image.voxels.count == image.voxelCount, mask.voxels.count == mask.voxelCount else {
            throw MedGridError(.invalidInput, "voxels.count must equal size.x*size.y*size.z for image and mask")
        }
        for a in 0..<3 where !(image.spacing[a] > 0 && image.spacing[a].isFinite) {
            throw MedGridError(.invalidInput, "image spacing[\(a)] = \(image.spacing[a]); expected a positive finite value")
        }
        // Bounding box of the morphological mask.
        var lo = SIMD3<Int>(Int.max, Int.max, Int.max), hi = SIMD3<Int>(-1, -1, -1)
        let sx = image.size.x, sy = image.size.y, sz = image.size.z
        mask.voxels.withUnsafeBufferPointer { m in
            for z in 0..<sz {
                for y in 0..<sy {
                    let row = sx * (y + sy * z)
                    for x in 0..<sx where m[row + x] > 0.5 {
                        lo = pointwiseMin(lo, SIMD3(x, y, z))
                        hi = pointwiseMax(hi, SIMD3(x, y, z))
                    }
                }
            }
        }
        guard hi.x >= 0 else { throw MedGridError(.invalidInput, "mask: no voxel > 0.5; the ROI is empty") }
        let nx = hi.x - lo.x + 1, ny = hi.y - lo.y + 1, nz = hi.z - lo.z + 1
        let n = nx * ny * nz
        var intensity = [Double](repeating: 0, count: n)
        var morph = [Bool](repeating: false, count: n)
        image.voxels.withUnsafeBufferPointer { v in
            mask.voxels.withUnsafeBufferPointer { m in
                for z in 0..<nz {
                    for y in 0..<ny {
                        let src = sx * ((y + lo.y) + sy * (z + lo.z)) + lo.x
                        let dst = nx * (y + ny * z)
                        for x in 0..<nx {
                            intensity[dst + x] = Double(v[src + x])
                            morph[dst + x] = m[src + x] > 0.5
                        }
                    }
                }
            }
        }
        for i in 0..<n where morph[i] && !intensity[i].isFinite {
            throw MedGridError(.invalidInput, "image: non-finite intensity inside the mask at cropped voxel \(i)")
        }
        // Resegmentation.
        var inROI = morph
        if settings.resegmentationLower != nil || settings.resegmentationUpper != nil {
            let a = settings.resegmentationLower ?? -Double.infinity
            let b = settings.resegmentationUpper ?? Double.infinity
            guard a <= b else {
                throw MedGridError(.invalidInput, "resegmentation range [\(a), \(b)]: lower bound exceeds upper bound")
            }
            for i in 0..<n where inROI[i] && !(intensity[i] >= a && intensity[i] <= b) { inROI[i] = false }
        }
        if let k = settings.outlierFilteringSigmas {
            guard k > 0 else { throw MedGridError(.invalidInput, "outlierFilteringSigmas = \(k); expected > 0") }
            var s = 0.0, c = 0
            for i in 0..<n where inROI[i] { s += intensity[i]; c += 1 }
            if c > 0 {
                let mu = s / Double(c)
                var ss = 0.0
                for i in 0..<n where inROI[i] { ss += (intensity[i] - mu) * (intensity[i] - mu) }
                let sd = (ss / Double(c)).squareRoot()
                for i in 0..<n where inROI[i] && abs(intensity[i] - mu) > k * sd { inROI[i] = false }
            }
        }
        var roiValues: [Double] = []
        for i in 0..<n where inROI[i] { roiValues.append(intensity[i]) }
        guard !roiValues.isEmpty else {
            throw MedGridError(.invalidInput, "resegmentation removed every voxel; the intensity mask is empty")
        }
        let (levels, ng) = try discretise(
            intensity: intensity, inROI: inROI, roiValues: roiValues, discretisation: settings.discretisation,
            binOrigin: settings.binOrigin, resegmentationLower: settings.resegmentationLower)
        return RadiomicsROI(
            nx: nx, ny: ny, nz: nz, offset: lo, spacing: image.spacing, intensity: intensity, morph: morph,
            inROI: inROI, levels: levels, ng: ng, roiValues: roiValues)
    }

    /// Maps intensities to grey levels (see ``RadiomicsSettings/Discretisation``); returns levels (0 outside
    /// the mask) and `Ng`.
    static func discretise(
        intensity: [Double], inROI: [Bool], roiValues: [Double], discretisation: RadiomicsSettings.Discretisation,
        binOrigin: RadiomicsSettings.BinOrigin, resegmentationLower: Double?
    ) throws -> ([Int32], Int) {
        let n = intensity.count
        var levels = [Int32](repeating: 0, count: n)
        let lo = roiValues.min() ?? 0, hi = roiValues.max() ?? 0
        let maxLevels = 1 << 20
        switch discretisation {
        case .none:
            for i in 0..<n where inROI[i] {
                let r = intensity[i].rounded()
                guard r >= 1, r <= Double(maxLevels) else {
                    throw MedGridError(
                        .invalidInput,
                        "discretisation none: intensity \(intensity[i]) rounds to \(r); grey levels must be in 1...\(maxLevels)")
                }
                levels[i] = Int32(r)
            }
        case .fixedBinNumber(let bins):
            guard bins >= 1, bins <= maxLevels else {
                throw MedGridError(.invalidInput, "fixedBinNumber \(bins); expected 1...\(maxLevels)")
            }
            let range = hi - lo
            for i in 0..<n where inROI[i] {
                if range <= 0 { levels[i] = 1; continue }
                let l = Int((Double(bins) * (intensity[i] - lo) / range).rounded(.down)) + 1
                levels[i] = Int32(min(l, bins))
            }
            return (levels, bins)
        case .fixedBinSize(let w, let lowerBound):
            guard w > 0, w.isFinite else { throw MedGridError(.invalidInput, "fixedBinSize width \(w); expected > 0") }
            let xmin = lowerBound ?? resegmentationLower ?? lo
            guard (hi - min(xmin, lo)) / w < Double(maxLevels) else {
                throw MedGridError(.invalidInput, "fixedBinSize \(w): more than \(maxLevels) bins for range \(xmin)...\(hi)")
            }
            switch binOrigin {
            case .ibsi:
                for i in 0..<n where inROI[i] {
                    levels[i] = Int32(max(1, Int(((intensity[i] - xmin) / w).rounded(.down)) + 1))
                }
            case .pyRadiomics:
                let base = (xmin / w).rounded(.down)
                for i in 0..<n where inROI[i] {
                    levels[i] = Int32(max(1, Int((intensity[i] / w).rounded(.down) - base) + 1))
                }
            }
        }
        var ng: Int32 = 1
        for i in 0..<n where inROI[i] { ng = max(ng, levels[i]) }
        return (levels, Int(ng))
    }
}

/// Small statistics helpers shared by the families.
enum RadiomicsMath {
    /// numpy-default linear-interpolation percentile of sorted values, `p` in 0...100.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let pos = p / 100 * Double(sorted.count - 1)
        let i = Int(pos.rounded(.down))
        let f = pos - Double(i)
        if i + 1 >= sorted.count { return sorted[sorted.count - 1] }
        return sorted[i] + f * (sorted[i + 1] - sorted[i])
    }

    /// Eigenvalues (descending) of a symmetric 3×3 matrix by cyclic Jacobi rotations.
    static func symmetricEigenvalues3(_ m: [[Double]]) -> [Double] {
        var a = m
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<3 { for q in (p + 1)..<3 { off += a[p][q] * a[p][q] } }
            if off < 1e-30 { break }
            for p in 0..<3 {
                for q in (p + 1)..<3 where a[p][q] != 0 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<3 {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<3 {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                }
            }
        }
        return [a[0][0], a[1][1], a[2][2]].sorted(by: >)
    }
}

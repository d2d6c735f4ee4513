public import MedGridCore

/// How a segmentation's surface is represented and measured. The two conventions give different numbers for
/// the same masks (typically by a fraction of a voxel), so every result names the one it used.
public enum SurfaceConvention: String, Sendable, CaseIterable, Codable {
    /// **Surface elements** — the DeepMind `surface-distance` package (`compute_surface_distances`,
    /// Nikolov et al. 2018). The surface lives on the voxel *corners*: each corner whose 2×2×2 neighbourhood
    /// is neither all inside nor all outside is a surface element (surfel) with an area in mm² from the
    /// marching-cubes triangles of that neighbourhood (``SurfelAreaTable``) scaled by the spacing. The distance of
    /// a surfel is the Euclidean distance (mm) from its corner to the nearest surfel corner of the other mask.
    ///
    /// - HD = the largest surfel distance in either direction (`compute_robust_hausdorff(…, 100)`).
    /// - HDp (HD95 for p = 95) = max over the two directions of the area-weighted p-th percentile: surfels sorted
    ///   by (distance, area), the first whose cumulative area fraction is `>= p/100`
    ///   (`compute_robust_hausdorff`).
    /// - Directed mean = Σ dᵢ aᵢ / Σ aᵢ (`compute_average_surface_distance`); ASSD = the mean of the two directed
    ///   means.
    /// - NSD at τ = (area of reference surfels within τ of the prediction + area of prediction surfels within τ
    ///   of the reference) / total area of both (`compute_surface_dice_at_tolerance`, `d <= τ`).
    /// - Empty masks, as the package: one empty → HD = HDp = +∞, NSD = 0, the directed mean from the non-empty
    ///   surface +∞ and the other NaN (0/0), ASSD +∞; both empty → HD = HDp = +∞, ASSD and NSD NaN.
    case surfaceElements = "surface-elements"

    /// **Boundary voxels** — MONAI's `compute_hausdorff_distance`, `compute_average_surface_distance(symmetric=True)`
    /// and `compute_surface_dice` with their defaults (Euclidean, `use_subvoxels=False`). The surface of a mask
    /// is its boundary voxels: foreground voxels with a 6-neighbour (face neighbour) that is background or
    /// outside the image (`binary_erosion` XOR mask). The distance of a boundary voxel is the Euclidean distance
    /// (mm) between voxel centres to the nearest boundary voxel of the other mask.
    ///
    /// - HD = the largest distance in either direction.
    /// - HDp = max over the two directions of the p-th percentile with linear interpolation between order
    ///   statistics (`torch.quantile`); the rank `p/100 · (n − 1)` is evaluated in single precision as
    ///   torch does for MONAI's float32 distances, the interpolation itself in double.
    /// - Directed mean = plain mean of that direction's distances; ASSD = the mean of *all* distances of both
    ///   directions together, (Σ d_pred→ref + Σ d_ref→pred) / (n_pred + n_ref).
    /// - NSD at τ = (number of boundary voxels of both masks within τ mm of the other) / (n_pred + n_ref).
    /// - Empty masks, as MONAI: both empty → every surface metric NaN; one empty → HD, ASSD and both directed
    ///   means +∞, NSD 0. HDp is +∞ there too, where MONAI returns NaN (torch interpolates ∞ − ∞).
    /// MONAI returns float32, so its values agree with these to about 1e-7 relative.
    case boundaryVoxels = "boundary-voxels"

    /// A one-line statement of the convention for reports.
    public var convention: String {
        switch self {
        case .surfaceElements:
            return "surface elements (DeepMind surface-distance): surfels on voxel corners weighted by marching-cubes "
                + "area; HD95 = max of the two area-weighted directed 95th percentiles; ASSD = mean of the two "
                + "area-weighted directed means; NSD = surface Dice at tolerance (d <= tau)"
        case .boundaryVoxels:
            return "boundary voxels (MONAI defaults): foreground voxels with a background face neighbour, "
                + "distances between voxel centres; HD95 = max of the two directed 95th percentiles "
                + "(linear interpolation); ASSD = mean of all distances of both directions; NSD = fraction of "
                + "boundary voxels within tau"
        }
    }
}

/// Surface-distance metrics between a prediction and a reference in one ``SurfaceConvention``.
///
/// All distances are in millimetres. Values may be `+∞` (one mask empty) or NaN (undefined, e.g. both empty);
/// ``json()`` writes `+∞` as the string `"infinite"` and NaN as `null`.
public struct SurfaceDistanceMetrics: Sendable, Equatable {
    /// The convention the numbers follow.
    public var convention: SurfaceConvention
    /// Hausdorff distance: the largest distance from a surface point of either mask to the other surface.
    public var hausdorff: Double
    /// The percentile used for ``percentileHausdorff`` (95 for HD95).
    public var percentile: Double
    /// Percentile Hausdorff distance (HD95 for `percentile` 95): the larger of the two directed percentiles.
    public var percentileHausdorff: Double
    /// Average symmetric surface distance, as the convention defines it.
    public var averageSymmetricSurfaceDistance: Double
    /// Mean distance from the reference surface to the prediction surface.
    public var meanDistanceReferenceToPrediction: Double
    /// Mean distance from the prediction surface to the reference surface.
    public var meanDistancePredictionToReference: Double
    /// Normalized surface Dice at ``tolerance``.
    public var normalizedSurfaceDice: Double
    /// The NSD tolerance τ in millimetres.
    public var tolerance: Double
    /// Size of the reference surface: area in mm² (surface elements) or number of boundary voxels.
    public var referenceSurfaceSize: Double
    /// Size of the prediction surface, in the same unit as ``referenceSurfaceSize``.
    public var predictionSurfaceSize: Double

    public init(
        convention: SurfaceConvention, hausdorff: Double, percentile: Double, percentileHausdorff: Double,
        averageSymmetricSurfaceDistance: Double, meanDistanceReferenceToPrediction: Double,
        meanDistancePredictionToReference: Double, normalizedSurfaceDice: Double, tolerance: Double,
        referenceSurfaceSize: Double, predictionSurfaceSize: Double
    ) {
        self.convention = convention
        self.hausdorff = hausdorff
        self.percentile = percentile
        self.percentileHausdorff = percentileHausdorff
        self.averageSymmetricSurfaceDistance = averageSymmetricSurfaceDistance
        self.meanDistanceReferenceToPrediction = meanDistanceReferenceToPrediction
        self.meanDistancePredictionToReference = meanDistancePredictionToReference
        self.normalizedSurfaceDice = normalizedSurfaceDice
        self.tolerance = tolerance
        self.referenceSurfaceSize = referenceSurfaceSize
        self.predictionSurfaceSize = predictionSurfaceSize
    }

    /// Equality that treats two NaNs as equal (both "undefined").
    public static func == (a: SurfaceDistanceMetrics, b: SurfaceDistanceMetrics) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        return a.convention == b.convention && same(a.hausdorff, b.hausdorff) && a.percentile == b.percentile
            && same(a.percentileHausdorff, b.percentileHausdorff)
            && same(a.averageSymmetricSurfaceDistance, b.averageSymmetricSurfaceDistance)
            && same(a.meanDistanceReferenceToPrediction, b.meanDistanceReferenceToPrediction)
            && same(a.meanDistancePredictionToReference, b.meanDistancePredictionToReference)
            && same(a.normalizedSurfaceDice, b.normalizedSurfaceDice) && a.tolerance == b.tolerance
            && a.referenceSurfaceSize == b.referenceSurfaceSize && a.predictionSurfaceSize == b.predictionSurfaceSize
    }

    /// The metrics as a JSON object (camelCase keys, `"convention"` holds the one-line statement, `"name"` the
    /// convention's short name). Non-finite values: `+∞` → `"infinite"`, NaN → `null`.
    public func json() -> JSONValue {
        .object([
            "name": .string(convention.rawValue),
            "convention": .string(convention.convention),
            "hausdorff": Self.encode(hausdorff),
            "percentile": .double(percentile),
            "percentileHausdorff": Self.encode(percentileHausdorff),
            "averageSymmetricSurfaceDistance": Self.encode(averageSymmetricSurfaceDistance),
            "meanDistanceReferenceToPrediction": Self.encode(meanDistanceReferenceToPrediction),
            "meanDistancePredictionToReference": Self.encode(meanDistancePredictionToReference),
            "normalizedSurfaceDice": Self.encode(normalizedSurfaceDice),
            "tolerance": .double(tolerance),
            "referenceSurfaceSize": Self.encode(referenceSurfaceSize),
            "predictionSurfaceSize": Self.encode(predictionSurfaceSize),
            "surfaceSizeUnit": .string(convention == .surfaceElements ? "mm2" : "voxels"),
        ])
    }

    /// A number for reports: finite → number, `+∞` → `"infinite"`, `−∞` → `"-infinite"`, NaN → `null`.
    public static func encode(_ d: Double) -> JSONValue {
        if d.isFinite { return .double(d) }
        if d.isNaN { return .null }
        return .string(d > 0 ? "infinite" : "-infinite")
    }
}

// MARK: - Computation on one binary pair

/// Two binary masks cut out of their volumes around the union's bounding box, with a one-voxel ring of
/// background all round: voxel `(i, j, k)` of the grid is image voxel `lo - 1 + (i, j, k)`.
struct PaddedPair {
    var dims: SIMD3<Int>
    var prediction: [UInt8]
    var reference: [UInt8]
    var spacing: SIMD3<Double>

    init(prediction p: [Float], reference r: [Float], size: SIMD3<Int>, spacing: SIMD3<Double>,
         lo: SIMD3<Int>, hi: SIMD3<Int>, isMember: (Float) -> Bool) {
        let d = hi &- lo &+ SIMD3(3, 3, 3)
        dims = d
        self.spacing = spacing
        var pm = [UInt8](repeating: 0, count: d.x * d.y * d.z)
        var rm = pm
        p.withUnsafeBufferPointer { pv in
            r.withUnsafeBufferPointer { rv in
                for z in lo.z...hi.z {
                    for y in lo.y...hi.y {
                        let src = size.x * (y + size.y * z)
                        let dst = 1 + d.x * ((y - lo.y + 1) + d.y * (z - lo.z + 1)) - lo.x
                        for x in lo.x...hi.x {
                            if isMember(pv[src + x]) { pm[dst + x] = 1 }
                            if isMember(rv[src + x]) { rm[dst + x] = 1 }
                        }
                    }
                }
            }
        }
        prediction = pm
        reference = rm
    }
}

enum SurfaceDistanceComputation {
    // MARK: Boundary voxels (MONAI)

    static func boundaryVoxels(_ pair: PaddedPair, tolerance: Double, percentile: Double) -> SurfaceDistanceMetrics {
        let d = pair.dims
        let predEdges = edges(pair.prediction, dims: d)
        let refEdges = edges(pair.reference, dims: d)
        let nP = predEdges.count, nR = refEdges.count
        func result(_ hd: Double, _ hdp: Double, _ assd: Double, _ mRP: Double, _ mPR: Double, _ nsd: Double)
            -> SurfaceDistanceMetrics
        {
            SurfaceDistanceMetrics(
                convention: .boundaryVoxels, hausdorff: hd, percentile: percentile, percentileHausdorff: hdp,
                averageSymmetricSurfaceDistance: assd, meanDistanceReferenceToPrediction: mRP,
                meanDistancePredictionToReference: mPR, normalizedSurfaceDice: nsd, tolerance: tolerance,
                referenceSurfaceSize: Double(nR), predictionSurfaceSize: Double(nP))
        }
        if nP == 0 && nR == 0 { return result(.nan, .nan, .nan, .nan, .nan, .nan) }
        if nP == 0 || nR == 0 { return result(.infinity, .infinity, .infinity, .infinity, .infinity, 0) }
        let dPR = distances(from: predEdges, to: refEdges, dims: d, spacing: pair.spacing).sorted()
        let dRP = distances(from: refEdges, to: predEdges, dims: d, spacing: pair.spacing).sorted()
        let hd = max(dPR[nP - 1], dRP[nR - 1])
        let hdp = max(torchQuantile(dPR, percentile / 100), torchQuantile(dRP, percentile / 100))
        let sPR = dPR.reduce(0, +), sRP = dRP.reduce(0, +)
        let within = dPR.countWithin(tolerance) + dRP.countWithin(tolerance)
        return result(
            hd, hdp, (sPR + sRP) / Double(nP + nR), sRP / Double(nR), sPR / Double(nP),
            Double(within) / Double(nP + nR))
    }

    /// Linear indices of the voxels of `m` with a face neighbour that is 0 (the ring is 0, so no bounds checks
    /// are needed for interior voxels; ring voxels are never foreground).
    static func edges(_ m: [UInt8], dims d: SIMD3<Int>) -> [Int] {
        var out: [Int] = []
        let sy = d.x, sz = d.x * d.y
        m.withUnsafeBufferPointer { v in
            for z in 1..<(d.z - 1) {
                for y in 1..<(d.y - 1) {
                    let row = d.x * (y + d.y * z)
                    for x in 1..<(d.x - 1) {
                        let i = row + x
                        if v[i] == 0 { continue }
                        if v[i - 1] == 0 || v[i + 1] == 0 || v[i - sy] == 0 || v[i + sy] == 0 || v[i - sz] == 0
                            || v[i + sz] == 0
                        {
                            out.append(i)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Distances (mm) from each point of `from` to the nearest point of `to` (both non-empty), on a grid.
    static func distances(from: [Int], to: [Int], dims: SIMD3<Int>, spacing: SIMD3<Double>) -> [Double] {
        var f = [Double](repeating: .infinity, count: dims.x * dims.y * dims.z)
        f.withUnsafeMutableBufferPointer { b in
            for i in to { b[i] = 0 }
            DistanceTransform.squaredInPlace(b, size: dims, spacing: spacing)
        }
        return f.withUnsafeBufferPointer { b in from.map { b[$0].squareRoot() } }
    }

    /// `torch.quantile(x, q)` (linear interpolation) on ascending `x`, with the rank in single precision as torch
    /// computes it for float32 input. Equal neighbours (including two infinities) give that value.
    static func torchQuantile(_ x: [Double], _ q: Double) -> Double {
        let n = x.count
        let rank = Float(q) * Float(n - 1)
        let below = min(max(Int(rank), 0), n - 1)
        let above = min(Int(rank.rounded(.up)), n - 1)
        let lo = x[below], hi = x[above]
        if lo == hi { return lo }
        let w = Double(rank - Float(below))
        return w < 0.5 ? lo + w * (hi - lo) : hi - (hi - lo) * (1 - w)
    }

    // MARK: Surface elements (DeepMind surface-distance)

    static func surfaceElements(_ pair: PaddedPair, tolerance: Double, percentile: Double) -> SurfaceDistanceMetrics {
        let vd = pair.dims
        let cd = vd &- SIMD3(1, 1, 1)  // corner grid: corner c lies between padded voxels c and c + 1
        let areaOfCode = surfelAreas(spacing: pair.spacing)
        let predSurfels = surfels(pair.prediction, voxelDims: vd)
        let refSurfels = surfels(pair.reference, voxelDims: vd)
        let predAreas = predSurfels.codes.map { areaOfCode[Int($0)] }
        let refAreas = refSurfels.codes.map { areaOfCode[Int($0)] }
        let dRP: [Double], dPR: [Double]
        if predSurfels.corners.isEmpty {
            dRP = [Double](repeating: .infinity, count: refSurfels.corners.count)
        } else {
            dRP = distances(from: refSurfels.corners, to: predSurfels.corners, dims: cd, spacing: pair.spacing)
        }
        if refSurfels.corners.isEmpty {
            dPR = [Double](repeating: .infinity, count: predSurfels.corners.count)
        } else {
            dPR = distances(from: predSurfels.corners, to: refSurfels.corners, dims: cd, spacing: pair.spacing)
        }
        let ref = sortedByDistanceThenArea(dRP, refAreas)
        let pred = sortedByDistanceThenArea(dPR, predAreas)
        let totalR = ref.areas.reduce(0, +), totalP = pred.areas.reduce(0, +)
        let mRP = weightedMean(ref), mPR = weightedMean(pred)
        let assd: Double
        if ref.distances.isEmpty && pred.distances.isEmpty {
            assd = .nan
        } else if ref.distances.isEmpty || pred.distances.isEmpty {
            assd = .infinity
        } else {
            assd = (mRP + mPR) / 2
        }
        let hd = max(areaPercentile(ref, 100), areaPercentile(pred, 100))
        let hdp = max(areaPercentile(ref, percentile), areaPercentile(pred, percentile))
        var overlapR = 0.0, overlapP = 0.0  // summed in the same order as the totals: all within τ gives exactly 1
        for (d, a) in zip(ref.distances, ref.areas) where d <= tolerance { overlapR += a }
        for (d, a) in zip(pred.distances, pred.areas) where d <= tolerance { overlapP += a }
        return SurfaceDistanceMetrics(
            convention: .surfaceElements, hausdorff: hd, percentile: percentile, percentileHausdorff: hdp,
            averageSymmetricSurfaceDistance: assd, meanDistanceReferenceToPrediction: mRP,
            meanDistancePredictionToReference: mPR, normalizedSurfaceDice: (overlapR + overlapP) / (totalR + totalP),
            tolerance: tolerance, referenceSurfaceSize: totalR, predictionSurfaceSize: totalP)
    }

    /// Area (mm²) of the surfel of each of the 256 neighbourhood codes for this spacing (axis 0 = x, 1 = y,
    /// 2 = z; the table is symmetric under axis permutation, so the order does not change the areas).
    static func surfelAreas(spacing s: SIMD3<Double>) -> [Double] {
        let scale = SIMD3(s.y * s.z, s.x * s.z, s.x * s.y) / 8
        var out = [Double](repeating: 0, count: 256)
        for code in 0..<256 {
            var sum = 0.0
            let lo = Int(SurfelAreaTable.triangleOffsets[code]), hi = Int(SurfelAreaTable.triangleOffsets[code + 1])
            for t in lo..<hi {
                let n = SIMD3(
                    Double(SurfelAreaTable.eighths[3 * t]), Double(SurfelAreaTable.eighths[3 * t + 1]),
                    Double(SurfelAreaTable.eighths[3 * t + 2])) * scale
                sum += (n * n).sum().squareRoot()
            }
            out[code] = sum
        }
        return out
    }

    /// Surface corners of mask `m` (padded voxel grid `voxelDims`): linear indices in the corner grid
    /// (`voxelDims − 1`) and their neighbourhood codes, in corner order.
    static func surfels(_ m: [UInt8], voxelDims vd: SIMD3<Int>) -> (corners: [Int], codes: [UInt8]) {
        let cd = vd &- SIMD3(1, 1, 1)
        var corners: [Int] = [], codes: [UInt8] = []
        let sy = vd.x, sz = vd.x * vd.y
        m.withUnsafeBufferPointer { v in
            for z in 0..<cd.z {
                for y in 0..<cd.y {
                    for x in 0..<cd.x {
                        let i = x + vd.x * (y + vd.y * z)
                        // bit 7 - (4a + 2b + c) for the voxel at offset (a, b, c) along (x, y, z)
                        var code = Int(v[i]) << 7 | Int(v[i + sz]) << 6 | Int(v[i + sy]) << 5
                        code |= Int(v[i + sy + sz]) << 4 | Int(v[i + 1]) << 3 | Int(v[i + 1 + sz]) << 2
                        code |= Int(v[i + 1 + sy]) << 1 | Int(v[i + 1 + sy + sz])
                        if code != 0 && code != 255 {
                            corners.append(x + cd.x * (y + cd.y * z))
                            codes.append(UInt8(code))
                        }
                    }
                }
            }
        }
        return (corners, codes)
    }

    struct WeightedDistances {
        var distances: [Double]
        var areas: [Double]
    }

    /// Sorted by (distance, area), as the package sorts its `(distance, area)` tuples.
    static func sortedByDistanceThenArea(_ d: [Double], _ a: [Double]) -> WeightedDistances {
        let order = d.indices.sorted { d[$0] < d[$1] || (d[$0] == d[$1] && a[$0] < a[$1]) }
        return WeightedDistances(distances: order.map { d[$0] }, areas: order.map { a[$0] })
    }

    /// Σ dᵢ aᵢ / Σ aᵢ; NaN for an empty surface (0/0, as the package).
    static func weightedMean(_ w: WeightedDistances) -> Double {
        var num = 0.0, den = 0.0
        for (d, a) in zip(w.distances, w.areas) {
            num += d * a
            den += a
        }
        return num / den
    }

    /// The first distance whose cumulative area fraction is `>= p/100` (`np.searchsorted`, clipped to the last);
    /// `+∞` for an empty surface.
    static func areaPercentile(_ w: WeightedDistances, _ p: Double) -> Double {
        let n = w.distances.count
        guard n > 0 else { return .infinity }
        let total = w.areas.reduce(0, +)
        let target = p / 100
        var cum = 0.0
        for i in 0..<n {
            cum += w.areas[i]
            if cum / total >= target { return w.distances[i] }
        }
        return w.distances[n - 1]
    }
}

extension Array where Element == Double {
    /// Number of elements `<= t` in an ascending array.
    func countWithin(_ t: Double) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

public import MedGridCore

/// Overlap and surface-distance metrics of one structure (a binary mask, or one label of a label map) of a
/// predicted segmentation against the reference (ground truth).
///
/// Conventions:
/// - Overlap, as ``OverlapMetrics``: **dice** = 2|P∩R| / (|P| + |R|), **jaccard** = |P∩R| / |P∪R|; both
///   empty → both 1, exactly one empty → both 0. Volumes are voxel counts times the voxel volume (mm³).
/// - Surface distances in each requested ``SurfaceConvention`` (``surfaceElements`` = DeepMind
///   `surface-distance`, ``boundaryVoxels`` = MONAI), in millimetres using the spacing; see those cases for the
///   definitions and their empty-mask values.
/// - Prediction and reference must have the same size, spacing, origin and direction (spacing and origin within
///   1e-4 mm, direction cosines within 1e-6); there is no resampling. Distances are measured in index space
///   scaled by the spacing, which is physical distance for an orthonormal direction matrix.
public struct SegmentationMetrics: Sendable, Equatable {
    /// The label measured, or `nil` for a binary comparison of foreground (value `> 0`).
    public var label: Int?
    /// Volumetric Dice coefficient.
    public var dice: Double
    /// Jaccard index (intersection over union).
    public var jaccard: Double
    /// Number of voxels of the structure in the prediction.
    public var predictedVoxels: Int
    /// Number of voxels of the structure in the reference.
    public var referenceVoxels: Int
    /// Number of voxels in both.
    public var intersectionVoxels: Int
    /// Predicted volume in mm³.
    public var predictedVolumeMM3: Double
    /// Reference volume in mm³.
    public var referenceVolumeMM3: Double
    /// Surface metrics in the DeepMind surface-distance convention, when requested.
    public var surfaceElements: SurfaceDistanceMetrics?
    /// Surface metrics in the MONAI boundary-voxel convention, when requested.
    public var boundaryVoxels: SurfaceDistanceMetrics?

    public init(
        label: Int?, dice: Double, jaccard: Double, predictedVoxels: Int, referenceVoxels: Int,
        intersectionVoxels: Int, predictedVolumeMM3: Double, referenceVolumeMM3: Double,
        surfaceElements: SurfaceDistanceMetrics?, boundaryVoxels: SurfaceDistanceMetrics?
    ) {
        self.label = label
        self.dice = dice
        self.jaccard = jaccard
        self.predictedVoxels = predictedVoxels
        self.referenceVoxels = referenceVoxels
        self.intersectionVoxels = intersectionVoxels
        self.predictedVolumeMM3 = predictedVolumeMM3
        self.referenceVolumeMM3 = referenceVolumeMM3
        self.surfaceElements = surfaceElements
        self.boundaryVoxels = boundaryVoxels
    }

    /// The metrics in one convention, if computed.
    public func surface(_ convention: SurfaceConvention) -> SurfaceDistanceMetrics? {
        convention == .surfaceElements ? surfaceElements : boundaryVoxels
    }

    /// The metrics as a JSON object: `label` (`null` for binary), `dice`, `jaccard`, voxel counts, volumes,
    /// and one object per computed convention under `surfaceElements` / `boundaryVoxels` (see
    /// ``SurfaceDistanceMetrics/json()``; `+∞` → `"infinite"`, NaN → `null`).
    public func json() -> JSONValue {
        var o: [String: JSONValue] = [
            "label": label.map { .int($0) } ?? .null,
            "dice": .double(dice),
            "jaccard": .double(jaccard),
            "predictedVoxels": .int(predictedVoxels),
            "referenceVoxels": .int(referenceVoxels),
            "intersectionVoxels": .int(intersectionVoxels),
            "predictedVolumeMM3": .double(predictedVolumeMM3),
            "referenceVolumeMM3": .double(referenceVolumeMM3),
        ]
        if let s = surfaceElements { o["surfaceElements"] = s.json() }
        if let b = boundaryVoxels { o["boundaryVoxels"] = b.json() }
        return .object(o)
    }

    /// Binary comparison: foreground is any voxel `> 0` in each volume (all labels together).
    ///
    /// - Parameters:
    ///   - tolerance: NSD tolerance τ in mm (finite, `>= 0`).
    ///   - percentile: the percentile of the percentile Hausdorff distance, in `0...100` (95 for HD95).
    ///   - conventions: the surface conventions to compute (both by default; empty for overlap only).
    /// - Throws: `MedGridError(.invalidInput)` when the geometries differ or a parameter is out of range.
    public static func compute(
        prediction: Volume, reference: Volume, tolerance: Double, percentile: Double = 95,
        conventions: [SurfaceConvention] = SurfaceConvention.allCases
    ) throws -> SegmentationMetrics {
        try validate(prediction: prediction, reference: reference, tolerance: tolerance, percentile: percentile)
        let stats = scan(prediction: prediction, reference: reference) { $0 > 0 ? 1 : 0 }
        return measure(
            label: nil, stats: stats.perLabel[1] ?? LabelStats(), prediction: prediction, reference: reference,
            tolerance: tolerance, percentile: percentile, conventions: conventions
        ) { $0 > 0 }
    }

    /// Per-label comparison of two label maps (integer values; 0 is background).
    ///
    /// - Parameters:
    ///   - labels: the labels to report, in this order; `nil` for every label present in either map, ascending.
    ///     A requested label absent from both maps is reported with Dice 1 and the conventions' both-empty values.
    ///   - tolerance, percentile, conventions: as in ``compute(prediction:reference:tolerance:percentile:conventions:)``.
    /// - Throws: `MedGridError(.invalidInput)` when the geometries differ, a parameter is out of range, a requested
    ///   label is not in `1...65535`, or a voxel of either map holds a value that is not an integer in `0...65535`.
    public static func computePerLabel(
        prediction: Volume, reference: Volume, labels: [Int]? = nil, tolerance: Double, percentile: Double = 95,
        conventions: [SurfaceConvention] = SurfaceConvention.allCases
    ) throws -> [SegmentationMetrics] {
        try validate(prediction: prediction, reference: reference, tolerance: tolerance, percentile: percentile)
        for l in labels ?? [] where !(1...maxLabel).contains(l) {
            throw MedGridError(.invalidInput, "labels: \(l) is not in 1...\(maxLabel)")
        }
        try checkLabelValues(prediction, name: "prediction")
        try checkLabelValues(reference, name: "reference")
        let stats = scan(prediction: prediction, reference: reference) { Int($0) }
        let wanted = labels ?? stats.perLabel.keys.filter { $0 > 0 }.sorted()
        return wanted.map { label in
            let f = Float(label)
            return measure(
                label: label, stats: stats.perLabel[label] ?? LabelStats(), prediction: prediction,
                reference: reference, tolerance: tolerance, percentile: percentile, conventions: conventions
            ) { $0 == f }
        }
    }

    static let maxLabel = 65535

    // MARK: - Implementation

    struct LabelStats {
        var predicted = 0, reference = 0, both = 0
        var lo = SIMD3(Int.max, Int.max, Int.max)
        var hi = SIMD3(Int.min, Int.min, Int.min)
    }

    struct ScanResult {
        var perLabel: [Int: LabelStats]
    }

    /// One pass over both volumes: per class (from `classOf`, 0 = background) the voxel counts, the intersection
    /// and the bounding box of the union.
    static func scan(prediction: Volume, reference: Volume, classOf: (Float) -> Int) -> ScanResult {
        var table: [LabelStats] = []
        let size = prediction.size
        prediction.voxels.withUnsafeBufferPointer { pv in
            reference.voxels.withUnsafeBufferPointer { rv in
                var i = 0
                for z in 0..<size.z {
                    for y in 0..<size.y {
                        for x in 0..<size.x {
                            let a = classOf(pv[i]), b = classOf(rv[i])
                            i += 1
                            if a == 0 && b == 0 { continue }
                            let top = max(a, b)
                            if top >= table.count { table.append(contentsOf: repeatElement(LabelStats(), count: top + 1 - table.count)) }
                            let p = SIMD3(x, y, z)
                            if a != 0 {
                                table[a].predicted += 1
                                table[a].lo = pointwiseMin(table[a].lo, p)
                                table[a].hi = pointwiseMax(table[a].hi, p)
                            }
                            if b != 0 {
                                table[b].reference += 1
                                if a == b { table[b].both += 1 }
                                table[b].lo = pointwiseMin(table[b].lo, p)
                                table[b].hi = pointwiseMax(table[b].hi, p)
                            }
                        }
                    }
                }
            }
        }
        var out: [Int: LabelStats] = [:]
        for (l, s) in table.enumerated() where s.predicted > 0 || s.reference > 0 { out[l] = s }
        return ScanResult(perLabel: out)
    }

    static func measure(
        label: Int?, stats s: LabelStats, prediction: Volume, reference: Volume, tolerance: Double,
        percentile: Double, conventions: [SurfaceConvention], isMember: (Float) -> Bool
    ) -> SegmentationMetrics {
        let sum = s.predicted + s.reference, union = sum - s.both
        let dice = sum == 0 ? 1 : 2 * Double(s.both) / Double(sum)
        let jaccard = union == 0 ? 1 : Double(s.both) / Double(union)
        let voxel = reference.voxelVolume
        var result = SegmentationMetrics(
            label: label, dice: dice, jaccard: jaccard, predictedVoxels: s.predicted, referenceVoxels: s.reference,
            intersectionVoxels: s.both, predictedVolumeMM3: Double(s.predicted) * voxel,
            referenceVolumeMM3: Double(s.reference) * voxel, surfaceElements: nil, boundaryVoxels: nil)
        guard !conventions.isEmpty else { return result }
        let pair: PaddedPair
        if sum == 0 {
            // Both empty: a one-voxel grid of background gives each convention's both-empty values.
            pair = PaddedPair(
                prediction: [0], reference: [0], size: [1, 1, 1], spacing: reference.spacing, lo: [0, 0, 0],
                hi: [0, 0, 0], isMember: { _ in false })
        } else {
            pair = PaddedPair(
                prediction: prediction.voxels, reference: reference.voxels, size: reference.size,
                spacing: reference.spacing, lo: s.lo, hi: s.hi, isMember: isMember)
        }
        if conventions.contains(.surfaceElements) {
            result.surfaceElements = SurfaceDistanceComputation.surfaceElements(
                pair, tolerance: tolerance, percentile: percentile)
        }
        if conventions.contains(.boundaryVoxels) {
            result.boundaryVoxels = SurfaceDistanceComputation.boundaryVoxels(
                pair, tolerance: tolerance, percentile: percentile)
        }
        return result
    }

    static func validate(prediction p: Volume, reference r: Volume, tolerance: Double, percentile: Double) throws {
        try DistanceTransform.checkGeometry(
            size: p.size, spacing: p.spacing, count: p.voxels.count, what: "prediction voxels")
        try DistanceTransform.checkGeometry(
            size: r.size, spacing: r.spacing, count: r.voxels.count, what: "reference voxels")
        func close(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Bool {
            abs(a.x - b.x) <= 1e-4 && abs(a.y - b.y) <= 1e-4 && abs(a.z - b.z) <= 1e-4
        }
        func v(_ s: SIMD3<Int>) -> String { "\(s.x)x\(s.y)x\(s.z)" }
        func v(_ s: SIMD3<Double>) -> String { "(\(s.x), \(s.y), \(s.z))" }
        guard p.size == r.size else {
            throw MedGridError(.invalidInput, "prediction size \(v(p.size)) does not match reference size \(v(r.size))")
        }
        guard close(p.spacing, r.spacing) else {
            throw MedGridError(
                .invalidInput, "prediction spacing \(v(p.spacing)) mm does not match reference spacing \(v(r.spacing)) mm")
        }
        guard close(p.origin, r.origin) else {
            throw MedGridError(
                .invalidInput, "prediction origin \(v(p.origin)) mm does not match reference origin \(v(r.origin)) mm")
        }
        guard p.direction.count == 9, r.direction.count == 9,
            zip(p.direction, r.direction).allSatisfy({ abs($0 - $1) <= 1e-6 })
        else {
            throw MedGridError(
                .invalidInput, "prediction direction \(p.direction) does not match reference direction \(r.direction)")
        }
        guard tolerance.isFinite && tolerance >= 0 else {
            throw MedGridError(.invalidInput, "tolerance is \(tolerance) mm; expected a finite number >= 0")
        }
        guard percentile >= 0 && percentile <= 100 else {
            throw MedGridError(.invalidInput, "percentile is \(percentile); expected a number in 0...100")
        }
    }

    static func checkLabelValues(_ v: Volume, name: String) throws {
        let bad: Int? = v.voxels.withUnsafeBufferPointer { b in
            for i in 0..<b.count {
                let x = b[i]
                if !(x >= 0 && x <= Float(maxLabel) && x.rounded() == x) { return i }
            }
            return nil
        }
        if let i = bad {
            let x = i % v.size.x, y = (i / v.size.x) % v.size.y, z = i / (v.size.x * v.size.y)
            throw MedGridError(
                .invalidInput,
                "\(name) voxel (\(x), \(y), \(z)) holds \(v.voxels[i]); a label map needs integers in 0...\(maxLabel)")
        }
    }
}

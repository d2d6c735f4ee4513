/// Overlap between a predicted segmentation and the reference (ground truth).
///
/// Conventions:
/// - Foreground is any voxel with value `> 0` (all labels of a label map together).
/// - **dice** = 2|P∩R| / (|P| + |R|); **jaccard** = |P∩R| / |P∪R|. When both masks are empty they agree
///   perfectly: both are 1. When only one is empty both are 0.
/// - **volumeDifference** = (V_P − V_R) / V_R, signed and relative (0.1 means 10 % too large); `nil`
///   when the reference is empty.
/// - Volumes are voxel counts times the reference's voxel volume (mm³).
/// - The two masks must have the same size (no resampling here).
public struct OverlapMetrics: Codable, Sendable, Equatable {
    public var dice: Double
    public var jaccard: Double
    public var volumeDifference: Double?
    public var predictedVolumeMM3: Double
    public var referenceVolumeMM3: Double

    public init(dice: Double, jaccard: Double, volumeDifference: Double?, predictedVolumeMM3: Double, referenceVolumeMM3: Double) {
        self.dice = dice
        self.jaccard = jaccard
        self.volumeDifference = volumeDifference
        self.predictedVolumeMM3 = predictedVolumeMM3
        self.referenceVolumeMM3 = referenceVolumeMM3
    }

    public static func compute(prediction: Volume, reference: Volume) throws -> OverlapMetrics {
        guard prediction.size == reference.size else {
            throw ImagingError(
                .sizeMismatch,
                "prediction size \(prediction.size.x)x\(prediction.size.y)x\(prediction.size.z) does not match reference size "
                    + "\(reference.size.x)x\(reference.size.y)x\(reference.size.z)")
        }
        var p = 0, r = 0, both = 0
        prediction.voxels.withUnsafeBufferPointer { pv in
            reference.voxels.withUnsafeBufferPointer { rv in
                for i in 0..<pv.count {
                    let a = pv[i] > 0, b = rv[i] > 0
                    if a { p += 1 }
                    if b { r += 1 }
                    if a && b { both += 1 }
                }
            }
        }
        let union = p + r - both
        let dice = p + r == 0 ? 1 : 2 * Double(both) / Double(p + r)
        let jaccard = union == 0 ? 1 : Double(both) / Double(union)
        let voxel = reference.voxelVolume
        let vp = Double(p) * voxel, vr = Double(r) * voxel
        return OverlapMetrics(
            dice: dice, jaccard: jaccard, volumeDifference: r == 0 ? nil : (vp - vr) / vr,
            predictedVolumeMM3: vp, referenceVolumeMM3: vr)
    }

    /// The value of a named metric (`dice`, `jaccard`, `volume-difference`).
    public func value(of metric: String) -> Double? {
        switch metric {
        case "dice": return dice
        case "jaccard": return jaccard
        case "volume-difference": return volumeDifference
        default: return nil
        }
    }

    /// The metrics this type computes, by their manifest names.
    public static let names = ["dice", "jaccard", "volume-difference"]
}

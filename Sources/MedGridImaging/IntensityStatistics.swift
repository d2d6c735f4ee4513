/// First-order intensity statistics of an image, optionally inside a mask.
///
/// Conventions:
/// - **Selection**: without a mask every voxel counts (`label` is then ignored). With a mask, a voxel
///   counts when the mask value is `> 0`, or, when `label` is given, exactly equal to `label`. The
///   mask must have the same `size` as the image (geometry is otherwise not compared). Image voxels
///   that are NaN are skipped everywhere (they count towards neither `voxelCount` nor any statistic).
/// - **volumeMM3** is `voxelCount` times the image's voxel volume (product of its spacing, mm³).
/// - **std** is the population standard deviation (divide by N, the IBSI convention; numpy `ddof=0`),
///   computed with two passes in Double.
/// - **percentiles** use linear interpolation between closest ranks: for p in 0...100 the value at
///   the virtual index `(p / 100) * (N - 1)` of the sorted values — numpy's default `"linear"`
///   method, R type 7. Keys are `"p"` followed by the shortest form of p: `"p5"`, `"p50"`, `"p97.5"`.
/// - **Empty selection**: `voxelCount` and `volumeMM3` are 0, `mean`/`std`/`min`/`max` are `nil` and
///   `percentiles` is empty (NaN has no JSON form).
/// - **Determinism**: sums run in Double in voxel order, so results do not depend on threads.
public struct IntensityStatistics: Codable, Sendable, Equatable {
    /// Selected voxels.
    public var voxelCount: Int
    /// Selected volume in cubic millimetres.
    public var volumeMM3: Double
    /// Arithmetic mean; `nil` for an empty selection.
    public var mean: Double?
    /// Population standard deviation (divide by N); `nil` for an empty selection.
    public var std: Double?
    /// Smallest selected value; `nil` for an empty selection.
    public var min: Double?
    /// Largest selected value; `nil` for an empty selection.
    public var max: Double?
    /// Requested percentiles keyed `"p5"`, `"p97.5"`, …; empty for an empty selection.
    public var percentiles: [String: Double]

    public init(
        voxelCount: Int, volumeMM3: Double, mean: Double?, std: Double?, min: Double?, max: Double?,
        percentiles: [String: Double]
    ) {
        self.voxelCount = voxelCount
        self.volumeMM3 = volumeMM3
        self.mean = mean
        self.std = std
        self.min = min
        self.max = max
        self.percentiles = percentiles
    }

    /// The dictionary key used for percentile `p`: `"p5"`, `"p50"`, `"p97.5"`.
    public static func key(forPercentile p: Double) -> String {
        if p == p.rounded(), abs(p) < 1e15 { return "p\(Int(p))" }
        return "p\(p)"
    }

    /// Computes the statistics of `image` over the voxels selected by `mask` (and `label`).
    ///
    /// - Throws: ``ImagingError`` (`.sizeMismatch`) if the mask size differs from the image size, or
    ///   (`.invalidArgument`) if a percentile is outside 0...100.
    public static func compute(
        image: Volume, mask: Volume? = nil, label: Int? = nil, percentiles: [Double] = []
    ) throws -> IntensityStatistics {
        for p in percentiles where !(0...100).contains(p) {
            throw ImagingError(.invalidArgument, "percentile \(p) is outside 0...100")
        }
        if let mask, mask.size != image.size {
            throw ImagingError(
                .sizeMismatch,
                "mask size \(mask.size.x)x\(mask.size.y)x\(mask.size.z) does not match image size "
                    + "\(image.size.x)x\(image.size.y)x\(image.size.z)"
            )
        }
        let values = image.voxels
        let maskValues = mask?.voxels
        let target = label.map { Float($0) }

        // Pass 1: gather the selected values into the one buffer we allocate.
        var selected: [Float] = []
        values.withUnsafeBufferPointer { v in
            if let maskValues {
                maskValues.withUnsafeBufferPointer { m in
                    var n = 0
                    for i in 0..<v.count where isSelected(m[i], target) && !v[i].isNaN { n += 1 }
                    selected.reserveCapacity(n)
                    for i in 0..<v.count where isSelected(m[i], target) && !v[i].isNaN { selected.append(v[i]) }
                }
            } else {
                selected.reserveCapacity(v.count)
                for x in v where !x.isNaN { selected.append(x) }
            }
        }

        let n = selected.count
        let volume = Double(n) * image.voxelVolume
        guard n > 0 else {
            return IntensityStatistics(
                voxelCount: 0, volumeMM3: 0, mean: nil, std: nil, min: nil, max: nil, percentiles: [:])
        }

        var sum = 0.0
        var low = Double.infinity
        var high = -Double.infinity
        for x in selected {
            let d = Double(x)
            sum += d
            if d < low { low = d }
            if d > high { high = d }
        }
        let mean = sum / Double(n)
        var squares = 0.0
        for x in selected {
            let delta = Double(x) - mean
            squares += delta * delta
        }
        let std = (squares / Double(n)).squareRoot()

        var result: [String: Double] = [:]
        if !percentiles.isEmpty {
            selected.sort()
            for p in percentiles {
                result[key(forPercentile: p)] = percentile(sorted: selected, p)
            }
        }
        return IntensityStatistics(
            voxelCount: n, volumeMM3: volume, mean: mean, std: std, min: low, max: high, percentiles: result)
    }

    @inline(__always)
    private static func isSelected(_ m: Float, _ target: Float?) -> Bool {
        if let target { return m == target }
        return m > 0
    }

    /// numpy "linear" percentile of sorted values, using numpy's two-sided lerp for identical rounding.
    static func percentile(sorted: [Float], _ p: Double) -> Double {
        let position = (p / 100) * Double(sorted.count - 1)
        let lower = Swift.min(Int(position.rounded(.down)), sorted.count - 1)
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let t = position - Double(lower)
        let a = Double(sorted[lower])
        let b = Double(sorted[upper])
        let difference = b - a
        return t >= 0.5 ? b - difference * (1 - t) : a + difference * t
    }
}

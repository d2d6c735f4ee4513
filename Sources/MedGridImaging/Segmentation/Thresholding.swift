import MedGridCore

/// Fixed-interval thresholding.
public enum IntensityThreshold {
    /// Binary mask: 1 where `lower <= value <= upper` (both inclusive), else 0.
    ///
    /// Values and bounds are compared as `Float` (SimpleITK `BinaryThreshold` casts its bounds to the
    /// float pixel type the same way). NaN voxels are outside. The mask keeps the image's geometry and
    /// is stored as uint8.
    ///
    /// - Throws: `MedGridError` `.invalidInput` when a bound is NaN or `lower > upper`.
    public static func mask(_ image: Volume, lower: Float, upper: Float) throws -> Volume {
        guard !lower.isNaN, !upper.isNaN, lower <= upper else {
            throw MedGridError(.invalidInput, "threshold lower \(lower) / upper \(upper): expected lower <= upper, neither NaN")
        }
        var out = image
        out.voxels.withUnsafeMutableBufferPointer { b in
            for i in b.indices { b[i] = b[i] >= lower && b[i] <= upper ? 1 : 0 }
        }
        out.storedType = .uint8
        return out
    }
}

/// An intensity histogram laid out exactly like ITK's `ImageToHistogramFilter` with automatic
/// minimum and maximum (the histogram behind SimpleITK's Otsu filters).
///
/// Conventions (all in Double unless stated):
/// - `lo` = smallest voxel value; `hi` = largest value + `(largest − smallest) / bins / 100` (ITK's
///   marginal scale 100, so the maximum falls inside the last bin).
/// - Bin width is computed in **Float** as ITK does: `w = (Float(hi) − Float(lo)) / Float(bins)`; bin `j`
///   covers `[lo + Float(j)·w, lo + Float(j+1)·w)` (the products in Float), and the last bin ends at `hi`.
/// - A value goes to the bin with `min <= value < max`; values outside `[lo, hi)` are not counted
///   (cannot happen with automatic bounds). NaN voxels are skipped.
/// - A bin's representative value (used by Otsu) is its midpoint `(min + max) / 2`.
public struct IntensityHistogram: Sendable, Equatable {
    /// Lower edge of each bin.
    public var binMinimums: [Double]
    /// Upper edge of each bin (exclusive, except that the last bin ends at `hi`).
    public var binMaximums: [Double]
    /// Voxels per bin.
    public var counts: [Int]

    /// Number of counted voxels.
    public var total: Int { counts.reduce(0, +) }

    /// Midpoint of bin `j`, `(min + max) / 2`.
    public func midpoint(_ j: Int) -> Double { (binMinimums[j] + binMaximums[j]) / 2 }

    /// Builds the histogram of `image` with `bins` bins over its value range.
    ///
    /// - Throws: `MedGridError` `.invalidInput` when `bins` is outside 2...1_000_000 or every voxel is NaN.
    public init(of image: Volume, bins: Int) throws {
        guard (2...1_000_000).contains(bins) else {
            throw MedGridError(.invalidInput, "histogram bins is \(bins) (expected 2...1000000)")
        }
        var low = Float.infinity, high = -Float.infinity
        image.voxels.withUnsafeBufferPointer { v in
            for x in v where !x.isNaN {
                if x < low { low = x }
                if x > high { high = x }
            }
        }
        guard low <= high else {
            throw MedGridError(.invalidInput, "histogram: the image has no voxel that is not NaN")
        }
        let lo = Double(low)
        var hi = Double(high)
        let margin = (Double(high) - lo) / Double(bins) / 100
        if Double.greatestFiniteMagnitude - hi > margin { hi += margin }
        let width = (Float(hi) - Float(lo)) / Float(bins)
        var mins = [Double](repeating: 0, count: bins), maxs = [Double](repeating: 0, count: bins)
        for j in 0..<(bins - 1) {
            mins[j] = lo + Double(Float(j) * width)
            maxs[j] = lo + Double((Float(j) + 1) * width)
        }
        mins[bins - 1] = lo + Double(Float(bins - 1) * width)
        maxs[bins - 1] = hi
        binMinimums = mins
        binMaximums = maxs
        counts = IntensityHistogram.count(image, mins, maxs, Double(width))
    }

    /// Counts voxels per bin (ITK `Histogram::GetIndex` semantics), in fixed chunks merged in order.
    private static func count(_ image: Volume, _ mins: [Double], _ maxs: [Double], _ width: Double) -> [Int] {
        let bins = mins.count
        let chunkSize = 1 << 18
        let n = image.voxels.count
        let chunks = (n + chunkSize - 1) / chunkSize
        var partial = [Int](repeating: 0, count: chunks * bins)
        let lo = mins[0], top = maxs[bins - 1]
        image.voxels.withUnsafeBufferPointer { v in
            mins.withUnsafeBufferPointer { mn in
                maxs.withUnsafeBufferPointer { mx in
                    partial.withUnsafeMutableBufferPointer { p in
                        SegmentationSupport.forEachChunk(chunks) { c in
                            let h = p.baseAddress! + c * bins
                            for i in (c * chunkSize)..<min(n, (c + 1) * chunkSize) {
                                let x = Double(v[i])
                                if x.isNaN || x < lo { continue }
                                if x >= top {
                                    if SegmentationSupport.almostEqual(x, top, maxUlps: 4) { h[bins - 1] += 1 }
                                    continue
                                }
                                var j = width > 0 ? Int(min(Double(bins - 1), ((x - lo) / width).rounded(.down))) : bins - 1
                                while j > 0 && x < mn[j] { j -= 1 }
                                while j < bins - 1 && x >= mx[j] { j += 1 }
                                h[j] += 1
                            }
                        }
                    }
                }
            }
        }
        var counts = [Int](repeating: 0, count: bins)
        for c in 0..<chunks {
            for j in 0..<bins { counts[j] += partial[c * bins + j] }
        }
        return counts
    }
}

/// Otsu thresholding, single and multiple, matching SimpleITK `OtsuThresholdImageFilter` and
/// `OtsuMultipleThresholdsImageFilter` (ITK 5.4).
///
/// Conventions:
/// - **Histogram**: ``IntensityHistogram`` (ITK layout), default 256 bins over `[min, max]` (SimpleITK's
///   own default is 128; pass `bins: 128` to reproduce it). NaN voxels are skipped.
/// - **Search**: every ordered choice of `classes − 1` cut bins is tried (ITK's exhaustive search) and
///   the one maximising `Σ_k n_k μ_k² / N` (the between-class variance up to a constant) wins, where
///   class means use bin midpoints. The first maximum in the search order wins; a later value must
///   exceed it by more than one unit in the last place (ITK's `FloatAlmostEqual` guard). Cost grows
///   like `bins^(classes−1)`.
/// - **Threshold value**: the upper edge of the last bin of the lower class (ITK default), or that bin's
///   midpoint with `returnBinMidpoint` (SimpleITK `ReturnBinMidpoint`).
/// - **Which side is foreground**: values `<= threshold` belong to the lower class. The single-threshold
///   mask is 1 for values `> Float(threshold)` (bright side; SimpleITK `OtsuThreshold(image, 0, 1)`,
///   comparing in Float as SimpleITK does). The multi-class label of a voxel is the number of
///   thresholds it exceeds, compared in Double (ITK `ThresholdLabelerImageFilter`), so labels run
///   `0...classes−1` from dark to bright. NaN voxels get 0.
public enum OtsuThresholding {
    /// Result of Otsu thresholding.
    public struct Result: Sendable, Equatable {
        /// Ascending thresholds, `classes − 1` of them.
        public var thresholds: [Double]
        /// Label map `0...classes−1` (a 0/1 mask for two classes), with the input's geometry, uint8.
        public var labels: Volume
    }

    /// The Otsu thresholds of a histogram (`classes − 1` values, ascending).
    ///
    /// - Throws: `MedGridError` `.invalidInput` if `classes` is outside `2...histogram bins`, or the
    ///   histogram is empty.
    public static func thresholds(
        of histogram: IntensityHistogram, classes: Int, returnBinMidpoint: Bool = false
    ) throws -> [Double] {
        let bins = histogram.counts.count
        guard classes >= 2, classes <= bins else {
            throw MedGridError(.invalidInput, "Otsu classes is \(classes) (expected 2...\(bins), the number of bins)")
        }
        let total = histogram.total
        guard total > 0 else { throw MedGridError(.invalidInput, "Otsu: the histogram is empty") }
        let t = classes - 1
        let freq = histogram.counts
        let mid = (0..<bins).map { histogram.midpoint($0) }

        var globalMean = 0.0
        for j in 0..<bins { globalMean += mid[j] * Double(freq[j]) }
        globalMean /= Double(total)

        // Initial configuration: thresholds at bins 0, 1, …, t−1 (port of ITK's calculator).
        var index = Array(0..<t)
        var classFreq = [Int](repeating: 0, count: classes)
        var classMean = [Double](repeating: 0, count: classes)
        var freqSum = 0
        for j in 0..<t { classFreq[j] = freq[index[j]]; freqSum += classFreq[j] }
        classFreq[t] = total - freqSum
        var meanSum = 0.0
        for j in 0..<t {
            classMean[j] = classFreq[j] > 0 ? mid[j] : 0
            meanSum += classMean[j] * Double(classFreq[j])
        }
        classMean[t] = classFreq[t] > 0 ? (globalMean * Double(total) - meanSum) / Double(classFreq[t]) : 0

        func between() -> Double {
            var v = 0.0
            for j in 0..<classes { v += Double(classFreq[j]) * (classMean[j] * classMean[j]) }
            return v / Double(total)
        }
        var best = between()
        var bestIndex = index

        // Odometer over threshold configurations, upper threshold first (ITK IncrementThresholds).
        increment: while true {
            var j = t - 1
            while true {
                if index[j] < bins - 2 - (t - 1 - j) {
                    index[j] += 1
                    let meanOld = classMean[j], freqOld = classFreq[j]
                    classFreq[j] += freq[index[j]]
                    classMean[j] = classFreq[j] > 0
                        ? (meanOld * Double(freqOld) + mid[index[j]] * Double(freq[index[j]])) / Double(classFreq[j]) : 0
                    var k = j + 1
                    while k < t {
                        index[k] = index[k - 1] + 1
                        classFreq[k] = freq[index[k]]
                        classMean[k] = classFreq[k] > 0 ? mid[index[k]] : 0
                        k += 1
                    }
                    classFreq[t] = total
                    classMean[t] = globalMean * Double(total)
                    for k in 0..<t {
                        classFreq[t] -= classFreq[k]
                        classMean[t] -= classMean[k] * Double(classFreq[k])
                    }
                    classMean[t] = classFreq[t] > 0 ? classMean[t] / Double(classFreq[t]) : 0
                    break
                }
                if j == 0 { break increment }
                j -= 1
            }
            let v = between()
            if v > best && !SegmentationSupport.almostEqual(best, v, maxUlps: 1) {
                best = v
                bestIndex = index
            }
        }
        return bestIndex.map { returnBinMidpoint ? histogram.midpoint($0) : histogram.binMaximums[$0] }
    }

    /// Two-class Otsu: the threshold and a 0/1 mask that is 1 on the bright side (`value > threshold`).
    ///
    /// The reported threshold is the Float the mask compares against (the histogram threshold rounded to
    /// Float), which is what SimpleITK `OtsuThresholdImageFilter.GetThreshold()` reports.
    ///
    /// - Throws: `MedGridError` `.invalidInput` for bins outside 2...1_000_000 or an all-NaN image.
    public static func threshold(_ image: Volume, bins: Int = 256, returnBinMidpoint: Bool = false) throws -> Result {
        let histogram = try IntensityHistogram(of: image, bins: bins)
        let thresholds = try thresholds(of: histogram, classes: 2, returnBinMidpoint: returnBinMidpoint)
        let cut = Float(thresholds[0])
        var out = image
        out.voxels.withUnsafeMutableBufferPointer { b in
            for i in b.indices { b[i] = b[i] > cut ? 1 : 0 }
        }
        out.storedType = .uint8
        return Result(thresholds: [Double(cut)], labels: out)
    }

    /// Multi-class Otsu with `classes` classes (SimpleITK `OtsuMultipleThresholds` with
    /// `numberOfThresholds = classes − 1`, `labelOffset = 0`): label map `0...classes−1`.
    ///
    /// - Throws: `MedGridError` `.invalidInput` for classes outside `2...bins`, bins outside
    ///   2...1_000_000, or an all-NaN image.
    public static func multiple(
        _ image: Volume, classes: Int, bins: Int = 256, returnBinMidpoint: Bool = false
    ) throws -> Result {
        let histogram = try IntensityHistogram(of: image, bins: bins)
        let thresholds = try thresholds(of: histogram, classes: classes, returnBinMidpoint: returnBinMidpoint)
        var out = image
        thresholds.withUnsafeBufferPointer { t in
            out.voxels.withUnsafeMutableBufferPointer { b in
                for i in b.indices {
                    let x = Double(b[i])
                    var label = 0
                    while label < t.count && x > t[label] { label += 1 }
                    b[i] = x.isNaN ? 0 : Float(label)
                }
            }
        }
        out.storedType = classes <= 256 ? .uint8 : .uint16
        return Result(thresholds: thresholds, labels: out)
    }
}

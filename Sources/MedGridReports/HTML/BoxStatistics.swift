extension MedGridPlot {
    /// Box-plot statistics of one sample, with the conventions of ggplot2's `stat_boxplot`:
    /// quartiles are R `quantile(type = 7)` values; whiskers reach the most extreme observation within
    /// 1.5 × IQR of the box (`lowerWhisker` = smallest value ≥ Q1 − 1.5·IQR, `upperWhisker` = largest value
    /// ≤ Q3 + 1.5·IQR); the remaining points are outliers. Missing values (`nil`, NaN, ±∞) are counted in
    /// ``missing`` and otherwise ignored.
    public struct BoxStatistics: Sendable, Equatable {
        /// Number of finite values used.
        public var count: Int
        /// Number of `nil` / non-finite values dropped.
        public var missing: Int
        public var minimum: Double
        public var q1: Double
        public var median: Double
        public var q3: Double
        public var maximum: Double
        public var lowerWhisker: Double
        public var upperWhisker: Double
        /// Number of finite values outside the whiskers.
        public var outlierCount: Int

        /// Interquartile range Q3 − Q1.
        public var iqr: Double { q3 - q1 }

        /// Statistics of the finite values of `values`; `nil` when there is none.
        public init?(values: [Double?]) {
            var finite: [Double] = []
            finite.reserveCapacity(values.count)
            var missing = 0
            for v in values {
                if let v, v.isFinite { finite.append(v) } else { missing += 1 }
            }
            guard !finite.isEmpty else { return nil }
            finite.sort()
            self.count = finite.count
            self.missing = missing
            minimum = finite[0]
            maximum = finite[finite.count - 1]
            q1 = Self.quantileType7(sorted: finite, probability: 0.25)
            median = Self.quantileType7(sorted: finite, probability: 0.5)
            q3 = Self.quantileType7(sorted: finite, probability: 0.75)
            let lowFence = q1 - 1.5 * (q3 - q1), highFence = q3 + 1.5 * (q3 - q1)
            var lw = maximum, uw = minimum, outliers = 0
            for v in finite {
                if v >= lowFence && v <= highFence {
                    lw = min(lw, v)
                    uw = max(uw, v)
                } else {
                    outliers += 1
                }
            }
            lowerWhisker = lw
            upperWhisker = uw
            outlierCount = outliers
        }

        /// R's `quantile(x, p, type = 7)` of an ascending, finite, non-empty sample: with h = (n − 1)·p,
        /// j = ⌊h⌋, g = h − j, the result is (1 − g)·x[j] + g·x[j+1] (0-based; x[j] itself when g = 0 or
        /// x[j+1] = x[j], as R does). `probability` is clamped to [0, 1]; an empty sample gives NaN.
        public static func quantileType7(sorted x: [Double], probability: Double) -> Double {
            guard !x.isEmpty, !probability.isNaN else { return .nan }
            let p = min(max(probability, 0), 1)
            let h = Double(x.count - 1) * p
            let j = Int(h.rounded(.down))
            let g = h - Double(j)
            guard j + 1 < x.count, g > 0, x[j + 1] != x[j] else { return x[j] }
            return (1 - g) * x[j] + g * x[j + 1]
        }
    }
}

public import MedGridCore

/// Per-feature centring and scaling: `z = (x − mean) / sd`.
///
/// Conventions:
/// - `mean = Σx / n`; `sd = sqrt(Σ(x − mean)² / (n − ddof))` with ddof 0 for ``SDConvention/population``
///   (what scikit-learn's `StandardScaler` uses) and 1 for ``SDConvention/sample`` (R's `scale`, pandas'
///   `std`).
/// - A feature with sd 0 is only centred (scale 1), as in scikit-learn.
/// - Two rounds over shards: ``MeanShardStatistics`` (exact `Σx`, n), then ``DeviationShardStatistics`` at the
///   broadcast means (exact `Σ(x − mean)²`). Sums are ``ExactSum``s, so the result is bitwise identical for any
///   partition of the rows.
public struct Standardisation: Sendable, Hashable, Codable {
    /// Which denominator the standard deviation uses.
    public enum SDConvention: String, Sendable, Hashable, Codable {
        /// Divide by n (scikit-learn `StandardScaler`).
        case population
        /// Divide by n − 1.
        case sample
    }

    public var means: [Double]
    /// The standard deviations as computed (may be 0).
    public var standardDeviations: [Double]
    public var convention: SDConvention
    public var rowCount: Int

    /// One shard's sums for the means.
    public struct MeanShardStatistics: Sendable, Hashable, Codable {
        public var n: Int
        public var sums: [ExactSum]

        /// Exact per-feature sums and the row count of one shard.
        public init(_ x: FeatureMatrix) {
            n = x.rowCount
            sums = Array(repeating: ExactSum(), count: x.columnCount)
            x.values.withUnsafeBufferPointer { v in
                for r in 0..<x.rowCount {
                    for c in 0..<x.columnCount { sums[c].add(v[r * x.columnCount + c]) }
                }
            }
        }

        /// Adds another shard's sums (exact; any order).
        public mutating func merge(_ other: MeanShardStatistics) {
            n += other.n
            for c in sums.indices where c < other.sums.count { sums[c].add(other.sums[c]) }
        }
    }

    /// One shard's sums of squared deviations from broadcast means.
    public struct DeviationShardStatistics: Sendable, Hashable, Codable {
        public var n: Int
        public var sums: [ExactSum]

        /// Exact per-feature sums of `(x − mean)²` of one shard at the broadcast means.
        public init(_ x: FeatureMatrix, means: [Double]) {
            n = x.rowCount
            sums = Array(repeating: ExactSum(), count: x.columnCount)
            x.values.withUnsafeBufferPointer { v in
                for r in 0..<x.rowCount {
                    for c in 0..<x.columnCount {
                        let d = v[r * x.columnCount + c] - means[c]
                        sums[c].add(d * d)
                    }
                }
            }
        }

        /// Adds another shard's sums (exact; any order).
        public mutating func merge(_ other: DeviationShardStatistics) {
            n += other.n
            for c in sums.indices where c < other.sums.count { sums[c].add(other.sums[c]) }
        }
    }

    /// Fits on the rows of all `shards` (two rounds, see ``Standardisation``).
    ///
    /// - Throws: ``CohortError`` `invalidArgument` if shards differ in width, there are too few rows (1, or 2
    ///   for the sample convention), or a value is not finite.
    public static func fit(shards: [FeatureMatrix], convention: SDConvention = .population) throws -> Standardisation {
        guard let width = shards.first?.columnCount else {
            throw CohortError(file: "<matrix>", code: .invalidArgument, message: "no data to standardise")
        }
        for s in shards {
            guard s.columnCount == width else {
                throw CohortError(file: "<matrix>", code: .invalidArgument, message: "shards have \(width) and \(s.columnCount) features (expected equal)")
            }
            try s.requireFinite("standardisation")
        }
        var first = MeanShardStatistics(try FeatureMatrix(rowCount: 0, columnCount: width, values: []))
        for s in shards { first.merge(MeanShardStatistics(s)) }
        let ddof = convention == .population ? 0 : 1
        guard first.n > ddof else {
            throw CohortError(file: "<matrix>", code: .invalidArgument, message: "\(first.n) rows: too few for the \(convention.rawValue) standard deviation")
        }
        let means = first.sums.map { $0.value / Double(first.n) }
        var second = DeviationShardStatistics(try FeatureMatrix(rowCount: 0, columnCount: width, values: []), means: means)
        for s in shards { second.merge(DeviationShardStatistics(s, means: means)) }
        let sds = second.sums.map { ($0.value / Double(first.n - ddof)).squareRoot() }
        return Standardisation(means: means, standardDeviations: sds, convention: convention, rowCount: first.n)
    }

    /// Fits on one matrix.
    public static func fit(_ x: FeatureMatrix, convention: SDConvention = .population) throws -> Standardisation {
        try fit(shards: [x], convention: convention)
    }

    /// A standardisation with known parameters.
    public init(means: [Double], standardDeviations: [Double], convention: SDConvention, rowCount: Int) {
        self.means = means
        self.standardDeviations = standardDeviations
        self.convention = convention
        self.rowCount = rowCount
    }

    /// `(x − mean) / sd` per feature (`sd` 0 → divide by 1).
    public func transform(_ x: FeatureMatrix) -> FeatureMatrix {
        let w = x.columnCount
        var out = x.values
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<o.count {
                let c = i % w
                let sd = standardDeviations[c] == 0 ? 1 : standardDeviations[c]
                o[i] = (o[i] - means[c]) / sd
            }
        }
        return FeatureMatrix(unchecked: x.rowCount, w, out)
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "method": "standardisation (x - mean) / sd", "sd_convention": .string(convention.rawValue),
            "sd_denominator": .string(convention == .population ? "n" : "n - 1"), "rows": .int(rowCount),
            "means": .array(means.map { .number($0) }), "standard_deviations": .array(standardDeviations.map { .number($0) }),
            "zero_sd_scale": 1,
        ]
    }
}

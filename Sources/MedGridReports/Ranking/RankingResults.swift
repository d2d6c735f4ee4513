public import MedGridCore
import Foundation

/// One algorithm's place in a ranking.
public struct RankedAlgorithm: Sendable, Equatable {
    public var algorithm: String
    /// The scheme's score: the mean or median value, the mean rank, or the share of significant wins;
    /// `nil` when the algorithm has no usable case.
    public var score: Double?
    /// 1 = best; ties take the minimum rank.
    public var rank: Int
    /// Number of cases that entered the score (after the missing-case policy).
    public var casesUsed: Int

    /// `{"algorithm", "score", "rank", "casesUsed"}`.
    public func json() -> JSONValue {
        ["algorithm": .string(algorithm), "score": .number(score), "rank": .int(rank), "casesUsed": .int(casesUsed)]
    }
}

/// The ranking of the algorithms of one (task, metric) under one scheme.
public struct TaskRanking: Sendable, Equatable {
    public var task: String
    public var metric: String
    public var settings: RankingSettings
    /// Number of cases of the (task, metric) (columns of the matrix).
    public var caseCount: Int
    /// Number of missing (algorithm, case) values before the policy was applied.
    public var missingCount: Int
    /// The value that replaced missing ones (worst observed, or the constant), when one did.
    public var imputedValue: Double?
    /// One entry per algorithm, in the matrix's algorithm order (sorted by name).
    public var algorithms: [RankedAlgorithm]

    /// The ranked (task, metric).
    public var key: TaskMetric { TaskMetric(task: task, metric: metric) }
    /// Ranks in algorithm order.
    public var ranks: [Int] { algorithms.map(\.rank) }
    /// The rank of the named algorithm.
    public func rank(of algorithm: String) -> Int? { algorithms.first { $0.algorithm == algorithm }?.rank }

    /// What ``RankedAlgorithm/score`` means for the scheme.
    public var scoreMeaning: String {
        switch settings.scheme {
        case .meanThenRank: return "mean value over cases"
        case .medianThenRank: return "median value over cases"
        case .rankThenMean: return "mean per-case rank (1 = best)"
        case .testThenRank: return "share of the other algorithms significantly beaten"
        }
    }

    /// `{"task", "metric", "settings", "cases", "missingValues", "imputedValue", "scoreMeaning", "ranking": [...]}`,
    /// the ranking ordered by rank then algorithm name.
    public func json() -> JSONValue {
        let ordered = algorithms.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.algorithm < $1.algorithm }
        return [
            "task": .string(task),
            "metric": .string(metric),
            "settings": settings.json(),
            "cases": .int(caseCount),
            "missingValues": .int(missingCount),
            "imputedValue": .number(imputedValue),
            "scoreMeaning": .string(scoreMeaning),
            "ranking": .array(ordered.map { $0.json() }),
        ]
    }
}

/// Consensus over several (task, metric) rankings: each algorithm's mean rank, then ranked (ties: minimum
/// rank). challengeR `consensus(method = "average")`.
public struct ConsensusRanking: Sendable, Equatable {
    /// One algorithm of the consensus.
    public struct Entry: Sendable, Equatable {
        public var algorithm: String
        /// The algorithm's rank in each component, in ``ConsensusRanking/components`` order.
        public var componentRanks: [Int]
        public var meanRank: Double
        public var rank: Int
    }

    /// The (task, metric) rankings combined, with their settings.
    public var components: [TaskMetric]
    public var componentSettings: [RankingSettings]
    /// One entry per algorithm, in algorithm-name order.
    public var entries: [Entry]

    /// `{"method": "mean of ranks", "components": [{"task", "metric", "settings"}], "ranking": [{"algorithm",
    /// "meanRank", "rank", "componentRanks"}]}`, ranking ordered by rank then name.
    public func json() -> JSONValue {
        let ordered = entries.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.algorithm < $1.algorithm }
        return [
            "method": "mean of ranks, then rank (ties: minimum)",
            "components": .array(zip(components, componentSettings).map {
                ["task": .string($0.task), "metric": .string($0.metric), "settings": $1.json()]
            }),
            "ranking": .array(ordered.map {
                [
                    "algorithm": .string($0.algorithm), "meanRank": .number($0.meanRank), "rank": .int($0.rank),
                    "componentRanks": .array($0.componentRanks.map { .int($0) }),
                ]
            }),
        ]
    }
}

/// One ordered pair of a significance map: H1 "algorithm is better than opponent".
public struct PairwiseComparison: Sendable, Equatable {
    public var algorithm: String
    public var opponent: String
    /// Cases both algorithms have (after the missing-case policy).
    public var commonCases: Int
    /// The Wilcoxon test (one-sided, H1: algorithm better).
    public var test: WilcoxonResult
    /// p-value after the adjustment of the settings.
    public var adjustedPValue: Double
    /// adjusted p < α.
    public var significant: Bool

    /// `{"algorithm", "opponent", "commonCases", "nonZeroDifferences", "statistic", "exact", "pValue",
    /// "adjustedPValue", "significant"}`.
    public func json() -> JSONValue {
        [
            "algorithm": .string(algorithm), "opponent": .string(opponent), "commonCases": .int(commonCases),
            "nonZeroDifferences": .int(test.n), "statistic": .number(test.statistic), "exact": .bool(test.exact),
            "pValue": .number(test.pValue), "adjustedPValue": .number(adjustedPValue), "significant": .bool(significant),
        ]
    }
}

/// All ordered pairwise one-sided Wilcoxon tests of one (task, metric) (challengeR's significance map).
public struct SignificanceMap: Sendable, Equatable {
    public var task: String
    public var metric: String
    /// Settings; `scheme` is reported as test-then-rank (the map is that scheme's test matrix).
    public var settings: RankingSettings
    public var algorithms: [String]
    /// K(K−1) comparisons, ordered by algorithm then opponent (algorithm-name order).
    public var comparisons: [PairwiseComparison]

    /// The comparison "a better than b".
    public func comparison(_ a: String, _ b: String) -> PairwiseComparison? {
        comparisons.first { $0.algorithm == a && $0.opponent == b }
    }

    /// `{"task", "metric", "settings", "algorithms", "comparisons": [...]}`.
    public func json() -> JSONValue {
        [
            "task": .string(task), "metric": .string(metric), "settings": settings.json(),
            "algorithms": .array(algorithms.map { .string($0) }),
            "comparisons": .array(comparisons.map { $0.json() }),
        ]
    }
}

/// An algorithm's rank distribution over bootstrap replicates.
public struct RankDistribution: Sendable, Equatable {
    public var algorithm: String
    /// Rank on the full data.
    public var fullRank: Int
    /// `rankCounts[r - 1]` = number of replicates in which the algorithm had rank r (r = 1 … K).
    public var rankCounts: [Int]
    /// Median of the replicate ranks (R type 7 quantile at 0.5).
    public var medianRank: Double
    /// 2.5 % quantile of the replicate ranks (R type 7).
    public var lowerRank: Double
    /// 97.5 % quantile of the replicate ranks (R type 7).
    public var upperRank: Double
    /// Replicates in which the algorithm had rank 1 (ties included).
    public var rankedFirst: Int
    /// rankedFirst / B.
    public var rankedFirstShare: Double

    /// `{"algorithm", "fullRank", "rankCounts", "medianRank", "rankQuantile2_5", "rankQuantile97_5", "rankedFirst",
    /// "rankedFirstShare"}`.
    public func json() -> JSONValue {
        [
            "algorithm": .string(algorithm), "fullRank": .int(fullRank),
            "rankCounts": .array(rankCounts.map { .int($0) }),
            "medianRank": .number(medianRank), "rankQuantile2_5": .number(lowerRank), "rankQuantile97_5": .number(upperRank),
            "rankedFirst": .int(rankedFirst), "rankedFirstShare": .number(rankedFirstShare),
        ]
    }
}

/// Summary of Kendall's τ-b values (nil entries = undefined τ, e.g. a replicate in which all algorithms tie;
/// they are left out of the summary statistics).
public struct TauSummary: Sendable, Equatable {
    /// τ-b per replicate, in replicate order.
    public var values: [Double?]
    /// Mean of the defined values.
    public var mean: Double?
    /// Type 7 quantiles of the defined values.
    public var median: Double?
    /// 2.5 % quantile (type 7).
    public var lower: Double?
    /// 97.5 % quantile (type 7).
    public var upper: Double?
    /// Replicates whose τ-b is undefined.
    public var undefinedCount: Int

    init(_ values: [Double?]) {
        self.values = values
        let defined = values.compactMap { $0 }.sorted()
        mean = defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
        median = RankStatistics.quantileSorted(defined, 0.5)
        lower = RankStatistics.quantileSorted(defined, 0.025)
        upper = RankStatistics.quantileSorted(defined, 0.975)
        undefinedCount = values.count - defined.count
    }

    /// `{"mean", "median", "quantile2_5", "quantile97_5", "undefined", "values"}`.
    public func json() -> JSONValue {
        [
            "mean": .number(mean), "median": .number(median), "quantile2_5": .number(lower), "quantile97_5": .number(upper),
            "undefined": .int(undefinedCount), "values": .array(values.map { .number($0) }),
        ]
    }
}

/// Bootstrap of a ranking: cases resampled with replacement (the same cases for every algorithm), the
/// scheme re-applied in each replicate.
public struct BootstrapRanking: Sendable, Equatable {
    /// The ranking on the full data.
    public var full: TaskRanking
    /// B and seed.
    public var bootstrap: BootstrapSettings
    /// One per algorithm, algorithm-name order.
    public var distributions: [RankDistribution]
    /// τ-b between the full-data ranking and each replicate's ranking, in replicate order.
    public var kendallTau: TauSummary
    /// `replicateRanks[b][a]`: rank of algorithm a in replicate b.
    public var replicateRanks: [[Int]]

    /// `{"task", "metric", "settings", "bootstrap", "quantileDefinition", "fullRanking", "algorithms": [...],
    /// "kendallTauToFull": {...}}` (replicate ranks are not included).
    public func json() -> JSONValue {
        [
            "task": .string(full.task), "metric": .string(full.metric), "settings": full.settings.json(),
            "bootstrap": bootstrap.json(),
            "resampling": "cases with replacement, same cases for all algorithms; replicate b uses SplitMix64 seeded from (seed, b)",
            "quantileDefinition": "R type 7",
            "fullRanking": full.json(),
            "algorithms": .array(distributions.map { $0.json() }),
            "kendallTauToFull": kendallTau.json(),
        ]
    }
}

/// Agreement of several schemes on one (task, metric): each scheme's ranking and τ-b for each pair of schemes.
public struct SchemeAgreement: Sendable, Equatable {
    /// Two schemes and the τ-b between their rankings.
    public struct Pair: Sendable, Equatable {
        public var first: RankingScheme
        public var second: RankingScheme
        /// τ-b between the two rankings; `nil` if undefined (one ranking all tied).
        public var kendallTau: Double?
    }

    /// One ranking per compared scheme, in the order the schemes were given.
    public var rankings: [TaskRanking]
    /// Pairs (i < j) in the order of ``rankings``.
    public var pairs: [Pair]

    /// τ-b between the rankings of two schemes (in either order); `nil` if not compared or undefined.
    public func tau(_ a: RankingScheme, _ b: RankingScheme) -> Double? {
        pairs.first { ($0.first == a && $0.second == b) || ($0.first == b && $0.second == a) }?.kendallTau
    }

    /// `{"task", "metric", "rankings": [...], "kendallTau": [{"schemes": [a, b], "tau"}]}`.
    public func json() -> JSONValue {
        [
            "task": .string(rankings.first?.task ?? ""), "metric": .string(rankings.first?.metric ?? ""),
            "rankings": .array(rankings.map { $0.json() }),
            "kendallTau": .array(pairs.map {
                ["schemes": [.string($0.first.rawValue), .string($0.second.rawValue)], "tau": .number($0.kendallTau)]
            }),
        ]
    }
}

public import MedGridCore
import Foundation

/// How algorithms are ranked within one (task, metric), following challengeR (Wiesenfarth et al., Sci Rep 2021).
public enum RankingScheme: String, Sendable, Hashable, CaseIterable {
    /// Aggregate each algorithm's cases by the mean, then rank the means (ties: minimum rank).
    /// challengeR `aggregateThenRank(FUN = mean)`.
    case meanThenRank = "mean-then-rank"
    /// Aggregate by the median (mean of the two middle values for an even count), then rank.
    case medianThenRank = "median-then-rank"
    /// Rank the algorithms within each case (ties: minimum rank), average each algorithm's ranks over cases,
    /// then rank the mean ranks (smaller is better; ties: minimum rank). challengeR `rankThenAggregate`.
    case rankThenMean = "rank-then-mean"
    /// For every ordered pair (a, b) a one-sided paired Wilcoxon signed-rank test (H1: a better than b) on their
    /// common cases, p-values adjusted over the K(K−1) ordered pairs of the (task, metric), a significant win
    /// when adjusted p < α; score = significant wins / (K − 1); ranked by score descending (ties: minimum rank).
    /// challengeR `testThenRank`.
    case testThenRank = "test-then-rank"
}

/// Multiple-testing adjustment of the pairwise p-values in ``RankingScheme/testThenRank``.
public enum PValueAdjustment: String, Sendable, Hashable, CaseIterable {
    /// No adjustment.
    case none
    /// Holm's step-down (R `p.adjust(method = "holm")`) over the K(K−1) ordered pairs of one (task, metric).
    case holm
}

/// What to do with a missing (algorithm, case) value.
public enum MissingCasePolicy: Sendable, Hashable {
    /// Penalise: in ``RankingScheme/rankThenMean`` the algorithm gets the last rank K (the number of
    /// algorithms) in that case (several missing algorithms all get K); in the aggregate and test schemes the
    /// missing value is replaced by the worst value observed for that (task, metric) over all algorithms and
    /// cases (the maximum if smaller is better, else the minimum). If nothing was observed, all stay missing.
    case worst
    /// Replace the missing value by this value (in every scheme, before ranking, aggregating or testing).
    case constant(Double)
    /// Drop the case for that algorithm: aggregates use its available cases, rank-then-mean ranks only the
    /// algorithms present in a case and averages over the algorithm's available cases, tests use the cases
    /// both algorithms have. An algorithm with no value at all ranks after every other, tied.
    case excluded

    /// `{"policy": "worst" | "constant" | "excluded", "value": <constant>}`.
    public func json() -> JSONValue {
        switch self {
        case .worst: return ["policy": "worst"]
        case .constant(let v): return ["policy": "constant", "value": .number(v)]
        case .excluded: return ["policy": "excluded"]
        }
    }
}

/// Settings of one ranking.
public struct RankingSettings: Sendable, Hashable {
    /// The ranking scheme.
    public var scheme: RankingScheme
    /// `true` for metrics such as Hausdorff distance, `false` for Dice.
    public var smallerIsBetter: Bool
    /// The missing-case policy.
    public var missing: MissingCasePolicy
    /// Significance level of the pairwise tests (test-then-rank and significance maps).
    public var alpha: Double
    /// p-value adjustment of the pairwise tests.
    public var adjustment: PValueAdjustment

    /// Settings with challengeR's defaults: missing values penalised (`worst`), α = 0.05, no adjustment.
    public init(scheme: RankingScheme, smallerIsBetter: Bool, missing: MissingCasePolicy = .worst, alpha: Double = 0.05, adjustment: PValueAdjustment = .none) {
        self.scheme = scheme
        self.smallerIsBetter = smallerIsBetter
        self.missing = missing
        self.alpha = alpha
        self.adjustment = adjustment
    }

    /// Throws `.invalidInput` if alpha is not in (0, 1) or a constant replacement is not finite.
    public func validate() throws {
        guard alpha > 0, alpha < 1 else {
            throw MedGridError(.invalidInput, "ranking settings: alpha \(alpha) (expected a number strictly between 0 and 1)")
        }
        if case .constant(let v) = missing, !v.isFinite {
            throw MedGridError(.invalidInput, "ranking settings: missing-case constant \(v) (expected a finite number)")
        }
    }

    /// `{"scheme", "smallerIsBetter", "missing": {...}, "alpha", "adjust"}`.
    public func json() -> JSONValue {
        [
            "scheme": .string(scheme.rawValue),
            "smallerIsBetter": .bool(smallerIsBetter),
            "missing": missing.json(),
            "alpha": .number(alpha),
            "adjust": .string(adjustment.rawValue),
        ]
    }
}

/// Settings of the bootstrap: B replicates, each resampling the cases with replacement.
public struct BootstrapSettings: Sendable, Hashable {
    /// Number of bootstrap replicates B (1 … 1,000,000).
    public var replicates: Int
    /// Seed of the generator (see ``SplitMix64``).
    public var seed: UInt64

    /// B replicates from `seed`.
    public init(replicates: Int, seed: UInt64) {
        self.replicates = replicates
        self.seed = seed
    }

    /// Largest accepted B.
    public static let maximumReplicates = 1_000_000

    /// Throws `.invalidInput` if B is outside 1 … ``maximumReplicates``.
    public func validate() throws {
        guard replicates >= 1, replicates <= Self.maximumReplicates else {
            throw MedGridError(.invalidInput, "bootstrap settings: replicates \(replicates) (expected 1 … \(Self.maximumReplicates))")
        }
    }

    /// `{"replicates": B, "seed": seed}`; the seed is an integer when it fits in `Int`, else its decimal string.
    public func json() -> JSONValue {
        ["replicates": .int(replicates), "seed": seed <= UInt64(Int.max) ? .int(Int(seed)) : .string(String(seed))]
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014; the generator Java's `SplittableRandom` and the xoshiro authors'
/// seeding use): state += 0x9E3779B97F4A7C15, output = mix(state) with
/// z = (z ⊕ z≫30)·0xBF58476D1CE4E5B9, z = (z ⊕ z≫27)·0x94D049BB133111EB, z ⊕ z≫31.
///
/// Bootstrap replicate b (0-based) uses its own generator whose initial state is the (b+1)-th output of a
/// SplitMix64 seeded with the bootstrap seed, i.e. `mix(seed + (b+1)·0x9E3779B97F4A7C15)`, so a replicate's
/// draws depend only on (seed, b) and never on thread scheduling.
public struct SplitMix64: Sendable, RandomNumberGenerator {
    /// The generator state (advanced by γ = 0x9E3779B97F4A7C15 per draw).
    public private(set) var state: UInt64

    /// A generator whose first output is mix(seed + γ) (Vigna's `splitmix64.c`).
    public init(seed: UInt64) { state = seed }

    /// The generator of bootstrap replicate `index` for `seed`.
    public init(seed: UInt64, replicate index: Int) {
        state = Self.mix(seed &+ 0x9E37_79B9_7F4A_7C15 &* (UInt64(truncatingIfNeeded: index) &+ 1))
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0 ..< `bound` (`bound` ≥ 1) by Lemire's multiply-shift with rejection
    /// (unbiased): take the high 64 bits of next()·bound, redrawing while the low 64 bits are below
    /// (2⁶⁴ mod bound).
    public mutating func uniform(below bound: Int) -> Int {
        let s = UInt64(bound)
        var m = next().multipliedFullWidth(by: s)
        if m.low < s {
            let threshold = (0 &- s) % s
            while m.low < threshold { m = next().multipliedFullWidth(by: s) }
        }
        return Int(m.high)
    }
}

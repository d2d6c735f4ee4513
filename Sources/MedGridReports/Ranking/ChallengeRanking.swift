import MedGridCore
import Foundation

/// Ranking of algorithms in a biomedical image-analysis challenge with uncertainty, after challengeR
/// (Wiesenfarth et al., "Methods and open-source toolkit for analyzing and visualizing challenge results",
/// Scientific Reports 11, 2369, 2021). Pure functions of per-case scores; deterministic.
///
/// Conventions shared by every function:
/// - Algorithms are in the matrix's order (sorted by name); ranks are 1 = best with ties taking the minimum
///   rank (R `rank(ties.method = "min")`).
/// - The missing-case policy (``MissingCasePolicy``) is applied to the full matrix once, before ranking and
///   before bootstrapping (so the "worst" value is the worst of the full data, as challengeR's `na.treat` is
///   applied when the challenge object is built).
/// - Pairwise tests are one-sided paired Wilcoxon signed-rank tests as R's
///   `wilcox.test(paired = TRUE, exact = NULL, correct = TRUE)`; "a better than b" is H1 `less` on a − b when
///   smaller is better, else `greater`; adjustment over the K(K−1) ordered pairs of the (task, metric);
///   significant when adjusted p < α.
public enum ChallengeRanking {
    /// Ranks the algorithms of one (task, metric).
    public static func rank(_ m: ScoreMatrix, settings: RankingSettings) throws -> TaskRanking {
        try settings.validate()
        let prepared = PreparedScores(m, settings: settings)
        var engine = RankingEngine(settings: settings, algorithmCount: m.algorithmCount, caseCount: m.caseCount, lastRankForMissing: prepared.lastRankForMissing)
        engine.run(prepared.values, caseCount: m.caseCount)
        return makeRanking(m, settings: settings, prepared: prepared, engine: engine)
    }

    /// Ranks every (task, metric) of a table with the same settings, in ``ScoreTable/taskMetrics`` order.
    public static func rankAll(_ table: ScoreTable, settings: RankingSettings) throws -> [TaskRanking] {
        try table.matrices().map { try rank($0, settings: settings) }
    }

    /// Ranks every (task, metric) of a table with per-(task, metric) settings (e.g. smaller-is-better for
    /// distances only), given by `settings(key)`.
    public static func rankAll(_ table: ScoreTable, settings: (TaskMetric) -> RankingSettings) throws -> [TaskRanking] {
        try table.matrices().map { try rank($0, settings: settings($0.key)) }
    }

    /// Consensus ranking: each algorithm's mean of its ranks over the given rankings, then ranked ascending
    /// (ties: minimum rank). Throws `.invalidInput` if `rankings` is empty or the rankings do not hold the same
    /// algorithms in the same order.
    public static func consensus(_ rankings: [TaskRanking]) throws -> ConsensusRanking {
        guard let first = rankings.first else {
            throw MedGridError(.invalidInput, "consensus ranking: no rankings given (expected at least one)")
        }
        let names = first.algorithms.map(\.algorithm)
        for r in rankings where r.algorithms.map(\.algorithm) != names {
            throw MedGridError(.invalidInput, "consensus ranking: ranking of \(r.key) has algorithms \(r.algorithms.map(\.algorithm)), expected \(names) as in \(first.key)")
        }
        let means = names.indices.map { a in
            Double(rankings.reduce(0) { $0 + $1.algorithms[a].rank }) / Double(rankings.count)
        }
        let ranks = RankStatistics.minRanks(means, smallerIsBetter: true)
        return ConsensusRanking(
            components: rankings.map(\.key),
            componentSettings: rankings.map(\.settings),
            entries: names.indices.map { a in
                .init(algorithm: names[a], componentRanks: rankings.map { $0.algorithms[a].rank }, meanRank: means[a], rank: ranks[a])
            }
        )
    }

    /// The significance map: for every ordered pair (a, b) the one-sided Wilcoxon test of "a better than b" on
    /// their common cases (after the missing-case policy, as in test-then-rank), the adjusted p-value and
    /// whether a is significantly better. The settings' scheme is ignored (reported as test-then-rank).
    public static func significanceMap(_ m: ScoreMatrix, settings: RankingSettings) throws -> SignificanceMap {
        var s = settings
        s.scheme = .testThenRank
        try s.validate()
        let prepared = PreparedScores(m, settings: s)
        var engine = RankingEngine(settings: s, algorithmCount: m.algorithmCount, caseCount: m.caseCount, lastRankForMissing: false)
        let tests = engine.run(prepared.values, caseCount: m.caseCount, keepTests: true)
        let n = m.caseCount
        let comparisons = tests.map { t -> PairwiseComparison in
            var common = 0
            for c in 0..<n where !prepared.values[t.a * n + c].isNaN && !prepared.values[t.b * n + c].isNaN { common += 1 }
            return PairwiseComparison(
                algorithm: m.algorithms[t.a], opponent: m.algorithms[t.b], commonCases: common, test: t.result,
                adjustedPValue: t.adjusted, significant: t.adjusted < s.alpha)
        }
        return SignificanceMap(task: m.task, metric: m.metric, settings: s, algorithms: m.algorithms, comparisons: comparisons)
    }

    /// Rankings of several schemes (same other settings) and Kendall τ-b between every pair of them.
    public static func compareSchemes(_ m: ScoreMatrix, schemes: [RankingScheme] = RankingScheme.allCases, settings: RankingSettings) throws -> SchemeAgreement {
        let rankings = try schemes.map { scheme -> TaskRanking in
            var s = settings
            s.scheme = scheme
            return try rank(m, settings: s)
        }
        var pairs: [SchemeAgreement.Pair] = []
        for i in rankings.indices {
            for j in rankings.indices where j > i {
                pairs.append(.init(first: schemes[i], second: schemes[j], kendallTau: RankStatistics.kendallTauB(rankings[i].ranks, rankings[j].ranks)))
            }
        }
        return SchemeAgreement(rankings: rankings, pairs: pairs)
    }

    /// Bootstrap of the ranking: B replicates, each drawing n = (number of cases) case indices uniformly with
    /// replacement (``SplitMix64/uniform(below:)`` with the replicate's own generator, see ``SplitMix64``),
    /// using the same drawn cases for every algorithm, and re-applying the scheme. Replicates run in parallel
    /// over fixed chunks; the result is identical for any thread count.
    ///
    /// Per algorithm: counts per rank, median and 2.5 % / 97.5 % rank quantiles (R type 7), how often ranked
    /// first; and Kendall's τ-b between the full-data ranking and each replicate's ranking.
    /// Throws `.invalidInput` for invalid settings or a matrix without cases, and `.unsupported` when
    /// B × K × (n + K) exceeds 2·10⁹ (work limit).
    public static func bootstrap(_ m: ScoreMatrix, settings: RankingSettings, bootstrap b: BootstrapSettings) throws -> BootstrapRanking {
        try settings.validate()
        try b.validate()
        let k = m.algorithmCount, n = m.caseCount
        guard n >= 1, k >= 1 else {
            throw MedGridError(.invalidInput, "bootstrap of \(m.key): \(k) algorithms and \(n) cases (expected at least one of each)")
        }
        let work = Double(b.replicates) * Double(k) * Double(n + k)
        guard work <= 2e9 else {
            throw MedGridError(.unsupported, "bootstrap of \(m.key): B × K × (n + K) = \(Int(work)) exceeds the limit 2e9 (expected fewer replicates)")
        }
        let full = try rank(m, settings: settings)
        let prepared = PreparedScores(m, settings: settings)
        let replicates = b.replicates
        let output = SharedIntBuffer(count: replicates * k)
        let chunkSize = 16
        let chunks = (replicates + chunkSize - 1) / chunkSize
        let source = prepared.values
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var engine = RankingEngine(settings: settings, algorithmCount: k, caseCount: n, lastRankForMissing: prepared.lastRankForMissing)
            var sample = [Double](repeating: 0, count: k * n)
            let start = chunk * chunkSize, end = min(start + chunkSize, replicates)
            for r in start..<end {
                var rng = SplitMix64(seed: b.seed, replicate: r)
                for j in 0..<n {
                    let c = rng.uniform(below: n)
                    for a in 0..<k { sample[a * n + j] = source[a * n + c] }
                }
                engine.run(sample, caseCount: n)
                output.write(engine.ranks, at: r * k)
            }
        }
        let all = output.array()
        let replicateRanks = (0..<replicates).map { Array(all[($0 * k)..<($0 * k + k)]) }
        let fullRanks = full.ranks
        var distributions: [RankDistribution] = []
        for a in 0..<k {
            var counts = [Int](repeating: 0, count: k)
            var values: [Double] = []
            values.reserveCapacity(replicates)
            for r in 0..<replicates {
                let rk = all[r * k + a]
                counts[rk - 1] += 1
                values.append(Double(rk))
            }
            values.sort()
            distributions.append(RankDistribution(
                algorithm: m.algorithms[a], fullRank: fullRanks[a], rankCounts: counts,
                medianRank: RankStatistics.quantileSorted(values, 0.5) ?? .nan,
                lowerRank: RankStatistics.quantileSorted(values, 0.025) ?? .nan,
                upperRank: RankStatistics.quantileSorted(values, 0.975) ?? .nan,
                rankedFirst: counts[0], rankedFirstShare: Double(counts[0]) / Double(replicates)))
        }
        let fullD = fullRanks.map(Double.init)
        let taus = replicateRanks.map { RankStatistics.kendallTauB(fullD, $0.map(Double.init)) }
        return BootstrapRanking(full: full, bootstrap: b, distributions: distributions, kendallTau: TauSummary(taus), replicateRanks: replicateRanks)
    }

    static func makeRanking(_ m: ScoreMatrix, settings: RankingSettings, prepared: PreparedScores, engine: RankingEngine) -> TaskRanking {
        TaskRanking(
            task: m.task, metric: m.metric, settings: settings, caseCount: m.caseCount, missingCount: m.missingCount,
            imputedValue: prepared.imputedValue,
            algorithms: m.algorithms.indices.map { a in
                RankedAlgorithm(
                    algorithm: m.algorithms[a], score: engine.scores[a].isNaN ? nil : engine.scores[a],
                    rank: engine.ranks[a], casesUsed: engine.used[a])
            })
    }
}

/// A fixed-size Int buffer written by parallel workers at disjoint offsets (each bootstrap replicate owns
/// its own slot), read after all workers finished.
final class SharedIntBuffer: @unchecked Sendable {
    private let pointer: UnsafeMutableBufferPointer<Int>

    init(count: Int) {
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0)
    }

    deinit { pointer.deallocate() }

    func write(_ values: [Int], at offset: Int) {
        for (i, v) in values.enumerated() { pointer[offset + i] = v }
    }

    func array() -> [Int] { Array(pointer) }
}

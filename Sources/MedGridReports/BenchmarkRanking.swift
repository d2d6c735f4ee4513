public import MedGridCore
import Foundation

/// The ranking section of a Benchmark report and of a leaderboard version, derived from the per-case
/// scores (never stored as the only truth): per metric the chosen scheme's ranking, its paired bootstrap
/// (rank distribution, median rank, 95 % rank interval, share of first places, Kendall's τ-b to the full
/// ranking), the significance map, and every scheme's ranking with the τ-b between schemes; over all metrics
/// a consensus by mean rank, with its own bootstrap interval (each replicate's per-metric ranks, from the
/// same resampled cases, averaged and ranked).
public struct BenchmarkRanking: Sendable {
    /// One algorithm's place in the consensus.
    public struct Standing: Codable, Sendable, Equatable {
        public var algorithm: String
        public var rank: Int
        /// The consensus score: the mean of the per-metric ranks (the scheme's score when there is one metric).
        public var score: Double
        public var medianRank: Double?
        public var rankLower: Double?
        public var rankUpper: Double?
        /// Share of bootstrap replicates in which the algorithm ranked first.
        public var firstShare: Double?
    }

    public var settings: JSONValue
    public var perMetric: [(metric: String, direction: MetricDirection, ranking: TaskRanking, bootstrap: BootstrapRanking?, significance: SignificanceMap, schemes: SchemeAgreement)]
    public var consensus: ConsensusRanking
    public var standings: [Standing]

    /// Default number of bootstrap replicates when the manifest does not say.
    public static let defaultReplicates = 1000

    /// Ranks long-form scores (`algorithm`, `case`, `metric`, `value`) as a Benchmark manifest's
    /// `spec.ranking` says (scheme, missing, missingValue, alpha, adjust, bootstrap, smallerIsBetter), with
    /// the manifest's seed for the bootstrap.
    public static func analyse(scores: [JSONValue], metrics: [String], ranking spec: JSONValue, seed: UInt64) throws -> BenchmarkRanking {
        let scheme = try RankingScheme(rawValue: spec["scheme"]?.stringValue ?? RankingScheme.rankThenMean.rawValue)
            .orThrow("spec.ranking.scheme: expected one of \(RankingScheme.allCases.map(\.rawValue).joined(separator: ", "))")
        let missing: MissingCasePolicy
        switch spec["missing"]?.stringValue ?? "worst" {
        case "worst": missing = .worst
        case "excluded": missing = .excluded
        case "constant":
            guard let v = spec["missingValue"]?.doubleValue else {
                throw MedGridError(.invalidInput, "spec.ranking.missing is constant but spec.ranking.missingValue is not given (expected a number)")
            }
            missing = .constant(v)
        case let other: throw MedGridError(.invalidInput, "spec.ranking.missing: found \(other), expected worst, constant or excluded")
        }
        let adjustment = try PValueAdjustment(rawValue: spec["adjust"]?.stringValue ?? "none").orThrow("spec.ranking.adjust: expected none or holm")
        let alpha = spec["alpha"]?.doubleValue ?? 0.05
        let replicates = spec["bootstrap"]?.intValue ?? defaultReplicates
        let override = spec["smallerIsBetter"]?.boolValue

        var algorithms: [String] = [], cases: [String] = []
        var seenA = Set<String>(), seenC = Set<String>()
        var values: [String: [String: [String: Double]]] = [:]  // metric → algorithm → case → value
        for row in scores {
            guard let a = row["algorithm"]?.stringValue, let c = row["case"]?.stringValue, let m = row["metric"]?.stringValue else { continue }
            if seenA.insert(a).inserted { algorithms.append(a) }
            if seenC.insert(c).inserted { cases.append(c) }
            if let v = row["value"]?.doubleValue, v.isFinite { values[m, default: [:]][a, default: [:]][c] = v }
        }
        algorithms.sort()
        guard !algorithms.isEmpty, !cases.isEmpty else { throw MedGridError(.invalidInput, "no scores to rank") }
        var perMetric: [(metric: String, direction: MetricDirection, ranking: TaskRanking, bootstrap: BootstrapRanking?, significance: SignificanceMap, schemes: SchemeAgreement)] = []
        for metric in metrics {
            let direction = SegmentationMetricName.direction(of: metric)
            let smaller = override ?? (direction != .largerIsBetter)
            let rows: [[Double?]] = algorithms.map { a in
                cases.map { c in values[metric]?[a]?[c].map { direction == .closerToZeroIsBetter ? abs($0) : $0 } }
            }
            let matrix = try ScoreMatrix(task: "benchmark", metric: metric, algorithms: algorithms, cases: cases, rows: rows)
            let settings = RankingSettings(scheme: scheme, smallerIsBetter: smaller, missing: missing, alpha: alpha, adjustment: adjustment)
            let ranking = try ChallengeRanking.rank(matrix, settings: settings)
            let boot = replicates > 0 ? try ChallengeRanking.bootstrap(matrix, settings: settings, bootstrap: BootstrapSettings(replicates: replicates, seed: seed)) : nil
            perMetric.append((metric, direction, ranking, boot,
                              try ChallengeRanking.significanceMap(matrix, settings: settings),
                              try ChallengeRanking.compareSchemes(matrix, settings: settings)))
        }
        guard !perMetric.isEmpty else { throw MedGridError(.invalidInput, "no metrics to rank") }
        let consensus = try ChallengeRanking.consensus(perMetric.map(\.ranking))

        // Consensus rank per bootstrap replicate: the replicates of every metric resample the same cases
        // (same seed, same case order), so their ranks combine replicate by replicate.
        var standings: [Standing] = []
        let boots = perMetric.compactMap(\.bootstrap)
        var replicateConsensus: [[Int]] = []
        if boots.count == perMetric.count, let b = boots.first?.replicateRanks.count, b > 0 {
            for r in 0..<b {
                let means = algorithms.indices.map { a in Double(boots.reduce(0) { $0 + $1.replicateRanks[r][a] }) / Double(boots.count) }
                replicateConsensus.append(RankStatistics.minRanks(means, smallerIsBetter: true))
            }
        }
        for (a, e) in consensus.entries.enumerated() {
            var s = Standing(algorithm: e.algorithm, rank: e.rank, score: e.meanRank)
            if perMetric.count == 1, let score = perMetric[0].ranking.algorithms.first(where: { $0.algorithm == e.algorithm })?.score { s.score = score }
            if !replicateConsensus.isEmpty {
                let ranks = replicateConsensus.map { Double($0[a]) }.sorted()
                s.medianRank = RankStatistics.quantile(ranks, 0.5)
                s.rankLower = RankStatistics.quantile(ranks, 0.025)
                s.rankUpper = RankStatistics.quantile(ranks, 0.975)
                s.firstShare = Double(ranks.filter { $0 == 1 }.count) / Double(ranks.count)
            }
            standings.append(s)
        }
        standings.sort { $0.rank != $1.rank ? $0.rank < $1.rank : $0.algorithm < $1.algorithm }
        var settingsJSON: [String: JSONValue] = [
            "scheme": .string(scheme.rawValue), "missing": missing.json(), "alpha": .number(alpha), "adjust": .string(adjustment.rawValue),
            "bootstrap": ["replicates": .int(replicates), "seed": .int(Int(truncatingIfNeeded: seed))],
        ]
        if let override { settingsJSON["smallerIsBetter"] = .bool(override) }
        return BenchmarkRanking(settings: .object(settingsJSON), perMetric: perMetric, consensus: consensus, standings: standings)
    }

    /// A one-line description of how the ranking was made.
    public var description: String {
        let s = settings
        var text = "\(s["scheme"]?.stringValue ?? "") per metric"
        if s["scheme"]?.stringValue == "test-then-rank" {
            text += " (one-sided paired Wilcoxon, α = \(s["alpha"]?.doubleValue ?? 0.05), adjustment \(s["adjust"]?.stringValue ?? "none"))"
        }
        if perMetric.count > 1 { text += "; consensus over \(perMetric.map(\.metric).joined(separator: ", ")) by mean rank" }
        text += "; missing cases: \(s["missing"]?["policy"]?.stringValue ?? "")"
        if let b = s["bootstrap"]?["replicates"]?.intValue, b > 0 { text += "; rank intervals from \(b) paired bootstrap samples of cases (seed \(s["bootstrap"]?["seed"]?.intValue ?? 0))" }
        return text
    }

    /// The report section.
    public var json: JSONValue {
        var metrics: [String: JSONValue] = [:]
        for p in perMetric {
            var o: [String: JSONValue] = [
                "direction": .string(p.direction.rawValue),
                "ranking": p.ranking.json(),
                "significance": p.significance.json(),
                "schemes": p.schemes.json(),
            ]
            if p.direction == .closerToZeroIsBetter { o["rankedOn"] = "absolute value" }
            if let b = p.bootstrap { o["bootstrap"] = b.json() }
            metrics[p.metric] = .object(o)
        }
        return [
            "description": .string(description),
            "settings": settings,
            "metrics": .object(metrics),
            "consensusMethod": consensus.json()["method"] ?? .null,
            "consensus": .array(standings.map { (try? JSONValue(encoding: $0)) ?? .null }),
        ]
    }
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let v = self else { throw MedGridError(.invalidInput, message) }
        return v
    }
}

public import MedGridCore
import Foundation

/// One algorithm on a leaderboard, with the record needed to reproduce its scores.
public struct LeaderboardEntry: Codable, Sendable, Equatable {
    /// The algorithm's name (unique on a leaderboard).
    public var algorithm: String
    /// The algorithm as its job ran it: `name`, `kernel` and `params`, or `command`.
    public var step: JSONValue
    /// The kernel's version when the algorithm is a kernel.
    public var kernelVersion: String?
    /// Where the scores came from: the job's name, manifest hash, MedGrid version, dataset root and metric
    /// implementation versions.
    public var source: JSONValue
    /// Per-case scores: `case`, `metric`, `value` (null when missing), in the job's order.
    public var scores: [JSONValue]
}

/// What makes two runs comparable on one leaderboard.
public struct BenchmarkKey: Codable, Sendable, Equatable {
    public var datasetRoot: String
    public var metrics: [String]
    public var ranking: JSONValue
    public var seed: UInt64
    /// metric → implementation version.
    public var metricImplementations: [String: String]
}

/// A rank that moved between two versions.
public struct RankChange: Codable, Sendable, Equatable {
    public var algorithm: String
    public var previous: Int?
    public var current: Int?
}

/// One published, immutable state of a leaderboard.
public struct LeaderboardVersion: Codable, Sendable, Equatable {
    public var name: String
    public var version: Int
    public var benchmark: BenchmarkKey
    public var entries: [LeaderboardEntry]
    /// The ranking over all entries (consensus over metrics, with bootstrap rank intervals).
    public var ranking: JSONValue
    /// Why this version was published.
    public var reason: String
    /// Rank changes against the previous version (every entry whose rank differs, or that is new or gone).
    public var changes: [RankChange]
    /// Where the data were when this version was scored (for re-evaluation; not part of the comparison).
    public var datasetLocation: String?

    public var document: JSONValue { (try? JSONValue(encoding: self)) ?? .null }

    public init(document: JSONValue) throws { self = try document.decode(LeaderboardVersion.self) }

    init(name: String, version: Int, benchmark: BenchmarkKey, entries: [LeaderboardEntry], ranking: JSONValue,
         reason: String, changes: [RankChange], datasetLocation: String?) {
        self.name = name
        self.version = version
        self.benchmark = benchmark
        self.entries = entries
        self.ranking = ranking
        self.reason = reason
        self.changes = changes
        self.datasetLocation = datasetLocation
    }

    /// Consensus standings in rank order: algorithm, rank and the bootstrap rank interval when there is one.
    public var standings: [BenchmarkRanking.Standing] {
        (ranking["consensus"]?.arrayValue ?? []).compactMap { try? $0.decode(BenchmarkRanking.Standing.self) }
    }
}

/// Leaderboards over time: entries from different Benchmark jobs on the same benchmark, ranked together;
/// every change publishes a new version, and published versions are never edited.
public enum Leaderboard {
    /// The benchmark key and one entry per algorithm of a Benchmark job report. The scores are the report's
    /// own `scores` (never a file rendered from it); `reportSHA256`, the SHA-256 of the report file's
    /// canonical bytes, goes into each entry's `source` so a version names exactly the report it took them from.
    public static func entries(fromReport report: JSONValue, reportSHA256: String? = nil) throws -> (BenchmarkKey, [LeaderboardEntry]) {
        guard report["kind"]?.stringValue == "JobReport", report["job"]?["kind"]?.stringValue == "Benchmark",
              let provenance = report["provenance"], let scores = report["scores"]?.arrayValue,
              let root = provenance["datasetRoot"]?.stringValue
        else {
            throw MedGridError(.invalidInput, "not a Benchmark job report (expected kind JobReport, job.kind Benchmark, provenance and scores)")
        }
        let spec = provenance["manifest"]?["spec"]
        let metrics = spec?["metrics"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var implementations: [String: String] = [:]
        for (k, v) in provenance["metricImplementations"]?.objectValue ?? [:] { implementations[k] = v.stringValue ?? "" }
        for m in metrics where implementations[m] == nil { implementations[m] = "unrecorded" }
        let key = BenchmarkKey(
            datasetRoot: root, metrics: metrics, ranking: spec?["ranking"] ?? .object([:]),
            seed: UInt64(provenance["seed"]?.intValue ?? 0), metricImplementations: implementations)
        var kernelVersions: [String: String] = [:]
        for k in provenance["kernels"]?.arrayValue ?? [] {
            if let n = k["name"]?.stringValue, let v = k["version"]?.stringValue { kernelVersions[n] = v }
        }
        var source: [String: JSONValue] = [
            "job": report["job"]?["name"] ?? .null,
            "manifestSHA256": provenance["manifestSHA256"] ?? .null,
            "medgridVersion": provenance["medgridVersion"] ?? .null,
            "datasetRoot": .string(root),
            "metricImplementations": .object(implementations.mapValues { .string($0) }),
        ]
        if let reportSHA256 { source["reportSHA256"] = .string(reportSHA256) }
        var entries: [LeaderboardEntry] = []
        for step in provenance["steps"]?.arrayValue ?? [] {
            guard let name = step["name"]?.stringValue else { continue }
            let rows = scores.filter { $0["algorithm"]?.stringValue == name }.map { row -> JSONValue in
                ["case": row["case"] ?? .null, "metric": row["metric"] ?? .null, "value": row["value"] ?? .null]
            }
            entries.append(LeaderboardEntry(
                algorithm: name, step: step, kernelVersion: step["kernel"]?.stringValue.flatMap { kernelVersions[$0] },
                source: .object(source), scores: rows))
        }
        guard !entries.isEmpty else { throw MedGridError(.invalidInput, "the report has no algorithms") }
        return (key, entries)
    }

    /// Publishes the next version: `entries` replace entries of the same algorithm name and join the rest.
    /// The key must match the previous version's, or the caller re-evaluates first.
    public static func adding(
        _ entries: [LeaderboardEntry], key: BenchmarkKey, to previous: LeaderboardVersion?, name: String,
        datasetLocation: String?, reason: String
    ) throws -> LeaderboardVersion {
        if let previous {
            var problems: [String] = []
            if previous.benchmark.datasetRoot != key.datasetRoot {
                problems.append("dataset root: leaderboard \(previous.benchmark.datasetRoot), report \(key.datasetRoot)")
            }
            if previous.benchmark.metrics != key.metrics {
                problems.append("metrics: leaderboard \(previous.benchmark.metrics.joined(separator: ",")), report \(key.metrics.joined(separator: ","))")
            }
            if previous.benchmark.ranking != key.ranking || previous.benchmark.seed != key.seed {
                problems.append("ranking settings: leaderboard \(CanonicalJSON.compact(previous.benchmark.ranking)) seed \(previous.benchmark.seed), report \(CanonicalJSON.compact(key.ranking)) seed \(key.seed)")
            }
            if previous.benchmark.metricImplementations != key.metricImplementations {
                problems.append("metric implementations: leaderboard \(CanonicalJSON.compact(.object(previous.benchmark.metricImplementations.mapValues { .string($0) }))), report \(CanonicalJSON.compact(.object(key.metricImplementations.mapValues { .string($0) })))")
            }
            if !problems.isEmpty {
                throw MedGridError(.conflict, "the report is not on leaderboard \(name)'s benchmark:\n  " + problems.joined(separator: "\n  ")
                    + "\n(when the ground truth or a metric changed, re-evaluate the leaderboard first: medgrid leaderboard \(name) --reevaluate)")
            }
        }
        var merged = previous?.entries ?? []
        for e in entries {
            if let i = merged.firstIndex(where: { $0.algorithm == e.algorithm }) { merged[i] = e } else { merged.append(e) }
        }
        return try publish(name: name, previous: previous, key: key, entries: merged, reason: reason,
                           datasetLocation: datasetLocation ?? previous?.datasetLocation)
    }

    /// Ranks `entries` and returns the version after `previous` with the rank changes against it.
    public static func publish(
        name: String, previous: LeaderboardVersion?, key: BenchmarkKey, entries: [LeaderboardEntry], reason: String,
        datasetLocation: String?
    ) throws -> LeaderboardVersion {
        var rows: [JSONValue] = []
        for e in entries {
            for s in e.scores {
                rows.append(["algorithm": .string(e.algorithm), "case": s["case"] ?? .null, "metric": s["metric"] ?? .null, "value": s["value"] ?? .null])
            }
        }
        let ranking = try BenchmarkRanking.analyse(scores: rows, metrics: key.metrics, ranking: key.ranking, seed: key.seed)
        var version = LeaderboardVersion(
            name: name, version: (previous?.version ?? 0) + 1, benchmark: key, entries: entries, ranking: ranking.json,
            reason: reason, changes: [], datasetLocation: datasetLocation)
        let before = Dictionary(uniqueKeysWithValues: (previous?.standings ?? []).map { ($0.algorithm, $0.rank) })
        let after = Dictionary(uniqueKeysWithValues: version.standings.map { ($0.algorithm, $0.rank) })
        version.changes = Set(before.keys).union(after.keys).sorted().compactMap { a in
            before[a] == after[a] ? nil : RankChange(algorithm: a, previous: before[a], current: after[a])
        }
        return version
    }

    /// The terminal table: rank, algorithm, score, 95 % bootstrap rank interval, share of first places,
    /// change against the previous version, and the job the entry came from.
    public static func table(_ v: LeaderboardVersion) -> String {
        var lines: [String] = []
        lines.append("leaderboard \(v.name), version \(v.version): \(v.entries.count) algorithms; metrics \(v.benchmark.metrics.joined(separator: ", ")); dataset root \(v.benchmark.datasetRoot.prefix(16))…")
        lines.append("ranking: \(v.ranking["description"]?.stringValue ?? "")")
        lines.append("published because: \(v.reason)")
        lines.append("")
        let changes = Dictionary(uniqueKeysWithValues: v.changes.map { ($0.algorithm, $0) })
        var rows: [[String]] = [["rank", "algorithm", "mean rank", "rank 95% interval", "first", "change", "from job"]]
        for s in v.standings {
            let interval = s.rankLower.map { l in "[\(fmt(l)), \(fmt(s.rankUpper ?? l))]" } ?? "–"
            let first = s.firstShare.map { String(format: "%.0f%%", $0 * 100) } ?? "–"
            var change = "="
            if let c = changes[s.algorithm] {
                change = c.previous.map { p in p > s.rank ? "↑\(p - s.rank)" : "↓\(s.rank - p)" } ?? "new"
            }
            let job = v.entries.first { $0.algorithm == s.algorithm }?.source["job"]?.stringValue ?? ""
            rows.append(["\(s.rank)", s.algorithm, fmt(s.score), interval, first, change, job])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for (i, r) in rows.enumerated() {
            lines.append(r.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }.joined(separator: "  "))
            if i == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        for c in v.changes where !v.standings.contains(where: { $0.algorithm == c.algorithm }) {
            lines.append("(removed: \(c.algorithm), was rank \(c.previous.map(String.init) ?? "–"))")
        }
        return lines.joined(separator: "\n")
    }

    static func fmt(_ d: Double) -> String {
        d == d.rounded() ? String(Int(d)) : String(format: "%.2f", d)
    }
}

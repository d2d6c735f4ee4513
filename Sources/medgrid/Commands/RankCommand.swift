import ArgumentParser
import Foundation
import MedGridCore
import MedGridReports

struct RankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Rank algorithms from a long-format CSV of per-case scores, as challengeR does.",
        discussion: """
            SCORES.csv has a header with columns algorithm, case, value, and optionally task and metric (scores \
            computed anywhere; a Benchmark report's scores.csv is one). Each (task, metric) is ranked with the \
            scheme; several are combined into a consensus by mean rank. Ties take the minimum rank. With \
            --bootstrap, cases are resampled with replacement (the same cases for every algorithm) B times with \
            the seed, giving each algorithm's median rank, 95% rank interval and share of first places, and \
            Kendall's tau-b between the full ranking and the bootstrap rankings. The significance map (one-sided \
            paired Wilcoxon tests between every ordered pair, adjusted as --adjust says) is part of --json.

            Schemes: mean-then-rank, median-then-rank (aggregate, then rank); rank-then-mean (rank within each \
            case, then mean rank); test-then-rank (share of significant one-sided Wilcoxon wins at --alpha).
            """)

    @Argument(help: ArgumentHelp("The scores (CSV, long format).", valueName: "scores.csv"))
    var scores: String

    @Option(help: "mean-then-rank, median-then-rank, rank-then-mean or test-then-rank.")
    var scheme: String = "rank-then-mean"

    @Flag(help: "Smaller values are better (distances); default: larger is better (Dice).")
    var smallerIsBetter = false

    @Option(help: "Significance level of the pairwise tests.")
    var alpha: Double = 0.05

    @Option(help: "p-value adjustment of the pairwise tests: none or holm.")
    var adjust: String = "none"

    @Option(help: "Missing cases: worst, excluded, or a number that replaces them.")
    var missing: String = "worst"

    @Option(help: ArgumentHelp("Bootstrap replicates (0: none).", valueName: "B"))
    var bootstrap: Int = 0

    @Option(help: ArgumentHelp("Bootstrap seed.", valueName: "S"))
    var seed: UInt64 = 1

    @Flag(help: "Print the full analysis as JSON.")
    var json = false

    func validate() throws {
        guard RankingScheme(rawValue: scheme) != nil else {
            throw ValidationError("--scheme: found \(scheme), expected one of \(RankingScheme.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard PValueAdjustment(rawValue: adjust) != nil else { throw ValidationError("--adjust: found \(adjust), expected none or holm") }
        guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be between 0 and 1") }
        guard bootstrap >= 0 && bootstrap <= BootstrapSettings.maximumReplicates else { throw ValidationError("--bootstrap must be from 0 to \(BootstrapSettings.maximumReplicates)") }
        guard ["worst", "excluded"].contains(missing) || Double(missing) != nil else { throw ValidationError("--missing: found \(missing), expected worst, excluded or a number") }
    }

    func run() async throws {
        try await reportingErrors {
            guard let data = FileManager.default.contents(atPath: scores) else { throw MedGridError(.notFound, "\(scores): no such file") }
            let table: ScoreTable
            do { table = try ScoreTable.parseCSV(String(decoding: data, as: UTF8.self)) } catch let e as MedGridError {
                throw MedGridError(e.code, "\(scores): \(e.message)")
            }
            let policy: MissingCasePolicy = missing == "worst" ? .worst : missing == "excluded" ? .excluded : .constant(Double(missing)!)
            let settings = RankingSettings(
                scheme: RankingScheme(rawValue: scheme)!, smallerIsBetter: smallerIsBetter, missing: policy, alpha: alpha,
                adjustment: PValueAdjustment(rawValue: adjust)!)
            var sections: [JSONValue] = []
            var rankings: [TaskRanking] = []
            var boots: [BootstrapRanking] = []
            for m in try table.matrices() {
                let r = try ChallengeRanking.rank(m, settings: settings)
                rankings.append(r)
                var o: [String: JSONValue] = ["task": .string(m.task), "metric": .string(m.metric), "ranking": r.json(),
                                              "significance": try ChallengeRanking.significanceMap(m, settings: settings).json(),
                                              "schemes": try ChallengeRanking.compareSchemes(m, settings: settings).json()]
                if bootstrap > 0 {
                    let b = try ChallengeRanking.bootstrap(m, settings: settings, bootstrap: BootstrapSettings(replicates: bootstrap, seed: seed))
                    boots.append(b)
                    o["bootstrap"] = b.json()
                }
                sections.append(.object(o))
                if !json { printTable(r, bootstrap: boots.last, title: "\(m.task) / \(m.metric) (\(m.caseCount) cases)") }
            }
            let consensus = rankings.count > 1 ? try ChallengeRanking.consensus(rankings) : nil
            if json {
                var out: [String: JSONValue] = ["settings": settings.json(), "rankings": .array(sections)]
                if bootstrap > 0 { out["bootstrap"] = ["replicates": .int(bootstrap), "seed": .int(Int(truncatingIfNeeded: seed))] }
                if let consensus { out["consensus"] = consensus.json() }
                print(CanonicalJSON.encode(.object(out)), terminator: "")
            } else if let consensus {
                print("consensus over \(rankings.count) (task, metric) rankings, by mean rank:")
                for e in consensus.entries.sorted(by: { $0.rank != $1.rank ? $0.rank < $1.rank : $0.algorithm < $1.algorithm }) {
                    print(String(format: "  %3d  %@  mean rank %.3f", e.rank, e.algorithm, e.meanRank))
                }
            }
        }
    }

    func printTable(_ r: TaskRanking, bootstrap b: BootstrapRanking?, title: String) {
        print("\(title) — \(r.settings.scheme.rawValue), \(r.scoreMeaning)")
        var rows: [[String]] = [["rank", "algorithm", "score"] + (b == nil ? [] : ["median rank", "95% rank interval", "first"])]
        for a in r.algorithms.sorted(by: { $0.rank != $1.rank ? $0.rank < $1.rank : $0.algorithm < $1.algorithm }) {
            var row = ["\(a.rank)", a.algorithm, a.score.map { String(format: "%.4f", $0) } ?? "–"]
            if let d = b?.distributions.first(where: { $0.algorithm == a.algorithm }) {
                row += [fmt(d.medianRank), "[\(fmt(d.lowerRank)), \(fmt(d.upperRank))]", String(format: "%.0f%%", d.rankedFirstShare * 100)]
            }
            rows.append(row)
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for (i, row) in rows.enumerated() {
            print("  " + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
            if i == 0 { print("  " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        if let b, let tau = b.kendallTau.median { print(String(format: "  Kendall tau-b, full vs bootstrap rankings: median %.3f", tau)) }
        print("")
    }

    func fmt(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(format: "%.1f", d) }
}

import Foundation
import MedGridCore
import Testing

@testable import MedGridReports

/// The reference challenge table (6 algorithms × 14 cases) of schemes.json.
func referenceMatrix(_ table: String, metric: String? = nil) throws -> ScoreMatrix {
    let ref = try rankingReference("schemes.json")
    let algorithms = (ref["algorithms"]?.arrayValue ?? []).compactMap(\.stringValue)
    let cases = (ref["cases"]?.arrayValue ?? []).compactMap(\.stringValue)
    let rows: [[Double?]] = (ref["tables"]?[table]?.arrayValue ?? []).map { row in
        (row.arrayValue ?? []).map { $0.doubleValue }
    }
    return try ScoreMatrix(task: "seg", metric: metric ?? table, algorithms: algorithms, cases: cases, rows: rows)
}

func policy(_ config: JSONValue) -> MissingCasePolicy {
    switch config["policy"]?.stringValue {
    case "constant": return .constant(config["constant"]?.doubleValue ?? .nan)
    case "excluded": return .excluded
    default: return .worst
    }
}

struct RankingSchemeTests {
    @Test func everySchemeAndPolicyMatchesTheReference() throws {
        let configs = try #require(try rankingReference("schemes.json")["configs"]?.arrayValue)
        #expect(configs.count == 25)
        for c in configs {
            let table = try #require(c["table"]?.stringValue)
            let m = try referenceMatrix(table)
            let settings = RankingSettings(
                scheme: try #require(RankingScheme(rawValue: c["scheme"]?.stringValue ?? "")),
                smallerIsBetter: c["smallerIsBetter"]?.boolValue ?? false, missing: policy(c),
                alpha: c["alpha"]?.doubleValue ?? 0.05,
                adjustment: try #require(PValueAdjustment(rawValue: c["adjust"]?.stringValue ?? "")))
            let r = try ChallengeRanking.rank(m, settings: settings)
            let label = "\(table) \(settings.scheme.rawValue) \(settings.missing) \(settings.adjustment)"
            #expect(r.ranks == ints(c["ranks"]), "\(label)")
            let scores = doubles(c["scores"])
            for (a, e) in zip(r.algorithms, scores) {
                // scores: 1e-12 absolute (means of 4-decimal values, mean ranks, win shares)
                #expect(abs((a.score ?? .nan) - e) < 1e-12 || (a.score == nil && e.isNaN), "\(label) \(a.algorithm)")
            }
            #expect(r.algorithms.map(\.casesUsed) == ints(c["used"]), "\(label)")
            let imputed = c["imputed"]?.doubleValue
            #expect(r.imputedValue == imputed, "\(label)")
            if settings.scheme == .testThenRank {
                let map = try ChallengeRanking.significanceMap(m, settings: settings)
                let tests = c["tests"]?.arrayValue ?? []
                #expect(map.comparisons.count == 30 && tests.count == 30)
                for (got, t) in zip(map.comparisons, tests) {
                    #expect(got.algorithm == m.algorithms[t["algorithm"]?.intValue ?? -1])
                    #expect(got.opponent == m.algorithms[t["opponent"]?.intValue ?? -1])
                    let p = t["p"]?.doubleValue ?? .nan, adj = t["adjusted"]?.doubleValue ?? .nan
                    #expect(abs(got.test.pValue - p) <= max(1e-12, 1e-10 * p), "\(label) \(got.algorithm)>\(got.opponent)")
                    #expect(abs(got.adjustedPValue - adj) <= max(1e-12, 1e-10 * adj), "\(label)")
                    #expect(got.significant == t["significant"]?.boolValue)
                }
            }
        }
    }

    @Test func theFourSchemesDisagreeOnTheConstructedTable() throws {
        let m = try referenceMatrix("dsc")
        let agreement = try ChallengeRanking.compareSchemes(m, settings: RankingSettings(scheme: .meanThenRank, smallerIsBetter: false))
        let rankings = agreement.rankings.map(\.ranks)
        #expect(Set(rankings).count == 4)
        // The story of the table: B-unstable has the best median but catastrophic failures (worst mean);
        // F-variable has the best mean.
        let mean = agreement.rankings[0], median = agreement.rankings[1]
        #expect(median.rank(of: "B-unstable") == 1)
        #expect(mean.rank(of: "B-unstable") == 6)
        #expect(mean.rank(of: "F-variable") == 1)
        // τ-b between every pair of schemes, against scipy.
        let ref = try #require(try rankingReference("schemes.json")["agreement"]?.arrayValue)
        #expect(ref.count == 6 && agreement.pairs.count == 6)
        for r in ref {
            let a = try #require(RankingScheme(rawValue: r["first"]?.stringValue ?? ""))
            let b = try #require(RankingScheme(rawValue: r["second"]?.stringValue ?? ""))
            let tau = try #require(agreement.tau(a, b))
            #expect(abs(tau - (r["tau"]?.doubleValue ?? .nan)) < 1e-14)
            #expect(tau < 1)
        }
    }

    @Test func consensusIsTheRankOfMeanRanks() throws {
        let ref = try #require(try rankingReference("schemes.json")["consensus"])
        let dsc = try ChallengeRanking.rank(try referenceMatrix("dsc", metric: "DSC"), settings: .init(scheme: .meanThenRank, smallerIsBetter: false))
        let hd = try ChallengeRanking.rank(try referenceMatrix("hd", metric: "HD"), settings: .init(scheme: .rankThenMean, smallerIsBetter: true))
        let c = try ChallengeRanking.consensus([dsc, hd])
        #expect(c.entries.map(\.rank) == ints(ref["ranks"]))
        let means = doubles(ref["meanRanks"])
        for (e, m) in zip(c.entries, means) { #expect(abs(e.meanRank - m) < 1e-15) }
        #expect(c.components == [TaskMetric(task: "seg", metric: "DSC"), TaskMetric(task: "seg", metric: "HD")])
        #expect(throws: MedGridError.self) { try ChallengeRanking.consensus([]) }
    }

    @Test func missingPoliciesBehaveAsDocumented() throws {
        // 3 algorithms × 4 cases, larger is better; Y misses case 0 (where it would be best).
        let m = try ScoreMatrix(algorithms: ["X", "Y", "Z"], cases: ["c0", "c1", "c2", "c3"], rows: [
            [0.5, 0.6, 0.7, 0.8],
            [nil, 0.9, 0.9, 0.9],
            [0.4, 0.5, 0.6, 0.1],
        ])
        // worst, rank-then-mean: Y gets rank 3 (= K) in c0 → mean ranks X (1+2+2+2)/4, Y (3+1+1+1)/4, Z (2+3+3+3)/4.
        let rtm = try ChallengeRanking.rank(m, settings: .init(scheme: .rankThenMean, smallerIsBetter: false, missing: .worst))
        #expect(rtm.algorithms.map(\.score) == [1.75, 1.5, 2.75])
        #expect(rtm.ranks == [2, 1, 3])
        #expect(rtm.imputedValue == nil)
        // worst, mean-then-rank: Y's missing value becomes the worst observed value 0.1.
        let mean = try ChallengeRanking.rank(m, settings: .init(scheme: .meanThenRank, smallerIsBetter: false, missing: .worst))
        #expect(mean.imputedValue == 0.1)
        #expect(abs((mean.algorithms[1].score ?? 0) - 0.7) < 1e-12)
        #expect(mean.ranks == [2, 1, 3])
        // excluded: Y's mean over 3 cases is 0.9, rank-then-mean ranks Y only where present.
        let ex = try ChallengeRanking.rank(m, settings: .init(scheme: .meanThenRank, smallerIsBetter: false, missing: .excluded))
        #expect(abs((ex.algorithms[1].score ?? 0) - 0.9) < 1e-12 && ex.algorithms[1].casesUsed == 3)
        let exR = try ChallengeRanking.rank(m, settings: .init(scheme: .rankThenMean, smallerIsBetter: false, missing: .excluded))
        #expect(exR.algorithms.map(\.score) == [1.75, 1, 2.75])
        // constant(1.0): Y becomes best in c0 too.
        let k = try ChallengeRanking.rank(m, settings: .init(scheme: .rankThenMean, smallerIsBetter: false, missing: .constant(1.0)))
        #expect(k.algorithms.map(\.score) == [2, 1, 3])
        #expect(k.imputedValue == 1.0)
        // An algorithm with no value at all ranks last under "excluded".
        let empty = try ScoreMatrix(algorithms: ["P", "Q", "R"], cases: ["a", "b"], rows: [[0.2, 0.3], [nil, nil], [0.1, 0.2]])
        let e = try ChallengeRanking.rank(empty, settings: .init(scheme: .medianThenRank, smallerIsBetter: false, missing: .excluded))
        #expect(e.ranks == [1, 3, 2])
        #expect(e.algorithms[1].score == nil)
    }

    @Test func testThenRankUsesTheWorkedExampleDirection() throws {
        // Two algorithms, smaller is better: A (0.2) beats B (1.0) on all 4 cases, p = 0.035930 < 0.05.
        let m = try ScoreMatrix(algorithms: ["A", "B"], cases: ["1", "2", "3", "4"], rows: [[0.2, 0.2, 0.2, 0.2], [1, 1, 1, 1]])
        let s = RankingSettings(scheme: .testThenRank, smallerIsBetter: true)
        let map = try ChallengeRanking.significanceMap(m, settings: s)
        let ab = try #require(map.comparison("A", "B")), ba = try #require(map.comparison("B", "A"))
        #expect(abs(ab.adjustedPValue - 0.035930) < 1e-6 && ab.significant)
        #expect(!ba.significant && ba.test.pValue > 0.9)
        let r = try ChallengeRanking.rank(m, settings: s)
        #expect(r.ranks == [1, 2])
        #expect(r.algorithms.map(\.score) == [1, 0])
        // At α = 0.03 nothing is significant: both tie at rank 1.
        let strict = try ChallengeRanking.rank(m, settings: .init(scheme: .testThenRank, smallerIsBetter: true, alpha: 0.03))
        #expect(strict.ranks == [1, 1])
        // Holm with 2 ordered pairs: adjusted p = 2 × 0.035930 > 0.05 → tie.
        let holm = try ChallengeRanking.rank(m, settings: .init(scheme: .testThenRank, smallerIsBetter: true, adjustment: .holm))
        #expect(holm.ranks == [1, 1])
    }

    @Test func invalidSettingsAreRejected() throws {
        let m = try referenceMatrix("dsc")
        #expect(throws: MedGridError.self) { try ChallengeRanking.rank(m, settings: .init(scheme: .testThenRank, smallerIsBetter: false, alpha: 0)) }
        #expect(throws: MedGridError.self) { try ChallengeRanking.rank(m, settings: .init(scheme: .meanThenRank, smallerIsBetter: false, missing: .constant(.infinity))) }
        #expect(throws: MedGridError.self) { try ScoreMatrix(algorithms: ["a"], cases: ["1", "2"], values: [1]) }
        #expect(throws: MedGridError.self) { try ScoreMatrix(algorithms: ["a", "a"], cases: ["1"], values: [1, 2]) }
    }

    @Test func jsonCarriesSettingsAndStableKeys() throws {
        let m = try referenceMatrix("dsc_missing", metric: "DSC")
        let r = try ChallengeRanking.rank(m, settings: .init(scheme: .testThenRank, smallerIsBetter: false, missing: .constant(0.5), alpha: 0.01, adjustment: .holm))
        let j = r.json()
        #expect(j["settings"]?["scheme"] == "test-then-rank")
        #expect(j["settings"]?["alpha"] == .double(0.01))
        #expect(j["settings"]?["adjust"] == "holm")
        #expect(j["settings"]?["smallerIsBetter"] == false)
        #expect(j["settings"]?["missing"] == ["policy": "constant", "value": .double(0.5)])
        #expect(j["missingValues"] == 6 && j["cases"] == 14 && j["imputedValue"] == .double(0.5))
        let first = j["ranking"]?.arrayValue?.first
        #expect(first?["rank"] == 1)
        #expect(Set(first?.objectValue?.keys.map { $0 } ?? []) == ["algorithm", "score", "rank", "casesUsed"])
        let text = CanonicalJSON.encode(j)
        #expect(text == CanonicalJSON.encode(try ChallengeRanking.rank(m, settings: r.settings).json()))
        let map = try ChallengeRanking.significanceMap(m, settings: r.settings).json()
        #expect(map["comparisons"]?.arrayValue?.count == 30)
        #expect(map["comparisons"]?.arrayValue?.first?["adjustedPValue"]?.doubleValue != nil)
    }
}

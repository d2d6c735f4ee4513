import Foundation
import MedGridCore
import Testing

@testable import MedGridReports

struct RankingBootstrapTests {
    @Test func bootstrapMatchesTheIndependentPythonImplementation() throws {
        let runs = try #require(try rankingReference("bootstrap.json")["runs"]?.arrayValue)
        #expect(runs.count == 5)
        for run in runs {
            let m = try referenceMatrix(try #require(run["table"]?.stringValue))
            let settings = RankingSettings(
                scheme: try #require(RankingScheme(rawValue: run["scheme"]?.stringValue ?? "")),
                smallerIsBetter: run["smallerIsBetter"]?.boolValue ?? false, missing: policy(run),
                adjustment: try #require(PValueAdjustment(rawValue: run["adjust"]?.stringValue ?? "")))
            let b = BootstrapSettings(replicates: try #require(run["B"]?.intValue), seed: UInt64(try #require(run["seed"]?.intValue)))
            let result = try ChallengeRanking.bootstrap(m, settings: settings, bootstrap: b)
            let label = "\(run["table"]?.stringValue ?? "") \(settings.scheme.rawValue)"
            let algs = run["algorithms"]?.arrayValue ?? []
            #expect(algs.count == result.distributions.count)
            for (d, e) in zip(result.distributions, algs) {
                // Rank counts are integers: exact. Quantiles of integer ranks: 1e-12.
                #expect(d.rankCounts == ints(e["counts"]), "\(label) \(d.algorithm)")
                #expect(d.fullRank == e["fullRank"]?.intValue)
                #expect(abs(d.medianRank - (e["median"]?.doubleValue ?? .nan)) < 1e-12)
                #expect(abs(d.lowerRank - (e["q025"]?.doubleValue ?? .nan)) < 1e-12, "\(label) \(d.algorithm)")
                #expect(abs(d.upperRank - (e["q975"]?.doubleValue ?? .nan)) < 1e-12, "\(label) \(d.algorithm)")
                #expect(d.rankedFirst == e["first"]?.intValue)
                #expect(d.rankCounts.reduce(0, +) == b.replicates)
            }
            let taus = run["taus"]?.arrayValue ?? []
            #expect(taus.count == result.kendallTau.values.count)
            for (got, e) in zip(result.kendallTau.values, taus) {
                if let ev = e.doubleValue {
                    #expect(abs((got ?? .nan) - ev) < 1e-12, "\(label)")
                } else {
                    #expect(got == nil)
                }
            }
            #expect(abs((result.kendallTau.mean ?? .nan) - (run["tauMean"]?.doubleValue ?? .nan)) < 1e-12)
            #expect(abs((result.kendallTau.median ?? .nan) - (run["tauMedian"]?.doubleValue ?? .nan)) < 1e-12)
            #expect(abs((result.kendallTau.lower ?? .nan) - (run["tauQ025"]?.doubleValue ?? .nan)) < 1e-12)
            #expect(abs((result.kendallTau.upper ?? .nan) - (run["tauQ975"]?.doubleValue ?? .nan)) < 1e-12)
        }
    }

    @Test func sameSeedIsIdenticalAndDifferentSeedDiffers() throws {
        let m = try referenceMatrix("dsc_missing")
        let s = RankingSettings(scheme: .rankThenMean, smallerIsBetter: false)
        let a = try ChallengeRanking.bootstrap(m, settings: s, bootstrap: .init(replicates: 500, seed: 99))
        let b = try ChallengeRanking.bootstrap(m, settings: s, bootstrap: .init(replicates: 500, seed: 99))
        let c = try ChallengeRanking.bootstrap(m, settings: s, bootstrap: .init(replicates: 500, seed: 100))
        #expect(a == b)
        #expect(CanonicalJSON.encode(a.json()) == CanonicalJSON.encode(b.json()))
        #expect(a.replicateRanks != c.replicateRanks)
        #expect(a.distributions.map(\.rankCounts) != c.distributions.map(\.rankCounts))
        // A prefix property that only holds when replicate b depends on (seed, b) alone: the first 100
        // replicates of B = 500 equal those of B = 100 (different chunking, same values).
        let short = try ChallengeRanking.bootstrap(m, settings: s, bootstrap: .init(replicates: 100, seed: 99))
        #expect(Array(a.replicateRanks.prefix(100)) == short.replicateRanks)
    }

    @Test func dominatingAlgorithmHasRankIntervalOneToOne() throws {
        // D beats every other algorithm on every case (smaller is better), others overlap.
        var rng = SplitMix64(seed: 5)
        let n = 30
        let algorithms = ["D", "P", "Q", "R"]
        var rows: [[Double?]] = []
        for a in 0..<4 {
            rows.append((0..<n).map { _ in
                let u = Double(rng.next() >> 11) / Double(1 << 53)
                return a == 0 ? 0.5 * u : 1 + u
            })
        }
        let m = try ScoreMatrix(algorithms: algorithms, cases: (0..<n).map { "c\($0)" }, rows: rows)
        for scheme in RankingScheme.allCases {
            let r = try ChallengeRanking.bootstrap(m, settings: .init(scheme: scheme, smallerIsBetter: true), bootstrap: .init(replicates: 200, seed: 1))
            let d = r.distributions[0]
            #expect(d.lowerRank == 1 && d.upperRank == 1 && d.medianRank == 1, "\(scheme)")
            #expect(d.rankedFirst == 200 && d.rankedFirstShare == 1)
            #expect(d.rankCounts == [200, 0, 0, 0])
            // The others never reach rank 1.
            for o in r.distributions.dropFirst() { #expect(o.rankedFirst == 0 && o.lowerRank >= 2) }
        }
    }

    @Test func bootstrapJSONHasSettingsAndSummaries() throws {
        let m = try referenceMatrix("hd")
        let r = try ChallengeRanking.bootstrap(m, settings: .init(scheme: .meanThenRank, smallerIsBetter: true, missing: .excluded), bootstrap: .init(replicates: 50, seed: UInt64.max))
        let j = r.json()
        #expect(j["bootstrap"] == ["replicates": 50, "seed": .string("18446744073709551615")])
        #expect(j["settings"]?["missing"]?["policy"] == "excluded")
        #expect(j["quantileDefinition"] == "R type 7")
        #expect(j["kendallTauToFull"]?["values"]?.arrayValue?.count == 50)
        let first = j["algorithms"]?.arrayValue?.first?.objectValue.map { Set($0.keys) }
        #expect(first == ["algorithm", "fullRank", "rankCounts", "medianRank", "rankQuantile2_5", "rankQuantile97_5", "rankedFirst", "rankedFirstShare"])
    }

    @Test func bootstrapRejectsBadSettings() throws {
        let m = try referenceMatrix("dsc")
        let s = RankingSettings(scheme: .meanThenRank, smallerIsBetter: false)
        #expect(throws: MedGridError.self) { try ChallengeRanking.bootstrap(m, settings: s, bootstrap: .init(replicates: 0, seed: 1)) }
        #expect(throws: MedGridError.self) { try ChallengeRanking.bootstrap(m, settings: s, bootstrap: .init(replicates: 10_000_000, seed: 1)) }
        let empty = try ScoreMatrix(algorithms: ["a"], cases: [], values: [])
        #expect(throws: MedGridError.self) { try ChallengeRanking.bootstrap(empty, settings: s, bootstrap: .init(replicates: 10, seed: 1)) }
    }
}

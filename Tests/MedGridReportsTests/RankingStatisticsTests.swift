import Foundation
import MedGridCore
import Testing

@testable import MedGridReports

/// Loads a reference JSON file of Reference/ranking/ (written by reference-scripts/ranking_reference.py).
func rankingReference(_ name: String) throws -> JSONValue {
    let url = Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("ranking/\(name)")
    return try JSONValue(parsing: Data(contentsOf: url))
}

/// A JSON list of numbers (null = NaN) as doubles.
func doubles(_ v: JSONValue?) -> [Double] {
    (v?.arrayValue ?? []).map { $0.doubleValue ?? .nan }
}

func ints(_ v: JSONValue?) -> [Int] {
    (v?.arrayValue ?? []).map { $0.intValue ?? -1 }
}

struct RankingStatisticsTests {
    @Test func workedExampleOneSidedPValue() throws {
        // x = 0.2 × 4, y = 1.0 × 4, smaller is better, H1: x better → "less" on x − y.
        let r = try RankStatistics.wilcoxonSignedRank([0.2, 0.2, 0.2, 0.2], [1, 1, 1, 1], alternative: .less)
        #expect(abs(r.pValue - 0.035930) < 1e-6)
        #expect(r.exact == false)  // all |d| tied → normal approximation
        #expect(r.statistic == 0)
        #expect(r.n == 4)
        #expect(abs((r.z ?? 0) - -1.8) < 1e-12)  // (0 − 5 + 0.5) / 2.5
    }

    @Test func wilcoxonMatchesScipyWithRMethodChoice() throws {
        let cases = try #require(try rankingReference("wilcoxon.json").arrayValue)
        #expect(cases.count >= 30)
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            let alt: TestAlternative
            switch c["alternative"]?.stringValue {
            case "less": alt = .less
            case "greater": alt = .greater
            default: alt = .twoSided
            }
            let r = try RankStatistics.wilcoxonSignedRank(doubles(c["x"]), doubles(c["y"]), alternative: alt)
            let expected = try #require(c["p"]?.doubleValue)
            // scipy (and R, checked by the script) p-values; 1e-12 absolute, relative 1e-10 for tiny p.
            #expect(abs(r.pValue - expected) <= max(1e-12, 1e-10 * expected), "\(name) \(alt): \(r.pValue) vs \(expected)")
            let method = c["method"]?.stringValue
            #expect(r.exact == (method == "exact"), "\(name): method \(String(describing: method))")
            #expect(r.n == c["n"]?.intValue, "\(name)")
            #expect(r.zeros == c["zeros"]?.intValue, "\(name)")
            if let rp = c["r_p"]?.doubleValue {
                #expect(abs(r.pValue - rp) <= max(1e-12, 1e-10 * rp), "\(name) vs R")
            }
        }
    }

    @Test func wilcoxonRejectsUnequalLengths() {
        #expect(throws: MedGridError.self) { try RankStatistics.wilcoxonSignedRank([1, 2], [1], alternative: .less) }
    }

    @Test func exactNullDistributionIsSymmetricAndComplete() {
        // P(V ≤ q) + P(V ≥ q + 1) = 1 and symmetry P(V ≤ q) = P(V ≥ n(n+1)/2 − q).
        for n in [1, 5, 20, 49] {
            let top = n * (n + 1) / 2
            for q in stride(from: 0, through: top, by: max(1, top / 7)) {
                let lower = RankStatistics.signRankCDF(q, n), upper = RankStatistics.signRankUpper(q + 1, n)
                #expect(abs(lower + upper - 1) < 1e-14)
                #expect(abs(lower - RankStatistics.signRankUpper(top - q, n)) < 1e-14)
            }
        }
        // n = 10: P(V ≤ 8) = 25/1024 (number of subsets of 1…10 with sum ≤ 8 is 25).
        #expect(RankStatistics.signRankCDF(8, 10) == 25.0 / 1024.0)
    }

    @Test func holmMatchesStatsmodelsAndR() throws {
        let cases = try #require(try rankingReference("holm.json").arrayValue)
        for c in cases {
            let got = RankStatistics.holm(doubles(c["p"]))
            let expected = doubles(c["adjusted"])
            #expect(got.count == expected.count)
            for (g, e) in zip(got, expected) { #expect(abs(g - e) < 1e-15) }
        }
        // NaN stays NaN and does not count: holm([0.01, NaN, 0.04]) = [0.02, NaN, 0.04].
        let withNaN = RankStatistics.holm([0.01, .nan, 0.04])
        #expect(withNaN[0] == 0.02 && withNaN[1].isNaN && withNaN[2] == 0.04)
    }

    @Test func kendallTauBWithTiesMatchesScipy() throws {
        let cases = try #require(try rankingReference("kendall.json").arrayValue)
        for c in cases {
            let tau = try #require(RankStatistics.kendallTauB(doubles(c["x"]), doubles(c["y"])))
            let expected = try #require(c["tau"]?.doubleValue)
            #expect(abs(tau - expected) < 1e-14)
        }
        // Undefined when one side is constant.
        #expect(RankStatistics.kendallTauB([1, 1, 1], [1, 2, 3] as [Double]) == nil)
        #expect(RankStatistics.kendallTauB([1], [1] as [Double]) == nil)
    }

    @Test func minRanksTakeTheMinimumOnTies() {
        #expect(RankStatistics.minRanks([0.9, 0.8, 0.9, 0.7], smallerIsBetter: false) == [1, 3, 1, 4])
        #expect(RankStatistics.minRanks([0.9, 0.8, 0.9, 0.7], smallerIsBetter: true) == [3, 2, 3, 1])
        #expect(RankStatistics.minRanks([2, .nan, 1, .nan], smallerIsBetter: true) == [2, 3, 1, 3])
    }

    @Test func quantileType7MatchesNumpyLinear() throws {
        let ref = try rankingReference("quantiles.json")
        let x = doubles(ref["x"])
        for (p, q) in zip(doubles(ref["p"]), doubles(ref["q"])) {
            let got = try #require(RankStatistics.quantile(x, p))
            #expect(abs(got - q) < 1e-12, "p = \(p)")
        }
        #expect(RankStatistics.quantile([], 0.5) == nil)
    }

    @Test func splitMix64MatchesTheIndependentPythonImplementation() throws {
        let g = try rankingReference("bootstrap.json")["generator"]
        let seed = UInt64(try #require(g?["seed"]?.intValue)), replicate = try #require(g?["replicate"]?.intValue)
        var rng = SplitMix64(seed: seed, replicate: replicate)
        let raw = (g?["raw"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { UInt64($0) } }
        #expect(raw.count == 4)
        for r in raw { #expect(rng.next() == r) }
        var rng2 = SplitMix64(seed: seed, replicate: replicate)
        let bound = try #require(g?["bound"]?.intValue)
        let draws = (0..<10).map { _ in rng2.uniform(below: bound) }
        #expect(draws == ints(g?["draws"]))
        // Plain SplitMix64 reference output (Vigna's splitmix64.c with seed 0): first value 0xE220A8397B1DCDAF.
        var zero = SplitMix64(seed: 0)
        #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
    }
}

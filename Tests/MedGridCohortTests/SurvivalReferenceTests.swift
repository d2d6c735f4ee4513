import Foundation
import MedGridCore
import Testing

@testable import MedGridCohort

/// Kaplan–Meier, Nelson–Aalen, log-rank and C-index against lifelines / statsmodels
/// (reference-scripts/survival_reference.py). Tolerances: curves 1e-10 relative (abs 1e-12), p-values 1e-8.
@Suite struct SurvivalReferenceTests {
    func lung() throws -> (time: [Double], event: [Bool], table: ReferenceTable) {
        let t = try ReferenceTable("lung.csv")
        return (t.column("time"), t.column("status").map { $0 == 1 }, t)
    }

    /// lifelines' timeline starts with t = 0 (S = 1); ours starts at the first observed time.
    func checkCurve(_ ours: [Double], _ ref: [Double], _ what: String, tol: Double = 1e-10) {
        let r = Array(ref.dropFirst())
        #expect(ours.count == r.count, "\(what): \(ours.count) vs \(r.count) points")
        for i in 0..<min(ours.count, r.count) {
            #expect(close(ours[i], r[i], rel: tol, abs: 1e-12), "\(what)[\(i)]: \(ours[i]) vs \(r[i])")
        }
    }

    func checkKM(_ km: KaplanMeier, _ ref: JSONValue, band: SurvivalBand) {
        checkCurve(km.times, ref["times"]!.doubles, "times", tol: 0)
        checkCurve(km.survival, ref["survival"]!.doubles, "survival")
        checkCurve(km.greenwoodSum, ref["greenwood_sum"]!.doubles, "greenwood")
        let prefix = band == .logLog ? "loglog" : band.rawValue
        checkCurve(km.lower, ref["\(prefix)_lower"]!.doubles, "\(prefix) lower")
        checkCurve(km.upper, ref["\(prefix)_upper"]!.doubles, "\(prefix) upper")
    }

    @Test func kaplanMeierLungAllBands() throws {
        let (time, event, _) = try lung()
        let table = try RiskTable(time: time, event: event)
        let ref = try survivalReference()
        for band in SurvivalBand.allCases {
            let km = try KaplanMeier(table, band: band)
            checkKM(km, ref["km_lung"]!, band: band)
        }
        let km = try KaplanMeier(table)
        #expect(km.median == ref["km_lung"]!["median"]!.double)
        #expect(km.medianLower == ref["km_lung"]!["median_lower"]!.double)
        #expect(km.medianUpper == ref["km_lung"]!["median_upper"]!.double)
        let at = ref["km_lung"]!["at"]!.doubles, expected = ref["km_lung"]!["survival_at"]!.doubles
        for (t, e) in zip(at, expected) { #expect(close(km.survival(at: t), e, rel: 1e-10), "S(\(t))") }
        // Variance is S² times the Greenwood sum.
        #expect(close(km.variance[10], km.survival[10] * km.survival[10] * km.greenwoodSum[10], rel: 1e-15))
    }

    @Test func kaplanMeierAlphaAndSubgroup() throws {
        let (time, event, t) = try lung()
        let ref = try survivalReference()
        let km10 = try KaplanMeier(try RiskTable(time: time, event: event), alpha: 0.10)
        checkKM(km10, ref["km_lung_alpha10"]!, band: .logLog)
        #expect(km10.medianLower == ref["km_lung_alpha10"]!["median_lower"]!.double)
        #expect(km10.medianUpper == ref["km_lung_alpha10"]!["median_upper"]!.double)
        let sex = t.column("sex")
        let male = time.indices.filter { sex[$0] == 1 }
        let kmMale = try KaplanMeier(try RiskTable(time: male.map { time[$0] }, event: male.map { event[$0] }))
        checkKM(kmMale, ref["km_lung_male"]!, band: .logLog)
        #expect(kmMale.median == ref["km_lung_male"]!["median"]!.double)
        #expect(kmMale.medianLower == ref["km_lung_male"]!["median_lower"]!.double)
        #expect(kmMale.medianUpper == ref["km_lung_male"]!["median_upper"]!.double)
    }

    @Test func kaplanMeierRossiMedianNotReached() throws {
        let (time, event, _) = try rossiData()
        let ref = try survivalReference()
        let km = try KaplanMeier(try RiskTable(time: time, event: event))
        checkKM(km, ref["km_rossi"]!, band: .logLog)
        #expect(km.median == nil)
        #expect(km.medianLower == nil && km.medianUpper == nil)
        let json = km.json()
        #expect(json["band"] == .string("log-log"))
        #expect(json["median"] == .null)
        #expect(json["alpha"] == .double(0.05))
    }

    @Test func nelsonAalenBothTieMethods() throws {
        let (time, event, _) = try lung()
        let ref = try survivalReference()
        let table = try RiskTable(time: time, event: event)
        for (ties, key) in [(NelsonAalen.TieMethod.tiesCorrected, "na_lung_smoothed"), (.aggregated, "na_lung_discrete")] {
            let na = try NelsonAalen(table, ties: ties)
            let r = ref[key]!
            checkCurve(na.cumulativeHazard, r["cumulative_hazard"]!.doubles, "\(key) H")
            checkCurve(na.variance, r["variance"]!.doubles, "\(key) var")
            checkCurve(na.lower, r["lower"]!.doubles, "\(key) lower")
            checkCurve(na.upper, r["upper"]!.doubles, "\(key) upper")
        }
    }

    func checkTest(_ test: LogRankTest, _ ref: JSONValue, _ what: String) {
        #expect(close(test.chiSquare, ref["chi_square"]!.double, rel: 1e-10), "\(what) chi2 \(test.chiSquare)")
        #expect(close(test.pValue, ref["p_value"]!.double, rel: 1e-8), "\(what) p \(test.pValue)")
    }

    @Test func logRankTwoKAndStratified() throws {
        let (time, event, t) = try lung()
        let ref = try survivalReference()
        let sex = t.column("sex").map { String(Int($0)) }
        checkTest(try LogRankTest(time: time, event: event, group: sex), ref["logrank_lung_sex"]!, "lung sex")
        let ecog = t.column("ph.ecog")
        let keep = time.indices.filter { !ecog[$0].isNaN }
        let k = try LogRankTest(
            time: keep.map { time[$0] }, event: keep.map { event[$0] }, group: keep.map { String(Int(ecog[$0])) }
        )
        #expect(k.degreesOfFreedom == 3)
        checkTest(k, ref["logrank_lung_ecog"]!, "lung ecog")
        let strat = try LogRankTest(
            time: keep.map { time[$0] }, event: keep.map { event[$0] }, group: keep.map { sex[$0] },
            stratum: keep.map { String(Int(ecog[$0])) }
        )
        checkTest(strat, ref["logrank_lung_sex_strata_ecog"]!, "lung sex | ecog")

        let (rt, re, rtab) = try rossiData()
        let fin = rtab.column("fin").map { String(Int($0)) }, wexp = rtab.column("wexp").map { String(Int($0)) }
        checkTest(try LogRankTest(time: rt, event: re, group: fin, stratum: wexp), ref["logrank_rossi_fin_strata_wexp"]!, "rossi fin | wexp")
        checkTest(try LogRankTest(time: rt, event: re, group: fin), ref["logrank_rossi_fin_statsmodels"]!, "rossi fin")
        let prio = rtab.column("prio").map { String(Int(min($0, 3))) }
        checkTest(try LogRankTest(time: rt, event: re, group: prio), ref["logrank_rossi_prio4"]!, "rossi prio")
        let j = strat.json()
        #expect(j["stratified"] == .bool(true))
        #expect(j["degrees_of_freedom"] == .int(1))
    }

    @Test func concordanceLikeLifelines() throws {
        let (time, event, t) = try lung()
        let ref = try survivalReference()
        let age = t.column("age")
        let c = try ConcordanceIndex(time: time, predictedScore: age.map { -$0 }, event: event)
        #expect(close(c.value, ref["cindex_lung_age"]!["value"]!.double, rel: 1e-12))
        let karno = t.column("ph.karno")
        let keep = time.indices.filter { !karno[$0].isNaN }
        let c2 = try ConcordanceIndex(
            time: keep.map { time[$0] }, predictedScore: keep.map { karno[$0] }, event: keep.map { event[$0] }
        )
        #expect(close(c2.value, ref["cindex_lung_karno"]!["value"]!.double, rel: 1e-12))
        // Brute-force pair count on a small tied sample (lifelines' pair rules).
        var rng = SplitMix64(seed: 5)
        let n = 300
        let ts = (0..<n).map { _ in Double(Int.random(in: 0..<20, using: &rng)) }
        let es = (0..<n).map { _ in Bool.random(using: &rng) }
        let ss = (0..<n).map { _ in Double(Int.random(in: 0..<15, using: &rng)) }
        var pairs = 0, correct = 0, tied = 0
        for a in 0..<n {
            for b in 0..<n where a != b {
                // a is the shorter survival with an event.
                guard es[a], ts[a] < ts[b] || (ts[a] == ts[b] && !es[b]) else { continue }
                pairs += 1
                if ss[a] < ss[b] { correct += 1 } else if ss[a] == ss[b] { tied += 1 }
            }
        }
        let fast = try ConcordanceIndex(time: ts, predictedScore: ss, event: es)
        #expect(fast.comparable == pairs && fast.concordant == correct && fast.tiedScores == tied)
    }

    @Test func specialFunctions() {
        #expect(close(SurvivalMath.normalQuantile(0.975), 1.959963984540054, rel: 1e-15))
        #expect(close(SurvivalMath.normalQuantile(1e-10), -6.361340902404056, rel: 1e-13))
        // scipy.stats.chi2.sf values.
        #expect(close(SurvivalMath.chiSquareSurvival(3.84, degreesOfFreedom: 1), 0.05004352124870519, rel: 1e-12))
        #expect(close(SurvivalMath.chiSquareSurvival(100, degreesOfFreedom: 3), 1.5541594313896026e-21, rel: 1e-10))
        #expect(close(SurvivalMath.chiSquareSurvival(0.5, degreesOfFreedom: 7), 0.9994464813904249, rel: 1e-13))
    }

    @Test func invalidInputsThrow() {
        #expect(throws: MedGridError.self) { try RiskTable(time: [1, 2], event: [true]) }
        #expect(throws: MedGridError.self) { try RiskTable(time: [1, .nan], event: [true, false]) }
        #expect(throws: MedGridError.self) { try KaplanMeier(RiskTable(), alpha: 1.5) }
        #expect(throws: MedGridError.self) { try LogRankTest(time: [1, 2], event: [true, true], group: ["a", "a"]) }
        #expect(throws: MedGridError.self) {
            try CoxShard(time: [1, 2], event: [true, false], covariates: [1, 2, 3], covariateCount: 2)
        }
        #expect(throws: MedGridError.self) {
            // Constant covariate: singular information.
            try CoxModel.fit(time: [1, 2, 3, 4], event: [true, true, false, true], covariates: [1, 1, 1, 1], covariateCount: 1)
        }
    }
}

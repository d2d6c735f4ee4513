import Foundation
import MedGridCore
import Testing

@testable import MedGridCohort

/// Cox models on the Rossi data against lifelines (Efron) and statsmodels PHReg (Breslow).
/// Tolerances: coefficients, SEs, log-likelihoods and test statistics 1e-6 relative; p-values 1e-6 relative
/// (they inherit the statistics' tolerance); concordance 1e-12.
@Suite struct SurvivalCoxTests {
    static let allCovariates = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]

    func fit(_ key: String, ties: CoxTies, strata: String? = nil, robust: Bool = false, distinct: Bool = false)
        throws -> (CoxModel, JSONValue)
    {
        let ref = try survivalReference()[key]!
        var (time, event, t) = try rossiData()
        if distinct { time = time.enumerated().map { $0.element + Double($0.offset + 1) / 1000 } }
        let names = (ref["covariates"]?.arrayValue ?? []).compactMap { $0.stringValue }
        let strataLabels = strata.map { s in t.column(s).map { String(Int($0)) } }
        let model = try CoxModel.fit(
            time: time, event: event, covariates: rossiCovariates(t, names), covariateCount: names.count,
            strata: strataLabels, ties: ties, robust: robust
        )
        return (model, ref)
    }

    func checkVector(_ ours: [Double], _ ref: [Double], _ what: String, rel: Double = 1e-6) {
        #expect(ours.count == ref.count, "\(what) count")
        for (a, b) in zip(ours, ref) { #expect(close(a, b, rel: rel), "\(what): \(a) vs \(b)") }
    }

    @Test func efronMatchesLifelines() throws {
        let (m, ref) = try fit("cox_rossi_efron", ties: .efron)
        #expect(m.converged)
        checkVector(m.coefficients, ref["coef"]!.doubles, "coef")
        checkVector(m.standardErrors, ref["se"]!.doubles, "se")
        #expect(close(m.logLikelihood, ref["log_likelihood"]!.double, rel: 1e-9))
        #expect(close(m.likelihoodRatio, ref["lr"]!.double, rel: 1e-6))
        #expect(close(m.likelihoodRatioPValue, ref["lr_p"]!.double, rel: 1e-6))
        #expect(close(m.wald, ref["wald"]!.double, rel: 1e-6))
        #expect(close(m.waldPValue, ref["wald_p"]!.double, rel: 1e-6))
        #expect(close(m.score, ref["score_test"]!.double, rel: 1e-9))
        #expect(close(m.scorePValue, ref["score_p"]!.double, rel: 1e-8))
        checkVector(m.pValues, ref["p"]!.doubles, "p", rel: 1e-6)
        checkVector(m.hazardRatioLower, ref["hr_lower"]!.doubles, "hr lower")
        checkVector(m.hazardRatioUpper, ref["hr_upper"]!.doubles, "hr upper")
        #expect(close(m.concordance?.value ?? .nan, ref["concordance"]!.double, rel: 1e-12))
        let json = m.json(names: Self.allCovariates)
        #expect(json["ties"] == .string("efron"))
        #expect(json["n"] == .int(432) && json["events"] == .int(114))
    }

    @Test func efronStratifiedMatchesLifelines() throws {
        let (m, ref) = try fit("cox_rossi_efron_strata_wexp", ties: .efron, strata: "wexp")
        checkVector(m.coefficients, ref["coef"]!.doubles, "coef")
        checkVector(m.standardErrors, ref["se"]!.doubles, "se")
        #expect(close(m.logLikelihood, ref["log_likelihood"]!.double, rel: 1e-9))
        #expect(close(m.likelihoodRatio, ref["lr"]!.double, rel: 1e-6))
        #expect(close(m.wald, ref["wald"]!.double, rel: 1e-6))
        #expect(close(m.concordance?.value ?? .nan, ref["concordance"]!.double, rel: 1e-12))
        #expect(m.strata == ["0", "1"])
    }

    @Test func breslowMatchesStatsmodels() throws {
        for (key, strata) in [("cox_rossi_breslow", nil), ("cox_rossi_breslow_strata_wexp", "wexp")] as [(String, String?)] {
            let (m, ref) = try fit(key, ties: .breslow, strata: strata, robust: true)
            checkVector(m.coefficients, ref["coef"]!.doubles, "\(key) coef")
            checkVector(m.standardErrors, ref["se"]!.doubles, "\(key) se")
            checkVector(m.robustStandardErrors ?? [], ref["robust_se"]!.doubles, "\(key) robust se")
            #expect(close(m.logLikelihood, ref["log_likelihood"]!.double, rel: 1e-9))
            #expect(close(m.nullLogLikelihood, ref["null_log_likelihood"]!.double, rel: 1e-12))
            #expect(close(m.score, ref["score_test"]!.double, rel: 1e-9))
            #expect(close(m.scorePValue, ref["score_p"]!.double, rel: 1e-8))
            #expect(close(m.wald, ref["wald"]!.double, rel: 1e-6))
            #expect(close(m.likelihoodRatio, ref["lr"]!.double, rel: 1e-6))
            #expect(close(m.likelihoodRatioPValue, ref["lr_p"]!.double, rel: 1e-6))
        }
    }

    @Test func robustMatchesLifelinesWithoutTies() throws {
        let (m, ref) = try fit("cox_rossi_distinct_robust", ties: .efron, robust: true, distinct: true)
        checkVector(m.coefficients, ref["coef"]!.doubles, "coef")
        checkVector(m.robustStandardErrors ?? [], ref["se"]!.doubles, "robust se (lifelines)")
        checkVector(m.robustStandardErrors ?? [], ref["statsmodels_robust_se"]!.doubles, "robust se (statsmodels)")
        checkVector(m.pValues, ref["p"]!.doubles, "p (robust)", rel: 1e-6)
        // Without ties Breslow and Efron coincide exactly in value.
        let (b, _) = try fit("cox_rossi_distinct_robust", ties: .breslow, robust: true, distinct: true)
        checkVector(b.robustStandardErrors ?? [], m.robustStandardErrors ?? [], "breslow == efron", rel: 1e-9)
    }

    /// Without tied event times the Cox score test is the log-rank test (with ties they differ by the
    /// hypergeometric factor (n−d)/(n−1)).
    @Test func scoreTestEqualsLogRankForOneBinaryCovariateWithoutTies() throws {
        let (weeks, event, t) = try rossiData()
        let time = weeks.enumerated().map { $0.element + Double($0.offset + 1) / 1000 }
        let fin = t.column("fin")
        let m = try CoxModel.fit(time: time, event: event, covariates: fin, covariateCount: 1, ties: .breslow)
        let lr = try LogRankTest(time: time, event: event, group: fin.map { String(Int($0)) })
        #expect(close(m.score, lr.chiSquare, rel: 1e-10))
    }

    @Test func statisticsCodableRoundTripAndValidation() throws {
        let (time, event, t) = try rossiData()
        let shard = try CoxShard(
            time: time, event: event, covariates: rossiCovariates(t, ["fin", "age"]), covariateCount: 2
        )
        let stats = try shard.statistics(beta: [0.1, -0.02], center: [0.5, 24], ties: .efron)
        let data = try JSONEncoder().encode(stats)
        let back = try JSONDecoder().decode(CoxShardStatistics.self, from: data)
        #expect(back == stats)
        var broken = stats
        broken.strata[0].componentCounts.removeLast()
        let bad = try JSONEncoder().encode(broken)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(CoxShardStatistics.self, from: bad) }
        var other = stats
        #expect(throws: MedGridError.self) {
            try other.merge(try shard.statistics(beta: [0.2, -0.02], center: [0.5, 24], ties: .efron))
        }
    }
}

import Foundation
public import MedGridCore

/// A fitted Cox proportional-hazards model (coordinator side), from one or more ``CoxShard``s.
///
/// Conventions:
/// - Rounds: (0) exact covariate sums → centering vector (pooled means); (1) per Newton step every shard
///   returns ``CoxShardStatistics`` at the broadcast β, merged exactly, turned into log-likelihood, score and
///   information by ``CoxShardStatistics/likelihood()``; (2) if `robust`, the ``CoxResidualBasis`` at the final
///   β is broadcast and shards return exact `Σ rᵢrᵢᵀ`. One shard and many shards run literally the same code on
///   identical merged statistics, so coefficients, standard errors and tests are bitwise identical for any
///   partition of the rows into shards (by row or by stratum).
/// - Newton–Raphson from β = 0; a step that lowers the log-likelihood (by more than 1e-12 relative) is halved
///   (up to 30 times). Converged when every component of the Newton step is `≤ tolerance` (default 1e-9);
///   the reported β is the last point evaluated, and the SEs come from the information there.
/// - `standardErrors`: model-based, `√diag(I⁻¹)`. `robustStandardErrors` (if requested): sandwich
///   `I⁻¹ (Σ rᵢrᵢᵀ) I⁻¹` with per-subject score residuals (Lin & Wei 1989; lifelines `robust=True`, R
///   `coxph(robust=TRUE)` without clusters; Efron ties use Efron score residuals as R does — lifelines uses
///   Breslow-type residuals, so the two differ with tied deaths).
/// - Hazard ratios `exp(β)` with CIs `exp(β ± z·SE)`, `z = Φ⁻¹(1 − α/2)`, using the robust SE when computed.
/// - Tests (all χ² with `p` df): likelihood ratio `2(ℓ(β̂) − ℓ(0))`; Wald `β̂ᵀ I(β̂) β̂` (model-based);
///   score `U(0)ᵀ I(0)⁻¹ U(0)` (with one binary covariate and Breslow ties, the log-rank test).
/// - `concordance`: Harrell's C of `−x·β̂` (``ConcordanceIndex``); for a stratified model only pairs within a
///   stratum are compared and the counts summed over strata (as lifelines' `concordance_index_`).
public struct CoxModel: Sendable {
    public let covariateCount: Int
    public let ties: CoxTies
    public let strata: [String]
    public let alpha: Double
    public let subjects: Int
    public let events: Int
    public let center: [Double]
    public let coefficients: [Double]
    /// Inverse information at β̂, row-major `p×p`.
    public let variance: [Double]
    public let standardErrors: [Double]
    public let robustVariance: [Double]?
    public let robustStandardErrors: [Double]?
    public let logLikelihood: Double
    public let nullLogLikelihood: Double
    public let likelihoodRatio: Double
    public let likelihoodRatioPValue: Double
    public let wald: Double
    public let waldPValue: Double
    public let score: Double
    public let scorePValue: Double
    public let concordance: ConcordanceIndex?
    public let iterations: Int
    public let converged: Bool
    public let tolerance: Double

    /// Hazard ratios `exp(β)`.
    public var hazardRatios: [Double] { coefficients.map { Foundation.exp($0) } }
    /// Standard errors used for CIs and z tests (robust when computed).
    public var reportedStandardErrors: [Double] { robustStandardErrors ?? standardErrors }
    /// Per-coefficient z statistics `β/SE` (reported SE).
    public var zValues: [Double] { zip(coefficients, reportedStandardErrors).map { $0 / $1 } }
    /// Two-sided p-values `P(χ²(1) ≥ z²)`.
    public var pValues: [Double] { zValues.map { SurvivalMath.chiSquareSurvival($0 * $0, degreesOfFreedom: 1) } }
    private var z: Double { SurvivalMath.normalQuantile(1 - alpha / 2) }
    /// `β ± z·SE`.
    public var coefficientLower: [Double] { zip(coefficients, reportedStandardErrors).map { $0 - z * $1 } }
    public var coefficientUpper: [Double] { zip(coefficients, reportedStandardErrors).map { $0 + z * $1 } }
    /// `exp(β ± z·SE)`.
    public var hazardRatioLower: [Double] { coefficientLower.map { Foundation.exp($0) } }
    public var hazardRatioUpper: [Double] { coefficientUpper.map { Foundation.exp($0) } }

    /// Fits over in-process shards, running the distributed rounds.
    /// - Throws: `invalidInput` for no shards, mismatched covariate counts, no events, or a singular
    ///   information matrix (collinear or constant covariates); `kernelFailed` if the risk weights overflow.
    public static func fit(
        shards: [CoxShard], ties: CoxTies = .efron, alpha: Double = 0.05, robust: Bool = false,
        maxIterations: Int = 50, tolerance: Double = 1e-9, concordance computeConcordance: Bool = true
    ) throws -> CoxModel {
        _ = try SurvivalMath.criticalValue(alpha: alpha)
        guard let p = shards.first?.covariateCount else {
            throw MedGridError(.invalidInput, "Cox fit needs at least one shard")
        }
        for (i, s) in shards.enumerated() where s.covariateCount != p {
            throw MedGridError(.invalidInput, "shard \(i) has \(s.covariateCount) covariates; expected \(p)")
        }
        // The same rounds a distributed fit runs, over in-process shards.
        var driver = try CoxFitDriver(covariateCount: p, ties: ties, alpha: alpha, robust: robust, maxIterations: maxIterations, tolerance: tolerance)
        while !driver.isDone {
            switch driver.request {
            case .covariateSums:
                var sums = shards[0].covariateSums()
                for s in shards.dropFirst() { try sums.merge(s.covariateSums()) }
                try driver.receive(sums)
            case .statistics(let beta, let center):
                try driver.receive(try CoxShardStatistics.merged(shards.map { try $0.statistics(beta: beta, center: center, ties: ties) }))
            case .residualProducts(let basis):
                var products = try shards[0].scoreResidualProducts(basis: basis)
                for s in shards.dropFirst() { try products.merge(s.scoreResidualProducts(basis: basis)) }
                try driver.receive(products)
            }
        }
        let model = try driver.model()
        guard computeConcordance else { return model }
        var times: [Double] = [], events: [Bool] = [], scores: [Double] = [], labels: [String] = []
        for s in shards {
            labels.append(contentsOf: s.sortedStrata)
            times.append(contentsOf: s.sortedTimes)
            events.append(contentsOf: s.sortedEvents)
            scores.append(contentsOf: s.linearPredictors(beta: model.coefficients, center: model.center).map { -$0 })
        }
        let cindex = try? ConcordanceIndex(time: times, predictedScore: scores, event: events, stratum: model.strata.count > 1 ? labels : nil)
        return model.with(concordance: cindex)
    }

    /// This model with a concordance index.
    public func with(concordance c: ConcordanceIndex?) -> CoxModel {
        CoxModel(
            covariateCount: covariateCount, ties: ties, strata: strata, alpha: alpha, subjects: subjects, events: events,
            center: center, coefficients: coefficients, variance: variance, standardErrors: standardErrors,
            robustVariance: robustVariance, robustStandardErrors: robustStandardErrors, logLikelihood: logLikelihood,
            nullLogLikelihood: nullLogLikelihood, likelihoodRatio: likelihoodRatio, likelihoodRatioPValue: likelihoodRatioPValue,
            wald: wald, waldPValue: waldPValue, score: score, scorePValue: scorePValue, concordance: c,
            iterations: iterations, converged: converged, tolerance: tolerance)
    }

    /// Pooled convenience: one shard holding all rows.
    public static func fit(
        time: [Double], event: [Bool], covariates: [Double], covariateCount: Int, strata: [String]? = nil,
        ties: CoxTies = .efron, alpha: Double = 0.05, robust: Bool = false
    ) throws -> CoxModel {
        let shard = try CoxShard(
            time: time, event: event, covariates: covariates, covariateCount: covariateCount, strata: strata
        )
        return try fit(shards: [shard], ties: ties, alpha: alpha, robust: robust)
    }

    /// Every estimate, test and setting; `names` labels the covariates (defaults `x0`, `x1`, …).
    public func json(names: [String]? = nil) -> JSONValue {
        let labels = names?.count == covariateCount ? names! : (0..<covariateCount).map { "x\($0)" }
        var rows: [JSONValue] = []
        for j in 0..<covariateCount {
            var row: [String: JSONValue] = [
                "covariate": .string(labels[j]), "coef": .number(coefficients[j]),
                "hazard_ratio": .number(hazardRatios[j]), "se": .number(standardErrors[j]),
                "coef_lower": .number(coefficientLower[j]), "coef_upper": .number(coefficientUpper[j]),
                "hazard_ratio_lower": .number(hazardRatioLower[j]), "hazard_ratio_upper": .number(hazardRatioUpper[j]),
                "z": .number(zValues[j]), "p": .number(pValues[j]),
            ]
            if let r = robustStandardErrors { row["robust_se"] = .number(r[j]) }
            rows.append(.object(row))
        }
        return .object([
            "model": .string("cox proportional hazards"),
            "ties": .string(ties.rawValue),
            "strata": .array(strata.map(JSONValue.string)),
            "stratified": .bool(strata != [""]),
            "alpha": .double(alpha),
            "se_type": .string(robustStandardErrors == nil ? "model (inverse information)" : "robust (Lin-Wei sandwich, per subject)"),
            "n": .int(subjects), "events": .int(events),
            "coefficients": .array(rows),
            "log_likelihood": .number(logLikelihood), "null_log_likelihood": .number(nullLogLikelihood),
            "likelihood_ratio_test": .object([
                "statistic": .number(likelihoodRatio), "df": .int(covariateCount), "p_value": .number(likelihoodRatioPValue),
            ]),
            "wald_test": .object([
                "statistic": .number(wald), "df": .int(covariateCount), "p_value": .number(waldPValue),
                "variance": .string("model"),
            ]),
            "score_test": .object([
                "statistic": .number(score), "df": .int(covariateCount), "p_value": .number(scorePValue),
            ]),
            "concordance": concordance.map { .number($0.value) } ?? .null,
            "optimizer": .object([
                "method": .string("newton-raphson with step halving"), "iterations": .int(iterations),
                "converged": .bool(converged), "tolerance": .double(tolerance), "start": .string("beta = 0"),
                "centering": .string("pooled covariate means"),
            ]),
        ])
    }
}

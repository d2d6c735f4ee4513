import Foundation
public import MedGridCore

/// How well predicted probabilities agree with observed outcomes.
///
/// Conventions (`pᵢ` predicted probability, strictly between 0 and 1; `yᵢ` 0/1; `oᵢ = logit(pᵢ) = log(p/(1−p))`):
/// - ``observedMinusExpected``: calibration-in-the-large as a difference, `mean(y) − mean(p)`.
/// - ``calibrationIntercept``: calibration-in-the-large as a model, α in `logit P(y=1) = α + oᵢ` (offset, slope
///   fixed at 1), maximum likelihood by Newton (statsmodels `GLM(y, 1, family=Binomial(), offset=o)`).
/// - ``calibrationSlope`` (and ``slopeModelIntercept``): `b` (and `a`) in `logit P(y=1) = a + b·oᵢ`, by
///   ``LogisticModel`` without penalty (statsmodels `Logit(y, [1, o])`). Ideal: α = 0, b = 1.
/// - Bins: rows sorted by p ascending (ties by original row order), split into `groups` groups by position —
///   group g holds sorted rows `⌊g·N/G⌋ ..< ⌊(g+1)·N/G⌋` — so tied predictions can fall in adjacent groups.
///   Each bin reports its size, observed events O, expected events E = Σp, and mean p.
/// - Hosmer–Lemeshow: `H = Σ_g (O_g − E_g)² / (E_g (1 − E_g/n_g))` over the groups, compared with χ² on
///   `groups − 2` degrees of freedom (upper tail).
public struct CalibrationSummary: Sendable, Hashable, Codable {
    /// One risk group.
    public struct Bin: Sendable, Hashable, Codable {
        public var count: Int
        public var observed: Double
        public var expected: Double
        public var meanPredicted: Double
        public var minPredicted: Double
        public var maxPredicted: Double
    }

    public var rowCount: Int
    public var events: Int
    public var meanPredicted: Double
    public var observedRate: Double
    public var observedMinusExpected: Double
    public var calibrationIntercept: Double
    public var calibrationSlope: Double
    public var slopeModelIntercept: Double
    public var bins: [Bin]
    public var hosmerLemeshow: Double
    public var degreesOfFreedom: Int
    public var hosmerLemeshowPValue: Double
    public var groups: Int

    /// - Throws: ``CohortError`` `invalidArgument` for mismatched lengths, predictions not strictly inside
    ///   (0, 1), outcomes not 0/1, fewer than 3 groups or more groups than rows; `invalidValue` if a
    ///   calibration model cannot be fitted (e.g. all outcomes equal).
    public static func compute(predicted: [Double], outcome: [Double], groups: Int = 10) throws -> CalibrationSummary {
        let n = predicted.count
        guard outcome.count == n else {
            throw CohortError(file: "<calibration>", code: .invalidArgument, message: "\(n) predictions but \(outcome.count) outcomes")
        }
        guard groups >= 3, groups <= n else {
            throw CohortError(file: "<calibration>", code: .invalidArgument, message: "\(groups) groups for \(n) rows (expected 3 ≤ groups ≤ rows)")
        }
        for (i, p) in predicted.enumerated() where !(p > 0 && p < 1) {
            throw CohortError(file: "<calibration>", row: i + 1, code: .invalidValue, message: "predicted probability \(p) (expected strictly between 0 and 1)")
        }
        let data = try BinaryOutcomeData(features: FeatureMatrix(rowCount: n, columnCount: 1, values: predicted.map { log($0 / (1 - $0)) }), outcome: outcome)
        let offsets = data.features.values
        var ySum = ExactSum(), pSum = ExactSum()
        for i in 0..<n {
            ySum.add(outcome[i])
            pSum.add(predicted[i])
        }
        let events = Int(ySum.value)
        // Calibration intercept: 1-parameter Newton with offset.
        var alpha = 0.0
        var fitted = false
        for _ in 0..<100 {
            var score = ExactSum(), info = ExactSum()
            for i in 0..<n {
                let p = 1 / (1 + exp(-(alpha + offsets[i])))
                score.add(outcome[i] - p)
                info.add(p * (1 - p))
            }
            guard info.value > 0 else { break }
            let step = score.value / info.value
            alpha += step
            if abs(step) <= 1e-12 * max(1, abs(alpha)) {
                fitted = true
                break
            }
        }
        guard fitted, events > 0, events < n else {
            throw CohortError(file: "<calibration>", code: .invalidValue, message: "the calibration intercept cannot be estimated (all outcomes equal, or no convergence)")
        }
        let slopeModel = try LogisticModel.fit(data, settings: LogisticSettings(), featureNames: ["logit_p"])
        // Bins.
        let order = predicted.indices.sorted { predicted[$0] < predicted[$1] || (predicted[$0] == predicted[$1] && $0 < $1) }
        var bins: [Bin] = []
        var hl = 0.0
        for g in 0..<groups {
            let lo = g * n / groups, hi = (g + 1) * n / groups
            var o = ExactSum(), e = ExactSum()
            for k in lo..<hi {
                o.add(outcome[order[k]])
                e.add(predicted[order[k]])
            }
            let count = hi - lo
            let expected = e.value
            bins.append(Bin(
                count: count, observed: o.value, expected: expected, meanPredicted: expected / Double(count),
                minPredicted: predicted[order[lo]], maxPredicted: predicted[order[hi - 1]]
            ))
            let diff = o.value - expected
            hl += diff * diff / (expected * (1 - expected / Double(count)))
        }
        let df = groups - 2
        return CalibrationSummary(
            rowCount: n, events: events, meanPredicted: pSum.value / Double(n), observedRate: ySum.value / Double(n),
            observedMinusExpected: ySum.value / Double(n) - pSum.value / Double(n), calibrationIntercept: alpha,
            calibrationSlope: slopeModel.coefficients[1], slopeModelIntercept: slopeModel.coefficients[0], bins: bins,
            hosmerLemeshow: hl, degreesOfFreedom: df, hosmerLemeshowPValue: Special.chiSquareUpperTail(hl, df: Double(df)),
            groups: groups
        )
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "rows": .int(rowCount), "events": .int(events), "mean_predicted": .number(meanPredicted),
            "observed_rate": .number(observedRate), "observed_minus_expected": .number(observedMinusExpected),
            "calibration_intercept": .number(calibrationIntercept),
            "calibration_intercept_definition": "alpha in logit P(y=1) = alpha + logit(p) (offset)",
            "calibration_slope": .number(calibrationSlope), "slope_model_intercept": .number(slopeModelIntercept),
            "calibration_slope_definition": "b in logit P(y=1) = a + b * logit(p)",
            "groups": .int(groups), "grouping": "sorted by p (ties by row order), equal-size groups by position",
            "bins": .array(bins.map {
                [
                    "count": .int($0.count), "observed": .number($0.observed), "expected": .number($0.expected),
                    "mean_predicted": .number($0.meanPredicted), "min_predicted": .number($0.minPredicted),
                    "max_predicted": .number($0.maxPredicted),
                ]
            }),
            "hosmer_lemeshow": .number(hosmerLemeshow), "degrees_of_freedom": .int(degreesOfFreedom),
            "hosmer_lemeshow_p_value": .number(hosmerLemeshowPValue),
        ]
    }
}

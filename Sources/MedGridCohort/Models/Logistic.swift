import Foundation
public import MedGridCore

/// Features with a 0/1 outcome: the input of binary-outcome models, or one shard of it.
public struct BinaryOutcomeData: Sendable, Hashable, Codable {
    public var features: FeatureMatrix
    /// 0 or 1 per row.
    public var outcome: [Double]

    /// - Throws: ``CohortError`` `invalidArgument` if the lengths differ, an outcome is not 0 or 1, or a
    ///   feature is not finite (row and feature named).
    public init(features: FeatureMatrix, outcome: [Double]) throws {
        guard features.rowCount == outcome.count else {
            throw CohortError(file: "<matrix>", code: .invalidArgument, message: "\(features.rowCount) feature rows but \(outcome.count) outcomes")
        }
        for (r, y) in outcome.enumerated() where y != 0 && y != 1 {
            throw CohortError(file: "<matrix>", row: r + 1, column: "outcome", code: .invalidValue, message: "outcome \(y) (expected 0 or 1)")
        }
        try features.requireFinite("features")
        self.features = features
        self.outcome = outcome
    }

    /// The kept rows of a model frame.
    public init(_ frame: ModelFrame) throws {
        try self.init(features: FeatureMatrix(frame), outcome: frame.outcome)
    }

    /// The number of rows.
    public var rowCount: Int { outcome.count }

    /// Rows `range` (for splitting into shards).
    public func rows(_ range: Range<Int>) -> BinaryOutcomeData {
        let lo = max(0, min(rowCount, range.lowerBound)), hi = max(lo, min(rowCount, range.upperBound))
        return BinaryOutcomeData(unchecked: features.rows(lo..<hi), Array(outcome[lo..<hi]))
    }

    /// The rows at `indices`, in that order.
    public func rows(at indices: [Int]) -> BinaryOutcomeData {
        BinaryOutcomeData(unchecked: features.rows(at: indices), indices.map { outcome[$0] })
    }

    /// Splits the rows into `count` contiguous shards of near-equal size (for tests and in-process fits).
    public func shards(_ count: Int) -> [BinaryOutcomeData] {
        let k = max(1, count)
        return (0..<k).map { rows(rowCount * $0 / k..<rowCount * ($0 + 1) / k) }
    }

    init(unchecked features: FeatureMatrix, _ outcome: [Double]) {
        self.features = features
        self.outcome = outcome
    }
}

/// Settings of ``LogisticModel``.
///
/// The fit minimises `−ℓ(β) + ½·λ·Σⱼ βⱼ²` over the non-intercept coefficients, where `ℓ` is the Bernoulli
/// log-likelihood with a logit link and `λ = l2Penalty`. This is scikit-learn's `LogisticRegression(C=…,
/// penalty="l2")` objective `½‖w‖²/C + Σ logloss` with `λ = 1/C` (intercept unpenalised); `λ = 0` is plain
/// maximum likelihood, as statsmodels `Logit`.
public struct LogisticSettings: Sendable, Hashable, Codable {
    /// Add an intercept (first coefficient, named `(Intercept)`); it is never penalised.
    public var fitIntercept: Bool
    /// λ ≥ 0; 0 means no penalty.
    public var l2Penalty: Double
    /// Maximum number of Newton steps.
    public var maxIterations: Int
    /// Converged when a full Newton step changes every coefficient by at most
    /// `tolerance × max(1, |new coefficient|)`.
    public var tolerance: Double
    /// Step halvings allowed per Newton step when the objective does not decrease.
    public var maxStepHalvings: Int

    /// Defaults: intercept, no penalty, 100 Newton steps, tolerance 1e-10, 30 halvings per step.
    public init(fitIntercept: Bool = true, l2Penalty: Double = 0, maxIterations: Int = 100, tolerance: Double = 1e-10, maxStepHalvings: Int = 30) {
        self.fitIntercept = fitIntercept
        self.l2Penalty = l2Penalty
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.maxStepHalvings = maxStepHalvings
    }

    /// scikit-learn's `LogisticRegression(C: c)`: `l2Penalty = 1/C`, intercept fitted and unpenalised.
    public static func scikitLearn(C c: Double) -> LogisticSettings {
        LogisticSettings(l2Penalty: 1 / c)
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "fit_intercept": .bool(fitIntercept), "l2_penalty": .number(l2Penalty),
            "C": l2Penalty > 0 ? .number(1 / l2Penalty) : .null, "intercept_penalised": false,
            "max_iterations": .int(maxIterations), "tolerance": .number(tolerance),
            "max_step_halvings": .int(maxStepHalvings), "method": "Newton-Raphson (IRLS) with step halving",
            "objective": "-loglik + 0.5 * l2_penalty * sum(non-intercept coefficients^2)",
        ]
    }
}

/// One shard's contribution to a Newton round of ``LogisticModel`` at broadcast coefficients β.
///
/// With `xᵢ` the row (a leading 1 when an intercept is fitted), `ηᵢ = xᵢ·β` (summed in feature order),
/// `pᵢ = 1/(1+e^−ηᵢ)`, `wᵢ = pᵢ(1−pᵢ)`:
/// - `score[j] = Σᵢ (yᵢ − pᵢ) xᵢⱼ` (gradient of ℓ),
/// - `information[(j,k)] = Σᵢ wᵢ xᵢⱼ xᵢₖ` for `j ≤ k`, packed row by row (`(0,0), (0,1), …, (1,1), …`),
/// - `logLikelihood = Σᵢ yᵢηᵢ − log(1 + e^ηᵢ)` (computed stably).
/// Every sum is an ``ExactSum`` of per-row terms, so merging shards in any grouping gives bitwise the same
/// statistics, and hence the same fit, for any partition of the rows.
public struct LogisticShardStatistics: Sendable, Hashable, Codable {
    /// The broadcast coefficients these statistics were computed at.
    public var coefficients: [Double]
    public var fitIntercept: Bool
    /// Rows.
    public var n: Int
    /// Rows with outcome 1.
    public var events: Int
    public var score: [ExactSum]
    /// Packed upper triangle, `p(p+1)/2` entries.
    public var information: [ExactSum]
    public var logLikelihood: ExactSum

    /// Zero statistics (the identity of ``merge(_:)``).
    public init(coefficients: [Double], fitIntercept: Bool) {
        let p = coefficients.count
        self.coefficients = coefficients
        self.fitIntercept = fitIntercept
        n = 0
        events = 0
        score = Array(repeating: ExactSum(), count: p)
        information = Array(repeating: ExactSum(), count: p * (p + 1) / 2)
        logLikelihood = ExactSum()
    }

    /// Computes one shard's statistics.
    ///
    /// - Throws: ``CohortError`` `invalidArgument` if `coefficients` does not have one entry per feature
    ///   (plus one for the intercept).
    public init(_ data: BinaryOutcomeData, coefficients: [Double], fitIntercept: Bool) throws {
        try self.init(data, rows: 0..<data.rowCount, coefficients: coefficients, fitIntercept: fitIntercept)
    }

    /// Statistics of rows `rows` of `data` only.
    init(_ data: BinaryOutcomeData, rows: Range<Int>, coefficients: [Double], fitIntercept: Bool) throws {
        let d = data.features.columnCount
        let off = fitIntercept ? 1 : 0
        guard coefficients.count == d + off else {
            throw CohortError(
                file: "<matrix>", code: .invalidArgument,
                message: "\(coefficients.count) coefficients for \(d) features\(fitIntercept ? " and an intercept" : "") (expected \(d + off))"
            )
        }
        self.init(coefficients: coefficients, fitIntercept: fitIntercept)
        let p = d + off
        guard !rows.isEmpty else { return }
        let n = rows.count
        let first = rows.lowerBound
        self.n = n
        var events = 0
        var score = self.score, information = self.information, ll = ExactSum()
        // Rows are processed in blocks: the block's design is copied column-major (intercept column of 1s
        // first), per-row weights computed, then each accumulator receives the block's terms in a run, which
        // keeps one accumulator hot at a time. The terms themselves are per-row and fixed:
        // score (y−p)·xⱼ, information (w·xⱼ)·xₖ, log-likelihood y·η − log(1+e^η).
        let blockRows = 256
        var xb = [Double](repeating: 1, count: p * blockRows)
        var wb = [Double](repeating: 0, count: blockRows)
        var rb = [Double](repeating: 0, count: blockRows)
        data.features.values.withUnsafeBufferPointer { x in
            data.outcome.withUnsafeBufferPointer { y in
                coefficients.withUnsafeBufferPointer { beta in
                    xb.withUnsafeMutableBufferPointer { xb in
                        wb.withUnsafeMutableBufferPointer { wb in
                            rb.withUnsafeMutableBufferPointer { rb in
                                score.withUnsafeMutableBufferPointer { s in
                                    information.withUnsafeMutableBufferPointer { info in
                                        var blockStart = first
                                        while blockStart < first + n {
                                            let m = min(blockRows, first + n - blockStart)
                                            for t in 0..<m {
                                                let r = blockStart + t
                                                for c in 0..<d { xb[(off + c) * blockRows + t] = x[r * d + c] }
                                                var eta = 0.0
                                                for j in 0..<p { eta += xb[j * blockRows + t] * beta[j] }
                                                let yi = y[r]
                                                if yi == 1 { events += 1 }
                                                // Stable: e = exp(−|η|); p = 1/(1+e) or e/(1+e); w = e/(1+e)²;
                                                // log(1+e^η) = max(η,0) + log1p(e).
                                                let e = exp(-abs(eta))
                                                let onePlus = 1 + e
                                                let prob = eta >= 0 ? 1 / onePlus : e / onePlus
                                                wb[t] = e / (onePlus * onePlus)
                                                ll.add(yi * eta - (max(eta, 0) + log1p(e)))
                                                rb[t] = yi - prob
                                            }
                                            var idx = 0
                                            for j in 0..<p {
                                                let cj = j * blockRows
                                                let sj = s.baseAddress! + j
                                                for t in 0..<m { sj.pointee.add(rb[t] * xb[cj + t]) }
                                                for k in j..<p {
                                                    let ck = k * blockRows
                                                    let acc = info.baseAddress! + idx
                                                    for t in 0..<m { acc.pointee.add((wb[t] * xb[cj + t]) * xb[ck + t]) }
                                                    idx += 1
                                                }
                                            }
                                            blockStart += m
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        self.events = events
        self.score = score
        self.information = information
        self.logLikelihood = ll
    }

    /// Adds another shard's statistics computed at the same coefficients.
    ///
    /// - Throws: ``CohortError`` `invalidArgument` if the coefficients or intercept setting differ.
    public mutating func merge(_ other: LogisticShardStatistics) throws {
        guard other.coefficients == coefficients, other.fitIntercept == fitIntercept else {
            throw CohortError(file: "<shards>", code: .invalidArgument, message: "cannot merge logistic statistics computed at different coefficients or intercept settings")
        }
        n += other.n
        events += other.events
        for j in score.indices { score[j].add(other.score[j]) }
        for j in information.indices { information[j].add(other.information[j]) }
        logLikelihood.add(other.logLikelihood)
    }

    /// The full symmetric information matrix, row-major p×p.
    public func informationMatrix() -> [Double] {
        let p = coefficients.count
        var m = [Double](repeating: 0, count: p * p)
        var idx = 0
        for j in 0..<p {
            for k in j..<p {
                m[j * p + k] = information[idx].value
                m[k * p + j] = information[idx].value
                idx += 1
            }
        }
        return m
    }
}

/// Where a distributed Newton fit of ``LogisticModel`` stands between rounds.
///
/// Protocol: broadcast ``coefficients``; every shard returns ``LogisticShardStatistics`` at them; merge them
/// (any grouping); call ``LogisticModel/advance(_:merged:settings:)``; repeat until ``finished``; then build
/// the model with ``LogisticModel/init(final:state:settings:featureNames:)`` from the last merged statistics.
public struct LogisticFitState: Sendable, Hashable, Codable {
    /// The coefficients to broadcast for the next round (or the final ones when ``finished``).
    public var coefficients: [Double]
    /// Newton steps taken.
    public var iterations: Int
    /// Step halvings performed in total.
    public var halvings: Int
    public var finished: Bool
    public var converged: Bool
    var anchor: [Double]?
    var anchorObjective: Double?
    var step: [Double]?
    var stepScale: Double
    var lastFullStepSmall: Bool
    var finishNext: Bool

    /// The start: all coefficients 0.
    public init(parameterCount: Int) {
        coefficients = Array(repeating: 0, count: parameterCount)
        iterations = 0
        halvings = 0
        finished = false
        converged = false
        stepScale = 1
        lastFullStepSmall = false
        finishNext = false
    }
}

/// A fitted logistic regression (logit link), by Newton–Raphson on exactly merged shard statistics.
///
/// Conventions:
/// - Objective and penalty: see ``LogisticSettings``. Starting point: all coefficients 0.
/// - Each Newton step solves `(I + λD) Δ = score − λDβ` by Cholesky (`I` the information, `D` diagonal with 1
///   for penalised coefficients); if the objective rises, the step is halved (up to `maxStepHalvings` times).
/// - Standard errors are `sqrt(diag((I + λD)⁻¹))` at the final coefficients — the usual maximum-likelihood
///   errors when λ = 0 (statsmodels `Logit` `bse`); with a penalty they come from the penalised Hessian.
///   `z = β/SE`, two-sided `p = 2·Φ(−|z|)`.
/// - Deterministic and partition-independent: ``fit(shards:settings:featureNames:)`` gives bitwise the same
///   model for any split of the rows into shards (sums are ``ExactSum``s; the step is a pure function of the
///   merged sums).
public struct LogisticModel: Sendable, Hashable, Codable {
    /// `(Intercept)` first when fitted, then the feature names.
    public var parameterNames: [String]
    public var coefficients: [Double]
    public var standardErrors: [Double]
    public var zValues: [Double]
    public var pValues: [Double]
    /// Row-major covariance matrix (inverse penalised Hessian).
    public var covariance: [Double]
    public var logLikelihood: Double
    /// `−ℓ + ½λΣβ²` at the solution.
    public var objective: Double
    public var iterations: Int
    public var converged: Bool
    public var rowCount: Int
    public var events: Int
    public var settings: LogisticSettings

    /// Advances a distributed fit by one round (a pure function of its arguments).
    ///
    /// - Throws: ``CohortError`` `invalidArgument` if `merged` was computed at other coefficients;
    ///   `invalidValue` if the Hessian is not positive definite (collinear features, or a perfectly separated
    ///   outcome without a penalty).
    public static func advance(_ state: LogisticFitState, merged: LogisticShardStatistics, settings: LogisticSettings) throws -> LogisticFitState {
        guard merged.coefficients == state.coefficients else {
            throw CohortError(file: "<shards>", code: .invalidArgument, message: "statistics were computed at other coefficients than the fit state broadcast")
        }
        var s = state
        if s.finished { return s }
        if s.finishNext {
            s.finished = true
            return s
        }
        let f = objective(merged, settings: settings)
        if let anchor = s.anchor, let f0 = s.anchorObjective, let step = s.step, !(f <= f0 + 1e-12 * max(1, abs(f0))) {
            if s.stepScale > pow(0.5, Double(settings.maxStepHalvings)) {
                s.stepScale /= 2
                s.halvings += 1
                s.coefficients = zip(anchor, step).map { $0 + s.stepScale * $1 }
                return s
            }
            // Cannot decrease the objective: stop at the last accepted point (one more round to report it).
            s.coefficients = anchor
            s.converged = false
            s.finishNext = true
            return s
        }
        if s.lastFullStepSmall {
            s.finished = true
            s.converged = true
            return s
        }
        if s.iterations >= settings.maxIterations {
            s.finished = true
            s.converged = false
            return s
        }
        let delta = try newtonStep(merged, settings: settings)
        let beta = merged.coefficients
        let next = zip(beta, delta).map { $0 + $1 }
        var small = true
        for j in next.indices where !(abs(delta[j]) <= settings.tolerance * max(1, abs(next[j]))) { small = false }
        s.anchor = beta
        s.anchorObjective = f
        s.step = delta
        s.stepScale = 1
        s.lastFullStepSmall = small
        s.coefficients = next
        s.iterations += 1
        return s
    }

    /// The Newton direction `Δ = (I + λD)⁻¹ (score − λDβ)` from merged statistics.
    public static func newtonStep(_ merged: LogisticShardStatistics, settings: LogisticSettings) throws -> [Double] {
        let (h, g) = penalisedHessianAndGradient(merged, settings: settings)
        let p = g.count
        guard let l = SymmetricPD.cholesky(h, p) else {
            throw CohortError(
                file: "<model>", code: .invalidValue,
                message: "logistic regression: the information matrix is not positive definite (collinear features, too few rows, or perfect separation without a penalty)"
            )
        }
        return SymmetricPD.solve(l, p, g)
    }

    static func penalisedHessianAndGradient(_ m: LogisticShardStatistics, settings: LogisticSettings) -> ([Double], [Double]) {
        let p = m.coefficients.count
        var h = m.informationMatrix()
        var g = m.score.map(\.value)
        for j in 0..<p where isPenalised(j, settings) {
            h[j * p + j] += settings.l2Penalty
            g[j] -= settings.l2Penalty * m.coefficients[j]
        }
        return (h, g)
    }

    static func isPenalised(_ j: Int, _ settings: LogisticSettings) -> Bool {
        settings.l2Penalty > 0 && !(settings.fitIntercept && j == 0)
    }

    static func objective(_ m: LogisticShardStatistics, settings: LogisticSettings) -> Double {
        var penalty = 0.0
        for j in m.coefficients.indices where isPenalised(j, settings) { penalty += m.coefficients[j] * m.coefficients[j] }
        return -m.logLikelihood.value + 0.5 * settings.l2Penalty * penalty
    }

    /// Builds the model from the finished state and the statistics merged at its coefficients.
    public init(final merged: LogisticShardStatistics, state: LogisticFitState, settings: LogisticSettings, featureNames: [String]? = nil) throws {
        guard state.finished, merged.coefficients == state.coefficients else {
            throw CohortError(file: "<model>", code: .invalidArgument, message: "the fit is not finished, or the statistics are not at its final coefficients")
        }
        let p = merged.coefficients.count
        let d = p - (settings.fitIntercept ? 1 : 0)
        let names = featureNames ?? (0..<d).map { "x\($0 + 1)" }
        guard names.count == d else {
            throw CohortError(file: "<model>", code: .invalidArgument, message: "\(names.count) feature names for \(d) features")
        }
        let (h, _) = Self.penalisedHessianAndGradient(merged, settings: settings)
        guard let l = SymmetricPD.cholesky(h, p) else {
            throw CohortError(file: "<model>", code: .invalidValue, message: "logistic regression: the information matrix at the solution is not positive definite")
        }
        let cov = SymmetricPD.inverse(l, p)
        parameterNames = (settings.fitIntercept ? ["(Intercept)"] : []) + names
        coefficients = merged.coefficients
        standardErrors = (0..<p).map { cov[$0 * p + $0].squareRoot() }
        zValues = zip(coefficients, standardErrors).map { $0 / $1 }
        pValues = zValues.map { Special.twoSidedP($0) }
        covariance = cov
        logLikelihood = merged.logLikelihood.value
        objective = Self.objective(merged, settings: settings)
        iterations = state.iterations
        converged = state.converged
        rowCount = merged.n
        events = merged.events
        self.settings = settings
    }

    /// Fits on shards in-process: the same rounds a distributed fit runs. Shards are processed concurrently;
    /// the result does not depend on the partition or on the thread count.
    public static func fit(shards: [BinaryOutcomeData], settings: LogisticSettings = LogisticSettings(), featureNames: [String]? = nil) throws -> LogisticModel {
        guard let d = shards.first?.features.columnCount else {
            throw CohortError(file: "<model>", code: .invalidArgument, message: "no shards to fit")
        }
        for s in shards where s.features.columnCount != d {
            throw CohortError(file: "<model>", code: .invalidArgument, message: "shards have \(d) and \(s.features.columnCount) features (expected equal)")
        }
        let p = d + (settings.fitIntercept ? 1 : 0)
        // Work items: each shard cut into fixed blocks of rows, for parallelism (exact sums make this safe).
        let block = 32_768
        var blocks: [(Int, Range<Int>)] = []
        for (k, s) in shards.enumerated() {
            var lo = 0
            repeat {
                blocks.append((k, lo..<min(s.rowCount, lo + block)))
                lo += block
            } while lo < s.rowCount
        }
        let items = blocks
        var state = LogisticFitState(parameterCount: p)
        while true {
            let beta = state.coefficients
            let parts = try parallelMap(items.count) { i in
                try LogisticShardStatistics(shards[items[i].0], rows: items[i].1, coefficients: beta, fitIntercept: settings.fitIntercept)
            }
            var merged = LogisticShardStatistics(coefficients: beta, fitIntercept: settings.fitIntercept)
            for part in parts { try merged.merge(part) }
            state = try advance(state, merged: merged, settings: settings)
            if state.finished {
                return try LogisticModel(final: merged, state: state, settings: settings, featureNames: featureNames)
            }
        }
    }

    /// Fits on one data set.
    public static func fit(_ data: BinaryOutcomeData, settings: LogisticSettings = LogisticSettings(), featureNames: [String]? = nil) throws -> LogisticModel {
        try fit(shards: [data], settings: settings, featureNames: featureNames)
    }

    /// Predicted probabilities `1/(1+e^−η)` for the rows of `features`.
    public func predictProbabilities(_ features: FeatureMatrix) -> [Double] {
        let off = settings.fitIntercept ? 1 : 0
        let d = features.columnCount
        var out = [Double](repeating: 0, count: features.rowCount)
        for r in 0..<features.rowCount {
            var eta = off == 1 ? coefficients[0] : 0
            for c in 0..<d { eta += features[r, c] * coefficients[off + c] }
            out[r] = 1 / (1 + exp(-eta))
        }
        return out
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        var table: [JSONValue] = []
        for j in coefficients.indices {
            table.append([
                "name": .string(parameterNames[j]), "coefficient": .number(coefficients[j]),
                "standard_error": .number(standardErrors[j]), "z": .number(zValues[j]), "p_value": .number(pValues[j]),
            ])
        }
        return [
            "model": "logistic regression (logit link)", "settings": settings.json(),
            "standard_errors": .string(settings.l2Penalty > 0 ? "inverse penalised Hessian" : "inverse Fisher information (maximum likelihood)"),
            "p_values": "two-sided normal (Wald)",
            "coefficients": .array(table), "log_likelihood": .number(logLikelihood), "objective": .number(objective),
            "iterations": .int(iterations), "converged": .bool(converged), "rows": .int(rowCount), "events": .int(events),
        ]
    }
}

/// Runs `body(i)` for `i in 0..<count` on all cores and returns the results in index order.
func parallelMap<T: Sendable>(_ count: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
    let box = ParallelResults<T>(count)
    DispatchQueue.concurrentPerform(iterations: count) { i in
        let r = Result { try body(i) }
        box.lock.lock()
        box.results[i] = r
        box.lock.unlock()
    }
    return try box.results.map { try $0!.get() }
}

/// Result slots filled by ``parallelMap(_:_:)`` under a lock.
final class ParallelResults<T: Sendable>: @unchecked Sendable {
    var results: [Result<T, any Error>?]
    let lock = NSLock()
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
}

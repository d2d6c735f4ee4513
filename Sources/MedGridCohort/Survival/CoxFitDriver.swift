import Foundation
public import MedGridCore

/// The coordinator's side of a distributed Cox fit as a value that survives between rounds (it is
/// `Codable`, so a coordinator restart resumes it): it says what every shard should compute next
/// (``request``) and takes the exactly merged answer. ``CoxModel/fit(shards:ties:alpha:robust:maxIterations:tolerance:concordance:)``
/// runs the same driver in-process, so a fit over any sharding follows one code path.
///
/// Rounds: covariate sums (centering) → statistics at β = 0 (null model, score test) → for each Newton
/// step, statistics at the candidate (halved up to 30 times while the log-likelihood falls) → with
/// `robust`, statistics at the final β again, then the score-residual products for the sandwich.
public struct CoxFitDriver: Codable, Sendable, Equatable {
    /// What every shard computes this round.
    public enum Request: Sendable, Equatable {
        case covariateSums
        case statistics(beta: [Double], center: [Double])
        case residualProducts(CoxResidualBasis)
    }

    enum Phase: String, Codable, Sendable { case center, null, candidate, robustStatistics, robustProducts, done }

    struct Likelihood: Codable, Sendable, Equatable {
        var logLikelihood: Double
        var score: [Double]
        var information: [Double]
        var subjects: Int
        var events: Int
        init(_ l: CoxLikelihood) {
            logLikelihood = l.logLikelihood
            score = l.score
            information = l.information
            subjects = l.subjects
            events = l.events
        }
    }

    public let covariateCount: Int
    public let ties: CoxTies
    public let alpha: Double
    public let robust: Bool
    public let maxIterations: Int
    public let tolerance: Double
    var phase: Phase = .center
    var center: [Double] = []
    var beta: [Double]
    var step: [Double] = []
    var scale = 1.0
    var attempts = 0
    var current: Likelihood?
    var null: Likelihood?
    var scoreStatistic = 0.0
    var iterations = 0
    var converged = false
    var strata: [String] = []
    var basis: CoxResidualBasis?
    var robustVariance: [Double]?

    public init(covariateCount: Int, ties: CoxTies = .efron, alpha: Double = 0.05, robust: Bool = false, maxIterations: Int = 50, tolerance: Double = 1e-9) throws {
        _ = try SurvivalMath.criticalValue(alpha: alpha)
        guard covariateCount >= 1 else { throw MedGridError(.invalidInput, "Cox fit needs at least one covariate") }
        self.covariateCount = covariateCount
        self.ties = ties
        self.alpha = alpha
        self.robust = robust
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        beta = Array(repeating: 0, count: covariateCount)
    }

    /// Whether the fit has finished (``model()`` gives it).
    public var isDone: Bool { phase == .done }

    /// What the shards compute next.
    public var request: Request {
        switch phase {
        case .center: return .covariateSums
        case .null, .robustStatistics, .done: return .statistics(beta: beta, center: center)
        case .candidate: return .statistics(beta: zip(beta, step).map { $0 + scale * $1 }, center: center)
        case .robustProducts: return .residualProducts(basis!)
        }
    }

    func factor(_ info: [Double]) throws -> [Double] {
        guard let l = SurvivalMath.cholesky(info, covariateCount) else {
            throw MedGridError(.invalidInput, "Cox information matrix is not positive definite: a covariate is constant or collinear with others, or there are too few events")
        }
        return l
    }

    /// The merged covariate sums of round 0.
    public mutating func receive(_ sums: CoxCovariateSums) throws {
        guard phase == .center else { throw MedGridError(.invalidInput, "Cox fit: covariate sums arrived in phase \(phase.rawValue)") }
        guard sums.sums.count == covariateCount else { throw MedGridError(.invalidInput, "Cox fit: sums of \(sums.sums.count) covariates, expected \(covariateCount)") }
        center = sums.means
        phase = .null
    }

    /// The merged statistics at the requested β.
    public mutating func receive(_ stats: CoxShardStatistics) throws {
        switch phase {
        case .null:
            let lik = Likelihood(stats.likelihood())
            guard lik.events > 0 else { throw MedGridError(.invalidInput, "Cox fit needs at least one event; the data have none") }
            strata = stats.strata.map(\.label)
            null = lik
            current = lik
            let l = try factor(lik.information)
            scoreStatistic = zip(lik.score, SurvivalMath.choleskySolve(l, covariateCount, lik.score)).reduce(0) { $0 + $1.0 * $1.1 }
            try decide()
        case .candidate:
            let lik = stats.likelihood()
            let cur = current!
            if lik.logLikelihood.isFinite, lik.logLikelihood >= cur.logLikelihood - 1e-12 * abs(cur.logLikelihood) {
                beta = zip(beta, step).map { $0 + scale * $1 }
                current = Likelihood(lik)
                try decide()
            } else {
                attempts += 1
                scale /= 2
                if attempts > 30 { try finish() }
            }
        case .robustStatistics:
            basis = stats.residualBasis()
            phase = .robustProducts
        default:
            throw MedGridError(.invalidInput, "Cox fit: statistics arrived in phase \(phase.rawValue)")
        }
    }

    /// The merged score-residual products of the robust pass.
    public mutating func receive(_ products: CoxRobustStatistics) throws {
        guard phase == .robustProducts else { throw MedGridError(.invalidInput, "Cox fit: residual products arrived in phase \(phase.rawValue)") }
        let p = covariateCount
        let variance = SurvivalMath.choleskyInverse(try factor(current!.information), p)
        robustVariance = SurvivalMath.multiply(SurvivalMath.multiply(variance, products.matrix, p), variance, p)
        basis = nil
        phase = .done
    }

    /// After an accepted point: converged, out of iterations, or the next Newton step.
    mutating func decide() throws {
        let l = try factor(current!.information)
        let newton = SurvivalMath.choleskySolve(l, covariateCount, current!.score)
        if newton.allSatisfy({ abs($0) <= tolerance }) {
            converged = true
            return try finish()
        }
        if iterations >= maxIterations { return try finish() }
        iterations += 1
        step = newton
        scale = 1
        attempts = 0
        phase = .candidate
    }

    mutating func finish() throws {
        phase = robust ? .robustStatistics : .done
    }

    /// The fitted model once ``isDone`` (without a concordance index: that needs every subject's data).
    public func model() throws -> CoxModel {
        guard phase == .done, let current, let null else { throw MedGridError(.invalidInput, "Cox fit is not finished (phase \(phase.rawValue))") }
        let p = covariateCount
        let variance = SurvivalMath.choleskyInverse(try factor(current.information), p)
        let se = (0..<p).map { variance[$0 * p + $0].squareRoot() }
        let robustSE = robustVariance.map { v in (0..<p).map { v[$0 * p + $0].squareRoot() } }
        let lr = 2 * (current.logLikelihood - null.logLikelihood)
        let wald = SurvivalMath.quadraticForm(current.information, beta)
        return CoxModel(
            covariateCount: p, ties: ties, strata: strata, alpha: alpha,
            subjects: current.subjects, events: current.events, center: center, coefficients: beta,
            variance: variance, standardErrors: se, robustVariance: robustVariance, robustStandardErrors: robustSE,
            logLikelihood: current.logLikelihood, nullLogLikelihood: null.logLikelihood, likelihoodRatio: lr,
            likelihoodRatioPValue: SurvivalMath.chiSquareSurvival(lr, degreesOfFreedom: p), wald: wald,
            waldPValue: SurvivalMath.chiSquareSurvival(wald, degreesOfFreedom: p), score: scoreStatistic,
            scorePValue: SurvivalMath.chiSquareSurvival(scoreStatistic, degreesOfFreedom: p), concordance: nil,
            iterations: iterations, converged: converged, tolerance: tolerance
        )
    }
}

import Foundation
public import MedGridCore

/// The transform under which a pointwise confidence band for a survival curve is symmetric.
///
/// With `S` the estimate, `G = Σ d/(n(n−d))` the Greenwood sum (so `Var S = S²·G`) and `z = Φ⁻¹(1 − α/2)`:
/// - `plain`: `S ± z·S·√G`, clipped to `[0, 1]` (R `survfit(conf.type = "plain")`).
/// - `log`: `exp(log S ± z·√G) = S·e^{±z√G}`, upper clipped to 1 (R `survfit` default `conf.type = "log"`).
/// - `logLog`: `exp(−exp(log(−log S) ∓ z·√G / log S))`, the "exponential Greenwood" band; lifelines'
///   `KaplanMeierFitter` default (and R `conf.type = "log-log"`). Where `S = 1` the band is `[1, 1]`.
public enum SurvivalBand: String, Codable, Sendable, CaseIterable {
    case plain
    case log
    case logLog = "log-log"
}

/// The Kaplan–Meier product-limit estimate with Greenwood variance, a pointwise band and the median.
///
/// Conventions (matching lifelines 0.30 `KaplanMeierFitter`, checked on the Rossi and NCCTG lung data):
/// - Values are given at each distinct time of the ``RiskTable`` (events and censorings):
///   `S(t_i) = Π_{j ≤ i} (1 − d_j/n_j)`.
/// - `greenwoodSum[i] = Σ_{j ≤ i} d_j / (n_j (n_j − d_j))`, where a time with `d_j = n_j` adds 0 (as lifelines);
///   `variance = S²·greenwoodSum` (Greenwood's formula).
/// - The band is ``SurvivalBand`` at level `1 − alpha`.
/// - `median` is the first time with `S ≤ 0.5` (lifelines' `median_survival_time_`; R `survfit` instead takes
///   the midpoint of a flat stretch at exactly 0.5); `nil` when the curve stays above 0.5.
/// - The median's confidence interval inverts the band (Brookmeyer–Crowley style, as lifelines'
///   `median_survival_times(confidence_interval_)` and R `survfit`): the lower limit is the first time the
///   lower band is `≤ 0.5`, the upper limit the first time the upper band is `≤ 0.5`; `nil` = not reached.
public struct KaplanMeier: Sendable {
    public let times: [Double]
    public let atRisk: [Int]
    public let events: [Int]
    public let censored: [Int]
    public let survival: [Double]
    public let greenwoodSum: [Double]
    public let variance: [Double]
    public let lower: [Double]
    public let upper: [Double]
    public let band: SurvivalBand
    public let alpha: Double
    public let median: Double?
    public let medianLower: Double?
    public let medianUpper: Double?

    /// Estimates the curve of `table`.
    /// - Throws: `invalidInput` unless `0 < alpha < 1`.
    public init(_ table: RiskTable, alpha: Double = 0.05, band: SurvivalBand = .logLog) throws {
        let z = try SurvivalMath.criticalValue(alpha: alpha)
        let k = table.times.count
        var s = [Double](repeating: 1, count: k), g = [Double](repeating: 0, count: k)
        var lo = [Double](repeating: 1, count: k), hi = [Double](repeating: 1, count: k)
        var v = [Double](repeating: 0, count: k)
        var current = 1.0, greenwood = 0.0
        for i in 0..<k {
            let n = Double(table.atRisk[i]), d = Double(table.events[i])
            if table.events[i] > 0 {
                current *= 1 - d / n
                if table.events[i] < table.atRisk[i] { greenwood += d / (n * (n - d)) }
            }
            s[i] = current
            g[i] = greenwood
            v[i] = current * current * greenwood
            (lo[i], hi[i]) = Self.bounds(current, greenwood, z, band)
        }
        times = table.times
        atRisk = table.atRisk
        events = table.events
        censored = table.censored
        survival = s
        greenwoodSum = g
        variance = v
        lower = lo
        upper = hi
        self.band = band
        self.alpha = alpha
        median = Self.firstTime(times, s, atMost: 0.5)
        medianLower = Self.firstTime(times, lo, atMost: 0.5)
        medianUpper = Self.firstTime(times, hi, atMost: 0.5)
    }

    /// Pointwise band at one time.
    static func bounds(_ s: Double, _ g: Double, _ z: Double, _ band: SurvivalBand) -> (Double, Double) {
        let se = g.squareRoot()
        switch band {
        case .plain:
            return (min(max(s - z * s * se, 0), 1), min(max(s + z * s * se, 0), 1))
        case .log:
            return (s * Foundation.exp(-z * se), min(s * Foundation.exp(z * se), 1))
        case .logLog:
            if s >= 1 { return (1, 1) }
            if s <= 0 { return (0, 0) }
            let v = Foundation.log(s)
            let l = Foundation.exp(-Foundation.exp(Foundation.log(-v) - z * se / v))
            let u = Foundation.exp(-Foundation.exp(Foundation.log(-v) + z * se / v))
            return (l, u)
        }
    }

    /// First time whose value is `≤ level`, or `nil`.
    static func firstTime(_ times: [Double], _ values: [Double], atMost level: Double) -> Double? {
        for i in values.indices where values[i] <= level { return times[i] }
        return nil
    }

    /// The step function at `t`: the estimate at the largest time `≤ t`, 1 before the first time.
    public func survival(at t: Double) -> Double {
        stepValue(survival, at: t, before: 1)
    }

    /// ``survival(at:)`` for several times.
    public func survival(at ts: [Double]) -> [Double] { ts.map { survival(at: $0) } }

    func stepValue(_ values: [Double], at t: Double, before: Double) -> Double {
        // Binary search for the last index with times[i] <= t.
        var lo = 0, hi = times.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if times[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? before : values[lo - 1]
    }

    /// All arrays and settings: `{"estimator": "kaplan-meier", "band", "alpha", "variance": "greenwood", ...}`.
    public func json() -> JSONValue {
        .object([
            "estimator": .string("kaplan-meier"),
            "variance_method": .string("greenwood"),
            "band": .string(band.rawValue),
            "alpha": .double(alpha),
            "median_rule": .string("first time with S <= 0.5"),
            "median_ci_method": .string("inversion of the \(band.rawValue) band (Brookmeyer-Crowley style)"),
            "subjects": .int(atRisk.first ?? 0),
            "events_total": .int(events.reduce(0, +)),
            "times": .numbers(times), "at_risk": .ints(atRisk), "events": .ints(events), "censored": .ints(censored),
            "survival": .numbers(survival), "greenwood_sum": .numbers(greenwoodSum), "variance": .numbers(variance),
            "lower": .numbers(lower), "upper": .numbers(upper),
            "median": .number(median), "median_lower": .number(medianLower), "median_upper": .number(medianUpper),
        ])
    }
}

/// The Nelson–Aalen estimate of the cumulative hazard with its variance and a log-transformed band.
///
/// Conventions (matching lifelines 0.30 `NelsonAalenFitter`):
/// - ``TieMethod/tiesCorrected`` (lifelines default, `nelson_aalen_smoothing=True`): at a time with `d` events
///   among `n` at risk the hazard increment is `Σ_{k=0}^{d−1} 1/(n−k)` and the variance increment
///   `Σ_{k=0}^{d−1} 1/(n−k)²` (tied events treated as distinct, one after the other).
/// - ``TieMethod/aggregated`` (`nelson_aalen_smoothing=False`): increment `d/n`, variance increment
///   `d(n−d)/n³` (binomial).
/// - Band: `H·exp(±z·√Var / H)` (`H·exp(±z√Var)` where `H = 0`) at level `1 − alpha`.
public struct NelsonAalen: Sendable {
    /// How tied events enter the increment.
    public enum TieMethod: String, Codable, Sendable {
        case tiesCorrected = "ties-corrected"
        case aggregated
    }

    public let times: [Double]
    public let atRisk: [Int]
    public let events: [Int]
    public let cumulativeHazard: [Double]
    public let variance: [Double]
    public let lower: [Double]
    public let upper: [Double]
    public let ties: TieMethod
    public let alpha: Double

    /// Estimates from `table`.
    public init(_ table: RiskTable, alpha: Double = 0.05, ties: TieMethod = .tiesCorrected) throws {
        let z = try SurvivalMath.criticalValue(alpha: alpha)
        let k = table.times.count
        var h = [Double](repeating: 0, count: k), v = h, lo = h, hi = h
        var current = 0.0, variance = 0.0
        for i in 0..<k {
            let n = table.atRisk[i], d = table.events[i]
            if d > 0 {
                switch ties {
                case .tiesCorrected:
                    var dh = 0.0, dv = 0.0
                    for j in 0..<d {
                        let r = Double(n - j)
                        dh += 1 / r
                        dv += 1 / (r * r)
                    }
                    current += dh
                    variance += dv
                case .aggregated:
                    let nn = Double(n), dd = Double(d)
                    current += dd / nn
                    variance += (1 - dd / nn) * (dd / nn) * (1 / nn)
                }
            }
            h[i] = current
            v[i] = variance
            let scale = current == 0 ? 1 : current
            lo[i] = current * Foundation.exp(-z * variance.squareRoot() / scale)
            hi[i] = current * Foundation.exp(z * variance.squareRoot() / scale)
        }
        times = table.times
        atRisk = table.atRisk
        events = table.events
        cumulativeHazard = h
        self.variance = v
        lower = lo
        upper = hi
        self.ties = ties
        self.alpha = alpha
    }

    /// The cumulative hazard at `t` (0 before the first time).
    public func cumulativeHazard(at t: Double) -> Double {
        var lo = 0, hi = times.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if times[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? 0 : cumulativeHazard[lo - 1]
    }

    /// All arrays and settings.
    public func json() -> JSONValue {
        .object([
            "estimator": .string("nelson-aalen"),
            "ties": .string(ties.rawValue),
            "variance_method": .string(ties == .tiesCorrected ? "sum 1/(n-k)^2" : "d(n-d)/n^3"),
            "band": .string("log"),
            "alpha": .double(alpha),
            "subjects": .int(atRisk.first ?? 0),
            "events_total": .int(events.reduce(0, +)),
            "times": .numbers(times), "at_risk": .ints(atRisk), "events": .ints(events),
            "cumulative_hazard": .numbers(cumulativeHazard), "variance": .numbers(variance),
            "lower": .numbers(lower), "upper": .numbers(upper),
        ])
    }
}

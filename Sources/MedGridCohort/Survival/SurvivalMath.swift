import Foundation
import MedGridCore

/// Special functions and small dense linear algebra used by the survival statistics.
///
/// Conventions:
/// - ``chiSquareSurvival(_:degreesOfFreedom:)`` is `P(X ≥ x)` for `X ~ χ²(k)`, i.e. the regularized upper
///   incomplete gamma function `Q(k/2, x/2)` (series for `x < a + 1`, Lentz continued fraction otherwise;
///   about 1e-14 relative accuracy; same quantity as `scipy.stats.chi2.sf`).
/// - ``normalQuantile(_:)`` is the standard normal inverse CDF (Acklam's rational approximation refined by
///   one Halley step on `erfc`; matches `scipy.stats.norm.ppf` to about 1e-15).
public enum SurvivalMath {
    /// `Q(a, x)`, the regularized upper incomplete gamma function, for `a > 0`, `x ≥ 0`.
    public static func regularizedUpperGamma(_ a: Double, _ x: Double) -> Double {
        guard a > 0, x.isFinite || x == .infinity else { return .nan }
        if x <= 0 { return 1 }
        if x == .infinity { return 0 }
        let logPrefix = a * log(x) - x - lgamma(a)
        if x < a + 1 {
            // Series for P(a, x).
            var term = 1.0 / a
            var sum = term
            var n = a
            for _ in 0..<10_000 {
                n += 1
                term *= x / n
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            return 1 - sum * exp(logPrefix)
        }
        // Continued fraction for Q(a, x) (modified Lentz).
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1...10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return exp(logPrefix) * h
    }

    /// `P(χ²(k) ≥ x)`; 1 for `x ≤ 0`.
    public static func chiSquareSurvival(_ x: Double, degreesOfFreedom k: Int) -> Double {
        guard k > 0 else { return .nan }
        if x.isNaN { return .nan }
        return regularizedUpperGamma(Double(k) / 2, max(x, 0) / 2)
    }

    /// Standard normal CDF `Φ(x) = erfc(−x/√2)/2`.
    public static func normalCDF(_ x: Double) -> Double {
        0.5 * erfc(-x / 2.0.squareRoot())
    }

    /// Standard normal quantile `Φ⁻¹(p)` for `0 < p < 1` (`±∞` at 0 and 1, NaN outside).
    public static func normalQuantile(_ p: Double) -> Double {
        if p.isNaN || p < 0 || p > 1 { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        for _ in 0..<2 {
            let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
            let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
            x -= u / (1 + x * u / 2)
        }
        return x
    }

    /// The two-sided normal critical value `z = Φ⁻¹(1 − α/2)`; throws unless `0 < α < 1`.
    static func criticalValue(alpha: Double) throws -> Double {
        guard alpha > 0, alpha < 1 else {
            throw MedGridError(.invalidInput, "alpha must be in (0, 1), got \(alpha)")
        }
        return normalQuantile(1 - alpha / 2)
    }

    /// Cholesky factor `L` (row-major, lower) of a symmetric positive-definite `n×n` matrix, or `nil`.
    static func cholesky(_ a: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var s = a[j * n + j]
            for k in 0..<j { s -= l[j * n + k] * l[j * n + k] }
            guard s > 0, s.isFinite else { return nil }
            let ljj = s.squareRoot()
            l[j * n + j] = ljj
            for i in (j + 1)..<max(n, j + 1) {
                var t = a[i * n + j]
                for k in 0..<j { t -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = t / ljj
            }
        }
        return l
    }

    /// Solves `L Lᵀ x = b`.
    static func choleskySolve(_ l: [Double], _ n: Int, _ b: [Double]) -> [Double] {
        var y = b
        for i in 0..<n {
            var s = y[i]
            for k in 0..<i { s -= l[i * n + k] * y[k] }
            y[i] = s / l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<max(n, i + 1) { s -= l[k * n + i] * y[k] }
            y[i] = s / l[i * n + i]
        }
        return y
    }

    /// Inverse of a symmetric positive-definite matrix from its Cholesky factor (row-major, symmetrized).
    static func choleskyInverse(_ l: [Double], _ n: Int) -> [Double] {
        var inv = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[j] = 1
            let col = choleskySolve(l, n, e)
            for i in 0..<n { inv[i * n + j] = col[i] }
        }
        for i in 0..<n {
            for j in (i + 1)..<max(n, i + 1) {
                let v = 0.5 * (inv[i * n + j] + inv[j * n + i])
                inv[i * n + j] = v
                inv[j * n + i] = v
            }
        }
        return inv
    }

    /// `xᵀ A x` for row-major `A`.
    static func quadraticForm(_ a: [Double], _ x: [Double]) -> Double {
        let n = x.count
        var s = 0.0
        for i in 0..<n {
            var r = 0.0
            for j in 0..<n { r += a[i * n + j] * x[j] }
            s += x[i] * r
        }
        return s
    }

    /// Row-major product of `n×n` matrices.
    static func multiply(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for k in 0..<n {
                let aik = a[i * n + k]
                for j in 0..<n { c[i * n + j] += aik * b[k * n + j] }
            }
        }
        return c
    }
}

/// Validation shared by the survival inputs.
enum SurvivalInput {
    /// Checks `time` (finite) and `event` (same count); returns times with `-0` made `+0`.
    static func validate(time: [Double], event: [Bool], field: String = "time") throws {
        guard time.count == event.count else {
            throw MedGridError(
                .invalidInput, "\(field) has \(time.count) values but event has \(event.count); expected equal counts"
            )
        }
        for (i, t) in time.enumerated() where !t.isFinite {
            throw MedGridError(.invalidInput, "\(field)[\(i)] is \(t); expected a finite time")
        }
    }

    static func validateLabels(_ labels: [String]?, count: Int, field: String) throws {
        if let labels, labels.count != count {
            throw MedGridError(
                .invalidInput, "\(field) has \(labels.count) values but time has \(count); expected equal counts"
            )
        }
    }
}

extension JSONValue {
    /// A JSON array of numbers (`null` for non-finite values).
    static func numbers(_ values: [Double]) -> JSONValue {
        .array(values.map { JSONValue.number($0) })
    }

    static func ints(_ values: [Int]) -> JSONValue {
        .array(values.map { JSONValue.int($0) })
    }
}

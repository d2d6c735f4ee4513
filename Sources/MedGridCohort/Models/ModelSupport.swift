import Foundation

/// Numeric features of a model, row-major: `values[r * columnCount + c]` is row `r`, feature `c`.
///
/// Models treat NaN as an error (build the matrix with ``AnalysisTable/modelFrame(event:covariates:)``, which
/// excludes rows with missing values and counts them).
public struct FeatureMatrix: Sendable, Hashable, Codable {
    public private(set) var rowCount: Int
    public private(set) var columnCount: Int
    public private(set) var values: [Double]

    /// - Throws: ``CohortError`` `invalidArgument` if `values.count != rowCount * columnCount` or a count is
    ///   negative.
    public init(rowCount: Int, columnCount: Int, values: [Double]) throws {
        guard rowCount >= 0, columnCount >= 0, values.count == rowCount * columnCount else {
            throw CohortError(
                file: "<matrix>", code: .invalidArgument,
                message: "\(values.count) values do not fill \(rowCount) rows × \(columnCount) columns"
            )
        }
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.values = values
    }

    /// From rows of equal length (`columnCount` is 0 when `rows` is empty).
    public init(rows: [[Double]]) throws {
        let width = rows.first?.count ?? 0
        for (r, row) in rows.enumerated() where row.count != width {
            throw CohortError(file: "<matrix>", row: r + 1, code: .invalidArgument, message: "row has \(row.count) values but row 1 has \(width)")
        }
        try self.init(rowCount: rows.count, columnCount: width, values: rows.flatMap { $0 })
    }

    /// The design of a ``ModelFrame``.
    public init(_ frame: ModelFrame) {
        self.rowCount = frame.rowCount
        self.columnCount = frame.covariates.count
        self.values = frame.design
    }

    /// The value at 0-based `row`, `column`.
    public subscript(row: Int, column: Int) -> Double { values[row * columnCount + column] }

    /// Rows `range` as a new matrix (for splitting data into shards).
    public func rows(_ range: Range<Int>) -> FeatureMatrix {
        let lo = max(0, min(rowCount, range.lowerBound)), hi = max(lo, min(rowCount, range.upperBound))
        return FeatureMatrix(unchecked: hi - lo, columnCount, Array(values[lo * columnCount..<hi * columnCount]))
    }

    /// The rows at `indices`, in that order.
    public func rows(at indices: [Int]) -> FeatureMatrix {
        var out: [Double] = []
        out.reserveCapacity(indices.count * columnCount)
        for r in indices { out.append(contentsOf: values[r * columnCount..<(r + 1) * columnCount]) }
        return FeatureMatrix(unchecked: indices.count, columnCount, out)
    }

    init(unchecked rows: Int, _ columns: Int, _ values: [Double]) {
        self.rowCount = rows
        self.columnCount = columns
        self.values = values
    }

    /// Throws if any value is NaN or infinite, naming the row (1-based) and column.
    func requireFinite(_ what: String) throws {
        for (i, v) in values.enumerated() where !v.isFinite {
            throw CohortError(
                file: "<matrix>", row: i / max(columnCount, 1) + 1, column: "feature \(i % max(columnCount, 1) + 1)",
                code: .invalidValue, message: "\(what): value \(v) is not finite (exclude rows with missing values first)"
            )
        }
    }
}

/// xoshiro256** 1.0 (Blackman & Vigna 2018), seeded by expanding a 64-bit seed with SplitMix64 (Steele, Lea &
/// Flood 2014) as the authors recommend. Deterministic: the same seed gives the same stream on every platform.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Hashable, Codable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the four state words with four SplitMix64 outputs from `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The next 64-bit output: `rotl(s1 · 5, 7) · 9`, then the xoshiro256 state update.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1): the top 53 bits times 2^-53.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform integer in `0..<bound` (`bound` ≥ 1), unbiased (Lemire's multiply-and-reject).
    public mutating func below(_ bound: Int) -> Int {
        let b = UInt64(max(bound, 1))
        while true {
            let m = next().multipliedFullWidth(by: b)
            if m.low >= (0 &- b) % b { return Int(m.high) }
        }
    }
}

/// Small dense symmetric positive-definite linear algebra (Cholesky), for model-sized matrices.
enum SymmetricPD {
    /// Cholesky factor L (lower, row-major n×n) of a symmetric matrix given full row-major; nil if not PD.
    static func cholesky(_ a: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > 0, s.isFinite else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        return l
    }

    static func solve(_ l: [Double], _ n: Int, _ b: [Double]) -> [Double] {
        var y = b
        for i in 0..<n {
            var s = y[i]
            for k in 0..<i { s -= l[i * n + k] * y[k] }
            y[i] = s / l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<n where k < n { s -= l[k * n + i] * y[k] }
            y[i] = s / l[i * n + i]
        }
        return y
    }

    static func inverse(_ l: [Double], _ n: Int) -> [Double] {
        var inv = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[j] = 1
            let col = solve(l, n, e)
            for i in 0..<n { inv[i * n + j] = col[i] }
        }
        return inv
    }
}

/// Special functions used for p-values and confidence intervals.
enum Special {
    /// Standard normal upper tail P(Z > z) = erfc(z/√2)/2.
    static func normalUpperTail(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

    /// Two-sided normal p-value 2·P(Z > |z|).
    static func twoSidedP(_ z: Double) -> Double { erfc(abs(z) / 2.0.squareRoot()) }

    /// Standard normal quantile Φ⁻¹(p), 0 < p < 1: Acklam's rational approximation refined by two Halley
    /// steps on erfc (relative error near machine precision).
    static func normalQuantile(_ p: Double) -> Double {
        guard p > 0, p < 1 else { return p == 0 ? -.infinity : (p == 1 ? .infinity : .nan) }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        var x: Double
        if p < 0.02425 {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p > 1 - 0.02425 {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        for _ in 0..<2 {
            let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
            let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
            x -= u / (1 + x * u / 2)
        }
        return x
    }

    /// Upper tail of the chi-square distribution with `df` degrees of freedom: Q(df/2, x/2), the regularised
    /// upper incomplete gamma function (series for x < a + 1, Lentz continued fraction otherwise).
    static func chiSquareUpperTail(_ x: Double, df: Double) -> Double {
        guard x > 0 else { return 1 }
        let a = df / 2, z = x / 2
        let logPrefix = a * log(z) - z - lgamma(a)
        if z < a + 1 {
            var sum = 1 / a, term = 1 / a, ap = a
            for _ in 0..<10_000 {
                ap += 1
                term *= z / ap
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            return max(0, 1 - sum * exp(logPrefix))
        }
        let tiny = 1e-300
        var b = z + 1 - a, c = 1 / tiny, d = 1 / b, h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-17 { break }
        }
        return exp(logPrefix) * h
    }
}

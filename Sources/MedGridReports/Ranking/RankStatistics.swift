import MedGridCore
import Foundation

/// The alternative hypothesis of a one- or two-sided test on paired differences `d = x - y`
/// (R's `alternative` argument of `wilcox.test`).
public enum TestAlternative: String, Sendable, Hashable, CaseIterable {
    /// The distribution of `d` is not symmetric about 0.
    case twoSided = "two.sided"
    /// `d` tends to be negative (`x` smaller than `y`).
    case less
    /// `d` tends to be positive (`x` larger than `y`).
    case greater
}

/// The outcome of a Wilcoxon signed-rank test (see ``RankStatistics/wilcoxonSignedRank(_:_:alternative:)``).
public struct WilcoxonResult: Sendable, Equatable {
    /// R's `V`: the sum of the (mid)ranks of |d| over the positive differences, zeros dropped.
    public var statistic: Double
    /// Number of non-zero differences used (after dropping incomplete pairs and zeros).
    public var n: Int
    /// Number of zero differences dropped.
    public var zeros: Int
    /// Whether the |d| had ties (after dropping zeros).
    public var ties: Bool
    /// `true` for the exact null distribution, `false` for the normal approximation.
    public var exact: Bool
    /// The standardised statistic of the normal approximation (with continuity correction); `nil` when exact
    /// or when no non-zero difference is left.
    public var z: Double?
    /// The p-value.
    public var pValue: Double
}

/// Statistics used to rank algorithms: Wilcoxon signed-rank test (as R's `wilcox.test`), Holm adjustment (as
/// R's `p.adjust(method = "holm")`), Kendall's τ-b (as `scipy.stats.kendalltau(variant = "b")`), minimum ranks
/// (as R's `rank(ties.method = "min")`) and sample quantiles (R type 7).
public enum RankStatistics {
    // MARK: Wilcoxon signed-rank

    /// Paired Wilcoxon signed-rank test of `x` against `y`, exactly as R's
    /// `wilcox.test(x, y, paired = TRUE, alternative = alternative, exact = NULL, correct = TRUE)` (R ≥ 4.0):
    ///
    /// - Pairs where `x` or `y` is NaN are dropped (R's `complete.cases`). `d = x - y`.
    /// - Zero differences are dropped (R's behaviour; scipy's `zero_method = "wilcox"`), and `n` is the number
    ///   of non-zero differences. `V` = sum of the average ranks of |d| over the positive d.
    /// - Exact null distribution (`psignrank`) when `n < 50`, the |d| have no ties and no zero was dropped;
    ///   two-sided p = min(1, 2·P), P the tail on the side of `V` relative to n(n+1)/4.
    /// - Otherwise normal approximation: z = (V − n(n+1)/4 − c) / σ with
    ///   σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over tie groups of |d|, and continuity correction
    ///   c = 0.5 ("greater"), −0.5 ("less"), sign(V − n(n+1)/4)·0.5 (two-sided); p from the standard normal.
    /// - Deviation from R (which stops with an error or returns NaN): when no pair is complete, or every
    ///   difference is zero, `pValue` is 1 (no evidence against H0).
    ///
    /// Throws `.invalidInput` when `x` and `y` differ in length.
    public static func wilcoxonSignedRank(_ x: [Double], _ y: [Double], alternative: TestAlternative) throws -> WilcoxonResult {
        guard x.count == y.count else {
            throw MedGridError(.invalidInput, "Wilcoxon signed-rank test: x has \(x.count) values and y has \(y.count) (expected paired samples of equal length)")
        }
        var d = [Double](repeating: 0, count: x.count)
        var m = 0
        for i in 0..<x.count where !x[i].isNaN && !y[i].isNaN {
            d[m] = x[i] - y[i]
            m += 1
        }
        return signedRank(differences: &d, count: m, alternative: alternative)
    }

    /// The signed-rank test on the first `count` entries of `d` (all non-NaN), which are reordered in place.
    /// Same conventions as ``wilcoxonSignedRank(_:_:alternative:)``.
    static func signedRank(differences d: inout [Double], count: Int, alternative: TestAlternative) -> WilcoxonResult {
        signedRankSummary(differences: &d, count: count).result(alternative)
    }

    /// The test statistic and tie structure of the first `count` entries of `d` (reordered in place); the
    /// p-value for any alternative follows from it (``SignedRankSummary/result(_:)``).
    static func signedRankSummary(differences d: inout [Double], count: Int) -> SignedRankSummary {
        // Drop zeros (stable compaction).
        var n = 0
        for i in 0..<count where d[i] != 0 {
            d[n] = d[i]
            n += 1
        }
        let zeros = count - n
        if n == 0 { return SignedRankSummary(v: 0, n: 0, zeros: zeros, ties: false, tieTerm: 0) }
        d.withUnsafeMutableBufferPointer { buf in
            var slice = UnsafeMutableBufferPointer(rebasing: buf[0..<n])
            slice.sort { abs($0) < abs($1) }
        }
        // Average ranks over tie groups of |d|; V = sum of ranks of positive d; tie term Σ(t³ − t).
        var v = 0.0
        var tieTerm = 0.0
        var ties = false
        var i = 0
        while i < n {
            var j = i + 1
            let a = abs(d[i])
            while j < n, abs(d[j]) == a { j += 1 }
            let t = j - i
            let midrank = Double(i + j + 1) / 2  // ranks i+1 ... j
            var positives = 0
            for k in i..<j where d[k] > 0 { positives += 1 }
            v += midrank * Double(positives)
            if t > 1 {
                ties = true
                let td = Double(t)
                tieTerm += td * td * td - td
            }
            i = j
        }
        return SignedRankSummary(v: v, n: n, zeros: zeros, ties: ties, tieTerm: tieTerm)
    }

    /// V, n and the tie structure of a signed-rank test. ``mirrored`` is the summary of the negated
    /// differences (the test of y against x): same n and ties, V' = n(n+1)/2 − V.
    struct SignedRankSummary {
        var v: Double
        var n: Int
        var zeros: Int
        var ties: Bool
        var tieTerm: Double

        var mirrored: SignedRankSummary {
            var m = self
            m.v = Double(n * (n + 1) / 2) - v
            return m
        }

        func result(_ alternative: TestAlternative) -> WilcoxonResult {
            if n == 0 {
                return WilcoxonResult(statistic: 0, n: 0, zeros: zeros, ties: false, exact: false, z: nil, pValue: 1)
            }
            let nd = Double(n)
            if n < 50 && !ties && zeros == 0 {
                let q = Int(v.rounded())
                let p: Double
                switch alternative {
                case .less: p = signRankCDF(q, n)
                case .greater: p = signRankUpper(q, n)
                case .twoSided:
                    let tail = v > nd * (nd + 1) / 4 ? signRankUpper(q, n) : signRankCDF(q, n)
                    p = min(2 * tail, 1)
                }
                return WilcoxonResult(statistic: v, n: n, zeros: zeros, ties: ties, exact: true, z: nil, pValue: p)
            }
            let centred = v - nd * (nd + 1) / 4
            let sigma = (nd * (nd + 1) * (2 * nd + 1) / 24 - tieTerm / 48).squareRoot()
            let correction: Double
            switch alternative {
            case .twoSided: correction = centred > 0 ? 0.5 : (centred < 0 ? -0.5 : 0)
            case .greater: correction = 0.5
            case .less: correction = -0.5
            }
            let z = (centred - correction) / sigma
            let p: Double
            switch alternative {
            case .less: p = normalCDF(z)
            case .greater: p = normalCDF(-z)
            case .twoSided: p = min(1, 2 * min(normalCDF(z), normalCDF(-z)))
            }
            return WilcoxonResult(statistic: v, n: n, zeros: zeros, ties: ties, exact: false, z: z, pValue: p)
        }
    }

    /// P(V ≤ q) under H0 for `n` < 50 (R's `psignrank(q, n)`), from exact subset-sum counts.
    static func signRankCDF(_ q: Int, _ n: Int) -> Double {
        let table = signRankCumulative[n]
        if q < 0 { return 0 }
        if q >= table.count - 1 { return 1 }
        return table[q] / table[table.count - 1]
    }

    /// P(V ≥ q) under H0 (R's `psignrank(q - 1, n, lower.tail = FALSE)`), computed from counts so that small
    /// upper tails keep full precision.
    static func signRankUpper(_ q: Int, _ n: Int) -> Double {
        let table = signRankCumulative[n]
        let total = table[table.count - 1]
        if q <= 0 { return 1 }
        if q > table.count - 1 { return 0 }
        return (total - table[q - 1]) / total
    }

    /// Cumulative counts of subsets of {1…n} by sum, for n = 0…49: `signRankCumulative[n][s]` = number of
    /// subsets with sum ≤ s (exact integers below 2⁵³).
    static let signRankCumulative: [[Double]] = {
        var out: [[Double]] = []
        var w: [Double] = [1]
        for n in 0..<50 {
            if n > 0 {
                var next = [Double](repeating: 0, count: w.count + n)
                for s in 0..<w.count {
                    next[s] += w[s]
                    next[s + n] += w[s]
                }
                w = next
            }
            var c = w
            for s in 1..<max(c.count, 1) { c[s] += c[s - 1] }
            out.append(c)
        }
        return out
    }()

    /// Standard normal CDF Φ(z) = erfc(−z/√2)/2.
    public static func normalCDF(_ z: Double) -> Double {
        0.5 * erfc(-z / 2.0.squareRoot())
    }

    // MARK: Holm

    /// Holm's step-down adjustment, as R's `p.adjust(p, method = "holm")` (and statsmodels `multipletests`
    /// with `method = "holm"`): with the m non-NaN p-values sorted ascending (stable),
    /// p̃₍ᵢ₎ = min(1, max_{k ≤ i} (m − k + 1)·p₍ₖ₎). NaN entries stay NaN and do not count in m.
    public static func holm(_ p: [Double]) -> [Double] {
        let idx = p.indices.filter { !p[$0].isNaN }.sorted { p[$0] < p[$1] || (p[$0] == p[$1] && $0 < $1) }
        let m = idx.count
        var out = p
        var running = 0.0
        for (i, k) in idx.enumerated() {
            running = max(running, Double(m - i) * p[k])
            out[k] = min(1, running)
        }
        return out
    }

    // MARK: Kendall τ-b

    /// Kendall's τ-b with ties, as `scipy.stats.kendalltau(x, y, variant = "b")`:
    /// τ_b = (C − D) / √((n₀ − n₁)(n₀ − n₂)), n₀ = n(n−1)/2, n₁ / n₂ = pairs tied in x / in y; pairs tied in both
    /// count in n₁ and n₂ but in neither C nor D. O(n²). Returns `nil` when undefined (fewer than 2 values, or
    /// all values of x or of y tied) or when the lengths differ.
    public static func kendallTauB(_ x: [Double], _ y: [Double]) -> Double? {
        guard x.count == y.count, x.count >= 2 else { return nil }
        var s = 0
        var tx = 0, ty = 0
        let n = x.count
        for i in 0..<n {
            for j in (i + 1)..<n {
                let dx = x[i] - x[j], dy = y[i] - y[j]
                if dx == 0 { tx += 1 }
                if dy == 0 { ty += 1 }
                if dx == 0 || dy == 0 { continue }
                s += (dx > 0) == (dy > 0) ? 1 : -1
            }
        }
        let n0 = n * (n - 1) / 2
        let denom = (Double(n0 - tx) * Double(n0 - ty)).squareRoot()
        guard denom > 0 else { return nil }
        return Double(s) / denom
    }

    /// τ-b between two integer rankings.
    public static func kendallTauB(_ x: [Int], _ y: [Int]) -> Double? {
        kendallTauB(x.map(Double.init), y.map(Double.init))
    }

    // MARK: Ranks and quantiles

    /// Ranks with ties taking the minimum rank, as R's `rank(ties.method = "min")`: rank = 1 + number of values
    /// strictly better. With `smallerIsBetter` the smallest value gets rank 1, else the largest. NaN values
    /// rank after all others, tied at (number of non-NaN values) + 1.
    public static func minRanks(_ values: [Double], smallerIsBetter: Bool) -> [Int] {
        var ranks = [Int](repeating: 0, count: values.count)
        var order = Array(values.indices)
        minRanks(values, smallerIsBetter: smallerIsBetter, order: &order, into: &ranks)
        return ranks
    }

    /// Allocation-free core of ``minRanks(_:smallerIsBetter:)``; `order` and `ranks` must have `values.count`
    /// elements.
    static func minRanks(_ values: [Double], smallerIsBetter: Bool, order: inout [Int], into ranks: inout [Int]) {
        let n = values.count
        for i in 0..<n { order[i] = i }
        values.withUnsafeBufferPointer { v in
            order.withUnsafeMutableBufferPointer { o in
                o.sort { a, b in
                    let va = v[a], vb = v[b]
                    if va.isNaN || vb.isNaN { return !va.isNaN && vb.isNaN }
                    return smallerIsBetter ? va < vb : va > vb
                }
            }
        }
        var i = 0
        while i < n {
            let first = values[order[i]]
            var j = i + 1
            if first.isNaN {
                j = n
            } else {
                while j < n, values[order[j]] == first { j += 1 }
            }
            for k in i..<j { ranks[order[k]] = i + 1 }
            i = j
        }
    }

    /// Sample quantile of R type 7 (R's default, numpy's "linear"): with x sorted and h = (n − 1)·p,
    /// Q(p) = x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋+1₎ − x₍⌊h⌋₎) (0-based). NaN values are ignored; `nil` if none is left.
    public static func quantile(_ values: [Double], _ p: Double) -> Double? {
        let x = values.filter { !$0.isNaN }.sorted()
        return quantileSorted(x, p)
    }

    static func quantileSorted(_ x: [Double], _ p: Double) -> Double? {
        guard !x.isEmpty else { return nil }
        let h = Double(x.count - 1) * min(max(p, 0), 1)
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, x.count - 1)
        return x[lo] + (h - Double(lo)) * (x[hi] - x[lo])
    }

    /// The median (type 7 quantile at 0.5; the mean of the two middle values for even n).
    public static func median(_ values: [Double]) -> Double? { quantile(values, 0.5) }
}

public import MedGridCore

/// The (stratified) log-rank test of equal survival in `k ≥ 2` groups.
///
/// Conventions (R `survdiff` with `rho = 0`; lifelines `multivariate_logrank_test` / `logrank_test` for one
/// stratum; statsmodels `survdiff(strata=…)` for several):
/// - At each distinct event time of a stratum with `n` at risk, `d` events and `n_g`, `d_g` in group `g`:
///   `E_g += d·n_g/n` and `V_gh += d(n−d)/(n−1) · (n_g/n)(δ_gh − n_h/n)` (hypergeometric variance; times with
///   `n = 1` add nothing to `V`).
/// - Stratified: `O − E` and `V` are summed over strata (groups absent from a stratum count as empty there).
/// - `chiSquare = (O−E)ᵀ V⁻¹ (O−E)` over the first `k − 1` groups (sorted labels), `k − 1` degrees of freedom;
///   `pValue = P(χ²(k−1) ≥ chiSquare)`.
/// - Sums over times use ``ExactSum`` (the result depends only on the merged counts).
public struct LogRankTest: Sendable {
    /// Group labels, sorted.
    public let groups: [String]
    /// Strata used (`[""]` when unstratified).
    public let strata: [String]
    public let subjects: [Int]
    public let observed: [Int]
    public let expected: [Double]
    /// `k×k` row-major variance matrix of `O − E`.
    public let variance: [Double]
    public let chiSquare: Double
    public let degreesOfFreedom: Int
    public let pValue: Double

    /// Tests the groups of `tables` (stratified by its strata).
    /// - Throws: `invalidInput` with fewer than two groups, or when the variance matrix is singular (e.g. a
    ///   group with no subject at risk at any event time).
    public init(_ tables: RiskTableSet) throws {
        let groups = tables.groups
        let k = groups.count
        guard k >= 2 else {
            throw MedGridError(.invalidInput, "log-rank test needs at least 2 groups, got \(k) (\(groups))")
        }
        let groupIndex = Dictionary(uniqueKeysWithValues: groups.enumerated().map { ($1, $0) })
        let strata = tables.strata
        var expectedSums = Array(repeating: ExactSum(), count: k)
        var varianceSums = Array(repeating: ExactSum(), count: k * k)
        var observed = [Int](repeating: 0, count: k), subjects = observed
        for stratum in strata {
            var byGroup = [RiskTable?](repeating: nil, count: k)
            for e in tables.entries where e.key.stratum == stratum { byGroup[groupIndex[e.key.group]!] = e.table }
            var allTimes: [Double] = []
            for t in byGroup { if let t { allTimes.append(contentsOf: t.times) } }
            let times = Array(Set(allTimes)).sorted()
            var pointer = [Int](repeating: 0, count: k)
            var atRisk = byGroup.map { $0?.subjects ?? 0 }
            for g in 0..<k {
                subjects[g] += atRisk[g]
                observed[g] += byGroup[g]?.totalEvents ?? 0
            }
            var dg = [Int](repeating: 0, count: k), leaving = dg
            for t in times {
                var n = 0, d = 0
                for g in 0..<k {
                    dg[g] = 0
                    leaving[g] = 0
                    if let table = byGroup[g], pointer[g] < table.times.count, table.times[pointer[g]] == t {
                        dg[g] = table.events[pointer[g]]
                        leaving[g] = dg[g] + table.censored[pointer[g]]
                        pointer[g] += 1
                    }
                    n += atRisk[g]
                    d += dg[g]
                }
                if d > 0 {
                    let nn = Double(n), dd = Double(d)
                    for g in 0..<k where atRisk[g] > 0 {
                        expectedSums[g].add(dd * Double(atRisk[g]) / nn)
                    }
                    if n > 1 {
                        let factor = dd * (nn - dd) / (nn - 1)
                        for g in 0..<k where atRisk[g] > 0 {
                            let pg = Double(atRisk[g]) / nn
                            for h in 0..<k where atRisk[h] > 0 {
                                let ph = Double(atRisk[h]) / nn
                                varianceSums[g * k + h].add(factor * pg * ((g == h ? 1 : 0) - ph))
                            }
                        }
                    }
                }
                for g in 0..<k { atRisk[g] -= leaving[g] }
            }
        }
        let expected = expectedSums.map(\.value)
        let variance = varianceSums.map(\.value)
        let m = k - 1
        var reduced = [Double](repeating: 0, count: m * m)
        for i in 0..<m { for j in 0..<m { reduced[i * m + j] = variance[i * k + j] } }
        let diff = (0..<m).map { Double(observed[$0]) - expected[$0] }
        guard let l = SurvivalMath.cholesky(reduced, m) else {
            throw MedGridError(
                .invalidInput,
                "log-rank variance matrix is singular: some group of \(groups) has no subject at risk at any event time"
            )
        }
        let solved = SurvivalMath.choleskySolve(l, m, diff)
        var chi = 0.0
        for i in 0..<m { chi += diff[i] * solved[i] }
        self.groups = groups
        self.strata = strata
        self.subjects = subjects
        self.observed = observed
        self.expected = expected
        self.variance = variance
        chiSquare = chi
        degreesOfFreedom = m
        pValue = SurvivalMath.chiSquareSurvival(chi, degreesOfFreedom: m)
    }

    /// Convenience: builds the tables and tests.
    public init(time: [Double], event: [Bool], group: [String], stratum: [String]? = nil) throws {
        try self.init(RiskTableSet(time: time, event: event, group: group, stratum: stratum))
    }

    /// Every number and setting.
    public func json() -> JSONValue {
        .object([
            "test": .string("log-rank"),
            "weights": .string("none (rho = 0)"),
            "variance_method": .string("hypergeometric"),
            "stratified": .bool(strata != [""]),
            "strata": .array(strata.map(JSONValue.string)),
            "groups": .array(groups.map(JSONValue.string)),
            "subjects": .ints(subjects),
            "observed": .ints(observed),
            "expected": .numbers(expected),
            "variance": .numbers(variance),
            "chi_square": .number(chiSquare),
            "degrees_of_freedom": .int(degreesOfFreedom),
            "p_value": .number(pValue),
        ])
    }
}

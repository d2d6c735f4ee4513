import Foundation
import MedGridCore

/// How tied event times enter the Cox partial likelihood.
///
/// - `efron`: Efron (1977) approximation — R `coxph` default and the only method of lifelines `CoxPHFitter`.
/// - `breslow`: Breslow (1974) — statsmodels `PHReg` default.
public enum CoxTies: String, Codable, Sendable, CaseIterable {
    case efron
    case breslow
}

/// One shard's rows for a Cox model, sorted once by (stratum, time): the worker side of the distributed fit.
///
/// Conventions:
/// - Inputs are plain arrays: `time` (finite), `event`, `covariates` row-major with `covariateCount` columns
///   (finite), optional `strata` labels (all rows in stratum `""` when `nil`). Every row is one subject.
/// - Covariates are used centered, `x̃ = x − center`, with `center` broadcast by the coordinator (the pooled
///   covariate means from ``covariateSums()``), and risk weights `w = exp(x̃·β)`; the partial likelihood,
///   score and information do not depend on the centering, only their rounding does.
public struct CoxShard: Sendable {
    /// Number of covariates `p`.
    public let covariateCount: Int
    /// Rows in this shard.
    public let rowCount: Int
    /// Distinct stratum labels, sorted.
    let strataLabels: [String]
    /// Row index ranges per stratum (into the sorted arrays): `stratumStart[s]..<stratumStart[s+1]`.
    let stratumStart: [Int]
    /// Sorted rows.
    let time: [Double]
    let event: [Bool]
    let x: [Double]

    /// Sorts and stores the rows.
    /// - Throws: `invalidInput` for unequal lengths, `covariateCount < 1`, non-finite times or covariates (naming
    ///   the row and column).
    public init(
        time: [Double], event: [Bool], covariates: [Double], covariateCount: Int, strata: [String]? = nil
    ) throws {
        try SurvivalInput.validate(time: time, event: event)
        try SurvivalInput.validateLabels(strata, count: time.count, field: "strata")
        guard covariateCount >= 1 else {
            throw MedGridError(.invalidInput, "covariateCount must be at least 1, got \(covariateCount)")
        }
        guard covariates.count == time.count * covariateCount else {
            throw MedGridError(
                .invalidInput,
                "covariates has \(covariates.count) values; expected rows × covariateCount = \(time.count) × \(covariateCount)"
            )
        }
        for (k, v) in covariates.enumerated() where !v.isFinite {
            throw MedGridError(
                .invalidInput, "covariates row \(k / covariateCount) column \(k % covariateCount) is \(v); expected a finite number"
            )
        }
        let p = covariateCount
        let labels = strata.map { Array(Set($0)).sorted() } ?? [""]
        let code = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let stratumOf = strata.map { s in s.map { code[$0]! } } ?? [Int](repeating: 0, count: time.count)
        let order = time.indices.sorted {
            stratumOf[$0] != stratumOf[$1] ? stratumOf[$0] < stratumOf[$1] : time[$0] < time[$1]
        }
        var sortedX = [Double](repeating: 0, count: covariates.count)
        for (r, i) in order.enumerated() {
            for j in 0..<p { sortedX[r * p + j] = covariates[i * p + j] }
        }
        var starts = [Int](repeating: 0, count: labels.count + 1)
        for s in stratumOf { starts[s + 1] += 1 }
        for s in 0..<labels.count { starts[s + 1] += starts[s] }
        self.covariateCount = p
        self.rowCount = time.count
        self.strataLabels = labels
        self.stratumStart = starts
        self.time = order.map { time[$0] + 0.0 }
        self.event = order.map { event[$0] }
        self.x = sortedX
    }

    /// Round 0: row count and exact column sums (for the pooled centering vector).
    public func covariateSums() -> CoxCovariateSums {
        let p = covariateCount
        var sums = Array(repeating: ExactSum(), count: p)
        for r in 0..<rowCount { for j in 0..<p { sums[j].add(x[r * p + j]) } }
        return CoxCovariateSums(rows: rowCount, sums: sums)
    }

    /// Linear predictors `x̃·β` of this shard's rows (in sorted order), with their times and events.
    func linearPredictors(beta: [Double], center: [Double]) -> [Double] {
        let p = covariateCount
        var out = [Double](repeating: 0, count: rowCount)
        for r in 0..<rowCount {
            var eta = 0.0
            for j in 0..<p { eta += (x[r * p + j] - center[j]) * beta[j] }
            out[r] = eta
        }
        return out
    }

    var sortedTimes: [Double] { time }
    var sortedEvents: [Bool] { event }
    var sortedStrata: [String] {
        var out: [String] = []
        out.reserveCapacity(rowCount)
        for s in strataLabels.indices {
            out.append(contentsOf: repeatElement(strataLabels[s], count: stratumStart[s + 1] - stratumStart[s]))
        }
        return out
    }

    func checkBroadcast(beta: [Double], center: [Double]) throws {
        guard beta.count == covariateCount, center.count == covariateCount else {
            throw MedGridError(
                .invalidInput,
                "beta has \(beta.count) and center \(center.count) values; expected covariateCount = \(covariateCount)"
            )
        }
        for (j, v) in (beta + center).enumerated() where !v.isFinite {
            throw MedGridError(.invalidInput, "broadcast value \(j) (beta then center) is \(v); expected finite")
        }
    }

    /// Round 1 (once per Newton step): the per-(stratum, time) sufficient statistics at `beta`.
    ///
    /// For each stratum and each distinct time `t` of this shard, with `w = exp(x̃·β)`:
    /// `Σ w`, `Σ w·x̃_j`, `Σ w·x̃_j·x̃_k` (`j ≤ k`) over the subjects with time `t`; and, when some died at `t`,
    /// `Σ x̃_j` over those deaths and (Efron only) the same three weighted sums over the deaths. Every sum is
    /// stored as the canonical floating-point expansion of its exact value (``ExactSum``), so merging shards
    /// reproduces the pooled statistics bit for bit. One sweep over the time-sorted rows.
    /// - Throws: `invalidInput` for a wrong-sized broadcast or when `exp(x̃·β)` overflows.
    public func statistics(beta: [Double], center: [Double], ties: CoxTies) throws -> CoxShardStatistics {
        try checkBroadcast(beta: beta, center: center)
        let p = covariateCount
        let m = CoxShardStatistics.riskEntryCount(p)
        let maxEntries = 2 * m + p
        var accumulators = [ExactSum]()
        var terms = [Double](repeating: 0, count: m)
        var xt = [Double](repeating: 0, count: p)
        var strata: [CoxShardStatistics.Stratum] = []
        for s in strataLabels.indices {
            var st = CoxShardStatistics.Stratum(label: strataLabels[s])
            let lo = stratumStart[s], hi = stratumStart[s + 1]
            if lo == hi { continue }
            st.components.reserveCapacity((hi - lo) * (m + 2))
            st.componentCounts.reserveCapacity((hi - lo) * (m + 2))
            var r = lo
            while r < hi {
                var end = r + 1
                while end < hi && time[end] == time[r] { end += 1 }
                var deaths = 0
                for k in r..<end where event[k] { deaths += 1 }
                let entries = CoxShardStatistics.entryCount(p: p, deaths: deaths, ties: ties)
                st.times.append(time[r])
                st.subjects.append(end - r)
                st.deaths.append(deaths)
                if end - r == 1 {
                    try rowTerms(r, beta, center, &xt, &terms)
                    for e in 0..<m { st.appendSingle(terms[e]) }
                    if deaths > 0 {
                        for j in 0..<p { st.appendSingle(xt[j]) }
                        if ties == .efron { for e in 0..<m { st.appendSingle(terms[e]) } }
                    }
                } else {
                    if accumulators.isEmpty { accumulators = Array(repeating: ExactSum(), count: maxEntries) }
                    for e in 0..<entries { accumulators[e].removeAll() }
                    for k in r..<end {
                        try rowTerms(k, beta, center, &xt, &terms)
                        for e in 0..<m { accumulators[e].add(terms[e]) }
                        if event[k] {
                            for j in 0..<p { accumulators[m + j].add(xt[j]) }
                            if ties == .efron { for e in 0..<m { accumulators[m + p + e].add(terms[e]) } }
                        }
                    }
                    for e in 0..<entries {
                        let c = accumulators[e].drainExpansion(into: &st.components)
                        st.componentCounts.append(UInt8(c))
                    }
                }
                r = end
            }
            strata.append(st)
        }
        return CoxShardStatistics(covariateCount: p, ties: ties, beta: beta, center: center, strata: strata)
    }

    /// Centered covariates and the `m` weighted terms `w, w·x̃_j, w·x̃_j·x̃_k (j ≤ k)` of sorted row `r`.
    @inline(__always)
    func rowTerms(_ r: Int, _ beta: [Double], _ center: [Double], _ xt: inout [Double], _ terms: inout [Double]) throws {
        let p = covariateCount
        var eta = 0.0
        for j in 0..<p {
            let v = x[r * p + j] - center[j]
            xt[j] = v
            eta += v * beta[j]
        }
        let w = Foundation.exp(eta)
        guard w.isFinite else {
            throw MedGridError(
                .kernelFailed, "Cox risk weight exp(x·beta) overflows at time \(time[r]) (x·beta = \(eta)); the fit diverged"
            )
        }
        terms[0] = w
        var e = 1 + p
        for j in 0..<p {
            let wx = w * xt[j]
            terms[1 + j] = wx
            for k in j..<p {
                terms[e] = wx * xt[k]
                e += 1
            }
        }
    }

    /// Robust pass: `Σ rᵢ rᵢᵀ` (upper triangle, exact) over this shard's subjects of the score residuals
    /// `rᵢ` at the final β (see ``CoxResidualBasis`` for the definition).
    public func scoreResidualProducts(basis: CoxResidualBasis) throws -> CoxRobustStatistics {
        try checkBroadcast(beta: basis.beta, center: basis.center)
        let p = covariateCount
        let m = p * (p + 1) / 2
        var sums = Array(repeating: ExactSum(), count: m)
        var residual = [Double](repeating: 0, count: p)
        var xt = [Double](repeating: 0, count: p)
        for s in strataLabels.indices {
            let lo = stratumStart[s], hi = stratumStart[s + 1]
            if lo == hi { continue }
            guard let b = basis.strata.first(where: { $0.label == strataLabels[s] }) else {
                throw MedGridError(
                    .invalidInput, "residual basis has no stratum \"\(strataLabels[s])\" present in this shard"
                )
            }
            for r in lo..<hi {
                b.residual(time: time[r], died: event[r], x: x, row: r, p: p, beta: basis.beta, center: basis.center, xt: &xt, into: &residual)
                var e = 0
                for j in 0..<p {
                    for k in j..<p {
                        sums[e].add(residual[j] * residual[k])
                        e += 1
                    }
                }
            }
        }
        return CoxRobustStatistics(covariateCount: p, sums: sums)
    }
}

/// Row count and exact covariate column sums of a shard (round 0); mergeable.
public struct CoxCovariateSums: Codable, Sendable, Equatable {
    public var rows: Int
    public var sums: [ExactSum]

    public init(rows: Int, sums: [ExactSum]) {
        self.rows = rows
        self.sums = sums
    }

    /// Adds `other` (same covariate count).
    public mutating func merge(_ other: CoxCovariateSums) throws {
        guard other.sums.count == sums.count else {
            throw MedGridError(.invalidInput, "covariate sums have \(other.sums.count) columns; expected \(sums.count)")
        }
        rows += other.rows
        for j in sums.indices { sums[j].add(other.sums[j]) }
    }

    /// Column means (correctly rounded sums divided by the row count); zeros when there are no rows.
    public var means: [Double] {
        sums.map { rows > 0 ? $0.value / Double(rows) : 0 }
    }
}

/// Exact `Σ rᵢ rᵢᵀ` (upper triangle, row by row) of a shard's score residuals; mergeable.
public struct CoxRobustStatistics: Codable, Sendable, Equatable {
    public var covariateCount: Int
    public var sums: [ExactSum]

    public mutating func merge(_ other: CoxRobustStatistics) throws {
        guard other.covariateCount == covariateCount, other.sums.count == sums.count else {
            throw MedGridError(.invalidInput, "robust statistics for \(other.covariateCount) covariates; expected \(covariateCount)")
        }
        for j in sums.indices { sums[j].add(other.sums[j]) }
    }

    /// The full symmetric `p×p` matrix (row-major).
    public var matrix: [Double] {
        let p = covariateCount
        var out = [Double](repeating: 0, count: p * p)
        var e = 0
        for j in 0..<p {
            for k in j..<p {
                let v = sums[e].value
                out[j * p + k] = v
                out[k * p + j] = v
                e += 1
            }
        }
        return out
    }
}

/// The Cox sufficient statistics of one shard at a broadcast `(β, center)`, mergeable exactly.
///
/// Layout: per stratum (sorted by label), per distinct time (ascending): `subjects`, `deaths`, and a run of
/// entries, each the canonical expansion (``ExactSum``) of an exact sum — `componentCounts[e]` components
/// appended to `components`. Entries of one time, in order: the `m = 1 + p + p(p+1)/2` risk sums
/// (`Σw`, `Σw·x̃_j`, `Σw·x̃_j·x̃_k` for `j ≤ k`, row by row); if `deaths > 0`: the `p` sums `Σx̃_j` over the
/// deaths and, for Efron ties, the `m` risk sums over the deaths. Because the expansions are canonical, the
/// merged statistics of any partition of the rows are identical (`==`) to those of the pooled rows.
public struct CoxShardStatistics: Codable, Sendable, Equatable {
    /// One stratum's per-time statistics.
    public struct Stratum: Codable, Sendable, Equatable {
        public var label: String
        public var times: [Double] = []
        public var subjects: [Int] = []
        public var deaths: [Int] = []
        public var componentCounts: [UInt8] = []
        public var components: [Double] = []

        public init(label: String) { self.label = label }

        @inline(__always)
        mutating func appendSingle(_ v: Double) {
            if v == 0 {
                componentCounts.append(0)
            } else {
                componentCounts.append(1)
                components.append(v)
            }
        }
    }

    public var covariateCount: Int
    public var ties: CoxTies
    /// The β these statistics were computed at.
    public var beta: [Double]
    /// The centering vector used.
    public var center: [Double]
    public var strata: [Stratum]

    public init(covariateCount: Int, ties: CoxTies, beta: [Double], center: [Double], strata: [Stratum]) {
        self.covariateCount = covariateCount
        self.ties = ties
        self.beta = beta
        self.center = center
        self.strata = strata
    }

    /// `m = 1 + p + p(p+1)/2`.
    static func riskEntryCount(_ p: Int) -> Int { 1 + p + p * (p + 1) / 2 }

    /// Entries of one time.
    static func entryCount(p: Int, deaths: Int, ties: CoxTies) -> Int {
        let m = riskEntryCount(p)
        return deaths == 0 ? m : m + p + (ties == .efron ? m : 0)
    }

    /// Checks the internal consistency of decoded or merged statistics.
    public func validate() throws {
        let p = covariateCount
        guard p >= 1, beta.count == p, center.count == p else {
            throw MedGridError(.invalidInput, "Cox statistics: covariateCount \(p) does not match beta/center lengths")
        }
        for (i, s) in strata.enumerated() {
            guard i == 0 || strata[i - 1].label < s.label else {
                throw MedGridError(.invalidInput, "Cox statistics: strata must be sorted and distinct (at \"\(s.label)\")")
            }
            guard s.times.count == s.subjects.count, s.times.count == s.deaths.count else {
                throw MedGridError(.invalidInput, "Cox statistics stratum \"\(s.label)\": times, subjects, deaths differ in length")
            }
            var entries = 0
            for k in s.times.indices {
                guard s.times[k].isFinite, k == 0 || s.times[k] > s.times[k - 1] else {
                    throw MedGridError(.invalidInput, "Cox statistics stratum \"\(s.label)\": times[\(k)] not finite and increasing")
                }
                guard s.deaths[k] >= 0, s.subjects[k] >= s.deaths[k], s.subjects[k] > 0 else {
                    throw MedGridError(.invalidInput, "Cox statistics stratum \"\(s.label)\": bad counts at time index \(k)")
                }
                entries += Self.entryCount(p: p, deaths: s.deaths[k], ties: ties)
            }
            guard entries == s.componentCounts.count,
                s.componentCounts.reduce(0, { $0 + Int($1) }) == s.components.count
            else {
                throw MedGridError(.invalidInput, "Cox statistics stratum \"\(s.label)\": component counts do not match the layout")
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        covariateCount = try c.decode(Int.self, forKey: .covariateCount)
        ties = try c.decode(CoxTies.self, forKey: .ties)
        beta = try c.decode([Double].self, forKey: .beta)
        center = try c.decode([Double].self, forKey: .center)
        strata = try c.decode([Stratum].self, forKey: .strata)
        try validate()
    }

    /// Merges `other` (computed at the same β, center and ties) into these statistics, exactly.
    public mutating func merge(_ other: CoxShardStatistics) throws {
        guard other.covariateCount == covariateCount, other.ties == ties,
            other.beta.map(\.bitPattern) == beta.map(\.bitPattern),
            other.center.map(\.bitPattern) == center.map(\.bitPattern)
        else {
            throw MedGridError(
                .invalidInput, "Cox statistics to merge were computed with a different beta, center, ties or covariate count"
            )
        }
        var out: [Stratum] = []
        var i = 0, j = 0
        var scratch = ExactSum()
        while i < strata.count || j < other.strata.count {
            if j == other.strata.count || (i < strata.count && strata[i].label < other.strata[j].label) {
                out.append(strata[i]); i += 1
            } else if i == strata.count || other.strata[j].label < strata[i].label {
                out.append(other.strata[j]); j += 1
            } else {
                out.append(Self.mergeStratum(strata[i], other.strata[j], p: covariateCount, ties: ties, scratch: &scratch))
                i += 1; j += 1
            }
        }
        strata = out
    }

    /// Merges several shards' statistics (in the given order; the result does not depend on it).
    public static func merged(_ parts: [CoxShardStatistics]) throws -> CoxShardStatistics {
        guard var result = parts.first else {
            throw MedGridError(.invalidInput, "no Cox statistics to merge")
        }
        for part in parts.dropFirst() { try result.merge(part) }
        return result
    }

    static func mergeStratum(_ a: Stratum, _ b: Stratum, p: Int, ties: CoxTies, scratch: inout ExactSum) -> Stratum {
        var out = Stratum(label: a.label)
        out.components.reserveCapacity(a.components.count + b.components.count)
        out.componentCounts.reserveCapacity(a.componentCounts.count + b.componentCounts.count)
        var i = 0, j = 0, ea = 0, eb = 0, ca = 0, cb = 0  // time, entry and component cursors
        func copy(_ s: Stratum, _ k: Int, _ e: inout Int, _ c: inout Int) {
            let n = entryCount(p: p, deaths: s.deaths[k], ties: ties)
            var total = 0
            for q in e..<(e + n) { total += Int(s.componentCounts[q]) }
            out.times.append(s.times[k]); out.subjects.append(s.subjects[k]); out.deaths.append(s.deaths[k])
            out.componentCounts.append(contentsOf: s.componentCounts[e..<(e + n)])
            out.components.append(contentsOf: s.components[c..<(c + total)])
            e += n
            c += total
        }
        while i < a.times.count || j < b.times.count {
            if j == b.times.count || (i < a.times.count && a.times[i] < b.times[j]) {
                copy(a, i, &ea, &ca); i += 1
            } else if i == a.times.count || b.times[j] < a.times[i] {
                copy(b, j, &eb, &cb); j += 1
            } else {
                let na = entryCount(p: p, deaths: a.deaths[i], ties: ties)
                let nb = entryCount(p: p, deaths: b.deaths[j], ties: ties)
                let deaths = a.deaths[i] + b.deaths[j]
                let n = entryCount(p: p, deaths: deaths, ties: ties)
                out.times.append(a.times[i]); out.subjects.append(a.subjects[i] + b.subjects[j]); out.deaths.append(deaths)
                for e in 0..<n {
                    let ka = e < na ? Int(a.componentCounts[ea + e]) : 0
                    let kb = e < nb ? Int(b.componentCounts[eb + e]) : 0
                    if kb == 0 {
                        out.componentCounts.append(UInt8(ka))
                        out.components.append(contentsOf: a.components[ca..<(ca + ka)])
                    } else if ka == 0 {
                        out.componentCounts.append(UInt8(kb))
                        out.components.append(contentsOf: b.components[cb..<(cb + kb)])
                    } else {
                        scratch.removeAll()
                        for q in ca..<(ca + ka) { scratch.add(a.components[q]) }
                        for q in cb..<(cb + kb) { scratch.add(b.components[q]) }
                        out.componentCounts.append(UInt8(scratch.drainExpansion(into: &out.components)))
                    }
                    ca += ka
                    cb += kb
                }
                ea += na
                eb += nb
                i += 1; j += 1
            }
        }
        return out
    }

    /// Subjects and events over all strata.
    public var subjects: Int { strata.reduce(0) { $0 + $1.subjects.reduce(0, +) } }
    public var events: Int { strata.reduce(0) { $0 + $1.deaths.reduce(0, +) } }

    /// Walks a stratum's times from the latest to the earliest, giving each time's entry values (the correctly
    /// rounded exact sums) in `values` (length ≥ `2m + p`).
    func forEachTimeDescending(
        _ s: Stratum, _ body: (_ k: Int, _ values: UnsafeMutableBufferPointer<Double>) -> Void
    ) {
        let p = covariateCount
        let m = Self.riskEntryCount(p)
        // Entry and component start of each time (forward pass).
        var entryStart = [Int](repeating: 0, count: s.times.count + 1)
        var componentStart = [Int](repeating: 0, count: s.times.count + 1)
        var e = 0, c = 0
        for k in s.times.indices {
            entryStart[k] = e
            componentStart[k] = c
            let n = Self.entryCount(p: p, deaths: s.deaths[k], ties: ties)
            for q in e..<(e + n) { c += Int(s.componentCounts[q]) }
            e += n
        }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * m + p) { values in
            for k in stride(from: s.times.count - 1, through: 0, by: -1) {
                let n = Self.entryCount(p: p, deaths: s.deaths[k], ties: ties)
                var c = componentStart[k]
                for q in 0..<n {
                    let count = Int(s.componentCounts[entryStart[k] + q])
                    values[q] = count > 0 ? s.components[c] : 0
                    c += count
                }
                body(k, values)
            }
        }
    }

    /// The log partial likelihood, score and information at ``beta`` from (merged) statistics.
    ///
    /// Risk-set sums are accumulated over times from the latest to the earliest in `Double` (deterministic:
    /// the order is fixed by the merged statistics). At a time with `d` deaths, risk sums `R0, R1, R2` and
    /// death sums `D0, D1, D2`: Breslow adds `Σx̃β − d·log R0` to the log-likelihood, `Σx̃ − d·R1/R0` to the
    /// score and `d·(R2/R0 − R1R1ᵀ/R0²)` to the information; Efron uses, for `l = 0…d−1` and `f = l/d`,
    /// the denominators `R0 − f·D0` (and likewise for `R1`, `R2`). Strata add up.
    public func likelihood() -> CoxLikelihood {
        let p = covariateCount
        let m = Self.riskEntryCount(p)
        var ll = 0.0
        var score = [Double](repeating: 0, count: p)
        var info = [Double](repeating: 0, count: p * p)
        var r1 = [Double](repeating: 0, count: p), r2 = [Double](repeating: 0, count: m - 1 - p)
        var a1 = r1, a2 = r2
        for s in strata {
            var r0 = 0.0
            for q in r1.indices { r1[q] = 0 }
            for q in r2.indices { r2[q] = 0 }
            forEachTimeDescending(s) { k, v in
                r0 += v[0]
                for j in 0..<p { r1[j] += v[1 + j] }
                for q in 0..<(m - 1 - p) { r2[q] += v[1 + p + q] }
                let d = s.deaths[k]
                if d == 0 { return }
                for j in 0..<p {
                    ll += v[m + j] * beta[j]
                    score[j] += v[m + j]
                }
                let efronTerms = ties == .efron && d > 1 ? d : 1
                let weight = ties == .efron && d > 1 ? 1.0 : Double(d)
                for l in 0..<efronTerms {
                    let f = efronTerms == 1 ? 0 : Double(l) / Double(d)
                    let den: Double
                    if f == 0 {
                        den = r0
                        for j in 0..<p { a1[j] = r1[j] }
                        for q in 0..<(m - 1 - p) { a2[q] = r2[q] }
                    } else {
                        let dm = m + p
                        den = r0 - f * v[dm]
                        for j in 0..<p { a1[j] = r1[j] - f * v[dm + 1 + j] }
                        for q in 0..<(m - 1 - p) { a2[q] = r2[q] - f * v[dm + 1 + p + q] }
                    }
                    ll -= weight * Foundation.log(den)
                    var q = 0
                    for j in 0..<p {
                        let mj = a1[j] / den
                        score[j] -= weight * mj
                        for kk in j..<p {
                            let add = weight * (a2[q] / den - mj * (a1[kk] / den))
                            info[j * p + kk] += add
                            q += 1
                        }
                    }
                }
            }
        }
        for j in 0..<p { for k in 0..<j { info[j * p + k] = info[k * p + j] } }
        return CoxLikelihood(logLikelihood: ll, score: score, information: info, subjects: subjects, events: events)
    }

    /// The per-stratum quantities shards need to compute score residuals at this ``beta`` (robust pass).
    public func residualBasis() -> CoxResidualBasis {
        let p = covariateCount
        let m = Self.riskEntryCount(p)
        var out: [CoxResidualBasis.Stratum] = []
        for s in strata {
            // Collected latest-first, reversed at the end.
            var times: [Double] = [], a: [Double] = [], b: [Double] = [], ownA: [Double] = [], ownB: [Double] = []
            var mean: [Double] = []
            var r0 = 0.0
            var r1 = [Double](repeating: 0, count: p)
            var ml = [Double](repeating: 0, count: p)
            forEachTimeDescending(s) { k, v in
                r0 += v[0]
                for j in 0..<p { r1[j] += v[1 + j] }
                let d = s.deaths[k]
                if d == 0 { return }
                let terms = ties == .efron && d > 1 ? d : 1
                var ak = 0.0, aOwn = 0.0
                var bk = [Double](repeating: 0, count: p), bOwn = bk, mk = bk
                for l in 0..<terms {
                    let f = terms == 1 ? 0 : Double(l) / Double(d)
                    let den = f == 0 ? r0 : r0 - f * v[m + p]
                    for j in 0..<p { ml[j] = (f == 0 ? r1[j] : r1[j] - f * v[m + p + 1 + j]) / den }
                    if terms == 1 {
                        // Breslow (or a single death): d deaths share one denominator.
                        let w = Double(d) / den
                        ak += w; aOwn += w
                        for j in 0..<p { bk[j] += w * ml[j]; bOwn[j] += w * ml[j]; mk[j] = ml[j] }
                    } else {
                        let own = (1 - f) / den
                        ak += 1 / den
                        aOwn += own
                        for j in 0..<p {
                            bk[j] += ml[j] / den
                            bOwn[j] += own * ml[j]
                            mk[j] += ml[j] / Double(d)
                        }
                    }
                }
                times.append(s.times[k]); a.append(ak); ownA.append(aOwn)
                b.append(contentsOf: bk); ownB.append(contentsOf: bOwn); mean.append(contentsOf: mk)
            }
            let n = times.count
            var st = CoxResidualBasis.Stratum(label: s.label)
            st.deathTimes = times.reversed()
            st.hazardA = a.reversed()
            st.ownA = ownA.reversed()
            st.hazardB = [Double](repeating: 0, count: n * p)
            st.ownB = st.hazardB
            st.deathMean = st.hazardB
            for k in 0..<n {
                for j in 0..<p {
                    st.hazardB[k * p + j] = b[(n - 1 - k) * p + j]
                    st.ownB[k * p + j] = ownB[(n - 1 - k) * p + j]
                    st.deathMean[k * p + j] = mean[(n - 1 - k) * p + j]
                }
            }
            // Prefix sums over earlier death times.
            st.cumulativeA = [Double](repeating: 0, count: n + 1)
            st.cumulativeB = [Double](repeating: 0, count: (n + 1) * p)
            for k in 0..<n {
                st.cumulativeA[k + 1] = st.cumulativeA[k] + st.hazardA[k]
                for j in 0..<p { st.cumulativeB[(k + 1) * p + j] = st.cumulativeB[k * p + j] + st.hazardB[k * p + j] }
            }
            out.append(st)
        }
        return CoxResidualBasis(covariateCount: p, ties: ties, beta: beta, center: center, strata: out)
    }
}

/// Log partial likelihood, score vector and observed information (row-major `p×p`) at one β.
public struct CoxLikelihood: Sendable, Equatable {
    public var logLikelihood: Double
    public var score: [Double]
    public var information: [Double]
    public var subjects: Int
    public var events: Int
}

/// What the coordinator broadcasts for the robust (sandwich) pass: per stratum and death time, the
/// increments that define the score residuals at the final β.
///
/// Score residual of subject `i` (time `tᵢ`, event `δᵢ`, centered covariates `x̃ᵢ`, weight `wᵢ = exp(x̃ᵢβ)`):
/// `rᵢ = δᵢ (x̃ᵢ − x̄ᵢ) − wᵢ (x̃ᵢ·A − B)` where, over death times `t_k < tᵢ`, `A = Σ a_k`, `B = Σ b_k`, plus at
/// `t_k = tᵢ` the subject's own term (`a'_k, b'_k` if it died there, else `a_k, b_k`). Breslow:
/// `a_k = d/R0`, `b_k = d·x̄_k/R0`, own = the same, `x̄ᵢ = R1/R0`. Efron (d tied deaths, `l = 0…d−1`,
/// `f = l/d`, `den_l = R0 − f·D0`, `m_l = (R1 − f·D1)/den_l`): `a = Σ 1/den_l`, `b = Σ m_l/den_l`,
/// `a' = Σ (1−f)/den_l`, `b' = Σ (1−f) m_l/den_l`, `x̄ = mean_l m_l` — the Efron score residuals of R
/// `residuals.coxph(type = "score")`. With no tied deaths both reduce to the Lin–Wei (1989) residuals.
public struct CoxResidualBasis: Codable, Sendable, Equatable {
    public struct Stratum: Codable, Sendable, Equatable {
        public var label: String
        public var deathTimes: [Double] = []
        public var hazardA: [Double] = []
        public var hazardB: [Double] = []
        public var ownA: [Double] = []
        public var ownB: [Double] = []
        public var deathMean: [Double] = []
        public var cumulativeA: [Double] = [0]
        public var cumulativeB: [Double] = []

        public init(label: String) { self.label = label }

        /// Writes the score residual of one subject into `out`.
        func residual(
            time t: Double, died: Bool, x: [Double], row: Int, p: Int, beta: [Double], center: [Double],
            xt: inout [Double], into out: inout [Double]
        ) {
            var eta = 0.0
            for j in 0..<p {
                let v = x[row * p + j] - center[j]
                xt[j] = v
                eta += v * beta[j]
            }
            let w = Foundation.exp(eta)
            // Number of death times < t.
            var lo = 0, hi = deathTimes.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if deathTimes[mid] < t { lo = mid + 1 } else { hi = mid }
            }
            let before = lo
            let match = before < deathTimes.count && deathTimes[before] == t
            var a = cumulativeA.count > before ? cumulativeA[before] : 0
            if match { a += died ? ownA[before] : hazardA[before] }
            for j in 0..<p {
                var b = cumulativeB.count > before * p + j ? cumulativeB[before * p + j] : 0
                if match { b += died ? ownB[before * p + j] : hazardB[before * p + j] }
                var r = -w * (xt[j] * a - b)
                if died && match { r += xt[j] - deathMean[before * p + j] }
                out[j] = r
            }
        }
    }

    public var covariateCount: Int
    public var ties: CoxTies
    public var beta: [Double]
    public var center: [Double]
    public var strata: [Stratum]
}

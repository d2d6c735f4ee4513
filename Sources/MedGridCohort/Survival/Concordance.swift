public import MedGridCore

/// Harrell's concordance index, counted as lifelines 0.30 `utils.concordance_index` does.
///
/// Conventions:
/// - `predictedScore` is "higher = longer survival" (lifelines' convention; for a Cox model pass `−x·β`).
/// - A pair (i, j) is comparable when `t_i < t_j` and subject i had the event, or `t_i == t_j` and exactly one
///   of them had the event (the one with the event counts as the shorter survival). Pairs with equal times
///   where both had the event, or where neither did, are not comparable.
/// - A comparable pair is concordant when the shorter survival has the smaller score; a pair with equal scores
///   counts 1/2. `value = (concordant + tied/2) / comparable`.
/// - `O(n log n)`: one sweep over the distinct times from the latest, with a Fenwick tree over score ranks.
///   Counts are exact integers, so the result does not depend on row order.
public struct ConcordanceIndex: Sendable, Equatable {
    public let concordant: Int
    public let tiedScores: Int
    public let comparable: Int
    public let value: Double

    /// - Parameter stratum: if given, only pairs within the same stratum are compared and the counts are
    ///   summed over strata (lifelines' `CoxPHFitter.concordance_index_` for a stratified model).
    /// - Throws: `invalidInput` on unequal counts, non-finite times or scores, or when no pair is comparable.
    public init(time: [Double], predictedScore: [Double], event: [Bool], stratum: [String]? = nil) throws {
        try SurvivalInput.validate(time: time, event: event)
        try SurvivalInput.validateLabels(stratum, count: time.count, field: "stratum")
        guard predictedScore.count == time.count else {
            throw MedGridError(
                .invalidInput,
                "predictedScore has \(predictedScore.count) values but time has \(time.count); expected equal counts"
            )
        }
        var concordant = 0, tied = 0, comparable = 0
        if let stratum {
            var rows: [String: [Int]] = [:]
            for (i, s) in stratum.enumerated() { rows[s, default: []].append(i) }
            for key in rows.keys.sorted() {
                let idx = rows[key]!
                let c = try Self.counts(idx.map { time[$0] }, idx.map { predictedScore[$0] }, idx.map { event[$0] })
                concordant += c.0
                tied += c.1
                comparable += c.2
            }
        } else {
            (concordant, tied, comparable) = try Self.counts(time, predictedScore, event)
        }
        guard comparable > 0 else {
            throw MedGridError(.invalidInput, "concordance index: no comparable pairs (no event before another time)")
        }
        self.concordant = concordant
        self.tiedScores = tied
        self.comparable = comparable
        value = (Double(concordant) + Double(tied) / 2) / Double(comparable)
    }

    /// (concordant, tied, comparable) counts of one set of rows.
    static func counts(_ time: [Double], _ predictedScore: [Double], _ event: [Bool]) throws -> (Int, Int, Int) {
        for (i, s) in predictedScore.enumerated() where !s.isFinite {
            throw MedGridError(.invalidInput, "predictedScore[\(i)] is \(s); expected a finite score")
        }
        let n = time.count
        // Dense ranks of the scores (1-based).
        let byScore = (0..<n).sorted { predictedScore[$0] < predictedScore[$1] }
        var rank = [Int](repeating: 0, count: n)
        var r = 0
        for (k, i) in byScore.enumerated() {
            if k == 0 || predictedScore[i] != predictedScore[byScore[k - 1]] { r += 1 }
            rank[i] = r
        }
        let ranks = r
        var tree = [Int](repeating: 0, count: ranks + 1)
        func insert(_ x: Int) {
            var i = x
            while i <= ranks { tree[i] += 1; i += i & -i }
        }
        func countAtMost(_ x: Int) -> Int {
            var i = x, s = 0
            while i > 0 { s += tree[i]; i -= i & -i }
            return s
        }
        let byTime = (0..<n).sorted { time[$0] < time[$1] }
        var inserted = 0
        var concordant = 0, tied = 0, comparable = 0
        var end = n
        var censoredRanks: [Int] = []
        while end > 0 {
            var start = end - 1
            while start > 0 && time[byTime[start - 1]] == time[byTime[end - 1]] { start -= 1 }
            censoredRanks.removeAll(keepingCapacity: true)
            for k in start..<end where !event[byTime[k]] { censoredRanks.append(rank[byTime[k]]) }
            censoredRanks.sort()
            for k in start..<end where event[byTime[k]] {
                let ri = rank[byTime[k]]
                let atMost = countAtMost(ri), below = countAtMost(ri - 1)
                comparable += inserted
                concordant += inserted - atMost
                tied += atMost - below
                if !censoredRanks.isEmpty {
                    let firstNotBelow = Self.lowerBound(censoredRanks, ri)
                    let firstAbove = Self.lowerBound(censoredRanks, ri + 1)
                    comparable += censoredRanks.count
                    concordant += censoredRanks.count - firstAbove
                    tied += firstAbove - firstNotBelow
                }
            }
            for k in start..<end { insert(rank[byTime[k]]) }
            inserted += end - start
            end = start
        }
        return (concordant, tied, comparable)
    }

    static func lowerBound(_ a: [Int], _ x: Int) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Counts, value and the convention.
    public func json() -> JSONValue {
        .object([
            "statistic": .string("harrell-c"),
            "score_direction": .string("higher score = longer survival"),
            "tie_rule": .string("tied scores count 1/2; tied times comparable only if exactly one event"),
            "concordant": .int(concordant), "tied_scores": .int(tiedScores), "comparable": .int(comparable),
            "value": .number(value),
        ])
    }
}

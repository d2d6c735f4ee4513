import Foundation

/// A (task, metric) matrix after the missing-case policy: values row-major K × n, NaN where the policy leaves a
/// value missing.
struct PreparedScores: Sendable {
    var algorithmCount: Int
    var caseCount: Int
    var values: [Double]
    /// The value that replaced missing ones (worst observed or the constant), if any replacement happened.
    var imputedValue: Double?
    /// rank-then-mean with the "worst" policy: a missing algorithm gets rank K in that case.
    var lastRankForMissing: Bool

    init(_ m: ScoreMatrix, settings: RankingSettings) {
        algorithmCount = m.algorithmCount
        caseCount = m.caseCount
        values = m.values
        imputedValue = nil
        lastRankForMissing = false
        let hasMissing = values.contains { $0.isNaN }
        switch settings.missing {
        case .excluded:
            break
        case .constant(let c):
            if hasMissing { imputedValue = c }
            for i in values.indices where values[i].isNaN { values[i] = c }
        case .worst:
            if settings.scheme == .rankThenMean {
                lastRankForMissing = true
            } else {
                let observed = values.filter { !$0.isNaN }
                if let w = settings.smallerIsBetter ? observed.max() : observed.min(), hasMissing {
                    imputedValue = w
                    for i in values.indices where values[i].isNaN { values[i] = w }
                }
            }
        }
    }
}

/// One pairwise test of the test-then-rank scheme.
struct PairTest: Sendable {
    var a: Int
    var b: Int
    var result: WilcoxonResult
    var adjusted: Double
}

/// Computes one scheme's scores and ranks on a K × n matrix; holds scratch buffers so that repeated calls
/// (bootstrap replicates) do not allocate per element. Not shared between threads.
struct RankingEngine {
    let settings: RankingSettings
    let lastRankForMissing: Bool
    let k: Int
    private var column: [Double]
    private var order: [Int]
    private var columnRanks: [Int]
    private var rowScratch: [Double]
    private var diffs: [Double]
    var scores: [Double]
    var ranks: [Int]
    var used: [Int]

    init(settings: RankingSettings, algorithmCount k: Int, caseCount n: Int, lastRankForMissing: Bool) {
        self.settings = settings
        self.lastRankForMissing = lastRankForMissing
        self.k = k
        column = [Double](repeating: 0, count: k)
        order = [Int](repeating: 0, count: k)
        columnRanks = [Int](repeating: 0, count: k)
        rowScratch = [Double](repeating: 0, count: n)
        diffs = [Double](repeating: 0, count: n)
        scores = [Double](repeating: .nan, count: k)
        ranks = [Int](repeating: 0, count: k)
        used = [Int](repeating: 0, count: k)
    }

    /// Scores and ranks algorithms on `values` (K × n, row-major, NaN = missing). Returns the pairwise tests
    /// when the scheme is test-then-rank and `keepTests` is set.
    @discardableResult
    mutating func run(_ values: [Double], caseCount n: Int, keepTests: Bool = false) -> [PairTest] {
        var tests: [PairTest] = []
        if rowScratch.count < n {
            rowScratch = [Double](repeating: 0, count: n)
            diffs = [Double](repeating: 0, count: n)
        }
        switch settings.scheme {
        case .meanThenRank, .medianThenRank:
            for a in 0..<k {
                var m = 0
                var sum = 0.0
                for c in 0..<n {
                    let v = values[a * n + c]
                    if v.isNaN { continue }
                    rowScratch[m] = v
                    sum += v
                    m += 1
                }
                used[a] = m
                if m == 0 {
                    scores[a] = .nan
                } else if settings.scheme == .meanThenRank {
                    scores[a] = sum / Double(m)
                } else {
                    rowScratch.withUnsafeMutableBufferPointer { buf in
                        var s = UnsafeMutableBufferPointer(rebasing: buf[0..<m])
                        s.sort()
                        scores[a] = m % 2 == 1 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2
                    }
                }
            }
            RankStatistics.minRanks(scores, smallerIsBetter: settings.smallerIsBetter, order: &order, into: &ranks)
        case .rankThenMean:
            var sums = [Double](repeating: 0, count: k)
            for a in 0..<k { used[a] = 0 }
            for c in 0..<n {
                for a in 0..<k { column[a] = values[a * n + c] }
                RankStatistics.minRanks(column, smallerIsBetter: settings.smallerIsBetter, order: &order, into: &columnRanks)
                for a in 0..<k {
                    if column[a].isNaN {
                        if lastRankForMissing {
                            sums[a] += Double(k)
                            used[a] += 1
                        }
                    } else {
                        sums[a] += Double(columnRanks[a])
                        used[a] += 1
                    }
                }
            }
            for a in 0..<k { scores[a] = used[a] > 0 ? sums[a] / Double(used[a]) : .nan }
            RankStatistics.minRanks(scores, smallerIsBetter: true, order: &order, into: &ranks)
        case .testThenRank:
            let alternative: TestAlternative = settings.smallerIsBetter ? .less : .greater
            // One signed-rank summary per unordered pair; the reverse direction is its mirror
            // (negated differences: same ties, V' = n(n+1)/2 − V).
            var summaries = [RankStatistics.SignedRankSummary?](repeating: nil, count: k * k)
            for a in 0..<k {
                used[a] = 0
                for c in 0..<n where !values[a * n + c].isNaN { used[a] += 1 }
            }
            for a in 0..<k {
                for b in (a + 1)..<max(k, a + 1) {
                    var m = 0
                    for c in 0..<n {
                        let va = values[a * n + c], vb = values[b * n + c]
                        if va.isNaN || vb.isNaN { continue }
                        diffs[m] = va - vb
                        m += 1
                    }
                    let summary = RankStatistics.signedRankSummary(differences: &diffs, count: m)
                    summaries[a * k + b] = summary
                    summaries[b * k + a] = summary.mirrored
                }
            }
            var raw = [Double]()
            raw.reserveCapacity(k * max(k - 1, 0))
            var pairs: [(Int, Int, WilcoxonResult)] = []
            for a in 0..<k {
                for b in 0..<k where b != a {
                    guard let summary = summaries[a * k + b] else { continue }
                    let r = summary.result(alternative)
                    raw.append(r.pValue)
                    if keepTests { pairs.append((a, b, r)) }
                }
            }
            let adjusted = settings.adjustment == .holm ? RankStatistics.holm(raw) : raw
            var wins = [Int](repeating: 0, count: k)
            var idx = 0
            for a in 0..<k {
                for b in 0..<k where b != a {
                    if adjusted[idx] < settings.alpha { wins[a] += 1 }
                    idx += 1
                }
            }
            for a in 0..<k { scores[a] = k > 1 ? Double(wins[a]) / Double(k - 1) : 0 }
            RankStatistics.minRanks(scores, smallerIsBetter: false, order: &order, into: &ranks)
            if keepTests {
                tests = pairs.enumerated().map { PairTest(a: $1.0, b: $1.1, result: $1.2, adjusted: adjusted[$0]) }
            }
        }
        return tests
    }
}

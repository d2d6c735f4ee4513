public import MedGridCore

/// The area under the ROC curve with DeLong's variance and a normal confidence interval.
///
/// Conventions:
/// - AUC is the Mann–Whitney probability `P(score_pos > score_neg) + ½·P(score_pos = score_neg)`, computed
///   from mid-ranks (ties count one half) — the same value as scikit-learn `roc_auc_score`. Higher scores mean
///   "more likely an event" (outcome 1).
/// - Variance: DeLong, DeLong & Clarke-Pearson (1988). With `m` positives and `n` negatives, the structural
///   components are `V10(i) = (1/n) Σⱼ ψ(Xᵢ, Yⱼ)` for each positive and `V01(j) = (1/m) Σᵢ ψ(Xᵢ, Yⱼ)` for each
///   negative (ψ = 1, ½, 0 for >, =, <); `var = S10/m + S01/n` with `S10`, `S01` their sample variances
///   (denominators m − 1 and n − 1). Computed in O(N log N) from mid-ranks (Sun & Xu 2014): `V10(i) =
///   (R(i) − Rpos(i))/n`, `V01(j) = 1 − (R(j) − Rneg(j))/m`, with R the mid-rank among all scores and Rpos/Rneg
///   the mid-rank within the class. This equals R pROC's `var(roc, method="delong")`.
/// - CI: `AUC ± z·SE`, `z = Φ⁻¹(1 − (1 − level)/2)`, clipped to [0, 1] (as pROC does).
public struct ROCAUC: Sendable, Hashable, Codable {
    public var auc: Double
    public var variance: Double
    public var standardError: Double
    public var confidenceLevel: Double
    public var lower: Double
    public var upper: Double
    public var positives: Int
    public var negatives: Int

    /// - Throws: ``CohortError`` `invalidArgument` if the lengths differ, a score is not finite, an outcome is
    ///   not 0/1, either class has fewer than 2 rows (the DeLong variance needs 2), or the level is not in (0, 1).
    public static func compute(scores: [Double], outcome: [Double], confidenceLevel: Double = 0.95) throws -> ROCAUC {
        guard scores.count == outcome.count else {
            throw CohortError(file: "<roc>", code: .invalidArgument, message: "\(scores.count) scores but \(outcome.count) outcomes")
        }
        guard confidenceLevel > 0, confidenceLevel < 1 else {
            throw CohortError(file: "<roc>", code: .invalidArgument, message: "confidence level \(confidenceLevel) (expected 0 < level < 1)")
        }
        for (i, s) in scores.enumerated() where !s.isFinite {
            throw CohortError(file: "<roc>", row: i + 1, code: .invalidValue, message: "score \(s) is not finite")
        }
        for (i, y) in outcome.enumerated() where y != 0 && y != 1 {
            throw CohortError(file: "<roc>", row: i + 1, code: .invalidValue, message: "outcome \(y) (expected 0 or 1)")
        }
        let positives = scores.indices.filter { outcome[$0] == 1 }.map { scores[$0] }
        let negatives = scores.indices.filter { outcome[$0] == 0 }.map { scores[$0] }
        let m = positives.count, n = negatives.count
        guard m >= 2, n >= 2 else {
            throw CohortError(file: "<roc>", code: .invalidArgument, message: "\(m) positives and \(n) negatives (the DeLong variance needs at least 2 of each)")
        }
        let all = positives + negatives
        let rankAll = midRanks(all)
        let rankPos = midRanks(positives)
        let rankNeg = midRanks(negatives)
        var v10 = [Double](repeating: 0, count: m)
        var v01 = [Double](repeating: 0, count: n)
        var rankSum = ExactSum()
        for i in 0..<m {
            v10[i] = (rankAll[i] - rankPos[i]) / Double(n)
            rankSum.add(rankAll[i])
        }
        for j in 0..<n { v01[j] = 1 - (rankAll[m + j] - rankNeg[j]) / Double(m) }
        // AUC = (ΣR_pos − m(m+1)/2) / (m n); the rank sum is exact (half-integers).
        var numerator = rankSum
        numerator.add(-Double(m) * Double(m + 1) / 2)
        let auc = numerator.value / (Double(m) * Double(n))
        var s10 = ExactSum(), s01 = ExactSum()
        for x in v10 { s10.add((x - auc) * (x - auc)) }
        for x in v01 { s01.add((x - auc) * (x - auc)) }
        let variance = s10.value / Double(m - 1) / Double(m) + s01.value / Double(n - 1) / Double(n)
        let se = variance.squareRoot()
        let z = Special.normalQuantile(1 - (1 - confidenceLevel) / 2)
        return ROCAUC(
            auc: auc, variance: variance, standardError: se, confidenceLevel: confidenceLevel,
            lower: max(0, auc - z * se), upper: min(1, auc + z * se), positives: m, negatives: n
        )
    }

    /// 1-based mid-ranks of `x` (tied values share the average of their ranks).
    static func midRanks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] || (x[$0] == x[$1] && $0 < $1) }
        var ranks = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, x[order[j + 1]] == x[order[i]] { j += 1 }
            let mid = Double(i + j + 2) / 2
            for k in i...j { ranks[order[k]] = mid }
            i = j + 1
        }
        return ranks
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "auc": .number(auc), "variance": .number(variance), "standard_error": .number(standardError),
            "confidence_level": .number(confidenceLevel), "ci_lower": .number(lower), "ci_upper": .number(upper),
            "positives": .int(positives), "negatives": .int(negatives),
            "auc_definition": "Mann-Whitney, ties count 1/2", "variance_method": "DeLong 1988 (sample variances, n-1)",
            "ci_method": "normal, AUC +/- z*SE, clipped to [0, 1]",
        ]
    }
}

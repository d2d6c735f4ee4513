import Foundation
import MedGridCohort
import MedGridCore
import Testing

@Suite struct ModelEvaluationTests {
    @Test(arguments: ["mle", "rounded"])
    func rocAUCAndDeLongMatchReference(key: String) throws {
        let ref = try ModelRef.json("models/roc.json")
        let case_ = try #require(ref[key])
        let outcome = ModelRef.doubles(ref["outcome"])
        let roc = try ROCAUC.compute(scores: ModelRef.doubles(case_["scores"]), outcome: outcome)
        let sk = try #require(case_["roc_auc_score"]?.doubleValue)
        #expect(abs(roc.auc - sk) <= 1e-12)
        let se = try #require(case_["se"]?.doubleValue)
        #expect(abs(roc.standardError - se) <= 1e-8)
        #expect(ModelRef.relativeError(roc.variance, try #require(case_["variance"]?.doubleValue)) < 1e-9)
        #expect(abs(roc.lower - (try #require(case_["lower"]?.doubleValue))) <= 1e-8)
        #expect(abs(roc.upper - (try #require(case_["upper"]?.doubleValue))) <= 1e-8)
        #expect(roc.positives == 357 && roc.negatives == 212)
    }

    @Test func rocHandWorkedExampleWithTies() throws {
        // Positives {0.9, 0.5, 0.5}, negatives {0.5, 0.1}: pairs (>,>), (=,>), (=,>) → (2 + 0.5 + 0.5 + 2)/6 … 
        // ψ: 0.9 beats both (2), each 0.5 ties 0.5 (0.5) and beats 0.1 (1) → (2 + 1.5 + 1.5)/6 = 5/6.
        let roc = try ROCAUC.compute(scores: [0.9, 0.5, 0.5, 0.5, 0.1], outcome: [1, 1, 1, 0, 0])
        #expect(abs(roc.auc - 5.0 / 6.0) <= 1e-15)
        // DeLong by hand: V10 = (1, 0.75, 0.75), V01 = (2/3, 1); S10 = 1/48, S01 = 1/18 → var = 1/144 + 1/36.
        #expect(abs(roc.variance - (1.0 / 144 + 1.0 / 36)) <= 1e-15)
        #expect(throws: CohortError.self) { try ROCAUC.compute(scores: [1, 2, 3], outcome: [1, 0, 0]) }
        #expect(throws: CohortError.self) { try ROCAUC.compute(scores: [1, .nan, 3, 4], outcome: [1, 0, 0, 1]) }
    }

    @Test func calibrationMatchesStatsmodelsAndScipy() throws {
        let ref = try ModelRef.json("models/calibration.json")
        let cal = try CalibrationSummary.compute(predicted: ModelRef.doubles(ref["predicted"]), outcome: ModelRef.doubles(ref["outcome"]))
        #expect(abs(cal.observedMinusExpected - (try #require(ref["observed_minus_expected"]?.doubleValue))) <= 1e-14)
        #expect(ModelRef.relativeError(cal.calibrationIntercept, try #require(ref["calibration_intercept"]?.doubleValue)) < 1e-6)
        #expect(ModelRef.relativeError(cal.calibrationSlope, try #require(ref["calibration_slope"]?.doubleValue)) < 1e-6)
        #expect(ModelRef.relativeError(cal.slopeModelIntercept, try #require(ref["slope_intercept"]?.doubleValue)) < 1e-6)
        let bins = try #require(ref["bins"]?.arrayValue)
        try #require(bins.count == cal.bins.count)
        for (b, r) in zip(cal.bins, bins) {
            #expect(b.count == r["count"]?.intValue)
            #expect(b.observed == r["observed"]?.doubleValue)
            #expect(abs(b.expected - (r["expected"]?.doubleValue ?? .nan)) <= 1e-12)
        }
        #expect(ModelRef.relativeError(cal.hosmerLemeshow, try #require(ref["hosmer_lemeshow"]?.doubleValue)) < 1e-12)
        #expect(cal.degreesOfFreedom == 8)
        #expect(ModelRef.relativeError(cal.hosmerLemeshowPValue, try #require(ref["p_value"]?.doubleValue)) < 1e-10)
        #expect(throws: CohortError.self) { try CalibrationSummary.compute(predicted: [0, 0.5, 0.5], outcome: [0, 1, 1], groups: 3) }
    }

    @Test func stratifiedFoldsAreStratifiedAndSeeded() throws {
        let (data, _) = try ModelRef.breastCancer(["mean_radius"])
        for seed: UInt64 in [1, 2, 99] {
            for k in [2, 5, 10] {
                let folds = try CrossValidationFolds.stratified(outcome: data.outcome, folds: k, seed: seed)
                for cls in [0.0, 1.0] {
                    var counts = [Int](repeating: 0, count: k)
                    for (r, f) in folds.assignment.enumerated() where data.outcome[r] == cls { counts[f] += 1 }
                    #expect(counts.max()! - counts.min()! <= 1, "seed \(seed) k \(k) class \(cls)")
                }
                var sizes = [Int](repeating: 0, count: k)
                for f in folds.assignment { sizes[f] += 1 }
                #expect(sizes.max()! - sizes.min()! <= 1)
            }
        }
        let a = try CrossValidationFolds.stratified(outcome: data.outcome, folds: 5, seed: 3)
        let b = try CrossValidationFolds.stratified(outcome: data.outcome, folds: 5, seed: 3)
        let c = try CrossValidationFolds.stratified(outcome: data.outcome, folds: 5, seed: 4)
        #expect(a == b)
        #expect(a.assignment != c.assignment)
        #expect(throws: CohortError.self) { try CrossValidationFolds(assignment: [0, 0, 1], foldCount: 3) }
    }

    @Test func crossValidatedAUCMatchesScikitLearnPipeline() throws {
        let ref = try ModelRef.json("models/crossval.json")
        let (data, _) = try ModelRef.breastCancer()
        let folds = try CrossValidationFolds(assignment: ModelRef.ints(ref["folds"]), foldCount: 5)
        let cv = try CrossValidatedAUC.logistic(data, folds: folds, settings: .scikitLearn(C: 1), standardisation: .population)
        let expected = ModelRef.doubles(ref["fold_aucs"])
        try #require(expected.count == cv.foldAUCs.count)
        for f in expected.indices { #expect(abs(cv.foldAUCs[f] - expected[f]) <= 1e-12, "fold \(f)") }
        #expect(abs(cv.meanAUC - (try #require(ref["mean_auc"]?.doubleValue))) <= 1e-12)
        #expect(cv.outOfFoldPredictions.allSatisfy { $0 > 0 && $0 < 1 })
        let json = cv.json()
        #expect(json["standardisation"]?.stringValue == "population")
        #expect(json["folds"]?["method"]?.stringValue == "explicit")
    }

    @Test func xoshiroIsDeterministicAndRoughlyUniform() {
        var a = Xoshiro256StarStar(seed: 12345), b = Xoshiro256StarStar(seed: 12345)
        var sum = 0.0
        var below = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 {
            let u = a.unit()
            #expect(u == b.unit())
            sum += u
            below[a.below(7)] += 1
            _ = b.below(7)
        }
        #expect(abs(sum / 70_000 - 0.5) < 0.01)
        #expect(below.allSatisfy { abs($0 - 10_000) < 500 })
        // First output for seed 0 (SplitMix64 expansion of 0, then xoshiro256**), fixed forever.
        var z = Xoshiro256StarStar(seed: 0)
        #expect(z.next() == Self.firstOutputSeed0)
    }

    /// Computed independently in Python from the published SplitMix64 and xoshiro256** algorithms.
    static let firstOutputSeed0: UInt64 = 0x99EC_5F36_CB75_F2B4
}

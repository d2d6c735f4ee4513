import Foundation
import MedGridCohort
import MedGridCore
import Testing

@Suite struct ModelLogisticTests {
    @Test func maximumLikelihoodMatchesStatsmodels() throws {
        let ref = try ModelRef.json("models/logistic_mle.json")
        let features = (ref["features"]?.arrayValue ?? []).compactMap(\.stringValue)
        let (data, names) = try ModelRef.breastCancer(features)
        let model = try LogisticModel.fit(data, featureNames: names)
        #expect(model.converged)
        let params = ModelRef.doubles(ref["params"]), bse = ModelRef.doubles(ref["bse"])
        let z = ModelRef.doubles(ref["z"]), p = ModelRef.doubles(ref["p"])
        try #require(params.count == model.coefficients.count)
        for j in params.indices {
            #expect(ModelRef.relativeError(model.coefficients[j], params[j]) < 1e-6, "coef \(j)")
            #expect(ModelRef.relativeError(model.standardErrors[j], bse[j]) < 1e-6, "se \(j)")
            #expect(ModelRef.relativeError(model.zValues[j], z[j]) < 1e-6, "z \(j)")
            #expect(ModelRef.relativeError(model.pValues[j], p[j]) < 1e-5, "p \(j)")
        }
        let llf = try #require(ref["llf"]?.doubleValue)
        #expect(ModelRef.relativeError(model.logLikelihood, llf) < 1e-10)
        #expect(model.parameterNames.first == "(Intercept)")
        #expect(model.rowCount == 569)
        #expect(model.events == 357)
    }

    @Test func penalisedMatchesScikitLearn() throws {
        let ref = try ModelRef.json("models/logistic_l2.json")
        let (raw, names) = try ModelRef.breastCancer()
        let scaler = try Standardisation.fit(raw.features, convention: .population)
        let means = ModelRef.doubles(ref["scaler_mean"]), scales = ModelRef.doubles(ref["scaler_scale"])
        for j in means.indices {
            #expect(ModelRef.relativeError(scaler.means[j], means[j]) < 1e-13)
            #expect(ModelRef.relativeError(scaler.standardDeviations[j], scales[j]) < 1e-12)
        }
        let sample = try Standardisation.fit(raw.features, convention: .sample)
        let sampleSD = ModelRef.doubles(ref["sample_sd"])
        for j in sampleSD.indices { #expect(ModelRef.relativeError(sample.standardDeviations[j], sampleSD[j]) < 1e-12) }
        let data = try BinaryOutcomeData(features: scaler.transform(raw.features), outcome: raw.outcome)
        for fit in ref["fits"]?.arrayValue ?? [] {
            let c = try #require(fit["C"]?.doubleValue)
            let model = try LogisticModel.fit(data, settings: .scikitLearn(C: c), featureNames: names)
            #expect(model.converged)
            let expected = [try #require(fit["intercept"]?.doubleValue)] + ModelRef.doubles(fit["coef"])
            try #require(expected.count == model.coefficients.count)
            for j in expected.indices {
                #expect(ModelRef.relativeError(model.coefficients[j], expected[j]) < 1e-6, "C=\(c) coef \(j)")
            }
        }
    }

    @Test(.enabled(if: ModelRef.exactSumIsExact, "needs the exact ExactSum (the stub is plain +=)"))
    func anyPartitionGivesBitwiseTheSameModel() throws {
        let (raw, names) = try ModelRef.breastCancer()
        let scaler = try Standardisation.fit(raw.features)
        let data = try BinaryOutcomeData(features: scaler.transform(raw.features), outcome: raw.outcome)
        let settings = LogisticSettings.scikitLearn(C: 0.5)
        let one = try LogisticModel.fit(shards: data.shards(1), settings: settings, featureNames: names)
        for k in [3, 7] {
            let other = try LogisticModel.fit(shards: data.shards(k), settings: settings, featureNames: names)
            #expect(ModelRef.bitwiseEqual(other, one), "\(k) shards")
        }
        // Uneven shards, including an empty one, in a different grouping.
        let uneven = [data.rows(0..<1), data.rows(1..<1), data.rows(1..<300), data.rows(300..<569)]
        let unevenModel = try LogisticModel.fit(shards: uneven, settings: settings, featureNames: names)
        #expect(ModelRef.bitwiseEqual(unevenModel, one))
    }

    @Test(.enabled(if: ModelRef.exactSumIsExact, "needs the exact ExactSum (the stub is plain +=)"))
    func distributedProtocolWithCodableStatistics() throws {
        let features = ["mean_radius", "mean_texture", "mean_smoothness"]
        let (data, names) = try ModelRef.breastCancer(features)
        let settings = LogisticSettings()
        let shards = data.shards(4)
        var state = LogisticFitState(parameterCount: 4)
        var rounds = 0
        var merged: LogisticShardStatistics
        repeat {
            // Each "worker" encodes its statistics; the coordinator decodes and merges them in reverse order.
            var encoded: [Data] = []
            for s in shards {
                encoded.append(try JSONEncoder().encode(LogisticShardStatistics(s, coefficients: state.coefficients, fitIntercept: true)))
            }
            merged = LogisticShardStatistics(coefficients: state.coefficients, fitIntercept: true)
            for e in encoded.reversed() { try merged.merge(JSONDecoder().decode(LogisticShardStatistics.self, from: e)) }
            state = try LogisticModel.advance(state, merged: merged, settings: settings)
            rounds += 1
        } while !state.finished && rounds < 200
        let model = try LogisticModel(final: merged, state: state, settings: settings, featureNames: names)
        let direct = try LogisticModel.fit(data, settings: settings, featureNames: names)
        #expect(ModelRef.bitwiseEqual(model, direct))
        #expect(model.converged)
        // Statistics at other coefficients cannot be merged or advanced.
        var a = LogisticShardStatistics(coefficients: [0, 0, 0, 0], fitIntercept: true)
        let b = LogisticShardStatistics(coefficients: [1, 0, 0, 0], fitIntercept: true)
        #expect(throws: CohortError.self) { try a.merge(b) }
    }

    @Test func separationWithoutPenaltyIsReportedNotHidden() throws {
        // Perfectly separated: x < 0 → 0, x > 0 → 1. Unpenalised: no finite optimum.
        let x = try FeatureMatrix(rowCount: 6, columnCount: 1, values: [-3, -2, -1, 1, 2, 3])
        let data = try BinaryOutcomeData(features: x, outcome: [0, 0, 0, 1, 1, 1])
        var diverged = false
        do {
            let m = try LogisticModel.fit(data, settings: LogisticSettings(maxIterations: 50))
            diverged = !m.converged || abs(m.coefficients[1]) > 10
        } catch is CohortError {
            diverged = true
        }
        #expect(diverged)
        // With a penalty the optimum is finite and found.
        let penalised = try LogisticModel.fit(data, settings: .scikitLearn(C: 1))
        #expect(penalised.converged)
        #expect(penalised.coefficients[1] > 0)
    }

    @Test func inputErrorsNameTheProblem() throws {
        let x = try FeatureMatrix(rowCount: 2, columnCount: 1, values: [1, .nan])
        #expect(throws: CohortError.self) { try BinaryOutcomeData(features: x, outcome: [0, 1]) }
        let y = try FeatureMatrix(rowCount: 2, columnCount: 1, values: [1, 2])
        do {
            _ = try BinaryOutcomeData(features: y, outcome: [0, 2])
            Issue.record("expected an error")
        } catch let e as CohortError {
            #expect(e.row == 2)
            #expect(e.description.contains("expected 0 or 1"))
        }
    }

    @Test func jsonNamesEverySetting() throws {
        let (data, names) = try ModelRef.breastCancer(["mean_radius"])
        let model = try LogisticModel.fit(data, settings: .scikitLearn(C: 2), featureNames: names)
        let json = model.json()
        let settings = try #require(json["settings"])
        for key in ["fit_intercept", "l2_penalty", "C", "intercept_penalised", "max_iterations", "tolerance", "max_step_halvings", "method", "objective"] {
            #expect(settings[key] != nil, "\(key)")
        }
        #expect(settings["C"]?.doubleValue == 2)
        #expect(json["coefficients"]?.arrayValue?.count == 2)
    }
}

import Foundation
import MedGridCore
import MedGridCohort

let outcomeParameter = KernelParameter("outcome", .string, "binary outcome expression: COL==v, COL!=v or a 0/1 column, e.g. RESPFL==Y", required: true)
let covariatesParameter = KernelParameter("covariates", .stringList, "numeric feature columns, e.g. AGE,ECOG", required: true)

extension CohortRows {
    var features: FeatureMatrix {
        get throws { try FeatureMatrix(rowCount: event.count, columnCount: covariateNames.count, values: covariates) }
    }
    var binaryData: BinaryOutcomeData {
        get throws { try BinaryOutcomeData(features: try features, outcome: event.map { $0 ? 1 : 0 }) }
    }
}

func logisticSettings(_ p: KernelParameters) -> LogisticSettings {
    LogisticSettings(fitIntercept: p.bool("intercept")!, l2Penalty: p.double("l2")!, maxIterations: p.int("max-iterations")!)
}

/// `model.logistic`: logistic regression by Newton/IRLS over shards in rounds.
struct ModelLogisticKernel: IterativeKernel {
    let description = KernelDescription(
        name: "model.logistic", version: "1.0.0",
        summary: "Logistic regression (Newton/IRLS, optional L2 with the intercept unpenalised), fitted over shards in rounds",
        input: .cohort, output: .result,
        parameters: [
            outcomeParameter, covariatesParameter, paramcdParameter, schemaParameter,
            KernelParameter("l2", .number, "L2 penalty lambda (scikit-learn C = 1/lambda); the intercept is not penalised", default: 0, minimum: 0),
            KernelParameter("intercept", .boolean, "fit an intercept", default: true),
            KernelParameter("max-iterations", .integer, "Newton steps at most", default: 100, minimum: 1, maximum: 10_000),
        ],
        conventions: "Objective: negative log-likelihood + (lambda/2)|beta|^2 over the non-intercept coefficients (scikit-learn LogisticRegression with C = 1/lambda; "
            + "statsmodels Logit when lambda = 0). Each round every shard returns exact score, information and log-likelihood sums at the broadcast coefficients, "
            + "so the fit equals the pooled fit for any sharding."
    )

    func initialState(parameters: KernelParameters) throws -> JSONValue {
        let p = columns(parameters, "covariates").count + (parameters.bool("intercept")! ? 1 : 0)
        return ["fit": try JSONValue(encoding: LogisticFitState(parameterCount: p))]
    }

    func rows(_ input: KernelInput, _ p: KernelParameters) throws -> CohortRows {
        try CohortRows.read(input, p, time: false, covariates: columns(p, "covariates"), eventParameter: "outcome")
    }

    func runRound(_ input: KernelInput, parameters: KernelParameters, state: JSONValue, seed: UInt64) throws -> JSONValue {
        let r = try rows(input, parameters)
        return try round(try r.binaryData, r.exclusions, parameters: parameters, state: state)
    }

    func round(_ data: BinaryOutcomeData, _ exclusions: RowExclusions, parameters: KernelParameters, state: JSONValue) throws -> JSONValue {
        let fit = try (state["fit"] ?? .null).decode(LogisticFitState.self)
        let stats = try LogisticShardStatistics(data, coefficients: fit.coefficients, fitIntercept: parameters.bool("intercept")!)
        return ["statistics": try JSONValue(encoding: stats), "exclusions": exclusions.shardJSON]
    }

    /// Alone: the same rounds over one input, read once.
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let r = try rows(input, parameters)
        let data = try r.binaryData
        return .result(try iterate(parameters: parameters, maxRounds: 100_000) { try round(data, r.exclusions, parameters: parameters, state: $0) })
    }

    func advance(state: JSONValue, outputs: [JSONValue], parameters: KernelParameters) throws -> RoundOutcome {
        let fit = try (state["fit"] ?? .null).decode(LogisticFitState.self)
        var merged = LogisticShardStatistics(coefficients: fit.coefficients, fitIntercept: parameters.bool("intercept")!)
        for o in outputs { try merged.merge(try (o["statistics"] ?? .null).decode(LogisticShardStatistics.self)) }
        let settings = logisticSettings(parameters)
        let next = try LogisticModel.advance(fit, merged: merged, settings: settings)
        guard next.finished else { return .next(["fit": try JSONValue(encoding: next)]) }
        let model = try LogisticModel(final: merged, state: next, settings: settings, featureNames: columns(parameters, "covariates"))
        guard case .object(var o) = model.json() else { return .done(.null) }
        o["outcome"] = parameters.values["outcome"] ?? .null
        o["excludedRows"] = try RowExclusions.merged(outputs).json()
        o["shards"] = .int(outputs.count)
        return .done(.object(o))
    }

    func reduce(_ outputs: [JSONValue]) throws -> JSONValue { outputs.first ?? .null }
}

/// `model.kmeans`: k-means (Lloyd) on rows, over shards in rounds.
struct ModelKMeansKernel: IterativeKernel {
    let description = KernelDescription(
        name: "model.kmeans", version: "1.0.0",
        summary: "k-means clustering of rows (Lloyd) with explicit or seeded k-means++ initial centres, over shards in rounds",
        input: .cohort, output: .result,
        parameters: [
            KernelParameter("columns", .stringList, "numeric feature columns", required: true),
            KernelParameter("k", .integer, "number of clusters", required: true, minimum: 1, maximum: 10_000),
            KernelParameter("centres", .numberList, "initial centres, k rows of the columns, row after row (required when the job has more than one shard)", default: []),
            KernelParameter("max-iterations", .integer, "Lloyd iterations at most", default: 300, minimum: 1, maximum: 100_000),
            paramcdParameter, schemaParameter,
        ],
        conventions: "Assignment to the nearest centre (squared Euclidean; ties to the first), centres = exact means of their rows; stops when the centres no longer change. "
            + "Seeded k-means++ (one candidate per step, the seed of the job) needs every row in one task. Rows with a missing feature are excluded."
    )

    func features(_ input: KernelInput, _ p: KernelParameters) throws -> (FeatureMatrix, RowExclusions) {
        let cols = columns(p, "columns")
        let t = try typedTable(input, p)
        var ex = RowExclusions(rowsRead: t.rowCount)
        let data = try cols.map { try t.numeric($0) }
        var values: [Double] = []
        var n = 0
        rows: for r in 0..<t.rowCount {
            for (k, c) in data.enumerated() where c[r].isNaN { ex.exclude(RowExclusions.missing(cols[k])); continue rows }
            for c in data { values.append(c[r]) }
            n += 1
        }
        return (try FeatureMatrix(rowCount: n, columnCount: cols.count, values: values), ex)
    }

    func initialState(parameters: KernelParameters) throws -> JSONValue {
        let c = parameters.doubles("centres") ?? [], k = parameters.int("k")!, d = columns(parameters, "columns").count
        if c.isEmpty { return ["phase": "seed", "iterations": 0] }
        guard c.count == k * d else {
            throw MedGridError(.invalidInput, "model.kmeans: parameter centres: found \(c.count) numbers, expected k × columns = \(k) × \(d)")
        }
        return ["phase": "lloyd", "iterations": 0, "centres": try JSONValue(encoding: try FeatureMatrix(rowCount: k, columnCount: d, values: c))]
    }

    func runRound(_ input: KernelInput, parameters: KernelParameters, state: JSONValue, seed: UInt64) throws -> JSONValue {
        let (x, ex) = try features(input, parameters)
        return try round(x, ex, parameters: parameters, state: state, seed: seed)
    }

    /// Alone: the same rounds over one input, read once.
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let (x, ex) = try features(input, parameters)
        return .result(try iterate(parameters: parameters, maxRounds: 200_000) { try round(x, ex, parameters: parameters, state: $0, seed: seed) })
    }

    func round(_ x: FeatureMatrix, _ ex: RowExclusions, parameters: KernelParameters, state: JSONValue, seed: UInt64) throws -> JSONValue {
        if state["phase"]?.stringValue == "seed" {
            let centres = KMeans.plusPlusCentres(x, clusterCount: parameters.int("k")!, seed: seed)
            return ["seeded": try JSONValue(encoding: centres), "exclusions": ex.shardJSON]
        }
        let centres = try (state["centres"] ?? .null).decode(FeatureMatrix.self)
        return ["statistics": try JSONValue(encoding: try KMeansShardStatistics(x, centres: centres)), "exclusions": ex.shardJSON]
    }

    func advance(state: JSONValue, outputs: [JSONValue], parameters: KernelParameters) throws -> RoundOutcome {
        let iterations = state["iterations"]?.intValue ?? 0
        switch state["phase"]?.stringValue {
        case "seed":
            guard outputs.count == 1, let seeded = outputs[0]["seeded"] else {
                throw MedGridError(.invalidInput, "model.kmeans: k-means++ seeding needs every row in one task; this job has \(outputs.count) shards (give centres)")
            }
            return .next(["phase": "lloyd", "iterations": 0, "centres": seeded, "initialisation": "k-means++ (seeded)"])
        case "lloyd", "final":
            let centres = try (state["centres"] ?? .null).decode(FeatureMatrix.self)
            var merged = KMeansShardStatistics(centres: centres)
            for o in outputs { try merged.merge(try (o["statistics"] ?? .null).decode(KMeansShardStatistics.self)) }
            let next = merged.nextCentres()
            let converged = next == centres
            if state["phase"]?.stringValue == "final" || converged {
                let k = centres.rowCount, d = centres.columnCount
                return .done([
                    "model": "k-means (Lloyd)", "k": .int(k), "columns": parameters.values["columns"] ?? .null,
                    "initialisation": state["initialisation"] ?? "explicit centres",
                    "centres": .array((0..<k).map { r in .array((0..<d).map { .number(centres[r, $0]) }) }),
                    "clusterSizes": .array(merged.counts.map { .int($0) }), "inertia": .number(merged.inertia.value),
                    "iterations": .int(iterations), "converged": .bool(converged || state["converged"]?.boolValue == true),
                    "rows": .int(merged.n), "excludedRows": try RowExclusions.merged(outputs).json(), "shards": .int(outputs.count),
                ])
            }
            let done = iterations + 1 >= parameters.int("max-iterations")!
            var s: [String: JSONValue] = ["phase": done ? "final" : "lloyd", "iterations": .int(iterations + 1), "centres": try JSONValue(encoding: next)]
            if let i = state["initialisation"] { s["initialisation"] = i }
            return .next(.object(s))
        default:
            throw MedGridError(.invalidInput, "model.kmeans: unknown round state")
        }
    }

    func reduce(_ outputs: [JSONValue]) throws -> JSONValue { outputs.first ?? .null }
}

/// `model.cv`: stratified k-fold cross-validated logistic regression: AUC with a DeLong interval and calibration.
struct ModelCVKernel: Kernel {
    let description = KernelDescription(
        name: "model.cv", version: "1.0.0",
        summary: "Stratified k-fold cross-validation of logistic regression: per-fold and pooled ROC AUC (DeLong interval) and calibration of the out-of-fold predictions",
        input: .cohort, output: .result,
        parameters: [
            outcomeParameter, covariatesParameter, paramcdParameter, schemaParameter,
            KernelParameter("folds", .integer, "number of folds k", default: 5, minimum: 2, maximum: 100),
            KernelParameter("l2", .number, "L2 penalty lambda (C = 1/lambda)", default: 0, minimum: 0),
            KernelParameter("intercept", .boolean, "fit an intercept", default: true),
            KernelParameter("max-iterations", .integer, "Newton steps at most", default: 100, minimum: 1, maximum: 10_000),
            KernelParameter("standardise", .boolean, "standardise features on each training fold (population SD, as scikit-learn StandardScaler)", default: true),
            KernelParameter("groups", .integer, "calibration bins (equal size) for the Hosmer-Lemeshow table", default: 10, minimum: 2, maximum: 100),
        ],
        conventions: "Folds: per outcome class, a Fisher-Yates shuffle with the job's seed (xoshiro256**) dealt round-robin, so class counts per fold differ by at most one. "
            + "AUC = Mann-Whitney with ties; DeLong variance; calibration intercept and slope by logistic recalibration. Needs the whole cohort in one task."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let r = try CohortRows.read(input, parameters, time: false, covariates: columns(parameters, "covariates"), eventParameter: "outcome")
        let data = try r.binaryData
        let folds = try CrossValidationFolds.stratified(outcome: data.outcome, folds: parameters.int("folds")!, seed: seed)
        let cv = try CrossValidatedAUC.logistic(data, folds: folds, settings: logisticSettings(parameters), standardisation: parameters.bool("standardise")! ? .population : nil)
        let calibration = try CalibrationSummary.compute(predicted: cv.outOfFoldPredictions, outcome: data.outcome, groups: parameters.int("groups")!)
        return .result(["crossValidation": cv.json(), "calibration": calibration.json(), "outcome": parameters.values["outcome"] ?? .null,
                        "seed": .int(Int(truncatingIfNeeded: seed)), "excludedRows": r.exclusions.json(), "rows": .int(data.rowCount)])
    }

    func reduce(_ outputs: [JSONValue]) throws -> JSONValue {
        guard outputs.count == 1 else {
            throw MedGridError(.invalidInput, "model.cv needs the whole cohort in one task (it found \(outputs.count)); set spec.shard.rowsPerTask above the cohort's size")
        }
        return outputs[0]
    }
}

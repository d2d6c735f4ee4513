import Foundation
import MedGridCore
import MedGridCohort

// Survival and model kernels over cohort tables (CSV or SAS XPORT). Every kernel counts the rows it had to
// leave out and why; every result names the settings used. Shard results are sufficient statistics merged
// exactly (integer risk tables, ExactSum sums), so any sharding gives the pooled answer.

let timeParameter = KernelParameter("time", .string, "time-to-event column", default: "AVAL")
let eventParameter = KernelParameter("event", .string, "event expression: COL==v, COL!=v or a column (non-zero = event); ADaM: CNSR==0", default: "CNSR==0")
let paramcdParameter = KernelParameter("paramcd", .string, "keep only rows whose PARAMCD is this (ADaM BDS), e.g. OS")
let schemaParameter = KernelParameter("schema", .stringList, "declared column types, e.g. AGE:numeric,SITEID:text (undeclared columns are inferred: numeric when every non-missing cell is a number)", default: [])

/// The declared schema of a kernel's `schema` parameter.
func declaredSchema(_ p: KernelParameters) throws -> [String: AnalysisTable.ColumnKind] {
    var out: [String: AnalysisTable.ColumnKind] = [:]
    for item in p.strings("schema") ?? [] {
        let parts = item.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let kind = AnalysisTable.ColumnKind(rawValue: parts[1]) else {
            throw MedGridError(.invalidInput, "\(p.kernel): parameter schema: found \"\(item)\", expected COLUMN:numeric or COLUMN:text")
        }
        out[parts[0]] = kind
    }
    return out
}

/// A cohort kernel's input as a typed table: only the `paramcd=` rows when given, with the declared schema.
func typedTable(_ input: KernelInput, _ p: KernelParameters) throws -> AnalysisTable {
    guard case .cohort(var table, let file) = input else { throw MedGridError(.invalidInput, "\(p.kernel) reads a cohort table (CSV or SAS XPORT)") }
    if let code = p.string("paramcd") {
        guard let c = table.columnIndex("PARAMCD") else {
            throw MedGridError(.invalidInput, "\(file): parameter paramcd=\(code) given, but the table has no PARAMCD column")
        }
        table = CohortTable(columns: table.columns, rows: table.rows.filter { $0[c] == code })
    }
    return try AnalysisTable(table, schema: try declaredSchema(p), file: file)
}

let alphaParameter = KernelParameter("alpha", .number, "1 - confidence level", default: 0.05, minimum: 1e-6, maximum: 0.5)

/// The rows of a cohort a survival or model kernel uses, with the ones left out counted by reason.
struct CohortRows {
    var time: [Double] = []
    var event: [Bool] = []
    var group: [String] = []
    var stratum: [String] = []
    var covariates: [Double] = []
    var covariateNames: [String] = []
    var exclusions = RowExclusions()

    static func read(
        _ input: KernelInput, _ p: KernelParameters, time useTime: Bool = true, group groupColumn: String? = nil,
        strata strataColumns: [String] = [], covariates: [String] = [], eventParameter: String = "event"
    ) throws -> CohortRows {
        let t = try typedTable(input, p)
        var out = CohortRows()
        out.covariateNames = covariates
        out.exclusions = RowExclusions(rowsRead: t.rowCount)
        let timeColumn = p.string("time") ?? "AVAL"
        let times = useTime ? try t.numeric(timeColumn) : []
        var probe = RowExclusions()
        let eventExpression = p.string(eventParameter) ?? "CNSR==0"
        let indicator = try EventIndicator(parsing: eventExpression).evaluate(t, exclusions: &probe)
        let groups = try groupColumn.map { try t.textValues($0) }
        let strata = try strataColumns.map { try t.textValues($0) }
        let cov = try covariates.map { name -> [Double] in
            guard t.kind(of: name) == .numeric else {
                throw MedGridError(.invalidInput, "\(t.source): covariate \(name) is not numeric (expected a numeric column; encode text columns first, e.g. TRT01PN for TRT01P)")
            }
            return try t.numeric(name)
        }
        rows: for r in 0..<t.rowCount {
            if useTime {
                if times[r].isNaN { out.exclusions.exclude(RowExclusions.missing(timeColumn)); continue }
                if times[r] < 0 { out.exclusions.exclude(RowExclusions.invalid(timeColumn, expected: "expected a time >= 0")); continue }
            }
            guard let e = indicator[r] else { out.exclusions.exclude(RowExclusions.missing(eventExpression)); continue }
            if let groups, groups[r] == nil { out.exclusions.exclude(RowExclusions.missing(groupColumn!)); continue }
            for (k, s) in strata.enumerated() where s[r] == nil { out.exclusions.exclude(RowExclusions.missing(strataColumns[k])); continue rows }
            for (k, c) in cov.enumerated() where c[r].isNaN { out.exclusions.exclude(RowExclusions.missing(covariates[k])); continue rows }
            if useTime { out.time.append(times[r]) }
            out.event.append(e != 0)
            if let groups { out.group.append(groups[r]!) }
            if !strata.isEmpty { out.stratum.append(zip(strataColumns, strata).map { "\($0)=\($1[r]!)" }.joined(separator: ",")) }
            for c in cov { out.covariates.append(c[r]) }
        }
        return out
    }
}

extension RowExclusions {
    /// Merged exclusions of per-shard outputs' `exclusions` fields.
    static func merged(_ outputs: [JSONValue]) throws -> RowExclusions {
        var total = RowExclusions()
        for o in outputs {
            let e = o["exclusions"]
            var part = RowExclusions(rowsRead: e?["rowsRead"]?.intValue ?? 0)
            for (reason, n) in e?["reasons"]?.objectValue ?? [:] { part.counts[reason] = n.intValue ?? 0 }
            total.merge(part)
        }
        return total
    }

    var shardJSON: JSONValue { ["rowsRead": .int(rowsRead), "reasons": .object(counts.mapValues { .int($0) })] }
}

func columns(_ p: KernelParameters, _ name: String) -> [String] {
    (p.strings(name) ?? []).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

extension RiskTableSet {
    /// One curve per group (strata pooled), in group order, each labelled with its group.
    func perGroup(_ curve: (RiskTable) throws -> JSONValue) throws -> [JSONValue] {
        try groups.map { g in
            var merged = RiskTable()
            for e in entries where e.key.group == g { merged.merge(e.table) }
            guard case .object(var o) = try curve(merged) else { return .null }
            o["group"] = .string(g)
            return .object(o)
        }
    }
}

/// Shared by the risk-table kernels: per (stratum, group) risk tables from each shard, merged exactly.
protocol RiskTableKernel: Kernel {
    func finish(_ tables: RiskTableSet, parameters: KernelParameters, exclusions: RowExclusions) throws -> JSONValue
}

extension RiskTableKernel {
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let strata = columns(parameters, "strata")
        let rows = try CohortRows.read(input, parameters, group: parameters.string("group"), strata: strata)
        let set = try RiskTableSet(
            time: rows.time, event: rows.event, group: parameters.string("group") == nil ? Array(repeating: "all", count: rows.time.count) : rows.group,
            stratum: strata.isEmpty ? nil : rows.stratum)
        return .result(["tables": try JSONValue(encoding: set), "exclusions": rows.exclusions.shardJSON, "parameters": .object(parameters.values)])
    }

    func reduce(_ outputs: [JSONValue]) throws -> JSONValue {
        var set = RiskTableSet()
        for o in outputs { set.merge(try (o["tables"] ?? .null).decode(RiskTableSet.self)) }
        return try finish(set, parameters: try KernelParameters(outputs.first?["parameters"]?.objectValue ?? [:], for: description), exclusions: try RowExclusions.merged(outputs))
    }
}

/// `survival.km`: Kaplan–Meier per group.
struct SurvivalKMKernel: RiskTableKernel {
    let description = KernelDescription(
        name: "survival.km", version: "1.0.0",
        summary: "Kaplan-Meier survival per group with Greenwood variance, confidence bands and median survival",
        input: .cohort, output: .result,
        parameters: [
            timeParameter, eventParameter, paramcdParameter, schemaParameter, alphaParameter,
            KernelParameter("group", .string, "column whose values are the curves (e.g. TRT01P); default one curve"),
            KernelParameter("band", .string, "confidence band: plain (S ± z·se), log, or log-log (lifelines' default)", default: "log-log", choices: ["plain", "log", "log-log"]),
        ],
        conventions: "Product-limit estimator over distinct times; Greenwood variance S² Σ d/(n(n-d)); bands as named; median = first time S <= 0.5 (lifelines), "
            + "its interval by inverting the band (Brookmeyer-Crowley). Exact across shards: per-shard risk tables are merged (integer counts)."
    )

    func finish(_ tables: RiskTableSet, parameters: KernelParameters, exclusions: RowExclusions) throws -> JSONValue {
        let band = SurvivalBand(rawValue: parameters.string("band") ?? "log-log") ?? .logLog
        let alpha = parameters.double("alpha") ?? 0.05
        let curves = try tables.perGroup { try KaplanMeier($0, alpha: alpha, band: band).json() }
        return ["estimator": "Kaplan-Meier", "band": .string(band.rawValue), "alpha": .number(alpha), "group": parameters.values["group"] ?? .null,
                "time": parameters.values["time"] ?? .null, "event": parameters.values["event"] ?? .null, "paramcd": parameters.values["paramcd"] ?? .null,
                "curves": .array(curves), "excludedRows": exclusions.json()]
    }
}

/// `survival.nelson-aalen`: Nelson–Aalen cumulative hazard per group.
struct SurvivalNelsonAalenKernel: RiskTableKernel {
    let description = KernelDescription(
        name: "survival.nelson-aalen", version: "1.0.0",
        summary: "Nelson-Aalen cumulative hazard per group with variance and a log-transformed band",
        input: .cohort, output: .result,
        parameters: [
            timeParameter, eventParameter, paramcdParameter, schemaParameter, alphaParameter,
            KernelParameter("group", .string, "column whose values are the curves; default one curve"),
            KernelParameter("ties", .string, "ties-corrected (increments Σ 1/(n-k), lifelines' default) or aggregated (d/n, variance d(n-d)/n³)", default: "ties-corrected", choices: ["ties-corrected", "aggregated"]),
        ],
        conventions: "Exact across shards: per-shard risk tables are merged."
    )

    func finish(_ tables: RiskTableSet, parameters: KernelParameters, exclusions: RowExclusions) throws -> JSONValue {
        let alpha = parameters.double("alpha") ?? 0.05
        let ties: NelsonAalen.TieMethod = parameters.string("ties") == "aggregated" ? .aggregated : .tiesCorrected
        let curves = try tables.perGroup { try NelsonAalen($0, alpha: alpha, ties: ties).json() }
        return ["estimator": "Nelson-Aalen", "ties": .string(parameters.string("ties") ?? "ties-corrected"), "alpha": .number(alpha),
                "group": parameters.values["group"] ?? .null, "time": parameters.values["time"] ?? .null, "event": parameters.values["event"] ?? .null,
                "curves": .array(curves), "excludedRows": exclusions.json()]
    }
}

/// `survival.logrank`: log-rank test between groups, optionally stratified.
struct SurvivalLogRankKernel: RiskTableKernel {
    let description = KernelDescription(
        name: "survival.logrank", version: "1.0.0",
        summary: "Log-rank test of k groups (chi-square, k-1 df), stratified when strata are given",
        input: .cohort, output: .result,
        parameters: [
            timeParameter, eventParameter, paramcdParameter, schemaParameter,
            KernelParameter("group", .string, "the groups compared (e.g. TRT01P)", required: true),
            KernelParameter("strata", .stringList, "stratify by these columns (e.g. SITEID): per-stratum O-E and variances summed", default: []),
        ],
        conventions: "Hypergeometric variance; observed and expected events per group; exact across shards (per-stratum risk tables merged)."
    )

    func finish(_ tables: RiskTableSet, parameters: KernelParameters, exclusions: RowExclusions) throws -> JSONValue {
        var o = try LogRankTest(tables).json()
        if case .object(var d) = o {
            d["group"] = parameters.values["group"] ?? .null
            d["strata"] = parameters.values["strata"] ?? .array([])
            d["time"] = parameters.values["time"] ?? .null
            d["event"] = parameters.values["event"] ?? .null
            d["excludedRows"] = exclusions.json()
            o = .object(d)
        }
        return o
    }
}

/// `survival.cox`: Cox proportional hazards, fitted over shards in rounds.
struct SurvivalCoxKernel: IterativeKernel {
    let description = KernelDescription(
        name: "survival.cox", version: "1.0.0",
        summary: "Cox proportional hazards (Efron or Breslow ties, strata, model and robust SEs, LR/Wald/score tests), fitted over shards in rounds",
        input: .cohort, output: .result,
        parameters: [
            timeParameter, eventParameter, paramcdParameter, schemaParameter, alphaParameter,
            KernelParameter("covariates", .stringList, "numeric covariate columns, e.g. TRT01PN,AGE", required: true),
            KernelParameter("ties", .string, "efron or breslow", default: "efron", choices: ["efron", "breslow"]),
            KernelParameter("strata", .stringList, "stratify the baseline hazard by these columns (e.g. SITEID)", default: []),
            KernelParameter("robust", .boolean, "robust (Lin-Wei sandwich) standard errors", default: false),
            KernelParameter("max-iterations", .integer, "Newton steps at most", default: 50, minimum: 1, maximum: 1000),
        ],
        conventions: "Newton-Raphson from beta = 0 with step halving, converged when every step component <= 1e-9; covariates centred at the pooled means. "
            + "Each round every shard returns exact per-(stratum, time) sums at the broadcast coefficients; the coordinator merges them, so the fit is the pooled fit "
            + "for any sharding, by rows or by site. The concordance index needs every subject's data and is not computed across shards."
    )

    func driver(_ p: KernelParameters) throws -> CoxFitDriver {
        try CoxFitDriver(
            covariateCount: columns(p, "covariates").count, ties: p.string("ties") == "breslow" ? .breslow : .efron,
            alpha: p.double("alpha")!, robust: p.bool("robust")!, maxIterations: p.int("max-iterations")!)
    }

    func initialState(parameters: KernelParameters) throws -> JSONValue {
        ["driver": try JSONValue(encoding: try driver(parameters))]
    }

    func runRound(_ input: KernelInput, parameters: KernelParameters, state: JSONValue, seed: UInt64) throws -> JSONValue {
        let d = try (state["driver"] ?? .null).decode(CoxFitDriver.self)
        let strata = columns(parameters, "strata")
        let rows = try CohortRows.read(input, parameters, strata: strata, covariates: columns(parameters, "covariates"))
        let shard = try CoxShard(time: rows.time, event: rows.event, covariates: rows.covariates, covariateCount: d.covariateCount, strata: strata.isEmpty ? nil : rows.stratum)
        var out: [String: JSONValue] = ["exclusions": rows.exclusions.shardJSON]
        switch d.request {
        case .covariateSums: out["sums"] = try JSONValue(encoding: shard.covariateSums())
        case .statistics(let beta, let center): out["statistics"] = try JSONValue(encoding: try shard.statistics(beta: beta, center: center, ties: d.ties))
        case .residualProducts(let basis): out["products"] = try JSONValue(encoding: try shard.scoreResidualProducts(basis: basis))
        }
        return .object(out)
    }

    func advance(state: JSONValue, outputs: [JSONValue], parameters: KernelParameters) throws -> RoundOutcome {
        var d = try (state["driver"] ?? .null).decode(CoxFitDriver.self)
        guard !outputs.isEmpty else { throw MedGridError(.invalidInput, "survival.cox: a round with no shard results") }
        switch d.request {
        case .covariateSums:
            var sums = try (outputs[0]["sums"] ?? .null).decode(CoxCovariateSums.self)
            for o in outputs.dropFirst() { try sums.merge(try (o["sums"] ?? .null).decode(CoxCovariateSums.self)) }
            try d.receive(sums)
        case .statistics:
            try d.receive(try CoxShardStatistics.merged(outputs.map { try ($0["statistics"] ?? .null).decode(CoxShardStatistics.self) }))
        case .residualProducts:
            var products = try (outputs[0]["products"] ?? .null).decode(CoxRobustStatistics.self)
            for o in outputs.dropFirst() { try products.merge(try (o["products"] ?? .null).decode(CoxRobustStatistics.self)) }
            try d.receive(products)
        }
        guard d.isDone else { return .next(["driver": try JSONValue(encoding: d)]) }
        guard case .object(var result) = try d.model().json(names: columns(parameters, "covariates")) else { return .done(.null) }
        result["excludedRows"] = try RowExclusions.merged(outputs).json()
        result["time"] = parameters.values["time"] ?? .null
        result["event"] = parameters.values["event"] ?? .null
        result["shards"] = .int(outputs.count)
        result["concordance_note"] = "not computed across shards (it compares every pair of subjects); run survival.cox with medgrid kernel run on a pooled table for Harrell's C"
        return .done(.object(result))
    }

    /// Alone (one input): the same rounds in-process, plus Harrell's C over the pooled rows.
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let strata = columns(parameters, "strata")
        let rows = try CohortRows.read(input, parameters, strata: strata, covariates: columns(parameters, "covariates"))
        let d = try driver(parameters)
        let model = try CoxModel.fit(
            time: rows.time, event: rows.event, covariates: rows.covariates, covariateCount: d.covariateCount,
            strata: strata.isEmpty ? nil : rows.stratum, ties: d.ties, alpha: d.alpha, robust: d.robust)
        guard case .object(var result) = model.json(names: columns(parameters, "covariates")) else { return .result(.null) }
        result["excludedRows"] = rows.exclusions.json()
        result["time"] = parameters.values["time"] ?? .null
        result["event"] = parameters.values["event"] ?? .null
        return .result(.object(result))
    }

    func reduce(_ outputs: [JSONValue]) throws -> JSONValue { outputs.first ?? .null }
}

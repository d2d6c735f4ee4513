import MedGridCore
import MedGridCohort

/// `cohort.summary`: per arm and site, subjects, events (CNSR == 0) and the mean and median of every
/// numeric column. Each task returns a partial (sorted values per group); the reduction merges them, so
/// the summary is exact however the cohort was sharded.
struct CohortSummaryKernel: Kernel {
    let description = KernelDescription(
        name: "cohort.summary", version: "1.0.0",
        summary: "Per arm and site: subjects, events (CNSR == 0), censored, and n/missing/mean/median/min/max of numeric columns",
        input: .cohort, output: .result,
        parameters: [
            KernelParameter("arm", .string, "arm column", default: "TRT01P"),
            KernelParameter("site", .string, "site column", default: "SITEID"),
            KernelParameter("subject", .string, "subject column", default: "USUBJID"),
            KernelParameter("censor", .string, "censoring column; event = value 0 (ADaM CNSR)", default: "CNSR"),
            KernelParameter("paramcd", .string, "keep only rows with this PARAMCD"),
        ],
        conventions: "Event = CNSR == 0; CNSR 1, 2, … are censoring reasons. Missing cells are empty, NA or '.'. "
            + "A column is numeric when every non-missing cell is a plain decimal. Median of an even count averages the two middle values. "
            + "Means sum the sorted values (compensated), so they do not depend on sharding."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard case .cohort(let table, let file) = input else {
            throw MedGridError(.invalidInput, "cohort.summary reads a cohort table")
        }
        let partial = try CohortSummary.partial(
            of: table, file: file, armColumn: parameters.string("arm")!, siteColumn: parameters.string("site")!,
            subjectColumn: parameters.string("subject")!, censorColumn: parameters.string("censor")!,
            paramcd: parameters.string("paramcd")
        )
        return .result(try JSONValue(encoding: partial))
    }

    func reduce(_ outputs: [JSONValue]) throws -> JSONValue {
        let parts = try outputs.map { try $0.decode(CohortSummaryPartial.self) }
        return try JSONValue(encoding: CohortSummary.combine(parts))
    }
}

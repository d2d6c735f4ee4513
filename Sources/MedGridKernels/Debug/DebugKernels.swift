import Foundation
import MedGridCore
import MedGridCohort

/// The `cases` parameter of the debug kernels: act only on these imaging cases (all when empty).
let debugCasesParameter = KernelParameter("cases", .stringList, "act only on these imaging case IDs (default: every case)", default: [])

extension KernelParameters {
    /// Whether a debug kernel should act on this input.
    func debugApplies(to input: KernelInput) -> Bool {
        let only = strings("cases") ?? []
        guard !only.isEmpty else { return true }
        switch input {
        case .reference(let id), .imagingCase(let id, _, _): return only.contains(id)
        default: return false
        }
    }
}

/// `debug.noop`: does nothing; measures the grid's own overhead per task.
struct DebugNoopKernel: Kernel {
    let description = KernelDescription(
        name: "debug.noop", version: "1.0.0", summary: "Does nothing and returns {\"ok\": true}; for measuring overhead",
        input: .any, output: .result, parameters: []
    )
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        .result(["ok": true])
    }
}

/// `debug.fail`: throws, to see how the grid handles a kernel error.
struct DebugFailKernel: Kernel {
    let description = KernelDescription(
        name: "debug.fail", version: "1.0.0", summary: "Throws an error with the given message; for testing failure handling",
        input: .any, output: .result,
        parameters: [KernelParameter("message", .string, "the error message", default: "debug.fail was asked to fail"), debugCasesParameter]
    )
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard parameters.debugApplies(to: input) else { return .result(["ok": true]) }
        throw MedGridError(.kernelFailed, parameters.string("message")!)
    }
}

/// `debug.trap`: crashes its process, to show a trap fails only the attempt.
struct DebugTrapKernel: Kernel {
    let description = KernelDescription(
        name: "debug.trap", version: "1.0.0", summary: "Traps (crashes the executor process); for testing isolation",
        input: .any, output: .result, parameters: [debugCasesParameter]
    )
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard parameters.debugApplies(to: input) else { return .result(["ok": true]) }
        FileHandle.standardError.write(Data("debug.trap: about to trap\n".utf8))
        let values: [Int] = []
        _ = values[Int(seed) + 1]  // index out of range: a real trap
        return .result(["unreachable": true])
    }
}

/// `debug.sleep`: sleeps, to test time limits and long-running work.
struct DebugSleepKernel: Kernel {
    let description = KernelDescription(
        name: "debug.sleep", version: "1.0.0", summary: "Sleeps for the given seconds, then returns; for testing timeouts and restarts",
        input: .any, output: .result,
        parameters: [KernelParameter("seconds", .number, "how long to sleep", default: 1, minimum: 0), debugCasesParameter]
    )
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard parameters.debugApplies(to: input) else { return .result(["slept": 0.0]) }
        let s = parameters.double("seconds")!
        Thread.sleep(forTimeInterval: s)
        return .result(["slept": .double(s)])
    }
}

/// `debug.rounds`: a multi-round kernel for testing the grid's rounds. Each round every shard returns its
/// row count and the round number it was given; the kernel finishes after `rounds` rounds with the rows
/// counted in each round.
struct DebugRoundsKernel: IterativeKernel {
    let description = KernelDescription(
        name: "debug.rounds", version: "1.0.0",
        summary: "Runs the given number of rounds over a cohort's shards, counting rows each round; for testing multi-round jobs",
        input: .cohort, output: .result,
        parameters: [KernelParameter("rounds", .integer, "how many rounds", default: 3, minimum: 1, maximum: 100)]
    )

    func initialState(parameters: KernelParameters) throws -> JSONValue { ["round": 0, "counts": []] }

    func runRound(_ input: KernelInput, parameters: KernelParameters, state: JSONValue, seed: UInt64) throws -> JSONValue {
        guard case .cohort(let table, _) = input else { throw MedGridError(.invalidInput, "debug.rounds reads a cohort table") }
        return ["round": state["round"] ?? .null, "rows": .int(table.rows.count)]
    }

    func advance(state: JSONValue, outputs: [JSONValue], parameters: KernelParameters) throws -> RoundOutcome {
        let round = state["round"]?.intValue ?? 0
        for o in outputs where o["round"]?.intValue != round {
            throw MedGridError(.kernelFailed, "debug.rounds: a shard answered for round \(o["round"]?.intValue ?? -1) in round \(round)")
        }
        let counts = (state["counts"]?.arrayValue ?? []) + [.int(outputs.reduce(0) { $0 + ($1["rows"]?.intValue ?? 0) })]
        if round + 1 >= parameters.int("rounds")! { return .done(["rounds": .int(round + 1), "rowsPerRound": .array(counts), "shards": .int(outputs.count)]) }
        return .next(["round": .int(round + 1), "counts": .array(counts)])
    }
}

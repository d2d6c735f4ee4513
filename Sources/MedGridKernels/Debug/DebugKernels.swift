import Foundation
import MedGridCore

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
        parameters: [KernelParameter("message", .string, "the error message", default: "debug.fail was asked to fail")]
    )
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        throw MedGridError(.kernelFailed, parameters.string("message")!)
    }
}

/// `debug.trap`: crashes its process, to show a trap fails only the attempt.
struct DebugTrapKernel: Kernel {
    let description = KernelDescription(
        name: "debug.trap", version: "1.0.0", summary: "Traps (crashes the executor process); for testing isolation",
        input: .any, output: .result, parameters: []
    )
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
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
        parameters: [KernelParameter("seconds", .number, "how long to sleep", default: 1, minimum: 0)]
    )
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let s = parameters.double("seconds")!
        Thread.sleep(forTimeInterval: s)
        return .result(["slept": .double(s)])
    }
}

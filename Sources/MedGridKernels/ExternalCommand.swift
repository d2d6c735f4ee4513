public import Foundation
public import MedGridCore

/// Runs an external command kernel: the task description goes to its stdin as JSON (and its path is in
/// `MEDGRID_TASK_FILE`); it must print one JSON result on stdout and exit 0. A non-zero exit, a signal,
/// non-JSON output or running past the time limit fail the attempt, with the tail of its stderr.
public enum ExternalCommand {
    public static func run(_ command: [String], task: JSONValue, timeout: Double, environment: [String: String] = [:]) throws -> JSONValue {
        guard let program = command.first else { throw MedGridError(.invalidInput, "empty command") }
        signal(SIGPIPE, SIG_IGN)  // a command that exits without reading its stdin must not take us down
        let taskText = CanonicalJSON.encode(task)
        let taskFile = FileManager.default.temporaryDirectory.appendingPathComponent("medgrid-task-\(UUID().uuidString).json")
        try Data(taskText.utf8).write(to: taskFile)
        defer { try? FileManager.default.removeItem(at: taskFile) }

        let process = Process()
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(command.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = command
        }
        var env = ProcessInfo.processInfo.environment
        env["MEDGRID_TASK_FILE"] = taskFile.path
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do {
            try process.run()
        } catch {
            throw MedGridError(.kernelFailed, "command \(program) could not be started: \(error)")
        }
        let outBox = DataBox(), errBox = DataBox()
        let readers = DispatchGroup()
        for (pipe, box) in [(stdout, outBox), (stderr, errBox)] {
            readers.enter()
            DispatchQueue.global().async {
                box.data = pipe.fileHandleForReading.readDataToEndOfFile()
                readers.leave()
            }
        }
        try? stdin.fileHandleForWriting.write(contentsOf: Data(taskText.utf8))
        try? stdin.fileHandleForWriting.close()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if done.wait(timeout: .now() + 2) == .timedOut { kill(process.processIdentifier, SIGKILL); done.wait() }
            // A grandchild may still hold the pipes open; do not wait for it past a moment.
            _ = readers.wait(timeout: .now() + 1)
            throw ExternalCommandFailure(kind: .timeout, message: "command \(program) ran past the time limit of \(CanonicalJSON.format(timeout)) s", stderrTail: tail(errBox.data))
        }
        readers.wait()
        let errTail = tail(errBox.data)
        if process.terminationReason == .uncaughtSignal {
            throw ExternalCommandFailure(kind: .trapped, message: "command \(program) was killed by signal \(process.terminationStatus)", stderrTail: errTail)
        }
        guard process.terminationStatus == 0 else {
            throw ExternalCommandFailure(kind: .kernelError, message: "command \(program) exited with status \(process.terminationStatus)", stderrTail: errTail)
        }
        do {
            return try JSONValue(parsing: outBox.data)
        } catch {
            throw ExternalCommandFailure(kind: .kernelError, message: "command \(program) printed no JSON result on stdout (\(outBox.data.count) bytes)", stderrTail: errTail)
        }
    }

    /// The last 20 lines (at most 2 KiB) of a stream.
    public static func tail(_ data: Data) -> String {
        let text = String(decoding: data.suffix(2048), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(20).joined(separator: "\n")
    }
}

/// A failed external command, carrying the failure kind and stderr tail to the report.
public struct ExternalCommandFailure: Error, CustomStringConvertible {
    public var kind: TaskFailure.Kind
    public var message: String
    public var stderrTail: String
    public var description: String { message }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
}

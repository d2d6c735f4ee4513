import Foundation
public import MedGridCore

/// Runs each attempt in an executor child process (`medgrid executor`), one child per busy slot, reused
/// between tasks. A trap, a crash or an out-of-memory kill ends only that child and fails only that
/// attempt; a task past its time limit has its child's whole process group killed (external commands
/// included). A fresh child replaces a dead one.
public actor ProcessExecutor: TaskExecutor {
    let executable: String
    let arguments: [String]
    var idle: [ExecutorProcess] = []
    var busy: [String: ExecutorProcess] = [:]
    var stopped: Set<String> = []

    /// - Parameters:
    ///   - executable: the `medgrid` binary.
    ///   - arguments: the arguments that start the child loop (`["executor"]`).
    public init(executable: String, arguments: [String] = ["executor"]) {
        self.executable = executable
        self.arguments = arguments
    }

    public func execute(_ a: TaskAssignment) async -> TaskResult {
        let start = Date()
        func failed(_ kind: TaskFailure.Kind, _ message: String, _ tail: String? = nil) -> TaskResult {
            TaskResult(task: a.task, lease: a.lease, attempt: a.attempt, output: nil,
                       failure: TaskFailure(kind: kind, message: message, stderrTail: tail), seconds: Date().timeIntervalSince(start))
        }
        let child: ExecutorProcess
        do {
            if let reused = idle.popLast() { child = reused } else { child = try ExecutorProcess(executable: executable, arguments: arguments) }
        } catch {
            return failed(.kernelError, "\(error)")
        }
        let line: Data
        do {
            line = try JSONEncoder().encode(a)
        } catch {
            idle.append(child)
            return failed(.kernelError, "cannot encode the task: \(error)")
        }
        busy[a.key] = child
        let reply = await child.request(line, timeout: a.timeoutSeconds)
        busy[a.key] = nil
        let wasStopped = stopped.remove(a.key) != nil
        switch reply {
        case .line(let data):
            idle.append(child)
            if let r = try? JSONDecoder().decode(TaskResult.self, from: data) { return r }
            return failed(.kernelError, "the executor process sent an unreadable result")
        case .died(let message, let tail):
            if wasStopped { return failed(.cancelled, "stopped by the coordinator") }
            let kind: TaskFailure.Kind = message.contains("SIGKILL") ? .outOfMemory : .trapped
            return failed(kind, "\(a.steps.map(\.name).joined(separator: " → ")): \(message)", tail)
        case .timedOut(let tail):
            return failed(.timeout, "ran past the time limit of \(CanonicalJSON.format(a.timeoutSeconds)) s", tail)
        }
    }

    public func stop(_ a: TaskAssignment) async {
        if let child = busy[a.key] {
            stopped.insert(a.key)
            child.terminate()
        }
    }

    public func shutdown() async {
        for c in idle { c.reap() }
        idle = []
        for c in busy.values { c.terminate() }
    }
}

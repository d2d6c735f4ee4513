public import Foundation
public import MedGridCore
public import MedGridKernels

/// Runs one task attempt and says how it ended. Never throws: every failure becomes a ``TaskFailure``.
public protocol TaskExecutor: Sendable {
    func execute(_ assignment: TaskAssignment) async -> TaskResult
    /// Stops whatever runs for this task (cancelled job, or it won elsewhere).
    func stop(_ assignment: TaskAssignment) async
    func shutdown() async
}

/// Finds a task's input files where the dataset lives on this machine and checks each against its
/// SHA-256 before use.
public struct LocalInputResolver: Sendable {
    public init() {}

    public func resolve(_ input: TaskInput, assignment: TaskAssignment) throws -> URL {
        if let cached = assignment.localFiles?[input.path] {
            if input.siteLocal != nil { return URL(fileURLWithPath: cached) }
            return try verified(URL(fileURLWithPath: cached), input)
        }
        if let site = input.siteLocal {
            throw MedGridError(.unavailable, "task \(assignment.taskID): site \(site.site)'s \(site.file) is read only by that site's workers (started with --site-data)")
        }
        guard let location = assignment.datasetLocation else {
            throw MedGridError(.unavailable, "task \(assignment.taskID): no dataset location on this worker")
        }
        var isDir: ObjCBool = false
        let base = URL(fileURLWithPath: location)
        FileManager.default.fileExists(atPath: base.path, isDirectory: &isDir)
        return try verified(isDir.boolValue ? base.appendingPathComponent(input.path) : base, input)
    }

    func verified(_ url: URL, _ input: TaskInput) throws -> URL {
        let found = try ContentHash.sha256(fileAt: url)
        guard found.hash == input.sha256 else {
            throw MedGridError(.integrity, "\(input.path): content changed since the job was planned (SHA-256 \(found.hash.prefix(12))…, expected \(input.sha256.prefix(12))…)")
        }
        return url
    }
}

/// Turns what a kernel threw into the failure the scheduler charges.
public func taskFailure(from error: any Error) -> TaskFailure {
    if let e = error as? ExternalCommandFailure { return TaskFailure(kind: e.kind, message: e.message, stderrTail: e.stderrTail) }
    if let e = error as? MedGridError {
        switch e.code {
        case .integrity: return TaskFailure(kind: .integrity, message: e.message)
        case .timeout: return TaskFailure(kind: .timeout, message: e.message)
        default: return TaskFailure(kind: .kernelError, message: e.description)
        }
    }
    return TaskFailure(kind: .kernelError, message: "\(error)")
}

/// Runs a task in the calling process; the executor child runs this too.
public func runTask(_ a: TaskAssignment, runner: TaskRunner, resolver: LocalInputResolver) -> TaskResult {
    let start = DispatchTime.now().uptimeNanoseconds
    var output: JSONValue?, failure: TaskFailure?
    do {
        output = try runner.run(a) { try resolver.resolve($0, assignment: a) }
    } catch {
        failure = taskFailure(from: error)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return TaskResult(task: a.task, lease: a.lease, attempt: a.attempt, output: output, failure: failure, seconds: seconds)
}

/// Runs kernels on a thread of this process. Fast, but a trap takes the process down and a hang cannot
/// be stopped; use ``ProcessExecutor`` for workers. Meant for tests and for `medgrid kernel run`.
public struct InProcessExecutor: TaskExecutor {
    public var runner: TaskRunner
    public init(runner: TaskRunner = TaskRunner()) { self.runner = runner }

    public func execute(_ assignment: TaskAssignment) async -> TaskResult {
        let runner = self.runner
        return await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: runTask(assignment, runner: runner, resolver: LocalInputResolver())) }
        }
    }

    public func stop(_ assignment: TaskAssignment) async {}
    public func shutdown() async {}
}

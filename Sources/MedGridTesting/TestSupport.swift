public import Foundation
public import Logging
public import MedGridCore
public import MedGridCoordinator
public import MedGridKernels
public import MedGridWorker

/// Paths and processes for tests.
public enum TestSupport {
    /// The repository root, found from a source file's path (`#filePath` of a test).
    public static func repositoryRoot(from file: String = #filePath) -> URL {
        var url = URL(fileURLWithPath: file)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("no Package.swift above \(file)")
    }

    /// The `medgrid` binary built next to the tests.
    public static var medgridBinary: URL {
        let root = repositoryRoot()
        for config in ["debug", "release"] {
            let url = root.appendingPathComponent(".build/\(config)/medgrid")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return root.appendingPathComponent(".build/debug/medgrid")
    }

    /// A new empty temporary folder.
    public static func temporaryDirectory(_ prefix: String = "medgrid-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Copies the repository's `Datasets/` and `Jobs/` into a fresh folder, so tests can change data freely.
    public static func workspaceCopy() throws -> URL {
        let root = repositoryRoot()
        let dir = try temporaryDirectory("medgrid-ws")
        for sub in ["Datasets", "Jobs"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent(sub), to: dir.appendingPathComponent(sub))
        }
        return dir
    }

    public struct ProcessOutput: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs the medgrid binary to completion, blocking the calling thread: for synchronous code only.
    public static func medgrid(_ arguments: [String], in directory: URL? = nil, timeout: Double = 300) throws -> ProcessOutput {
        let p = try startMedgrid(arguments, in: directory)
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.process.isRunning { p.process.terminate(); p.process.waitUntilExit() }
        return p.finish()
    }

    /// Runs the medgrid binary to completion without holding a thread while it runs. Async tests use this:
    /// the cooperative pool has one thread per core, and a test blocking one (while an in-process coordinator
    /// needs it to answer the very process it waits for) stalls every test running beside it.
    public static func medgrid(_ arguments: [String], in directory: URL? = nil, timeout: Double = 300) async throws -> ProcessOutput {
        let p = try startMedgrid(arguments, in: directory)
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if p.process.isRunning { p.process.terminate() }
        while p.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return p.finish()
    }

    /// Runs any program to completion without holding a thread while it runs (see ``medgrid(_:in:timeout:)``).
    public static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil, timeout: Double = 300) async throws -> ProcessOutput {
        let p = try start(URL(fileURLWithPath: executable), arguments, in: directory)
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if p.process.isRunning { p.process.terminate() }
        while p.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return p.finish()
    }

    /// A medgrid process started in the background.
    public final class RunningProcess: @unchecked Sendable {
        public let process: Process
        let out: URL
        let err: URL

        init(process: Process, out: URL, err: URL) {
            self.process = process
            self.out = out
            self.err = err
        }

        public var stderrSoFar: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }

        public func kill(signal: Int32) { Foundation.kill(process.processIdentifier, signal) }

        /// The port of a coordinator started with `--listen 127.0.0.1:0`, from its "coordinator listening" log line.
        public func listeningPort(within seconds: Double = 60) async throws -> Int {
            var port: Int?
            _ = try await TestSupport.eventually(seconds) {
                let log = stderrSoFar
                if let range = log.range(of: #"https://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                    port = Int(log[range].split(separator: ":").last ?? "")
                }
                return port != nil || !process.isRunning
            }
            guard let port else { throw MedGridError(.timeout, "the coordinator did not report its port: \(stderrSoFar)") }
            return port
        }

        /// Waits for the process to end without holding a thread, then gives its output.
        public func finished() async throws -> ProcessOutput {
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            return finish()
        }

        public func finish() -> ProcessOutput {
            process.waitUntilExit()
            return ProcessOutput(
                status: process.terminationStatus,
                stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        }
    }

    /// Whether `condition` holds within `seconds`, checked every 200 ms.
    public static func eventually(_ seconds: Double = 60, _ condition: () async throws -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    public static func startMedgrid(_ arguments: [String], in directory: URL? = nil) throws -> RunningProcess {
        try start(medgridBinary, arguments, in: directory)
    }

    static func start(_ executable: URL, _ arguments: [String], in directory: URL? = nil) throws -> RunningProcess {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = directory }
        let tmp = try temporaryDirectory("medgrid-proc")
        let out = tmp.appendingPathComponent("stdout"), err = tmp.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return RunningProcess(process: p, out: out, err: err)
    }
}

/// A coordinator and workers in this process, for tests of the grid's logic with real stores.
public struct InProcessCluster: Sendable {
    public let coordinator: Coordinator
    public let stateDirectory: URL

    public let logger: Logger

    public init(stateDirectory: URL, leaseTTL: Double = 3, logger given: Logger? = nil) throws {
        var logger = given ?? Logger(label: "medgrid.test")
        if given == nil { logger.logLevel = .error }
        self.logger = logger
        let config = Coordinator.Configuration.defaults {
            $0.scheduler.leaseTTL = leaseTTL
            $0.scheduler.heartbeatInterval = leaseTTL / 4
            $0.tickInterval = 0.1
        }
        coordinator = try Coordinator(stateDirectory: stateDirectory, suite: KernelRegistry.standard, configuration: config, logger: logger)
        self.stateDirectory = stateDirectory
    }

    /// Runs a manifest to the end on `workers` workers of `slots` slots each; returns the job ID and its canonical report.
    public func run(
        _ manifest: Manifest, workers: Int, slots: Int, executor: @Sendable () -> any TaskExecutor = { InProcessExecutor() }
    ) async throws -> (job: String, report: String) {
        let job = try await coordinator.submit(manifest)
        return try await runSubmitted(job, workers: workers, slots: slots, executor: executor)
    }

    /// Runs an already submitted job to the end.
    public func runSubmitted(
        _ job: String, workers: Int, slots: Int, executor: @Sendable () -> any TaskExecutor = { InProcessExecutor() }
    ) async throws -> (job: String, report: String) {
        let clock = Task { await coordinator.run() }
        var tasks: [Task<Void, any Error>] = []
        let logger = self.logger
        for i in 1...workers {
            let w = Worker(
                configuration: .defaults(name: "w\(i)") { $0.slots = slots; $0.leaseWait = 0.5 },
                link: coordinator, executor: executor(), logger: logger)
            tasks.append(Task { try await w.run() })
        }
        while await coordinator.jobStatus(job)?.isTerminal != true {
            try await Task.sleep(for: .milliseconds(20))
        }
        for t in tasks { t.cancel() }
        for t in tasks { _ = try? await t.value }
        clock.cancel()
        let stored = try coordinator.store.read { try $0.job(job) }
        return (job, stored?.report ?? "")
    }
}

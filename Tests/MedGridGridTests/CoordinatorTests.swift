import Foundation
import Logging
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridKernels
import MedGridTesting
import MedGridWorker

/// The coordinator with its real SQLite store, driven through the worker protocol.
struct CoordinatorTests {
    static func manifest(_ ws: URL, _ spec: String, name: String = "t") throws -> Manifest {
        let text = "apiVersion: medgrid/v1\nkind: Job\nmetadata:\n  name: \(name)\nspec:\n" + spec
        return try ManifestLoader(catalog: KernelRegistry.standard).load(text: text, file: "\(name).yaml", baseDirectory: ws.appendingPathComponent("Jobs"))
    }

    static func coordinator(_ dir: URL, ttl: Double = 3) throws -> Coordinator {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try Coordinator(stateDirectory: dir, suite: KernelRegistry.standard,
                               configuration: .defaults { $0.scheduler.leaseTTL = ttl; $0.tickInterval = 0.05 }, logger: logger)
    }

    @Test("a re-delivered identical result is idempotent; a different one from the leaseholder is recorded as nondeterminism; another worker's is refused")
    func duplicatesAndNondeterminism() async throws {
        let ws = try TestSupport.workspaceCopy()
        let c = try Self.coordinator(ws.appendingPathComponent("st"))
        let job = try await c.submit(try Self.manifest(ws, "  dataset: ../Datasets/phantom\n  kernel: debug.noop\n  shard: {casesPerTask: 3}\n"))
        _ = try await c.register(.init(worker: "a", labels: [:], slots: 2))
        let grant = try await c.lease(.init(worker: "a", maxTasks: 2, waitSeconds: 0))
        #expect(grant.tasks.count == 2)
        let t0 = grant.tasks[0], t1 = grant.tasks[1]
        func result(_ a: TaskAssignment, _ value: Int) -> TaskResult {
            TaskResult(task: a.task, lease: a.lease, attempt: 1, output: ["v": .int(value)], failure: nil, seconds: 0.01)
        }
        let ack = try await c.submit(.init(worker: "a", results: [result(t0, 1)]))
        #expect(ack.accepted == [t0.key])
        _ = try await c.submit(.init(worker: "a", results: [result(t0, 1)]))  // re-delivered after a lost ack
        _ = try await c.submit(.init(worker: "a", results: [result(t1, 2)]))
        // Another worker's result for a task it never leased is refused, not compared.
        let forged = try await c.submit(.init(worker: "b", results: [result(t1, 4)]))
        #expect(forged.refused == [t1.key])
        _ = try await c.submit(.init(worker: "a", results: [result(t1, 3)]))  // the same attempt delivered again, with other bytes
        #expect(await c.jobStatus(job) == .succeeded)
        let (events, flagged, report) = try c.store.read { tx in
            (try tx.events(of: job), try tx.nondeterministicTasks(of: job), try tx.job(job)?.report)
        }
        #expect(events.filter { $0.kind == "duplicate-result" }.count == 1)
        #expect(flagged == [1])
        #expect(report?.contains("\"nondeterministicTasks\"") == true)
        // The first result is the one kept.
        let outputs = try c.store.read { try $0.outputs(of: job) }
        #expect(outputs[1]?["v"]?.intValue == 2)
    }

    @Test("the audit trail is append-only")
    func appendOnlyEvents() async throws {
        let ws = try TestSupport.workspaceCopy()
        let c = try Self.coordinator(ws.appendingPathComponent("st"))
        _ = try await c.submit(try Self.manifest(ws, "  dataset: ../Datasets/phantom\n  kernel: debug.noop\n"))
        #expect(throws: (any Error).self) { try c.store.write { tx in try tx.rawExecute("UPDATE events SET kind = 'x'") } }
        #expect(throws: (any Error).self) { try c.store.write { tx in try tx.rawExecute("DELETE FROM events") } }
    }

    @Test("a coordinator started again on the same state resumes the job; its old worker's lease expires after one period")
    func restartResumes() async throws {
        let ws = try TestSupport.workspaceCopy()
        let dir = ws.appendingPathComponent("st")
        var job = ""
        do {
            // Lease periods of 3 s: short enough for a quick test, long enough that the new worker's
            // heartbeats keep its leases on a busy machine.
            let c = try Self.coordinator(dir, ttl: 3)
            job = try await c.submit(try Self.manifest(ws, "  dataset: ../Datasets/phantom\n  kernel: debug.noop\n"))
            _ = try await c.register(.init(worker: "gone", labels: [:], slots: 2))
            let g = try await c.lease(.init(worker: "gone", maxTasks: 3, waitSeconds: 0))
            _ = try await c.submit(.init(worker: "gone", results: [TaskResult(task: g.tasks[0].task, lease: g.lease!, attempt: 1, output: ["cases": [["case": "phantom_001", "results": ["debug.noop": ["ok": true]]]]], failure: nil, seconds: 0)]))
        }
        let cluster = try InProcessCluster(stateDirectory: dir, leaseTTL: 3)
        #expect(await cluster.coordinator.jobStatus(job) == .running)
        let start = Date()
        let (_, text) = try await cluster.runSubmitted(job, workers: 1, slots: 2)
        #expect(Date().timeIntervalSince(start) >= 3.0, "leased tasks wait one lease period for their worker")
        let report = try JSONValue(parsing: Data(text.utf8))
        #expect(report["status"]?.stringValue == "succeeded")
        #expect(report["summary"]?["casesSucceeded"]?.intValue == 6)
    }

    @Test("a cancel requested through the store (by another process) stops the job")
    func cancelThroughStore() async throws {
        let ws = try TestSupport.workspaceCopy()
        let cluster = try InProcessCluster(stateDirectory: ws.appendingPathComponent("st"))
        let job = try await cluster.coordinator.submit(try Self.manifest(ws, "  dataset: ../Datasets/phantom\n  kernel: debug.sleep\n  params: {seconds: 5}\n"))
        let other = try Store(stateDirectory: ws.appendingPathComponent("st"))
        #expect(try other.write { tx in try tx.requestCancel(job, now: Date().timeIntervalSince1970) })
        let (_, text) = try await cluster.runSubmitted(job, workers: 1, slots: 1)
        #expect(try JSONValue(parsing: Data(text.utf8))["status"]?.stringValue == "cancelled")
    }

    @Test("status explains why tasks are pending")
    func pendingReasons() async throws {
        let ws = try TestSupport.workspaceCopy()
        let c = try Self.coordinator(ws.appendingPathComponent("st"))
        let job = try await c.submit(try Self.manifest(ws, "  dataset: ../Datasets/phantom\n  kernel: debug.noop\n  placement: {site: A}\n"))
        #expect(await c.pendingReasons(of: job) == ["no worker is connected": 6])
        _ = try await c.register(.init(worker: "b", labels: ["site": "B"], slots: 1))
        #expect(await c.pendingReasons(of: job) == ["no connected worker has the labels site=A": 6])
    }

    @Test("a trapping built-in kernel fails only its attempts: the same worker then runs the next job")
    func workerSurvivesTrap() async throws {
        let ws = try TestSupport.workspaceCopy()
        let c = try Self.coordinator(ws.appendingPathComponent("st"))
        let trap = try await c.submit(try Self.manifest(ws, "  dataset: ../Datasets/phantom\n  kernel: debug.trap\n  shard: {casesPerTask: 3}\n  retries: {kernelError: 0}\n", name: "trap"))
        let stats = try await c.submit(try Self.manifest(ws, "  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  priority: -1\n", name: "stats"))
        var logger = Logger(label: "w")
        logger.logLevel = .critical
        let executor = ProcessExecutor(executable: TestSupport.medgridBinary.path)
        let w = Worker(configuration: .defaults(name: "w") { $0.slots = 1; $0.leaseWait = 0.2 }, link: c, executor: executor, logger: logger)
        let clock = Task { await c.run() }
        let running = Task { try await w.run() }
        while await c.jobStatus(stats)?.isTerminal != true { try await Task.sleep(for: .milliseconds(20)) }
        running.cancel()
        _ = try? await running.value
        clock.cancel()
        #expect(await c.jobStatus(trap) == .failed)
        #expect(await c.jobStatus(stats) == .succeeded)
        let report = try #require(try c.store.read { try $0.job(trap)?.report })
        #expect(report.contains("\"kind\": \"trapped\""))
        #expect(report.contains("signal 4"))
    }

    @Test("a worker started without --allow-commands refuses command steps; the task fails as refused, without retries")
    func commandsRefused() async throws {
        let ws = try TestSupport.workspaceCopy()
        let c = try Self.coordinator(ws.appendingPathComponent("st"))
        let job = try await c.submit(try Self.manifest(ws, "  dataset: ../Datasets/phantom\n  steps:\n    - {name: x, command: [echo, '{}']}\n  shard: {casesPerTask: 6}\n"))
        var logger = Logger(label: "w")
        logger.logLevel = .critical
        let w = Worker(configuration: .defaults(name: "w") { $0.slots = 1; $0.leaseWait = 0.2; $0.allowCommands = false },
                       link: c, executor: InProcessExecutor(), logger: logger)
        let clock = Task { await c.run() }
        let running = Task { try await w.run() }
        while await c.jobStatus(job)?.isTerminal != true { try await Task.sleep(for: .milliseconds(20)) }
        running.cancel()
        _ = try? await running.value
        clock.cancel()
        #expect(await c.jobStatus(job) == .failed)
        let report = try JSONValue(parsing: Data(try #require(try c.store.read { try $0.job(job)?.report }).utf8))
        #expect(report["failures"]?.arrayValue?.first?["kind"]?.stringValue == "refused")
        #expect(report["failures"]?.arrayValue?.first?["message"]?.stringValue?.contains("--allow-commands") == true)
    }
}

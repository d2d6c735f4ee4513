import Foundation
import Logging
import Testing
import MedGridCore
import MedGridTesting
import MedGridWorker

/// A result over the worker's per-result limit fails its task as `resultTooLarge` (not retried), so the
/// job ends; uploads are cut into batches that fit the coordinator's body limit.
@Suite(.serialized)
struct ResultLimitTests {
    @Test("an oversized result fails its task with result-too-large, once, and the job ends")
    func oversizedResultFailsTask() async throws {
        let ws = try TestSupport.workspaceCopy()
        // Counts the step's runs; world-writable so the step's unprivileged user can append to it.
        let attempts = ws.appendingPathComponent("attempts.log")
        FileManager.default.createFile(atPath: attempts.path, contents: nil)
        chmod(attempts.path, 0o666)
        // 17 MiB of JSON on stdout: valid, and over the 16 MiB limit.
        let script = ws.appendingPathComponent("big.sh")
        try """
            #!/bin/sh
            cat >/dev/null
            echo run >> '\(attempts.path)'
            printf '{"blob":"'
            head -c 17825792 /dev/zero | tr '\\0' a
            printf '"}\\n'
            """.write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        let manifest = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: too-large}
            spec:
              cohort: ../Datasets/trial/cohort.csv
              steps:
                - name: big
                  command: [\(script.path)]
              retries: {kernelError: 2, backoffSeconds: 0}
              timeoutSeconds: 120
            """, named: "too-large", in: ws)
        let out = try await TestSupport.medgrid(["run", manifest, "--workers", "1", "--slots", "1", "--state-dir", "st", "--out", "out", "--quiet"], in: ws, timeout: 280)
        #expect(out.status == 2, "exit status 2 means: finished with failed tasks. \(out.stderr)")
        let report = try JSONValue(parsing: try reportBytes(ws.appendingPathComponent("out")))
        #expect(report["status"]?.stringValue == "failed")
        let failure = try #require(report["failures"]?.arrayValue?.first)
        #expect(failure["kind"]?.stringValue == "resultTooLarge")
        let message = try #require(failure["message"]?.stringValue)
        #expect(message.contains("result-too-large"), "\(message)")
        #expect(message.contains("\(Worker.Configuration.defaultMaxResultBytes) bytes"), "the message states the limit: \(message)")
        #expect(message.contains("17.0 MiB"), "the message states the size: \(message)")
        let runs = try String(contentsOf: attempts, encoding: .utf8).split(separator: "\n").count
        #expect(runs == 1, "a result-too-large failure is not retried (ran \(runs) times)")
    }

    @Test("uploads are cut to the batch byte limit, and only the oversized result fails")
    func batchesRespectByteLimit() async throws {
        let sizes = [6_000, 6_000, 6_000, 50_000, 6_000, 6_000, 6_000]
        let link = RecordingLink(tasks: sizes.indices.map { i in
            TaskAssignment(
                job: "j", task: TaskRef(job: "j", index: i), taskID: "j-t\(i)", lease: "L1", attempt: 1, steps: [],
                unit: .cases([]), inputs: [], datasetRoot: "", datasetLocation: nil, seed: 0, timeoutSeconds: 30)
        })
        var logger = Logger(label: "medgrid.test.result-limit")
        logger.logLevel = .critical
        let worker = Worker(
            configuration: .defaults(name: "w1") {
                $0.slots = 2
                $0.leaseWait = 0.1
                $0.maxResultBytes = 20_000
                $0.maxBatchBytes = 25_000
            },
            link: link, executor: PaddedExecutor(sizes: sizes), logger: logger)
        let running = Task { try await worker.run() }
        let deadline = Date().addingTimeInterval(60)
        while await link.results.count < sizes.count, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        running.cancel()
        _ = try? await running.value

        let results = await link.results
        #expect(results.count == sizes.count, "every task's result is uploaded exactly once")
        #expect(Set(results.map(\.task.index)) == Set(sizes.indices))
        for batch in await link.batches {
            let bytes = batch.map(Self.encodedSize).reduce(0, +)
            #expect(bytes <= 25_000 || batch.count == 1, "a batch of \(batch.count) results holds \(bytes) bytes")
        }
        for r in results {
            if sizes[r.task.index] > 20_000 {
                #expect(r.failure?.kind == .resultTooLarge)
                #expect(r.output == nil)
                #expect(r.failure?.message.contains("over the per-result limit of 20000 bytes") == true, "\(String(describing: r.failure))")
            } else {
                #expect(r.failure == nil && r.output != nil)
            }
        }
    }

    static func encodedSize(_ r: TaskResult) -> Int {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(r).count) ?? 0
    }
}

/// Gives each task a result whose JSON is about `sizes[index]` bytes.
private struct PaddedExecutor: TaskExecutor {
    let sizes: [Int]
    func execute(_ a: TaskAssignment) async -> TaskResult {
        let padding = String(repeating: "x", count: sizes[a.task.index])
        return TaskResult(task: a.task, lease: a.lease, attempt: a.attempt, output: ["padding": .string(padding)], failure: nil, seconds: 0)
    }
    func stop(_ assignment: TaskAssignment) async {}
    func shutdown() async {}
}

/// A coordinator that leases its tasks once and records every upload.
private actor RecordingLink: CoordinatorLink {
    var pending: [TaskAssignment]
    var batches: [[TaskResult]] = []
    var results: [TaskResult] { batches.flatMap { $0 } }

    init(tasks: [TaskAssignment]) { pending = tasks }

    func register(_ request: WorkerProtocol.Register) async throws -> WorkerProtocol.Registered {
        WorkerProtocol.Registered(heartbeatInterval: 0.5, leaseTTL: 30)
    }

    func lease(_ request: WorkerProtocol.LeaseRequest) async throws -> WorkerProtocol.LeaseGrant {
        guard !pending.isEmpty else {
            try await Task.sleep(for: .seconds(request.waitSeconds))
            return WorkerProtocol.LeaseGrant(lease: nil, tasks: [])
        }
        let n = min(request.maxTasks, pending.count)
        let granted = Array(pending.prefix(n))
        pending.removeFirst(n)
        return WorkerProtocol.LeaseGrant(lease: "L1", tasks: granted)
    }

    func heartbeat(_ request: WorkerProtocol.Heartbeat) async throws -> WorkerProtocol.HeartbeatReply {
        WorkerProtocol.HeartbeatReply(stop: [], known: true)
    }

    func submit(_ batch: WorkerProtocol.ResultBatch) async throws -> WorkerProtocol.ResultAck {
        batches.append(batch.results)
        return WorkerProtocol.ResultAck(accepted: batch.results.map(\.task.description))
    }

    func leave(worker: String) async throws {}
}

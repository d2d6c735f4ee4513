public import Foundation
public import Logging
public import MedGridCore
import MedGridTransport

/// The worker daemon's logic: registers, long-polls for lease batches, runs tasks in parallel slots,
/// heartbeats, and uploads results in batches, keeping each result until the coordinator acknowledges it.
///
/// Cancelling ``run()`` drains: no new leases, running tasks finish and are reported, then the worker
/// leaves and hands back what it had not started.
public actor Worker {
    public struct Configuration: Sendable {
        public var name: String
        public var labels: [String: String] = [:]
        /// Tasks run at once; defaults to the core count.
        public var slots: Int = ProcessInfo.processInfo.activeProcessorCount
        /// Tasks held beyond the slots so a slot never waits for the next lease.
        public var prefetch: Int = 1
        /// How long one lease long-poll may wait at the coordinator.
        public var leaseWait: Double = 5
        /// Most results per upload.
        public var maxBatch: Int = 256
        /// Most bytes of one task's result (its JSON as uploaded). A larger result fails its task as
        /// `resultTooLarge`, not retried, instead of being offered to the coordinator again and again.
        public var maxResultBytes: Int = Configuration.defaultMaxResultBytes
        /// Most bytes of JSON per upload; batches are cut before this (one result always fits, see
        /// ``maxResultBytes``). It stays under the coordinator's 32 MiB limit on JSON bodies.
        public var maxBatchBytes: Int = Configuration.defaultMaxBatchBytes

        /// 16 MiB: the stated per-result limit.
        public static let defaultMaxResultBytes = 16 << 20
        /// 24 MiB: one result of the largest size fits, with room for the batch's envelope.
        public static let defaultMaxBatchBytes = 24 << 20
        /// Whether manifests may make this worker run external commands (any program). Each runs in a fresh
        /// private folder with an empty environment, as an unprivileged user when the worker runs as root
        /// (see `ExternalCommand`). On for one-machine runs; a cluster worker needs `--allow-commands`.
        public var allowCommands: Bool = true
        /// The folder holding this site's own cohort files, for site-local jobs (`--site-data`).
        public var siteData: URL?

        public init(name: String) { self.name = name }

        public static func defaults(name: String, configure: (inout Configuration) -> Void) -> Configuration {
            var c = Configuration(name: name)
            configure(&c)
            return c
        }
    }

    let configuration: Configuration
    let link: any CoordinatorLink
    let executor: any TaskExecutor
    let fetcher: BlobFetcher?
    let logger: Logger

    var heartbeatInterval = 2.0
    var queue: [TaskAssignment] = []
    var running: [String: TaskAssignment] = [:]
    /// Results not yet acknowledged, each with the size of its JSON.
    var outbox: [(result: TaskResult, bytes: Int)] = []
    /// Fewer results per upload after the coordinator refused a body as too large.
    var batchCap = Int.max
    var leaseTasks: [String: Int] = [:]
    var draining = false
    var finished = false
    var slotWaiters: [CheckedContinuation<TaskAssignment?, Never>] = []
    var capacityWaiters: [CheckedContinuation<Void, Never>] = []
    var outboxWaiters: [CheckedContinuation<Void, Never>] = []
    public private(set) var completed = 0

    /// - Parameter fetcher: fetches inputs by hash when the dataset is not on a shared file system.
    public init(configuration: Configuration, link: any CoordinatorLink, executor: any TaskExecutor, fetcher: BlobFetcher? = nil, logger: Logger) {
        self.configuration = configuration
        self.link = link
        self.executor = executor
        self.fetcher = fetcher
        self.logger = logger
    }

    /// Runs until cancelled, then drains and leaves.
    public func run() async throws {
        try await register()
        let inner = Task { await self.loops() }
        await withTaskCancellationHandler {
            await inner.value
        } onCancel: {
            Task { await self.beginDrain() }
        }
    }

    func loops() async {
        let leasing = Task { await self.leaseLoop() }
        let beating = Task { await self.heartbeatLoop() }
        let flushing = Task { await self.flushLoop() }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, configuration.slots) { group.addTask { await self.slotLoop() } }
        }
        leasing.cancel()
        finished = true
        wake(&outboxWaiters)
        await flushing.value
        beating.cancel()
        await executor.shutdown()
        do {
            try await link.leave(worker: configuration.name)
        } catch {
            logger.warning("could not tell the coordinator this worker leaves", metadata: ["medgrid.error": "\(error)"])
        }
        logger.info("worker stopped", metadata: ["medgrid.worker": "\(configuration.name)", "medgrid.completed": "\(completed)"])
    }

    func beginDrain() {
        guard !draining else { return }
        draining = true
        logger.info("worker draining: finishing running tasks", metadata: ["medgrid.running": "\(running.count)", "medgrid.queued": "\(queue.count)"])
        queue.removeAll()
        let waiting = slotWaiters
        slotWaiters = []
        for c in waiting { c.resume(returning: nil) }
        wake(&capacityWaiters)
    }

    func register() async throws {
        var delay = 0.2
        while true {
            do {
                let reply = try await link.register(WorkerProtocol.Register(
                    worker: configuration.name, labels: configuration.labels, slots: configuration.slots, heldLeases: Array(leaseTasks.keys)))
                heartbeatInterval = reply.heartbeatInterval
                return
            } catch {
                if Task.isCancelled || draining { throw error }
                logger.warning("coordinator unreachable; retrying", metadata: ["medgrid.error": "\(error)", "medgrid.retry_in_s": "\(delay)"])
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 30)
            }
        }
    }

    // MARK: Loops

    func leaseLoop() async {
        var delay = 0.2
        while !draining && !Task.isCancelled {
            let want = configuration.slots + configuration.prefetch - queue.count - running.count
            if want <= 0 {
                await withCheckedContinuation { capacityWaiters.append($0) }
                continue
            }
            do {
                let grant = try await link.lease(WorkerProtocol.LeaseRequest(worker: configuration.name, maxTasks: want, waitSeconds: configuration.leaseWait))
                delay = 0.2
                guard let lease = grant.lease, !grant.tasks.isEmpty else { continue }
                leaseTasks[lease, default: 0] += grant.tasks.count
                if draining { continue }  // handed back when the worker leaves
                for a in grant.tasks {
                    if let c = slotWaiters.popLast() { running[a.key] = a; c.resume(returning: a) } else { queue.append(a) }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("lease request failed; retrying", metadata: ["medgrid.error": "\(error)", "medgrid.retry_in_s": "\(delay)"])
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 30)
            }
        }
    }

    func slotLoop() async {
        while true {
            let next: TaskAssignment?
            if !queue.isEmpty {
                next = queue.removeFirst()
                running[next!.key] = next
            } else if draining {
                return
            } else {
                next = await withCheckedContinuation { slotWaiters.append($0) }
            }
            guard let a = next else { return }
            let result = sized(keptAtSite(await run(a), a))
            running[a.key] = nil
            completed += 1
            leaseTasks[a.lease, default: 1] -= 1
            if leaseTasks[a.lease]! <= 0 { leaseTasks[a.lease] = nil }
            outbox.append(result)
            wake(&outboxWaiters)
            wake(&capacityWaiters)
        }
    }

    /// Points a site-local task's inputs at this worker's own `--site-data` files, after checking the task
    /// is for this worker's site.
    func siteLocal(_ assignment: TaskAssignment) throws -> TaskAssignment {
        var a = assignment
        var files = a.localFiles ?? [:]
        for input in a.inputs {
            guard let site = input.siteLocal else { continue }
            if case .cohort(let slice) = a.unit, slice.kind == .site, let label = slice.column, configuration.labels[label] != site.site {
                throw MedGridError(.permissionDenied, "worker \(configuration.name) is not at site \(site.site) (its label \(label) is \(configuration.labels[label] ?? "unset")); site data are read only by their own site's workers")
            }
            guard let folder = configuration.siteData else {
                throw MedGridError(.unavailable, "worker \(configuration.name) has no --site-data folder, so it cannot read site \(site.site)'s \(site.file)")
            }
            let url = folder.appendingPathComponent(site.file)
            guard FileManager.default.isReadableFile(atPath: url.path) else {
                throw MedGridError(.notFound, "worker \(configuration.name): \(url.path) does not exist or is not readable (site \(site.site)'s \(site.file))")
            }
            files[input.path] = url.path
        }
        a.localFiles = files
        return a
    }

    /// Fetches the inputs (if needed) and runs the task; a fetch that fails fails the attempt.
    func run(_ a: TaskAssignment) async -> TaskResult {
        if !configuration.allowCommands, a.steps.contains(where: { $0.command != nil }) {
            let failure = TaskFailure(kind: .refused, message: "worker \(configuration.name) does not run external commands (it was started without --allow-commands)")
            return TaskResult(task: a.task, lease: a.lease, attempt: a.attempt, output: nil, failure: failure, seconds: 0)
        }
        var a = a
        if a.inputs.contains(where: { $0.siteLocal != nil }) {
            do { a = try siteLocal(a) } catch {
                let failure = TaskFailure(kind: .refused, message: "\(error)")
                return TaskResult(task: a.task, lease: a.lease, attempt: a.attempt, output: nil, failure: failure, seconds: 0)
            }
            return await executor.execute(a)
        }
        guard let fetcher, a.datasetLocation == nil else { return await executor.execute(a) }
        defer { fetcher.release(a) }
        do {
            return await executor.execute(try await fetcher.prepare(a))
        } catch {
            let failure: TaskFailure
            if let e = error as? MedGridError, e.code == .integrity {
                failure = TaskFailure(kind: .integrity, message: e.message)
            } else {
                failure = TaskFailure(kind: .lostWorker, message: "could not fetch the task's inputs: \(error)")
            }
            return TaskResult(task: a.task, lease: a.lease, attempt: a.attempt, output: nil, failure: failure, seconds: 0)
        }
    }

    /// A site-local task's stderr tail never leaves the site, and is not logged either (it could hold rows):
    /// only its length is.
    func keptAtSite(_ result: TaskResult, _ a: TaskAssignment) -> TaskResult {
        guard a.inputs.contains(where: { $0.siteLocal != nil }), let tail = result.failure?.stderrTail else { return result }
        var r = result
        r.failure?.stderrTail = nil
        logger.notice("a site-local task's stderr stays at this site; not sent, not logged", metadata: [
            "medgrid.task": "\(a.key)", "medgrid.stderr_bytes": "\(tail.utf8.count)",
        ])
        return r
    }

    /// The result with the size of its JSON; a result over ``Configuration/maxResultBytes`` becomes a
    /// `resultTooLarge` failure that says both sizes.
    func sized(_ result: TaskResult) -> (result: TaskResult, bytes: Int) {
        let bytes = Self.encodedSize(result)
        guard bytes > configuration.maxResultBytes else { return (result, bytes) }
        let failure = TaskFailure(kind: .resultTooLarge, message: Self.tooLargeMessage(bytes: bytes, limit: configuration.maxResultBytes))
        logger.warning("task result too large; failing the task", metadata: [
            "medgrid.task": "\(result.task)", "medgrid.result_bytes": "\(bytes)", "medgrid.limit_bytes": "\(configuration.maxResultBytes)",
        ])
        let failed = TaskResult(task: result.task, lease: result.lease, attempt: result.attempt, output: nil, failure: failure, seconds: result.seconds)
        return (failed, Self.encodedSize(failed))
    }

    static func encodedSize(_ result: TaskResult) -> Int {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(result).count) ?? Int.max
    }

    static func tooLargeMessage(bytes: Int, limit: Int) -> String {
        func mib(_ n: Int) -> String { String(format: "%.1f MiB", Double(n) / 1_048_576) }
        return "result-too-large: the task's result is \(bytes) bytes (\(mib(bytes))) of JSON, over the per-result limit of \(limit) bytes (\(mib(limit))); not retried. Make the step return less (e.g. summary statistics instead of per-voxel or per-row values), or shard the job into smaller tasks"
    }

    /// The next upload: results in order while they fit ``Configuration/maxBatch`` and
    /// ``Configuration/maxBatchBytes``; always at least one.
    func nextBatch() -> [TaskResult] {
        var batch: [TaskResult] = []
        var bytes = 0
        let most = min(configuration.maxBatch, batchCap)
        for (r, size) in outbox {
            if !batch.isEmpty, batch.count >= most || bytes + size > configuration.maxBatchBytes { break }
            batch.append(r)
            bytes += size
        }
        return batch
    }

    func flushLoop() async {
        var delay = 0.2
        while true {
            if outbox.isEmpty {
                if finished { return }
                await withCheckedContinuation { outboxWaiters.append($0) }
                continue
            }
            let batch = nextBatch()
            do {
                let ack = try await link.submit(WorkerProtocol.ResultBatch(worker: configuration.name, results: batch))
                let accepted = Set(ack.accepted)
                outbox.removeAll { r in accepted.contains(r.result.task.description) && batch.contains(r.result) }
                delay = 0.2
            } catch let error as MedGridError where error.message.hasPrefix("413 ") {
                // The coordinator refuses the body as too large: send fewer at once; a result refused even
                // alone fails its task rather than being offered forever.
                guard batch.count == 1 else {
                    batchCap = max(1, batch.count / 2)
                    continue
                }
                let r = batch[0]
                let size = Self.encodedSize(r)
                let failure = TaskFailure(kind: .resultTooLarge, message: Self.tooLargeMessage(bytes: size, limit: configuration.maxResultBytes) + " (the coordinator refused it: \(error.message))")
                let failed = TaskResult(task: r.task, lease: r.lease, attempt: r.attempt, output: nil, failure: failure, seconds: r.seconds)
                if let i = outbox.firstIndex(where: { $0.result == r }) { outbox[i] = (failed, Self.encodedSize(failed)) }
            } catch {
                logger.warning("result upload failed; keeping results and retrying", metadata: ["medgrid.error": "\(error)", "medgrid.pending": "\(outbox.count)"])
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 30)
                if finished && delay >= 30 { return }
            }
        }
    }

    func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(heartbeatInterval))
            if Task.isCancelled { return }
            do {
                let reply = try await link.heartbeat(WorkerProtocol.Heartbeat(worker: configuration.name, running: Array(running.keys)))
                if !reply.known && !draining {
                    logger.info("coordinator does not know this worker; registering again")
                    try await register()
                }
                for key in reply.stop {
                    queue.removeAll { $0.key == key }
                    if let a = running[key] { await executor.stop(a) }
                }
                if let purged = reply.purge, !purged.isEmpty {
                    let removed = purged.reduce(0) { $0 + (fetcher?.cache.removeAll(sha256: $1) ?? 0) }
                    logger.info("dropped purged dataset files from the cache", metadata: ["medgrid.purged": "\(purged.count)", "medgrid.removed": "\(removed)"])
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("heartbeat failed", metadata: ["medgrid.error": "\(error)"])
            }
        }
    }

    func wake(_ list: inout [CheckedContinuation<Void, Never>]) {
        let w = list
        list = []
        for c in w { c.resume() }
    }
}

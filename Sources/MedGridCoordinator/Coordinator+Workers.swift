import Foundation
import Logging
public import MedGridCore

extension Coordinator: CoordinatorLink {
    public func register(_ request: WorkerProtocol.Register) async throws -> WorkerProtocol.Registered {
        try metered { try registerNow(request) }
    }

    func registerNow(_ request: WorkerProtocol.Register) throws -> WorkerProtocol.Registered {
        guard request.protocolVersion == WorkerProtocol.version else {
            throw MedGridError(.unsupported, "worker \(request.worker) speaks protocol \(request.protocolVersion), this coordinator \(WorkerProtocol.version)")
        }
        let t = now
        let decisions = scheduler.register(worker: request.worker, labels: request.labels, slots: request.slots, heldLeases: Set(request.heldLeases), now: t)
        try store.write { tx in try tx.upsertWorker(name: request.worker, labels: request.labels, slots: request.slots, now: t) }
        try apply(decisions, touched: [])
        logger.info("worker registered", metadata: ["medgrid.worker": "\(request.worker)", "medgrid.slots": "\(request.slots)"])
        // A worker that was away during purges drops every purged file it may still cache.
        let purged = try store.read { try $0.purgedBlobs() }
        if !purged.isEmpty { pendingPurges[request.worker, default: []].formUnion(purged) }
        wakeAll()
        return WorkerProtocol.Registered(heartbeatInterval: configuration.scheduler.heartbeatInterval, leaseTTL: configuration.scheduler.leaseTTL)
    }

    public func lease(_ request: WorkerProtocol.LeaseRequest) async throws -> WorkerProtocol.LeaseGrant {
        let deadline = now + max(0, min(request.waitSeconds, 60))
        while true {
            let grant: WorkerProtocol.LeaseGrant? = try metered {
                let decisions = scheduler.requestLease(worker: request.worker, maxTasks: request.maxTasks, now: now)
                guard case .leaseGranted(let lease)? = decisions.first else { return nil }
                try apply(decisions, touched: [])
                return WorkerProtocol.LeaseGrant(lease: lease.id, tasks: lease.tasks.map { assignment($0, lease: lease) })
            }
            if let grant { return grant }
            let remaining = deadline - now
            if remaining <= 0 || Task.isCancelled { return WorkerProtocol.LeaseGrant(lease: nil, tasks: []) }
            await waitForChange(timeout: remaining)
        }
    }

    /// The data key (base64) of a job's dataset, looked up once per job; nil for files stored before data
    /// keys existed.
    func dataKey(ofJob job: String, root: String) -> String? {
        if let known = jobDataKeys[job] { return known }
        guard let project = (try? store.read { try $0.job(job) })??.project,
              let keyID = (try? keys.datasetKeyID(project: project, root: root)) ?? nil,
              let key = try? keys.dataKeyBytes(keyID: keyID)
        else { return nil }
        let text = key.base64EncodedString()
        jobDataKeys[job] = text
        return text
    }

    func assignment(_ ref: TaskRef, lease: Lease) -> TaskAssignment {
        let plan = plans[ref.job]!
        let task = plan.task(at: ref.index)
        let attempts = scheduler.attempts(of: ref).values.reduce(0, +)
        var steps = task.algorithm.map { [plan.steps[$0]] } ?? plan.steps
        let round = plan.round(of: ref.index)
        let states = rounds[ref.job]?.round == round ? rounds[ref.job]?.states : nil
        if round > 0 { steps = steps.filter { states?[$0.name] != nil } }
        var a = TaskAssignment(
            job: ref.job, task: ref, taskID: task.id, lease: lease.id, attempt: attempts + 1, steps: steps,
            unit: task.unit, inputs: task.inputs, datasetRoot: plan.datasetRoot,
            datasetLocation: plan.sharedFilesystem ? plan.inputLocation : nil,
            seed: plan.seed, timeoutSeconds: plan.timeoutSeconds)
        if !plan.sharedFilesystem { a.dataKey = dataKey(ofJob: ref.job, root: plan.datasetRoot) }
        if let states, !states.isEmpty {
            a.round = round
            a.roundStates = states
        }
        if let algorithm = task.algorithm {
            a.benchmark = .init(algorithm: plan.steps[algorithm].name, metrics: plan.metrics ?? [])
            a.benchmark?.options = plan.metricOptions
        }
        return a
    }

    public func heartbeat(_ request: WorkerProtocol.Heartbeat) async throws -> WorkerProtocol.HeartbeatReply {
        metered { heartbeatNow(request) }
    }

    func heartbeatNow(_ request: WorkerProtocol.Heartbeat) -> WorkerProtocol.HeartbeatReply {
        let known = scheduler.connectedWorkers.contains(request.worker)
        _ = scheduler.heartbeat(worker: request.worker, now: now)
        let stop = stops.removeValue(forKey: request.worker) ?? []
        let purge = known ? pendingPurges.removeValue(forKey: request.worker).map { $0.sorted() } : nil
        return WorkerProtocol.HeartbeatReply(stop: stop.sorted().map(\.description), known: known, purge: purge)
    }

    /// Records a batch of results; a job they end is answered once its report is stored.
    public func submit(_ batch: WorkerProtocol.ResultBatch) async throws -> WorkerProtocol.ResultAck {
        let ack = try metered { try submitNow(batch) }
        await reportsStored()
        return ack
    }

    func submitNow(_ batch: WorkerProtocol.ResultBatch) throws -> WorkerProtocol.ResultAck {
        let t = now
        var decisions: [SchedulerDecision] = []
        var newResults: [TaskResult] = []
        var duplicates: [TaskResult] = []
        for r in batch.results {
            let d = scheduler.complete(r.task, worker: batch.worker, lease: r.lease, failure: r.output == nil ? (r.failure ?? TaskFailure(kind: .kernelError, message: "no output")) : nil, now: t)
            for x in d {
                if case .taskSucceeded(let ref, _, _) = x, ref == r.task { newResults.append(r) }
                if case .duplicateResult(let ref, _) = x, ref == r.task { duplicates.append(r) }
            }
            decisions += d
        }
        let worker = batch.worker
        let newRows = newResults, dupRows = duplicates
        try apply(decisions, touched: []) { tx in
            for r in newRows {
                try tx.insertResult(job: r.task.job, index: r.task.index, output: r.output!, worker: worker, attempt: r.attempt, seconds: r.seconds, now: t)
            }
            for r in dupRows {
                let kept = try tx.resultHash(job: r.task.job, index: r.task.index)
                let other = CanonicalJSON.sha256(r.output!)
                if let kept, kept != other {
                    try tx.recordNondeterminism(job: r.task.job, index: r.task.index, kept: kept, other: other, worker: worker, now: t)
                } else {
                    try tx.event(job: r.task.job, task: r.task.index, kind: "duplicate-result", detail: "identical output from \(worker)", now: t)
                }
            }
        }
        if !newRows.isEmpty { wakeAll() }
        // A disagreement found after the job ended goes into its report too.
        for job in Set(dupRows.map(\.task.job)) where scheduler.status(of: job)?.isTerminal == true {
            if try store.read({ try $0.nondeterministicTasks(of: job) }).isEmpty == false {
                try finish(job: job, status: scheduler.status(of: job)!)
            }
        }
        let refused = decisions.compactMap { d -> String? in
            if case .resultRefused(let ref, _, _) = d { return ref.description }
            return nil
        }
        return WorkerProtocol.ResultAck(accepted: batch.results.map(\.task.description), refused: refused.isEmpty ? nil : refused)
    }

    public func leave(worker: String) async throws {
        try apply(scheduler.workerLeft(worker, now: now), touched: [])
        logger.info("worker left", metadata: ["medgrid.worker": "\(worker)"])
        wakeAll()
    }
}

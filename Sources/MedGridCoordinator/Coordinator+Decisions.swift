import Foundation
import Logging
import MedGridCore
import MedGridReports

extension Coordinator {
    /// Makes decisions durable in one transaction (with `extra` writes, such as results), then finishes
    /// jobs whose last task just ended.
    func apply(
        _ decisions: [SchedulerDecision], touched extraTouched: [TaskRef],
        extra: @Sendable (StoreTransaction) throws -> Void = { _ in }
    ) throws {
        var touched = Set(extraTouched)
        var finished: [(String, JobStatus)] = []
        var events: [(String?, Int?, String, String)] = []
        for d in decisions {
            switch d {
            case .leaseGranted(let lease):
                touched.formUnion(lease.tasks)
                events.append((lease.tasks.first?.job, nil, "lease", "\(lease.id) to \(lease.worker): \(lease.tasks.count) tasks"))
            case .taskSucceeded(let ref, let worker, let attempt):
                touched.insert(ref)
                events.append((ref.job, ref.index, "succeeded", "attempt \(attempt) on \(worker)"))
            case .duplicateResult:
                break
            case .resultRefused(let ref, let worker, let lease):
                refusedResults += 1
                let known = plans[ref.job] != nil
                events.append((known ? ref.job : nil, known ? ref.index : nil, "result-refused", "from \(worker) under lease \(lease), which it does not hold for \(ref)"))
                logger.warning("refused a result from a worker that does not hold the lease", metadata: ["medgrid.worker": "\(worker)", "medgrid.task": "\(ref)"])
            case .taskRequeued(let ref, let failure, let attempt, _):
                touched.insert(ref)
                events.append((ref.job, ref.index, "retry", "attempt \(attempt) failed: \(failure.kind.rawValue): \(failure.message)"))
            case .taskQuarantined(let ref, let failure, let attempts):
                touched.insert(ref)
                events.append((ref.job, ref.index, "quarantined", "after \(attempts) attempts: \(failure.kind.rawValue): \(failure.message)"))
            case .taskCancelled(let ref):
                touched.insert(ref)
            case .leaseExpired(let id, let worker, let tasks):
                touched.formUnion(tasks)
                events.append((tasks.first?.job, nil, "lease-expired", "\(id) of \(worker)"))
            case .workerLost(let worker):
                events.append((nil, nil, "worker-lost", worker))
                logger.warning("worker lost", metadata: ["medgrid.worker": "\(worker)"])
            case .stopTasks(let worker, let tasks):
                stops[worker, default: []].formUnion(tasks)
            case .jobFinished(let id, let status):
                finished.append((id, status))
            }
        }
        let rows: [(TaskRef, RestoredTask, TaskFailure?)] = touched.sorted().compactMap { ref in
            scheduler.snapshot(ref).map { (ref, $0.state, $0.lastFailure) }
        }
        let t = now
        let eventRows = events
        try store.write { tx in
            try extra(tx)
            for (ref, state, failure) in rows {
                try tx.updateTask(job: ref.job, index: ref.index, state: state, lastFailure: failure)
            }
            for e in eventRows { try tx.event(job: e.0, task: e.1, kind: e.2, detail: e.3, now: t) }
        }
        for (id, status) in finished { try finishOrAdvance(job: id, status: status) }
        if decisions.contains(where: { if case .taskRequeued = $0 { return true }; if case .leaseExpired = $0 { return true }; return false }) {
            wakeAll()
        }
    }

    /// A job's tasks have all ended. A multi-round job whose round succeeded advances each unfinished
    /// step from the round's outputs (in shard order): steps that need another round get their new state
    /// broadcast to a fresh set of tasks; when none does, the job finishes with the steps' results.
    func finishOrAdvance(job id: String, status: JobStatus) throws {
        guard let plan = plans[id], let record = rounds[id], !record.states.isEmpty else {
            return try finish(job: id, status: status)
        }
        var next = RoundRecord(round: record.round + 1, states: [:], results: record.results)
        if status != .succeeded {
            for step in record.states.keys {
                next.results[step] = ["error": .string("round \(record.round) did not complete: a shard's task \(status == .cancelled ? "was cancelled" : "failed"), so the fit stopped")]
            }
        } else {
            let outputs = try store.read { try $0.outputs(of: id) }
            let base = record.round * plan.roundSize
            for (name, state) in record.states.sorted(by: { $0.key < $1.key }) {
                guard let step = plan.steps.first(where: { $0.name == name }) else { continue }
                let roundOutputs = (base..<(base + plan.roundSize)).compactMap { outputs[$0]?["steps"]?[name] }
                do {
                    switch try suite.advanceRound(step: step, state: state, outputs: roundOutputs) {
                    case .next(let s): next.states[name] = s
                    case .done(let r): next.results[name] = r
                    }
                } catch {
                    next.results[name] = ["error": .string("\(error)")]
                }
            }
        }
        let tasks = next.states.isEmpty ? [] : (0..<plan.roundSize).map { plan.task(at: next.round * plan.roundSize + $0) }
        let t = now
        let advanced = next
        try store.write { tx in try tx.insertRound(job: id, record: advanced, tasks: tasks, now: t) }
        rounds[id] = next
        if tasks.isEmpty { return try finish(job: id, status: status) }
        _ = scheduler.extend(job: id, taskCount: plan.roundSize, taskPlacements: plan.taskPlacements)
        logger.info("job round", metadata: ["medgrid.job": "\(id)", "medgrid.round": "\(next.round)"])
        wakeAll()
    }

    /// Builds the job's canonical report from the stored results and records the job as finished. The
    /// report (aggregation, and a Benchmark's bootstrap ranking) is built off the actor, so heartbeats and
    /// leases are served meanwhile; until it is stored the job reads as running. A coordinator stopped
    /// before then builds it again when it resumes the job.
    func finish(job id: String, status: JobStatus) throws {
        guard let plan = plans[id] else { return }
        let (outputs, failures, nondeterministic) = try store.read { tx in
            (try tx.outputs(of: id), try tx.failures(of: id), try tx.nondeterministicTasks(of: id))
        }
        let roundResults = rounds[id]?.results ?? [:]
        let generation = (reportsInProgress[id] ?? 0) + 1
        reportsInProgress[id] = generation
        let suite = suite, version = configuration.medgridVersion
        reportTasks[id] = Task.detached { [weak self] in
            let text = Self.buildReport(
                plan: plan, status: status, outputs: outputs, failures: failures, nondeterministic: nondeterministic,
                roundResults: roundResults, suite: suite, medgridVersion: version)
            await self?.recordReport(job: id, status: status, text: text, failed: failures.count, generation: generation)
        }
    }

    /// Waits until every report being built is stored (the actor stays free meanwhile): a result or cancel
    /// that ended a job is answered once its report can be read.
    func reportsStored() async {
        while let task = reportTasks.values.first {
            await task.value
        }
    }

    /// Stores a finished job's report, unless a newer one for the same job is being built.
    func recordReport(job id: String, status: JobStatus, text: String, failed: Int, generation: Int) {
        guard reportsInProgress[id] == generation else { return }  // a newer build of the same report will store it
        do {
            let t = now
            try store.write { tx in try tx.finishJob(id, status: status, report: text, now: t) }
            logger.info("job finished", metadata: ["medgrid.job": "\(id)", "medgrid.status": "\(status.rawValue)", "medgrid.failed": "\(failed)"])
        } catch {
            logger.error("could not store a finished job's report; it is built again when the coordinator restarts", metadata: ["medgrid.job": "\(id)", "medgrid.error": "\(error)"])
        }
        reportsInProgress[id] = nil
        reportTasks[id] = nil
        wakeAll()
    }

    /// The canonical report text: the plan's reduction, a Benchmark's ranking, nondeterministic tasks.
    nonisolated static func buildReport(
        plan: Plan, status: JobStatus, outputs: [Int: JSONValue], failures: [Int: TaskFailure], nondeterministic: [Int],
        roundResults: [String: JSONValue], suite: any KernelSuite, medgridVersion: String
    ) -> String {
        var report = JobReportBuilder(suite: suite, medgridVersion: medgridVersion)
            .build(plan: plan, status: status, outputs: outputs, failures: failures, roundResults: roundResults)
        // A Benchmark's ranking is derived from its per-case scores, in the report beside them.
        if let metrics = plan.metrics, let scores = report["scores"]?.arrayValue, case .object(var o) = report {
            do {
                o["ranking"] = try BenchmarkRanking.analyse(
                    scores: scores, metrics: metrics, ranking: plan.document["spec"]?["ranking"] ?? .object([:]), seed: plan.seed).json
            } catch {
                o["ranking"] = ["error": .string("\(error)")]
            }
            report = .object(o)
        }
        if !nondeterministic.isEmpty, case .object(var o) = report {
            o["nondeterministicTasks"] = .array(nondeterministic.map { .string(plan.task(at: $0).id) })
            report = .object(o)
        }
        return CanonicalJSON.encode(report)
    }
}

/// A task's state as the store kept it, for rebuilding the scheduler after a coordinator restart.
public struct RestoredTask: Sendable {
    public var phase: TaskPhase
    public var attempts: [RetryBudget: Int]
    public var failedOn: Set<String>
    public var notBefore: Double
    public var lease: String?
    public var worker: String?

    public init(phase: TaskPhase, attempts: [RetryBudget: Int], failedOn: Set<String>, notBefore: Double, lease: String?, worker: String?) {
        self.phase = phase
        self.attempts = attempts
        self.failedOn = failedOn
        self.notBefore = notBefore
        self.lease = lease
        self.worker = worker
    }
}

extension Scheduler {
    /// Rebuilds an unfinished job from the store. Tasks that were leased stay leased to their workers,
    /// which become "ghosts" with one lease period to come back (register again or report); after that
    /// their leases expire as usual.
    public mutating func restore(
        job id: String, tasks restored: [RestoredTask], priority: Int, placement: [String: String],
        retries: Manifest.RetryPolicy, cancelled: Bool, now: Double, taskPlacements: [[String: String]?]? = nil
    ) -> [SchedulerDecision] {
        var job = JobState(
            id: id, priority: priority, order: jobOrder.count, placement: placement, retries: retries,
            tasks: [], fresh: [], remaining: 0
        )
        job.taskPlacement = taskPlacements ?? Array(repeating: nil, count: restored.count)
        for (i, r) in restored.enumerated() {
            var t = TaskState()
            t.phase = r.phase
            t.attempts = r.attempts
            t.failedOn = r.failedOn
            t.notBefore = r.notBefore
            switch r.phase {
            case .pending:
                if t.totalAttempts == 0 && t.failedOn.isEmpty { job.fresh.append(i) } else { job.retry.append(i) }
                job.remaining += 1
            case .leased:
                if let leaseID = r.lease, let worker = r.worker {
                    t.lease = leaseID
                    t.worker = worker
                    job.inFlight += 1
                    var w = workers[worker] ?? WorkerState(id: worker, labels: [:], slots: 1, lastSeen: now, ghost: true)
                    w.leases.insert(leaseID)
                    w.inFlight += 1
                    workers[worker] = w
                    var lease = leases[leaseID] ?? Lease(id: leaseID, worker: worker, tasks: [], grantedAt: now)
                    lease.tasks.append(TaskRef(job: id, index: i))
                    leases[leaseID] = lease
                } else {
                    t.phase = .pending
                    job.retry.append(i)
                }
                job.remaining += 1
            case .succeeded, .failed, .cancelled:
                break
            }
            job.tasks.append(t)
        }
        jobs[id] = job
        jobOrder.append(id)
        if cancelled { return cancel(job: id) }
        return finishIfDone(id)
    }

    /// Why a pending task has not started yet. Nil when the task is not pending.
    public func pendingReason(_ ref: TaskRef, now: Double) -> PendingReason? {
        guard let job = jobs[ref.job], ref.index < job.tasks.count, job.tasks[ref.index].phase == .pending else { return nil }
        let t = job.tasks[ref.index]
        if t.notBefore > now { return .waitingForBackoff(until: t.notBefore) }
        let live = workers.values.filter { !$0.ghost }
        if live.isEmpty { return .noWorkers }
        let needed = placement(of: job, ref.index)
        let matching = live.filter { matches($0, needed) }
        if matching.isEmpty { return .noWorkerWithLabels(needed) }
        if !t.failedOn.isEmpty && matching.allSatisfy({ t.failedOn.contains($0.id) }) == false
            && matching.filter({ !t.failedOn.contains($0.id) }).allSatisfy({ $0.inFlight >= $0.slots })
        {
            return .waitingForAnotherWorker
        }
        if matching.allSatisfy({ $0.inFlight >= $0.slots }) { return .allSlotsBusy }
        var ahead = 0
        for other in jobs.values where other.status == .running && !other.cancelled && (other.priority > job.priority || other.id == job.id) {
            if other.id == job.id {
                // Fresh tasks are in ascending plan order: a binary search finds the task's place.
                var lo = job.head, hi = job.fresh.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if job.fresh[mid] < ref.index { lo = mid + 1 } else { hi = mid }
                }
                ahead += lo - job.head
            } else {
                ahead += other.fresh.count - other.head + other.retry.count
            }
        }
        return .queuedBehind(ahead)
    }
}

extension Scheduler {
    /// A task's state in the form the store keeps.
    public func snapshot(_ ref: TaskRef) -> (state: RestoredTask, lastFailure: TaskFailure?)? {
        guard let t = jobs[ref.job]?.tasks[ref.index] else { return nil }
        return (RestoredTask(phase: t.phase, attempts: t.attempts, failedOn: t.failedOn, notBefore: t.notBefore, lease: t.lease, worker: t.worker), t.lastFailure)
    }

    /// The earliest time a backed-off task becomes runnable, if any is waiting.
    public var nextBackoffDeadline: Double? {
        var best: Double?
        for job in jobs.values where job.status == .running {
            for i in job.retry { let t = job.tasks[i].notBefore; if best == nil || t < best! { best = t } }
        }
        return best
    }
}

extension Scheduler {
    /// Connected workers with their labels, slots, running tasks and last sign of life.
    public var workerSummaries: [(name: String, labels: [String: String], slots: Int, running: Int, lastSeen: Double)] {
        workers.values.filter { !$0.ghost }.sorted { $0.id < $1.id }.map { ($0.id, $0.labels, $0.slots, $0.inFlight, $0.lastSeen) }
    }

    /// Leases outstanding and tasks in flight, for metrics.
    public var leaseCount: Int { leases.count }

    /// Job counts by status and task counts by phase over all jobs, for metrics.
    public var totals: (jobs: [JobStatus: Int], tasks: [TaskPhase: Int]) {
        var j: [JobStatus: Int] = [:], t: [TaskPhase: Int] = [:]
        for job in jobs.values {
            j[job.status, default: 0] += 1
            for task in job.tasks { t[task.phase, default: 0] += 1 }
        }
        return (j, t)
    }
}

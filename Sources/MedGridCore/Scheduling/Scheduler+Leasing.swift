extension Scheduler {
    /// A worker asks for up to `maxTasks` tasks. It gets at most its free slots plus the prefetch, from the
    /// highest-priority job with runnable work, fewest-in-flight first among equals, in plan order.
    public mutating func requestLease(worker id: String, maxTasks: Int, now: Double) -> [SchedulerDecision] {
        guard var w = workers[id], !w.ghost else { return [] }
        w.lastSeen = now
        workers[id] = w
        let room = min(maxTasks, w.slots + configuration.prefetch - w.inFlight)
        guard room > 0 else { return [] }
        leaseCounter += 1
        let leaseID = "\(leasePrefix)-\(leaseCounter)"
        var granted: [TaskRef] = []
        while granted.count < room, let ref = nextTask(for: w, now: now) {
            var job = jobs.removeValue(forKey: ref.job)!  // taken out so the task array is mutated in place
            job.tasks[ref.index].phase = .leased
            job.tasks[ref.index].lease = leaseID
            job.tasks[ref.index].worker = id
            job.inFlight += 1
            jobs[ref.job] = job
            granted.append(ref)
        }
        if granted.count < room, let after = configuration.speculateAfter {
            granted += speculativeCopies(for: workers[id]!, lease: leaseID, room: room - granted.count, after: after, now: now)
        }
        guard !granted.isEmpty else { return [] }
        let lease = Lease(id: leaseID, worker: id, tasks: granted, grantedAt: now)
        leases[leaseID] = lease
        workers[id]!.leases.insert(leaseID)
        workers[id]!.inFlight += granted.count
        return [.leaseGranted(lease)]
    }

    /// Picks and removes the next runnable task for a worker.
    mutating func nextTask(for w: WorkerState, now: Double) -> TaskRef? {
        var best: String?
        for id in jobOrder {
            guard let job = jobs[id], job.status == .running, !job.cancelled, matches(w, job.placement),
                runnableIndex(in: job, for: w, now: now) != nil
            else { continue }
            if let b = best, let bj = jobs[b] {
                if (job.priority, -job.inFlight, -job.order) <= (bj.priority, -bj.inFlight, -bj.order) { continue }
            }
            best = id
        }
        guard let id = best, let (index, fromRetry) = runnableIndex(in: jobs[id]!, for: w, now: now) else { return nil }
        var job = jobs.removeValue(forKey: id)!
        if fromRetry {
            job.retry.removeAll { $0 == index }
        } else if job.fresh[job.head] == index {
            job.head += 1
        } else if let position = job.fresh[job.head...].firstIndex(of: index) {
            job.fresh.remove(at: position)  // a later task this worker's labels allow (per-task placement)
        }
        jobs[id] = job
        return TaskRef(job: id, index: index)
    }

    /// The first runnable task of a job for this worker: a due retry not failed on this worker (unless no
    /// other worker could take it), else the next fresh task.
    func runnableIndex(in job: JobState, for w: WorkerState, now: Double) -> (Int, Bool)? {
        for i in job.retry {
            let t = job.tasks[i]
            guard t.notBefore <= now, matches(w, job.taskPlacement[i]) else { continue }
            if t.failedOn.contains(w.id) && hasOtherCandidate(for: t, placement: placement(of: job, i)) { continue }
            return (i, true)
        }
        guard job.head < job.fresh.count else { return nil }
        if job.taskPlacement.allSatisfy({ $0 == nil }) { return (job.fresh[job.head], false) }
        for i in job.fresh[job.head...] where matches(w, job.taskPlacement[i]) { return (i, false) }
        return nil
    }

    /// The labels a worker needs to run task `i`: the job's and the task's own.
    func placement(of job: JobState, _ i: Int) -> [String: String] {
        guard let own = job.taskPlacement[i] else { return job.placement }
        return job.placement.merging(own) { _, task in task }
    }

    func matches(_ w: WorkerState, _ placement: [String: String]?) -> Bool {
        placement.map { matches(w, $0) } ?? true
    }

    func hasOtherCandidate(for t: TaskState, placement: [String: String]) -> Bool {
        workers.values.contains { !$0.ghost && !t.failedOn.contains($0.id) && matches($0, placement) }
    }

    func matches(_ w: WorkerState, _ placement: [String: String]) -> Bool {
        placement.allSatisfy { w.labels[$0.key] == $0.value }
    }

    /// A worker reports how an attempt ended. Only the worker holding the task's current lease (or the
    /// lease of its speculative copy) may report it: a result for a task that was never leased to that
    /// worker, that is still pending, or whose lease expired is refused (``SchedulerDecision/resultRefused(_:worker:lease:)``).
    /// A result sent again under a lease that ended normally is a duplicate, for the store to compare.
    public mutating func complete(
        _ ref: TaskRef, worker: String, lease leaseID: String, failure: TaskFailure?, now: Double
    ) -> [SchedulerDecision] {
        if workers[worker] != nil { workers[worker]!.lastSeen = now }
        guard let count = jobs[ref.job]?.tasks.count, ref.index < count else {
            return [.resultRefused(ref, worker: worker, lease: leaseID)]
        }
        let task = jobs[ref.job]!.tasks[ref.index]
        let current = task.phase == .leased && task.lease == leaseID && task.worker == worker
        let copyHolder = speculative[ref].map { $0.lease == leaseID && $0.worker == worker } ?? false
        guard current || copyHolder else {
            let ended = task.endedLeases[leaseID] == worker || (task.phase == .succeeded && task.worker == worker)
            guard ended else { return [.resultRefused(ref, worker: worker, lease: leaseID)] }
            return task.phase == .succeeded && failure == nil ? [.duplicateResult(ref, worker: worker)] : []
        }
        var job = jobs.removeValue(forKey: ref.job)!
        var out: [SchedulerDecision] = []
        if let copy = speculative[ref], copy.lease == leaseID, copy.worker == worker {
            // The speculative copy ended: a failure costs nothing; a success wins like any late result.
            dropSpeculative(ref, job: &job)
            if failure != nil || task.phase.isTerminal {
                jobs[ref.job] = job
                return task.phase == .succeeded && failure == nil ? [.duplicateResult(ref, worker: worker)] : []
            }
        } else if current, failure == nil, let copy = speculative[ref] {
            dropSpeculative(ref, job: &job)
            out.append(.stopTasks(worker: copy.worker, tasks: [ref]))
        }
        if current { release(ref, worker: worker, lease: leaseID, job: &job) }
        guard let failure else {
            switch task.phase {
            case .succeeded:
                jobs[ref.job] = job
                return [.duplicateResult(ref, worker: worker)]
            case .failed, .cancelled:
                jobs[ref.job] = job
                return []
            case .pending, .leased:
                if task.phase == .leased && !current, let other = task.worker {
                    release(ref, worker: other, lease: task.lease, job: &job)
                    out.append(.stopTasks(worker: other, tasks: [ref]))
                }
                if task.phase == .pending { job.retry.removeAll { $0 == ref.index } }
                job.tasks[ref.index].phase = .succeeded
                job.tasks[ref.index].lease = nil
                job.tasks[ref.index].worker = worker
                job.remaining -= 1
                jobs[ref.job] = job
                out.append(.taskSucceeded(ref, worker: worker, attempt: task.totalAttempts + 1))
                return out + finishIfDone(ref.job)
            }
        }
        guard current else {  // a stale failure changes nothing
            jobs[ref.job] = job
            return []
        }
        jobs[ref.job] = job
        return fail(ref, failure: failure, worker: worker, now: now)
    }

    /// Charges a failed attempt and either schedules a retry or quarantines the task.
    mutating func fail(_ ref: TaskRef, failure: TaskFailure, worker: String?, now: Double) -> [SchedulerDecision] {
        var job = jobs.removeValue(forKey: ref.job)!
        var t = job.tasks[ref.index]
        t.lastFailure = failure
        t.lease = nil
        t.worker = nil
        if let worker { t.failedOn.insert(worker) }
        var out: [SchedulerDecision] = []
        if job.cancelled {
            t.phase = .cancelled
        } else if let budget = failure.budget {
            t.attempts[budget, default: 0] += 1
            let allowed: Int
            switch budget {
            case .lostWorker: allowed = job.retries.lostWorker
            case .kernelError: allowed = job.retries.kernelError
            case .timeout: allowed = job.retries.timeout
            }
            if t.attempts[budget]! <= allowed {
                let n = t.totalAttempts
                let delay = min(job.retries.maxBackoffSeconds, job.retries.backoffSeconds * Double(1 << min(n - 1, 20)))
                t.notBefore = now + (budget == .lostWorker ? 0 : delay)
                t.phase = .pending
                job.retry.append(ref.index)
                out.append(.taskRequeued(ref, failure: failure, attempt: n, notBefore: t.notBefore))
            } else {
                t.phase = .failed
                job.remaining -= 1
                out.append(.taskQuarantined(ref, failure: failure, attempts: t.totalAttempts))
            }
        } else {
            t.phase = .failed
            job.remaining -= 1
            out.append(.taskQuarantined(ref, failure: failure, attempts: t.totalAttempts + 1))
        }
        job.tasks[ref.index] = t
        jobs[ref.job] = job
        return out + finishIfDone(ref.job)
    }

    /// Advances time: workers silent for longer than the lease TTL are lost and their leases expire.
    public mutating func tick(now: Double) -> [SchedulerDecision] {
        var out: [SchedulerDecision] = []
        for id in workers.keys.sorted() {
            guard let w = workers[id], now - w.lastSeen > configuration.leaseTTL else { continue }
            for leaseID in w.leases.sorted() { out += expire(lease: leaseID, now: now) }
            workers[id] = nil
            out.append(.workerLost(id))
        }
        return out
    }

    /// Expires a lease: its unfinished tasks fail with `lostWorker` (and are retried within that budget).
    mutating func expire(lease leaseID: String, now: Double) -> [SchedulerDecision] {
        guard let lease = leases[leaseID] else { return [] }
        var out: [SchedulerDecision] = [.leaseExpired(leaseID: leaseID, worker: lease.worker, tasks: lease.tasks)]
        for ref in lease.tasks {
            if let copy = speculative[ref], copy.lease == leaseID, var job = jobs.removeValue(forKey: ref.job) {
                dropSpeculative(ref, job: &job)  // a lost copy costs nothing; the original still runs
                job.tasks[ref.index].endedLeases[leaseID] = nil
                jobs[ref.job] = job
                continue
            }
            guard let t = jobs[ref.job]?.tasks[ref.index], t.phase == .leased, t.lease == leaseID else { continue }
            var job = jobs.removeValue(forKey: ref.job)!
            release(ref, worker: lease.worker, lease: leaseID, job: &job)
            job.tasks[ref.index].endedLeases[leaseID] = nil  // expired: a result under it is no longer the holder's
            jobs[ref.job] = job
            out += fail(ref, failure: TaskFailure(kind: .lostWorker, message: "worker \(lease.worker) stopped heartbeating; lease \(leaseID) expired"), worker: lease.worker, now: now)
        }
        leases[leaseID] = nil
        workers[lease.worker]?.leases.remove(leaseID)
        return out
    }

    /// Second copies of straggling tasks for an idle worker: only from jobs with nothing left to start,
    /// only tasks leased for longer than `after` seconds, never to the worker running the original.
    mutating func speculativeCopies(for w: WorkerState, lease leaseID: String, room: Int, after: Double, now: Double) -> [TaskRef] {
        var out: [TaskRef] = []
        for id in jobOrder where out.count < room {
            guard let job = jobs[id], job.status == .running, !job.cancelled, job.head >= job.fresh.count, job.retry.isEmpty,
                matches(w, job.placement)
            else { continue }
            for (i, t) in job.tasks.enumerated() where out.count < room {
                let ref = TaskRef(job: id, index: i)
                guard t.phase == .leased, matches(w, job.taskPlacement[i]), t.worker != w.id, speculative[ref] == nil, let l = t.lease, let granted = leases[l]?.grantedAt,
                    now - granted > after
                else { continue }
                speculative[ref] = (leaseID, w.id)
                jobs[id]!.inFlight += 1
                out.append(ref)
            }
        }
        return out
    }

    /// Forgets a speculative copy and takes it off its worker's and lease's books.
    mutating func dropSpeculative(_ ref: TaskRef, job: inout JobState) {
        guard let copy = speculative.removeValue(forKey: ref) else { return }
        job.tasks[ref.index].endedLeases[copy.lease] = copy.worker
        job.inFlight -= 1
        if workers[copy.worker] != nil { workers[copy.worker]!.inFlight -= 1 }
        if var lease = leases[copy.lease] {
            lease.tasks.removeAll { $0 == ref }
            if lease.tasks.isEmpty {
                leases[copy.lease] = nil
                workers[copy.worker]?.leases.remove(copy.lease)
            } else {
                leases[copy.lease] = lease
            }
        }
    }

    /// Takes a leased task off its worker's books.
    mutating func release(_ ref: TaskRef, worker: String, lease leaseID: String?, job: inout JobState) {
        job.inFlight -= 1
        job.tasks[ref.index].lease = nil
        if let leaseID { job.tasks[ref.index].endedLeases[leaseID] = worker }
        if workers[worker] != nil { workers[worker]!.inFlight -= 1 }
        if let leaseID, var lease = leases[leaseID] {
            lease.tasks.removeAll { $0 == ref }
            if lease.tasks.isEmpty {
                leases[leaseID] = nil
                workers[worker]?.leases.remove(leaseID)
            } else {
                leases[leaseID] = lease
            }
        }
    }

    mutating func finishIfDone(_ id: String) -> [SchedulerDecision] {
        guard let job = jobs[id], job.status == .running, job.remaining == 0 else { return [] }
        let status: JobStatus
        if job.cancelled {
            status = .cancelled
        } else if job.tasks.allSatisfy({ $0.phase == .succeeded }) {
            status = .succeeded
        } else if job.tasks.contains(where: { $0.phase == .succeeded }) {
            status = .partiallyFailed
        } else {
            status = .failed
        }
        jobs[id]!.status = status
        return [.jobFinished(id, status)]
    }
}

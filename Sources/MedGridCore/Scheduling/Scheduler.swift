/// The grid's protocol logic as a value: events in, decisions out, no IO and no clock of its own.
///
/// Workers pull: a lease request asks for up to `free slots + prefetch` tasks and gets them under one
/// lease. A worker's leases live as long as it keeps heartbeating (any request counts); when it misses
/// heartbeats for ``Configuration/leaseTTL`` seconds its leases expire and their tasks become runnable
/// again, charged to the lost-worker budget. A task's own time limit is enforced by the worker and comes
/// back as a `timeout` failure. Each failure kind has its own retry budget; retries back off
/// exponentially and prefer a worker the task has not failed on; a task out of budget is quarantined as
/// failed and the job goes on. Jobs are served by priority, then by fewest tasks in flight.
public struct Scheduler: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// How often workers are asked to heartbeat.
        public var heartbeatInterval: Double = 2
        /// How long a worker may be silent before its leases expire.
        public var leaseTTL: Double = 10
        /// Tasks a worker may hold beyond its slots, so it never waits for the next batch.
        public var prefetch: Int = 1
        /// Speculative re-execution of stragglers, off when nil: once a job has nothing left to start, a task
        /// leased longer than this many seconds is also given to an idle worker; the first valid result wins.
        public var speculateAfter: Double?
        public init() {}

        public static func defaults(configure: (inout Configuration) -> Void) -> Configuration {
            var c = Configuration()
            configure(&c)
            return c
        }
    }

    struct TaskState: Sendable {
        var phase: TaskPhase = .pending
        var lease: String?
        var worker: String?
        var attempts: [RetryBudget: Int] = [:]
        var failedOn: Set<String> = []
        var notBefore: Double = 0
        var lastFailure: TaskFailure?
        /// Leases of this task that ended other than by expiry (a result, a cancel, a speculative copy that
        /// lost), with their worker: a result that arrives later under one of them is a duplicate, not a forgery.
        var endedLeases: [String: String] = [:]
        var totalAttempts: Int { attempts.values.reduce(0, +) }
    }

    struct JobState: Sendable {
        var id: String
        var priority: Int
        var order: Int
        var placement: [String: String]
        /// Labels a single task needs on top of the job's (e.g. a site's tasks run only on that site's
        /// workers); indexed like `tasks`, nil for none.
        var taskPlacement: [[String: String]?] = []
        var retries: Manifest.RetryPolicy
        var tasks: [TaskState]
        /// Fresh tasks in plan order, consumed from `head`.
        var fresh: [Int]
        var head = 0
        /// Tasks waiting to be retried.
        var retry: [Int] = []
        var inFlight = 0
        var remaining: Int
        var cancelled = false
        var status: JobStatus = .running
    }

    struct WorkerState: Sendable {
        var id: String
        var labels: [String: String]
        var slots: Int
        var lastSeen: Double
        var leases: Set<String> = []
        var inFlight = 0
        /// A worker known only from a previous coordinator run; it gets one lease period to come back.
        var ghost = false
    }

    public private(set) var configuration: Configuration
    var jobs: [String: JobState] = [:]
    var jobOrder: [String] = []
    var workers: [String: WorkerState] = [:]
    var leases: [String: Lease] = [:]
    /// Second copies of straggling tasks (speculative execution): task → (lease, worker).
    var speculative: [TaskRef: (lease: String, worker: String)] = [:]
    var leaseCounter = 0
    var leasePrefix: String

    /// - Parameter leasePrefix: makes lease IDs unique across coordinator runs (e.g. a start time).
    public init(configuration: Configuration = .init(), leasePrefix: String = "L") {
        self.configuration = configuration
        self.leasePrefix = leasePrefix
    }

    // MARK: Jobs

    /// Adds a job with `taskCount` tasks, all pending. `taskPlacements`, when given, holds per task the
    /// labels a worker needs beyond the job's `placement`.
    public mutating func submit(
        job id: String, taskCount: Int, priority: Int, placement: [String: String], retries: Manifest.RetryPolicy,
        taskPlacements: [[String: String]?]? = nil
    ) -> [SchedulerDecision] {
        precondition(jobs[id] == nil, "job \(id) submitted twice")
        var job = JobState(
            id: id, priority: priority, order: jobOrder.count, placement: placement, retries: retries,
            tasks: Array(repeating: TaskState(), count: taskCount), fresh: Array(0..<taskCount), remaining: taskCount
        )
        job.taskPlacement = taskPlacements ?? Array(repeating: nil, count: taskCount)
        jobs[id] = job
        jobOrder.append(id)
        return finishIfDone(id)
    }

    /// Starts another round of a job whose tasks all succeeded: `taskCount` new pending tasks are appended
    /// (their indices follow the existing ones) and the job runs again. Multi-round analyses (Newton
    /// iterations over shards) use it; the job finishes when a round adds no tasks.
    public mutating func extend(job id: String, taskCount: Int, taskPlacements: [[String: String]?]? = nil) -> [SchedulerDecision] {
        guard var job = jobs[id], job.status == .succeeded, !job.cancelled, taskCount > 0 else { return [] }
        let first = job.tasks.count
        job.tasks += Array(repeating: TaskState(), count: taskCount)
        job.taskPlacement += taskPlacements ?? Array(repeating: nil, count: taskCount)
        job.fresh += Array(first..<(first + taskCount))
        job.remaining += taskCount
        job.status = .running
        jobs[id] = job
        return []
    }

    /// Cancels a job: pending tasks are dropped, running ones are told to stop.
    public mutating func cancel(job id: String) -> [SchedulerDecision] {
        guard let status = jobs[id]?.status, !status.isTerminal else { return [] }
        var job = jobs.removeValue(forKey: id)!
        var out: [SchedulerDecision] = []
        var stop: [String: [TaskRef]] = [:]
        job.cancelled = true
        for i in job.tasks.indices where !job.tasks[i].phase.isTerminal {
            let ref = TaskRef(job: id, index: i)
            if let copy = speculative[ref] {
                stop[copy.worker, default: []].append(ref)
                dropSpeculative(ref, job: &job)
            }
            if job.tasks[i].phase == .leased, let w = job.tasks[i].worker {
                stop[w, default: []].append(ref)
                release(ref, worker: w, lease: job.tasks[i].lease, job: &job)
            }
            job.tasks[i].phase = .cancelled
            job.remaining -= 1
            out.append(.taskCancelled(ref))
        }
        job.fresh = []
        job.head = 0
        job.retry = []
        jobs[id] = job
        for (w, refs) in stop.sorted(by: { $0.key < $1.key }) { out.append(.stopTasks(worker: w, tasks: refs)) }
        return out + finishIfDone(id)
    }

    public func status(of job: String) -> JobStatus? { jobs[job]?.status }

    public func phase(of task: TaskRef) -> TaskPhase? { jobs[task.job]?.tasks[task.index].phase }

    public func attempts(of task: TaskRef) -> [RetryBudget: Int] { jobs[task.job]?.tasks[task.index].attempts ?? [:] }

    /// Counts of a job's tasks by phase.
    public func counts(of job: String) -> [TaskPhase: Int] {
        var c: [TaskPhase: Int] = [:]
        for t in jobs[job]?.tasks ?? [] { c[t.phase, default: 0] += 1 }
        return c
    }

    // MARK: Workers

    /// A worker joins, or comes back. `heldLeases` are the leases it still works on; any other lease the
    /// scheduler had for it is expired now (it restarted and lost them).
    public mutating func register(
        worker id: String, labels: [String: String], slots: Int, heldLeases: Set<String> = [], now: Double
    ) -> [SchedulerDecision] {
        var out: [SchedulerDecision] = []
        if let old = workers[id] {
            for leaseID in old.leases.sorted() where !heldLeases.contains(leaseID) {
                out += expire(lease: leaseID, now: now)
            }
        }
        var w = workers[id] ?? WorkerState(id: id, labels: labels, slots: slots, lastSeen: now)
        w.labels = labels
        w.slots = max(1, slots)
        w.lastSeen = now
        w.ghost = false
        workers[id] = w
        return out
    }

    /// Any sign of life from a worker keeps its leases alive.
    public mutating func heartbeat(worker id: String, now: Double) -> [SchedulerDecision] {
        guard workers[id] != nil else { return [] }
        workers[id]!.lastSeen = now
        return []
    }

    /// A worker leaves on purpose and hands its leases back; the tasks are not charged an attempt.
    public mutating func workerLeft(_ id: String, now: Double) -> [SchedulerDecision] {
        guard let w = workers[id] else { return [] }
        var out: [SchedulerDecision] = []
        for leaseID in w.leases.sorted() {
            guard let lease = leases[leaseID] else { continue }
            for ref in lease.tasks where speculative[ref]?.lease == leaseID {
                var job = jobs.removeValue(forKey: ref.job)!
                dropSpeculative(ref, job: &job)
                jobs[ref.job] = job
            }
            guard let lease = leases[leaseID] else { continue }
            for ref in lease.tasks where jobs[ref.job]?.tasks[ref.index].phase == .leased && jobs[ref.job]?.tasks[ref.index].lease == leaseID {
                var job = jobs.removeValue(forKey: ref.job)!
                release(ref, worker: id, lease: leaseID, job: &job)
                job.tasks[ref.index].phase = .pending
                job.retry.append(ref.index)
                jobs[ref.job] = job
            }
            leases[leaseID] = nil
        }
        workers[id] = nil
        return out
    }

    public var connectedWorkers: [String] { workers.values.filter { !$0.ghost }.map(\.id).sorted() }

    public func inFlight(worker id: String) -> Int { workers[id]?.inFlight ?? 0 }

    public func lease(_ id: String) -> Lease? { leases[id] }

    /// The tasks a worker holds a live lease on now (speculative copies included); empty for a worker
    /// that is not connected.
    public func leasedTasks(of worker: String) -> [TaskRef] {
        guard let w = workers[worker], !w.ghost else { return [] }
        return w.leases.sorted().flatMap { id in
            (leases[id]?.tasks ?? []).filter { ref in
                let t = jobs[ref.job]?.tasks[ref.index]
                return (t?.phase == .leased && t?.lease == id && t?.worker == worker) || speculative[ref]?.lease == id
            }
        }
    }
}

public import Foundation
public import Logging
public import MedGridCore
public import MedGridTransport

/// The coordinator: owns the scheduler and the store, serves workers (``CoordinatorLink``) and users.
///
/// Every event goes through the pure ``Scheduler``; its decisions are written to the store in one
/// transaction before anything is acknowledged. On start it resumes every unfinished job from the store.
public actor Coordinator {
    public struct Configuration: Sendable {
        public var scheduler = Scheduler.Configuration()
        /// How often leases are checked for expiry and cancel requests are read from the store.
        public var tickInterval: Double = 0.5
        public var medgridVersion = "0.1.0"
        /// The largest dataset file (plain bytes) an upload may hold.
        public var maxBlobBytes: Int64 = 8 << 30
        /// The plain bytes of uploaded dataset files each project may hold.
        public var projectQuotaBytes: Int64 = 1 << 40
        /// TLS handshake and idle timeouts, the connection cap and event streams per user (the HTTPS API).
        public var connections = ConnectionLimits()
        /// Placement labels that decide access to data (a site's rows): a worker has them only when its
        /// certificate carries them (`medgrid tls cert create --worker NAME --label site=A`), never by a flag.
        public var certificateOnlyLabels: Set<String> = ["site"]
        public init() {}

        public static func defaults(configure: (inout Configuration) -> Void) -> Configuration {
            var c = Configuration()
            configure(&c)
            return c
        }
    }

    public nonisolated let store: Store
    /// Dataset files uploaded before data keys existed (plain zstd at rest); new uploads go to the sealed
    /// store of their dataset's key (``keys``).
    public nonisolated let blobs: BlobStore
    /// Data keys (one per dataset of a project, wrapped), the sealed stores they open, and the signing key.
    public nonisolated let keys: CoordinatorKeys
    /// Hashes purged that each connected worker has not yet been told about (sent with its heartbeat).
    var pendingPurges: [String: Set<String>] = [:]
    /// Each remote job's data key (base64), sent with its assignments (forgotten when the job is purged).
    var jobDataKeys: [String: String] = [:]
    /// Each project's quota use, stored and streaming (uploads claim their bytes as they arrive).
    nonisolated let quotas: ProjectQuotas
    nonisolated let stateDirectory: URL
    nonisolated let suite: any KernelSuite
    nonisolated let configuration: Configuration
    nonisolated let logger: Logger
    var scheduler: Scheduler
    var plans: [String: Plan] = [:]
    /// Multi-round jobs: where each is (states broadcast to the current round, finished results).
    var rounds: [String: RoundRecord] = [:]
    var stops: [String: Set<TaskRef>] = [:]
    var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    var nextWaiter = 0
    /// Blobs whose stored file was re-hashed, with the file's size and modification time then.
    var verifiedBlobs: [String: BlobStamp] = [:]
    /// CPU time this coordinator spent handling events, in nanoseconds (thread CPU clock).
    var cpuNanoseconds: UInt64 = 0
    /// Jobs whose report is being built off the actor, with the generation of the latest build.
    var reportsInProgress: [String: Int] = [:]
    var reportTasks: [String: Task<Void, Never>] = [:]
    /// Results refused because their sender did not hold the task's lease (for `/metrics`).
    public internal(set) var refusedResults = 0
    /// Requests refused for want of membership or role (for `/metrics`).
    public internal(set) var refusedAccesses = 0
    var lastSnapshot = 0.0

    public init(stateDirectory: URL, suite: any KernelSuite, configuration: Configuration = .init(), logger: Logger) throws {
        self.store = try Store(stateDirectory: stateDirectory)
        self.blobs = try BlobStore(directory: stateDirectory.appendingPathComponent("blobs"))
        self.keys = try CoordinatorKeys(stateDirectory: stateDirectory, store: store)
        self.quotas = ProjectQuotas(quota: configuration.projectQuotaBytes) { [store] project in try store.read { try $0.projectBytes(project) } }
        self.stateDirectory = stateDirectory
        self.suite = suite
        self.configuration = configuration
        self.logger = logger
        let start = Date().timeIntervalSince1970
        var scheduler = Scheduler(configuration: configuration.scheduler, leasePrefix: String(Int(start * 1000), radix: 36))
        var plans: [String: Plan] = [:]
        var rounds: [String: RoundRecord] = [:]
        let jobs = try store.read { try $0.jobs(unfinishedOnly: true) }
        var restored: [(String, [SchedulerDecision])] = []
        for job in jobs {
            let tasks = try store.read { try $0.tasks(of: job.id) }
            plans[job.id] = job.plan
            rounds[job.id] = try store.read { try $0.latestRound(of: job.id) }
            let placements = job.plan.taskPlacements.map { p in tasks.indices.map { p[$0 % job.plan.roundSize] } }
            let d = scheduler.restore(
                job: job.id, tasks: tasks.map(\.state), priority: job.plan.priority, placement: job.plan.placement,
                retries: job.plan.retries, cancelled: job.cancelRequested, now: start, taskPlacements: placements)
            restored.append((job.id, d))
        }
        self.scheduler = scheduler
        self.plans = plans
        self.rounds = rounds
        if !jobs.isEmpty {
            logger.info("resuming unfinished jobs", metadata: ["medgrid.jobs": "\(jobs.map(\.id).joined(separator: ","))"])
        }
        pendingRestoreDecisions = restored.flatMap(\.1)
    }

    var pendingRestoreDecisions: [SchedulerDecision]

    var now: Double { Date().timeIntervalSince1970 }

    /// The user of this process, for jobs submitted in-process (`medgrid run`): their personal project.
    /// The user who runs a local command, as a project member name: `$USER`, lower-cased, other characters as `-`.
    public static var localUser: String {
        let name = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
        let cleaned = String(name.lowercased().map { ("a"..."z").contains($0) || ("0"..."9").contains($0) ? $0 : "-" }.prefix(56))
        return cleaned.isEmpty ? "local" : cleaned
    }

    // MARK: Users

    /// Plans a manifest and starts the job. With `reuseUnfinished`, an unfinished job with the same
    /// manifest and data is returned instead (so `medgrid run` after a crash resumes it).
    public func submit(_ manifest: Manifest, reuseUnfinished: Bool = false) async throws -> String {
        try await submit(manifest, inventory: nil, sharedFilesystem: true, reuseUnfinished: reuseUnfinished)
    }

    /// Plans and starts a job. Without an `inventory` the input is hashed where the manifest points;
    /// with one (an upload), the input is the coordinator's blobs and workers fetch them by hash.
    /// Hashing and planning run off the actor, so heartbeats and leases are served meanwhile.
    func submit(
        _ manifest: Manifest, inventory given: DatasetInventory?, sharedFilesystem: Bool, reuseUnfinished: Bool,
        project: String? = nil, submittedBy: String? = nil
    ) async throws -> String {
        let owner = submittedBy ?? Self.localUser
        let project = project ?? manifest.project ?? Project.personal(owner)
        let plan = try await Self.prepare(manifest, inventory: given, sharedFilesystem: sharedFilesystem, project: project, suite: suite, store: store)
        return try start(plan, reuseUnfinished: reuseUnfinished, project: project, submittedBy: owner)
    }

    /// The heavy part of a submission, on no actor: hashing a local dataset, checking it against the job's
    /// project's registration of it, and planning.
    nonisolated static func prepare(
        _ manifest: Manifest, inventory given: DatasetInventory?, sharedFilesystem: Bool, project: String, suite: any KernelSuite, store: Store
    ) async throws -> Plan {
        // Site-local cohort data are never read here: the plan names the sites, their workers read the rows.
        let inventory = try given ?? (manifest.input.isSiteLocal ? DatasetInventory(files: []) : DatasetInventory.scan(manifest.inputURL))
        if given == nil, !manifest.input.isSiteLocal, let registered = try store.read({ try $0.dataset(location: manifest.inputURL.path, project: project) }) {
            let changes = registered.inventory.changes(comparedTo: inventory)
            if !changes.isEmpty {
                throw MedGridError(.integrity, "\(manifest.inputURL.path) changed since project \(project) registered it with medgrid dataset add:\n"
                    + changes.prefix(20).map { "  \($0)" }.joined(separator: "\n"))
            }
        }
        var plan = try Planner(suite: suite).plan(manifest, inventory: inventory)
        plan.sharedFilesystem = sharedFilesystem
        return plan
    }

    /// Starts a planned job: its rows in the store, its tasks in the scheduler.
    func start(_ plan: Plan, reuseUnfinished: Bool, project: String, submittedBy owner: String) throws -> String {
        if reuseUnfinished, let existing = plans.first(where: { $0.value.contentKey == plan.contentKey && scheduler.status(of: $0.key) == .running }) {
            logger.info("job already running with the same manifest and data", metadata: ["medgrid.job": "\(existing.key)"])
            return existing.key
        }
        let t = now
        let finalPlan = plan
        // A job with multi-round steps starts at round 0 with each such step's initial state.
        var states: [String: JSONValue] = [:]
        for step in plan.steps where suite.isIterative(step: step) { states[step.name] = try suite.initialRoundState(step: step) }
        let round0 = states.isEmpty ? nil : RoundRecord(round: 0, states: states, results: [:])
        let id = try store.write { tx -> String in
            let seq = try tx.nextJobSeq()
            let id = "\(finalPlan.jobName)-\(seq)"
            try tx.insertJob(id: id, seq: seq, plan: finalPlan, project: project, submittedBy: owner, now: t)
            if let round0 { try tx.insertRound(job: id, record: round0, tasks: [], now: t) }
            return id
        }
        plans[id] = plan
        rounds[id] = round0
        let decisions = scheduler.submit(
            job: id, taskCount: plan.tasks.count, priority: plan.priority, placement: plan.placement, retries: plan.retries,
            taskPlacements: plan.taskPlacements)
        try apply(decisions, touched: [])
        logger.info("job submitted", metadata: ["medgrid.job": "\(id)", "medgrid.tasks": "\(plan.tasks.count)"])
        wakeAll()
        return id
    }

    /// Cancels a job; running tasks are told to stop at their next heartbeat. Returns once the cancelled
    /// job's report is stored.
    public func cancel(job id: String) async throws {
        _ = try store.write { [now] tx in try tx.requestCancel(id, now: now) }
        try apply(scheduler.cancel(job: id), touched: [])
        await reportsStored()
    }

    /// A job's status; a job whose report is still being built reads as running.
    public func jobStatus(_ id: String) -> JobStatus? {
        reportsInProgress[id] != nil ? .running : scheduler.status(of: id)
    }

    /// Task counts by phase, live from the scheduler (or from the store for finished jobs).
    public func progress(of id: String) throws -> [TaskPhase: Int] {
        if plans[id] != nil, scheduler.status(of: id) != nil { return scheduler.counts(of: id) }
        return try store.read { try $0.phaseCounts(of: id) }
    }

    /// Why each pending task of a job is waiting, grouped by reason.
    public func pendingReasons(of id: String) -> [String: Int] {
        guard let plan = plans[id] else { return [:] }
        var out: [String: Int] = [:]
        let total = scheduler.counts(of: id).values.reduce(0, +)
        for index in 0..<total {
            if let r = scheduler.pendingReason(TaskRef(job: id, index: index), now: now) { out[r.description, default: 0] += 1 }
        }
        return out
    }

    public var connectedWorkers: [String] { scheduler.connectedWorkers }

    /// CPU seconds spent in the coordinator's own event handling (scheduling, store writes, report building),
    /// measured with the thread CPU clock around each handler; waiting is not counted.
    public var cpuSeconds: Double { Double(cpuNanoseconds) / 1e9 }

    /// Runs a synchronous section and adds its thread CPU time to ``cpuSeconds``.
    func metered<T>(_ body: () throws -> T) rethrows -> T {
        let start = threadCPUNanoseconds()
        defer { cpuNanoseconds += threadCPUNanoseconds() - start }
        return try body()
    }

    // MARK: Time

    /// Runs the clock: expires silent workers' leases, applies cancel requests from other processes and
    /// wakes long-polls when backoffs end. Returns when the calling task is cancelled.
    public func run() async {
        do {
            try apply(pendingRestoreDecisions, touched: [])
            pendingRestoreDecisions = []
        } catch {
            logger.error("could not record restored state", metadata: ["medgrid.error": "\(error)"])
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(configuration.tickInterval))
            do {
                try metered { try tick() }
            } catch {
                logger.error("coordinator tick failed", metadata: ["medgrid.error": "\(error)"])
            }
        }
    }

    func tick() throws {
        let t = now
        try apply(scheduler.tick(now: t), touched: [])
        for id in try store.read({ try $0.cancelRequests() }) where scheduler.status(of: id) == .running {
            try apply(scheduler.cancel(job: id), touched: [])
        }
        if let d = scheduler.nextBackoffDeadline, d <= t { wakeAll() }
        if t - lastSnapshot >= 1 {
            lastSnapshot = t
            writeStatusSnapshot()
        }
    }

    /// Writes `status.json` beside the store: per running job, why its pending tasks wait. `medgrid status`
    /// in another process reads it (the reasons live only in this process's scheduler).
    func writeStatusSnapshot() {
        var jobs: [String: JSONValue] = [:]
        for id in plans.keys where scheduler.status(of: id) == .running {
            jobs[id] = .object(pendingReasons(of: id).mapValues { .int($0) })
        }
        let snapshot: JSONValue = ["at": .double(now), "workers": .array(scheduler.connectedWorkers.map { .string($0) }), "pending": .object(jobs)]
        let url = URL(fileURLWithPath: store.path).deletingLastPathComponent().appendingPathComponent("status.json")
        try? Data(CanonicalJSON.encode(snapshot).utf8).write(to: url, options: .atomic)
    }

    // MARK: Long-poll

    func waitForChange(timeout: Double) async {
        let id = nextWaiter
        nextWaiter += 1
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            waiters[id] = c
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(timeout))
                await self?.resumeWaiter(id)
            }
        }
    }

    func resumeWaiter(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }

    func wakeAll() {
        let w = waiters
        waiters = [:]
        for c in w.values { c.resume() }
    }
}

/// CPU time of the calling thread. Read through raw memory laid out as `timespec` (two machine words on
/// Linux): the C struct is declared by several system modules, and which one Swift picks for member access
/// differs between debug and release builds.
func threadCPUNanoseconds() -> UInt64 {
    var words: (Int, Int) = (0, 0)
    withUnsafeMutableBytes(of: &words) { raw in
        _ = clock_gettime(CLOCK_THREAD_CPUTIME_ID, raw.baseAddress!.assumingMemoryBound(to: timespec.self))
    }
    return UInt64(words.0) * 1_000_000_000 + UInt64(words.1)
}

/// A task's address: its job and its index in the job's plan.
public struct TaskRef: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var job: String
    public var index: Int
    public init(job: String, index: Int) {
        self.job = job
        self.index = index
    }
    public static func < (a: TaskRef, b: TaskRef) -> Bool { (a.job, a.index) < (b.job, b.index) }
    public var description: String { "\(job)#\(index)" }
}

/// Why an attempt failed, as a worker reports it.
public struct TaskFailure: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, Hashable {
        /// The kernel threw, or an external command exited non-zero.
        case kernelError
        /// The kernel's process died on a signal (a trap, a crash).
        case trapped
        /// The attempt ran past the task's time limit.
        case timeout
        /// The attempt ran out of memory.
        case outOfMemory
        /// An input did not match its recorded hash: the data changed. Not retried.
        case integrity
        /// The worker died or went silent; set by the coordinator.
        case lostWorker
        /// The job was cancelled.
        case cancelled
        /// The worker would not run it (e.g. external commands are not allowed there). Not retried.
        case refused
        /// The result is over the worker's per-result limit (16 MiB of JSON by default), so it cannot be
        /// uploaded; the message says its size and the limit. Not retried: it would be as large again.
        case resultTooLarge
    }

    public var kind: Kind
    public var message: String
    /// The last lines the kernel or command wrote to stderr.
    public var stderrTail: String?

    public init(kind: Kind, message: String, stderrTail: String? = nil) {
        self.kind = kind
        self.message = message
        self.stderrTail = stderrTail
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// Which retry budget an attempt failed in this way is charged to; nil when it is never retried.
    public var budget: RetryBudget? {
        switch kind {
        case .kernelError, .trapped: return .kernelError
        case .timeout, .outOfMemory: return .timeout
        case .lostWorker: return .lostWorker
        case .integrity, .cancelled, .refused, .resultTooLarge: return nil
        }
    }
}

/// The separate retry budgets of a task.
public enum RetryBudget: String, Codable, Sendable, Hashable, CaseIterable {
    case lostWorker, kernelError, timeout
}

/// Where a task is.
public enum TaskPhase: String, Codable, Sendable, Hashable {
    case pending, leased, succeeded, failed, cancelled

    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// How a job ended.
public enum JobStatus: String, Codable, Sendable, Hashable {
    case running, succeeded, partiallyFailed, failed, cancelled

    public var isTerminal: Bool { self != .running }
}

/// A batch of tasks given to one worker under one lease.
public struct Lease: Codable, Sendable, Hashable {
    public var id: String
    public var worker: String
    public var tasks: [TaskRef]
    public var grantedAt: Double
}

/// Why a pending task has not started, for `medgrid status`.
public enum PendingReason: Sendable, Hashable, CustomStringConvertible {
    case waitingForBackoff(until: Double)
    case noWorkers
    case noWorkerWithLabels([String: String])
    case waitingForAnotherWorker
    case allSlotsBusy
    case queuedBehind(Int)

    public var description: String {
        switch self {
        case .waitingForBackoff(let t): return "waiting for retry backoff (until \(Int(t)) s since epoch)"
        case .noWorkers: return "no worker is connected"
        case .noWorkerWithLabels(let l):
            return "no connected worker has the labels " + l.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        case .waitingForAnotherWorker: return "waiting for a worker other than the ones it failed on"
        case .allSlotsBusy: return "all matching workers' slots are busy"
        case .queuedBehind(let n): return "queued behind \(n) task\(n == 1 ? "" : "s") of this or higher-priority jobs"
        }
    }
}

/// What the scheduler decided; the coordinator makes each one durable and acts on it.
public enum SchedulerDecision: Sendable, Hashable {
    case leaseGranted(Lease)
    case taskSucceeded(TaskRef, worker: String, attempt: Int)
    /// A result arrived for a task that already has one; the store compares the two.
    case duplicateResult(TaskRef, worker: String)
    /// A result from a worker that does not hold the task's lease (a task never leased to it, still
    /// pending, or whose lease expired): not recorded; the coordinator counts and audits it.
    case resultRefused(TaskRef, worker: String, lease: String)
    case taskRequeued(TaskRef, failure: TaskFailure, attempt: Int, notBefore: Double)
    case taskQuarantined(TaskRef, failure: TaskFailure, attempts: Int)
    case taskCancelled(TaskRef)
    case leaseExpired(leaseID: String, worker: String, tasks: [TaskRef])
    case workerLost(String)
    /// Tell this worker to stop these tasks (cancelled job, or a result already won elsewhere).
    case stopTasks(worker: String, tasks: [TaskRef])
    case jobFinished(String, JobStatus)
}

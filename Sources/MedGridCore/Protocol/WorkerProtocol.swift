/// The messages between a worker and the coordinator. They are the wire format of the `/v1/workers`
/// API (JSON) and, in one-process mode, are passed as values through ``CoordinatorLink``.
public enum WorkerProtocol {
    public static let version = 1

    public struct Register: Codable, Sendable {
        public var worker: String
        public var labels: [String: String]
        public var slots: Int
        /// Leases the worker still works on (after a reconnect); others it had are expired.
        public var heldLeases: [String]
        public var protocolVersion: Int = WorkerProtocol.version
        public init(worker: String, labels: [String: String], slots: Int, heldLeases: [String] = []) {
            self.worker = worker
            self.labels = labels
            self.slots = slots
            self.heldLeases = heldLeases
        }
    }

    public struct Registered: Codable, Sendable {
        public var heartbeatInterval: Double
        public var leaseTTL: Double
        public init(heartbeatInterval: Double, leaseTTL: Double) {
            self.heartbeatInterval = heartbeatInterval
            self.leaseTTL = leaseTTL
        }
    }

    public struct LeaseRequest: Codable, Sendable {
        public var worker: String
        public var maxTasks: Int
        /// How long the coordinator may hold the request open when there is no work (long-poll).
        public var waitSeconds: Double
        public init(worker: String, maxTasks: Int, waitSeconds: Double) {
            self.worker = worker
            self.maxTasks = maxTasks
            self.waitSeconds = waitSeconds
        }
    }

    /// A batch of tasks under one lease; empty when the long-poll ran out.
    public struct LeaseGrant: Codable, Sendable {
        public var lease: String?
        public var tasks: [TaskAssignment]
        public init(lease: String?, tasks: [TaskAssignment]) {
            self.lease = lease
            self.tasks = tasks
        }
    }

    public struct Heartbeat: Codable, Sendable {
        public var worker: String
        public var running: [String]
        public init(worker: String, running: [String]) {
            self.worker = worker
            self.running = running
        }
    }

    public struct HeartbeatReply: Codable, Sendable {
        /// Tasks (by ``TaskAssignment/key``) the worker should stop: their job was cancelled or they won elsewhere.
        public var stop: [String]
        /// False when the coordinator does not know the worker (it should register again).
        public var known: Bool
        /// Content hashes purged since the last heartbeat: the worker deletes its cached copies.
        public var purge: [String]?
        public init(stop: [String], known: Bool, purge: [String]? = nil) {
            self.stop = stop
            self.known = known
            self.purge = purge
        }
    }

    public struct ResultBatch: Codable, Sendable {
        public var worker: String
        public var results: [TaskResult]
        public init(worker: String, results: [TaskResult]) {
            self.worker = worker
            self.results = results
        }
    }

    /// Which results are now durable; the worker may forget those.
    /// Every result of the batch is acknowledged (the worker may forget it); `refused` names those the
    /// coordinator did not record because this worker did not hold their lease.
    public struct ResultAck: Codable, Sendable {
        public var accepted: [String]
        public var refused: [String]?
        public init(accepted: [String], refused: [String]? = nil) {
            self.accepted = accepted
            self.refused = refused
        }
    }
}

/// Everything a worker needs to run one task.
public struct TaskAssignment: Codable, Sendable, Hashable {
    public var job: String
    public var task: TaskRef
    public var taskID: String
    public var lease: String
    public var attempt: Int
    public var steps: [Manifest.Step]
    public var unit: WorkUnit
    public var inputs: [TaskInput]
    /// The dataset's Merkle root.
    public var datasetRoot: String
    /// Where the dataset is on a shared or local file system, when it is; otherwise inputs are fetched by hash.
    public var datasetLocation: String?
    public var seed: UInt64
    public var timeoutSeconds: Double
    /// For a Benchmark task: the algorithm's name and the metrics to score its segmentation with.
    public var benchmark: BenchmarkScoring?
    /// Set by the worker: where each input (by dataset path) sits in its verified cache.
    public var localFiles: [String: String]?
    /// The dataset's data key (base64), for inputs fetched by hash: the worker keeps its cached copies sealed
    /// under it, so that they become unreadable once the dataset is purged. Never passed to the executor.
    public var dataKey: String?
    /// For a multi-round job: the round, and per iterative step the state the coordinator broadcast.
    public var round: Int?
    public var roundStates: [String: JSONValue]?

    public init(
        job: String, task: TaskRef, taskID: String, lease: String, attempt: Int, steps: [Manifest.Step], unit: WorkUnit,
        inputs: [TaskInput], datasetRoot: String, datasetLocation: String?, seed: UInt64, timeoutSeconds: Double
    ) {
        self.job = job
        self.task = task
        self.taskID = taskID
        self.lease = lease
        self.attempt = attempt
        self.steps = steps
        self.unit = unit
        self.inputs = inputs
        self.datasetRoot = datasetRoot
        self.datasetLocation = datasetLocation
        self.seed = seed
        self.timeoutSeconds = timeoutSeconds
    }

    /// How a Benchmark task is scored.
    public struct BenchmarkScoring: Codable, Sendable, Hashable {
        public var algorithm: String
        public var metrics: [String]
        /// Surface-distance settings: `convention`, `nsdTolerance`.
        public var options: [String: JSONValue]?
        public init(algorithm: String, metrics: [String]) {
            self.algorithm = algorithm
            self.metrics = metrics
        }
    }

    /// A stable text key for the task: `job#index`.
    public var key: String { task.description }
}

/// How one attempt of a task ended.
public struct TaskResult: Codable, Sendable, Hashable {
    public var task: TaskRef
    public var lease: String
    public var attempt: Int
    /// The task's output when it succeeded.
    public var output: JSONValue?
    public var failure: TaskFailure?
    public var seconds: Double

    public init(task: TaskRef, lease: String, attempt: Int, output: JSONValue?, failure: TaskFailure?, seconds: Double) {
        self.task = task
        self.lease = lease
        self.attempt = attempt
        self.output = output
        self.failure = failure
        self.seconds = seconds
    }
}

/// The worker's view of the coordinator. In one-process mode it is the coordinator itself; across
/// machines it is the HTTPS client.
public protocol CoordinatorLink: Sendable {
    func register(_ request: WorkerProtocol.Register) async throws -> WorkerProtocol.Registered
    func lease(_ request: WorkerProtocol.LeaseRequest) async throws -> WorkerProtocol.LeaseGrant
    func heartbeat(_ request: WorkerProtocol.Heartbeat) async throws -> WorkerProtocol.HeartbeatReply
    func submit(_ batch: WorkerProtocol.ResultBatch) async throws -> WorkerProtocol.ResultAck
    func leave(worker: String) async throws
}

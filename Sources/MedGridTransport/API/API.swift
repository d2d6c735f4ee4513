public import MedGridCore

/// The JSON bodies of the coordinator's HTTPS API under `/v1`, shared by the server and its clients
/// (the worker daemon, the command line, and anything that speaks JSON: curl, Python).
///
/// Worker routes (`/v1/workers/...`) carry ``WorkerProtocol`` messages; this namespace holds the rest.
public enum API {
    /// `POST /v1/jobs`: a manifest (its text, as written) over a dataset already offered and uploaded.
    public struct SubmitJob: Codable, Sendable {
        public var manifest: String
        public var fileName: String
        public var inventory: DatasetInventory
        /// The manifest's `spec.project` (nil: the caller's personal project); it must match the manifest.
        public var project: String?
        public init(manifest: String, fileName: String, inventory: DatasetInventory, project: String? = nil) {
            self.manifest = manifest
            self.fileName = fileName
            self.inventory = inventory
            self.project = project
        }
    }

    public struct Submitted: Codable, Sendable {
        public var job: String
        public init(job: String) { self.job = job }
    }

    /// A job's progress: tasks by phase, and why pending tasks wait.
    public struct JobStatusReply: Codable, Sendable {
        public var id: String
        public var name: String
        public var status: JobStatus
        public var tasks: [String: Int]
        public var pendingReasons: [String: Int]
        public var submittedAt: Double
        public var finishedAt: Double?
        public init(id: String, name: String, status: JobStatus, tasks: [String: Int], pendingReasons: [String: Int], submittedAt: Double, finishedAt: Double?) {
            self.id = id
            self.name = name
            self.status = status
            self.tasks = tasks
            self.pendingReasons = pendingReasons
            self.submittedAt = submittedAt
            self.finishedAt = finishedAt
        }

        public var total: Int { tasks.values.reduce(0, +) }
        public var done: Int { (tasks["succeeded"] ?? 0) + (tasks["failed"] ?? 0) + (tasks["cancelled"] ?? 0) }
    }

    public struct JobList: Codable, Sendable {
        public var jobs: [JobStatusReply]
        public init(jobs: [JobStatusReply]) { self.jobs = jobs }
    }

    /// `POST /v1/datasets`: the files a client wants to use in a project; the reply lists the blobs to
    /// upload (every file the project does not hold yet, whatever other projects hold).
    /// `POST /v1/purge`: destroy a dataset (by Merkle root, a prefix of at least 8 hex digits, or the
    /// location it was registered at) or a job, with everything derived from it. Admins only.
    public struct PurgeRequest: Codable, Sendable {
        /// `dataset` or `job`.
        public var target: String
        public var id: String
        /// The project, when a dataset is in several.
        public var project: String?
        public init(target: String, id: String, project: String? = nil) {
            self.target = target
            self.id = id
            self.project = project
        }
    }

    public struct DatasetOffer: Codable, Sendable {
        public var inventory: DatasetInventory
        /// The project the files are for (the manifest's `spec.project`); nil: the caller's personal project.
        public var project: String?
        public init(inventory: DatasetInventory, project: String? = nil) {
            self.inventory = inventory
            self.project = project
        }
    }

    /// `POST /v1/projects` (admin).
    public struct CreateProject: Codable, Sendable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    /// `POST /v1/projects/{name}/members` (admin).
    public struct ProjectMember: Codable, Sendable {
        public var user: String
        public init(user: String) { self.user = user }
    }

    public struct ProjectInfo: Codable, Sendable, Hashable {
        public var name: String
        public var members: [String]
        /// A personal project (`user-NAME`), which exists for every user without being created.
        public var personal: Bool
        public init(name: String, members: [String], personal: Bool) {
            self.name = name
            self.members = members
            self.personal = personal
        }
    }

    /// `GET /v1/projects`: an admin sees every project; a user the ones they are a member of.
    public struct ProjectList: Codable, Sendable {
        public var projects: [ProjectInfo]
        public init(projects: [ProjectInfo]) { self.projects = projects }
    }

    /// One leaderboard as `GET /v1/leaderboards` lists it.
    public struct LeaderboardInfo: Codable, Sendable, Equatable {
        public var project: String
        public var name: String
        public var latest: Int
        public init(project: String, name: String, latest: Int) {
            self.project = project
            self.name = name
            self.latest = latest
        }
    }

    /// `GET /v1/leaderboards`: the leaderboards of the projects the caller may use.
    public struct LeaderboardList: Codable, Sendable {
        public var leaderboards: [LeaderboardInfo]
        public init(leaderboards: [LeaderboardInfo]) { self.leaderboards = leaderboards }
    }

    /// `GET /v1/leaderboards/{project}/{name}`: every published version's document, oldest first.
    public struct LeaderboardVersions: Codable, Sendable {
        public var project: String
        public var name: String
        public var versions: [JSONValue]
        public init(project: String, name: String, versions: [JSONValue]) {
            self.project = project
            self.name = name
            self.versions = versions
        }
    }

    public struct DatasetNeeds: Codable, Sendable {
        public var root: String
        public var missing: [String]
        public init(root: String, missing: [String]) {
            self.root = root
            self.missing = missing
        }
    }

    /// `POST /v1/datasets/verify`: re-hash every stored blob of a dataset.
    public struct DatasetVerifyRequest: Codable, Sendable {
        public var root: String
        public init(root: String) { self.root = root }
    }

    public struct DatasetVerifyReply: Codable, Sendable {
        public var root: String
        public var files: Int
        public var corrupt: [String]
        public var missing: [String]
        public init(root: String, files: Int, corrupt: [String], missing: [String]) {
            self.root = root
            self.files = files
            self.corrupt = corrupt
            self.missing = missing
        }
        public var ok: Bool { corrupt.isEmpty && missing.isEmpty }
    }

    public struct WorkerInfo: Codable, Sendable {
        public var name: String
        public var labels: [String: String]
        public var slots: Int
        public var running: Int
        public var lastSeen: Double
        public init(name: String, labels: [String: String], slots: Int, running: Int, lastSeen: Double) {
            self.name = name
            self.labels = labels
            self.slots = slots
            self.running = running
            self.lastSeen = lastSeen
        }
    }

    public struct WorkerList: Codable, Sendable {
        public var workers: [WorkerInfo]
        public init(workers: [WorkerInfo]) { self.workers = workers }
    }

    /// Every error reply: what went wrong, in words a person can act on.
    public struct ErrorBody: Codable, Sendable {
        public var error: String
        public var code: String
        public init(error: String, code: String) {
            self.error = error
            self.code = code
        }
    }

    /// A progress event on `GET /v1/jobs/{id}/events` (server-sent events, `event: progress`).
    public typealias ProgressEvent = JobStatusReply
}

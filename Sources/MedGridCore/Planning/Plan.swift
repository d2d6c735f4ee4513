public import Foundation

/// What one task covers: some imaging cases, or a slice of a cohort table.
public enum WorkUnit: Codable, Sendable, Hashable {
    case cases([ImagingCase])
    case cohort(CohortSlice)

    /// Short text for status lines; never contains patient identifiers.
    public var summary: String {
        switch self {
        case .cases(let c): return c.count == 1 ? "case \(c[0].id)" : "\(c.count) cases \(c.first!.id)…\(c.last!.id)"
        case .cohort(let s): return s.summary
        }
    }
}

/// A part of a cohort table: all of it, the subjects in a range of first-appearance order, or the rows of
/// one group (e.g. one site).
public struct CohortSlice: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable { case all, subjects, group, site }
    public var kind: Kind
    public var from: Int?
    public var to: Int?
    public var column: String?
    public var value: String?

    public static let all = CohortSlice(kind: .all)
    public static func subjects(_ range: Range<Int>) -> CohortSlice {
        CohortSlice(kind: .subjects, from: range.lowerBound, to: range.upperBound)
    }
    public static func group(_ column: String, _ value: String) -> CohortSlice {
        CohortSlice(kind: .group, column: column, value: value)
    }
    /// All rows of a site's own file, read only by workers whose label `label` is the site's name.
    public static func site(label: String, name: String) -> CohortSlice {
        CohortSlice(kind: .site, column: label, value: name)
    }

    public var summary: String {
        switch kind {
        case .all: return "all rows"
        case .subjects: return "subjects \(from ?? 0)..<\(to ?? 0)"
        case .group: return "\(column ?? "")=\(value ?? "")"
        case .site: return "site \(value ?? "")"
        }
    }
}

/// A file a task reads, named by its path inside the dataset and pinned by its hash. A site-local file
/// (path `site/<name>/<file>`, no hash) is found by the site's own workers in their `--site-data` folder;
/// its hash is recorded in the task's output instead.
public struct TaskInput: Codable, Sendable, Hashable {
    /// The site-local input of a site's task.
    public static func siteFile(site: String, file: String) -> TaskInput {
        TaskInput(path: "site/\(site)/\(file)", sha256: "", size: 0)
    }

    /// For a site-local input: the site and the file name.
    public var siteLocal: (site: String, file: String)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard sha256.isEmpty, parts.count == 3, parts[0] == "site" else { return nil }
        return (String(parts[1]), String(parts[2]))
    }

    public var path: String
    public var sha256: String
    public var size: Int64
    public init(path: String, sha256: String, size: Int64) {
        self.path = path
        self.sha256 = sha256
        self.size = size
    }
}

/// One task of a plan.
public struct PlannedTask: Codable, Sendable, Hashable {
    /// Stable across runs: the index and a hash of what the task covers.
    public var id: String
    public var index: Int
    public var unit: WorkUnit
    public var inputs: [TaskInput]
    /// For a Benchmark: which algorithm (index into the plan's steps) this task runs.
    public var algorithm: Int?
}

/// A kernel and the version a plan pinned.
public struct KernelRef: Codable, Sendable, Hashable {
    public var name: String
    public var version: String
}

/// The tasks a manifest becomes over a given dataset. Deterministic: the same manifest and the same data
/// always give the same tasks, with the same IDs, in the same order.
public struct Plan: Codable, Sendable {
    public var jobName: String
    public var kind: String
    public var manifestSHA256: String
    public var datasetRoot: String
    public var inventory: DatasetInventory
    public var steps: [Manifest.Step]
    /// For a Benchmark: the metrics that score each algorithm, and the dataset's ground-truth role.
    public var metrics: [String]?
    public var kernels: [KernelRef]
    public var tasks: [PlannedTask]
    public var seed: UInt64
    public var timeoutSeconds: Double
    public var retries: Manifest.RetryPolicy
    public var priority: Int
    public var placement: [String: String]
    /// The manifest's analysis part (no scheduling settings), for the report.
    public var document: JSONValue
    /// SHA-256 of the whole manifest, scheduling settings included.
    public var fullManifestSHA256: String
    /// Where the input lives on the coordinator's machine (not part of any report).
    public var inputLocation: String
    /// Whether workers read the input at ``inputLocation`` (one machine or a shared file system) rather
    /// than fetching it from the coordinator's blob store by hash.
    public var sharedFilesystem: Bool = true

    /// The identity of the plan's content: manifest hash and dataset root.
    public var contentKey: String { "\(fullManifestSHA256):\(datasetRoot)" }

    /// For a Benchmark: how surface-distance metrics are computed (convention, NSD tolerance).
    public var metricOptions: [String: JSONValue]? = nil

    /// Labels a task's worker needs beyond the job's placement (a site's tasks run only on that site's
    /// workers), per task of round 0.
    public var taskPlacements: [[String: String]?]? = nil

    /// Tasks per round. A multi-round job (Newton iterations over shards) runs the plan's tasks once per
    /// round; task `i` is shard `i % roundSize` of round `i / roundSize`.
    public var roundSize: Int { max(tasks.count, 1) }

    /// The round a task index belongs to.
    public func round(of index: Int) -> Int { index / roundSize }

    /// The task at an index of any round: the round-0 task of that shard, with its own index and an ID
    /// that names the round.
    public func task(at index: Int) -> PlannedTask {
        var t = tasks[index % roundSize]
        let r = round(of: index)
        if r > 0 {
            t.id += "-r\(r)"
            t.index = index
        }
        return t
    }
}

/// What a multi-round step does after a round: broadcast a new state for another round, or finish.
public enum RoundOutcome: Sendable {
    case next(JSONValue)
    case done(JSONValue)
}

/// Where a multi-round job is: the round number, the state each unfinished step broadcasts to its tasks,
/// and the results of the steps that finished. Stored per round; the report takes the finished results.
public struct RoundRecord: Codable, Sendable, Equatable {
    public var round: Int
    public var states: [String: JSONValue]
    public var results: [String: JSONValue]
    public init(round: Int, states: [String: JSONValue], results: [String: JSONValue]) {
        self.round = round
        self.states = states
        self.results = results
    }
}

/// Counts a cohort's subjects and groups, so the planner can cut it without the cohort module.
public struct CohortIndex: Sendable {
    public var subjectCount: Int
    /// Sorted distinct values of the `groupBy` column, when there is one.
    public var groups: [String]
    public init(subjectCount: Int, groups: [String]) {
        self.subjectCount = subjectCount
        self.groups = groups
    }
}

/// The kernels and the helpers the core needs from them: their descriptions, cohort indexing for planning,
/// and the reduction that combines per-task results. MedGridKernels provides it.
public protocol KernelSuite: KernelCatalog {
    func cohortIndex(at url: URL, groupBy: String?) throws -> CohortIndex
    /// Combines the outputs of one step over all tasks, given in plan order.
    func reduce(step: Manifest.Step, outputs: [JSONValue]) throws -> JSONValue
    /// Whether a step runs in rounds (its tasks return statistics at a broadcast state).
    func isIterative(step: Manifest.Step) -> Bool
    /// The state round 0 broadcasts to an iterative step's tasks.
    func initialRoundState(step: Manifest.Step) throws -> JSONValue
    /// Combines one round's outputs (in shard order) at `state`: another round, or the final result.
    func advanceRound(step: Manifest.Step, state: JSONValue, outputs: [JSONValue]) throws -> RoundOutcome
}

extension KernelSuite {
    public func isIterative(step: Manifest.Step) -> Bool { false }
    public func initialRoundState(step: Manifest.Step) throws -> JSONValue { .null }
    public func advanceRound(step: Manifest.Step, state: JSONValue, outputs: [JSONValue]) throws -> RoundOutcome {
        .done(try reduce(step: step, outputs: outputs))
    }
}

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
    public enum Kind: String, Codable, Sendable { case all, subjects, group }
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

    public var summary: String {
        switch kind {
        case .all: return "all rows"
        case .subjects: return "subjects \(from ?? 0)..<\(to ?? 0)"
        case .group: return "\(column ?? "")=\(value ?? "")"
        }
    }
}

/// A file a task reads, named by its path inside the dataset and pinned by its hash.
public struct TaskInput: Codable, Sendable, Hashable {
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
}

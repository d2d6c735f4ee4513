public import Foundation

/// A validated job manifest (`apiVersion: medgrid/v1`), of kind `Job` or `Benchmark`.
///
/// Paths in the manifest are relative to the manifest's own folder; ``inputURL`` is the resolved one.
/// ``document`` keeps the manifest as written (as JSON), which is what the report records and hashes.
public struct Manifest: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case job = "Job"
        case benchmark = "Benchmark"
    }

    /// What the job reads.
    public enum Input: Sendable, Hashable {
        /// A Decathlon-style imaging dataset folder, as written in the manifest.
        case dataset(String)
        /// A cohort table (CSV or SAS XPORT), as written in the manifest.
        case cohort(String)
        /// A multi-site cohort whose rows never leave their sites: each named site's workers (those whose
        /// label `label` equals the site's name) read `file` from their own `--site-data` folder. The
        /// coordinator never sees the rows; only statistics come back.
        case sites(file: String, label: String, names: [String])

        public var path: String {
            switch self {
            case .dataset(let p), .cohort(let p): return p
            case .sites: return "."
            }
        }

        /// Whether the data stay at the sites (nothing to hash, upload or read centrally).
        public var isSiteLocal: Bool {
            if case .sites = self { return true }
            return false
        }
    }

    /// One step of a Job's pipeline, or one algorithm of a Benchmark: a built-in kernel or an external command.
    public struct Step: Sendable, Hashable, Codable {
        /// The step's name: the algorithm name in a Benchmark, the kernel name otherwise.
        public var name: String
        public var kernel: String?
        public var command: [String]?
        public var params: [String: JSONValue]

        public init(name: String, kernel: String?, command: [String]?, params: [String: JSONValue]) {
            self.name = name
            self.kernel = kernel
            self.command = command
            self.params = params
        }
    }

    /// How the input is cut into tasks.
    public struct Sharding: Sendable, Hashable {
        public var casesPerTask: Int = 1
        public var rowsPerTask: Int = 10_000
        public var groupBy: String?
        public init() {}
    }

    /// Retry budgets, one per kind of failure, and the backoff between attempts.
    public struct RetryPolicy: Sendable, Hashable, Codable {
        /// Attempts lost because a worker died or went silent.
        public var lostWorker: Int = 3
        /// Extra attempts after a kernel error (a throw, a trap, a non-zero exit).
        public var kernelError: Int = 1
        /// Extra attempts after running past the time limit or out of memory.
        public var timeout: Int = 1
        /// First backoff; doubles with each retry.
        public var backoffSeconds: Double = 1
        public var maxBackoffSeconds: Double = 60
        public init() {}
    }

    /// Benchmark settings: how algorithms are scored and ranked.
    public struct BenchmarkSettings: Sendable, Hashable {
        public var metrics: [String]
        public var ranking: [String: JSONValue]
        public var groundTruth: String = "label"
        /// How surface-distance metrics are computed: `convention` (surface-elements, the default, or
        /// boundary-voxels) and `nsdTolerance` in mm (default 1).
        public var metricOptions: [String: JSONValue] = [:]
    }

    public var kind: Kind
    public var name: String
    /// The project the job belongs to (`spec.project`): 1–63 lower-case letters, digits and hyphens. `nil`
    /// when the manifest names none; the coordinator then puts the job in the submitter's personal project,
    /// `user-NAME`. Not part of ``analysisDocument`` or ``sha256``: it says who owns the job, not what it
    /// computes, so the same analysis gives the same report in any project.
    public var project: String? = nil
    public var description: String?
    public var input: Input
    public var steps: [Step]
    public var benchmark: BenchmarkSettings?
    public var sharding: Sharding
    public var retries: RetryPolicy
    public var timeoutSeconds: Double
    public var priority: Int
    public var placement: [String: String]
    public var seed: UInt64

    /// The manifest file this came from.
    public var file: String
    /// The input path resolved against the manifest's folder.
    public var inputURL: URL
    /// The manifest as written, as JSON.
    public var document: JSONValue

    /// SHA-256 of the canonical JSON of ``analysisDocument``: comments, key order, whitespace and scheduling
    /// settings do not change it.
    public var sha256: String { CanonicalJSON.sha256(analysisDocument) }

    /// The spec fields that say how a job is scheduled, not what it computes.
    public static let schedulingFields = ["shard", "retries", "timeoutSeconds", "priority", "placement"]

    /// The spec fields that say who owns a job, not what it computes.
    public static let ownershipFields = ["project"]

    /// The manifest without its scheduling settings (shard, retries, time limit, priority, placement) and
    /// without its owner (project): what is computed. Reports record and hash this, so the same analysis run
    /// with other shard sizes, on other workers or in another project gives the same report.
    public var analysisDocument: JSONValue {
        guard case .object(var top) = document, case .object(var spec)? = top["spec"] else { return document }
        for f in Self.schedulingFields + Self.ownershipFields { spec[f] = nil }
        top["spec"] = .object(spec)
        return .object(top)
    }
}

/// One problem in a manifest: where it is and what was expected.
public struct ManifestIssue: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// The field path, e.g. `spec.shard.casesPerTask`; empty for the document itself.
    public var path: String
    public var message: String

    public init(file: String, line: Int, column: Int, path: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? "\(file):\(line):\(column): \(message)" : "\(file):\(line):\(column): \(path): \(message)"
    }
}

/// Every problem found in a manifest, reported together.
public struct ManifestValidationError: Error, Sendable, CustomStringConvertible {
    public var issues: [ManifestIssue]
    public var description: String {
        let n = issues.count
        return "\(n) problem\(n == 1 ? "" : "s") in manifest:\n" + issues.map { "  \($0)" }.joined(separator: "\n")
    }
}

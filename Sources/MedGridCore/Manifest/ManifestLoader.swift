public import Foundation

/// Reads a manifest file and checks everything about it at once: syntax, fields and their types,
/// kernel names and parameters, and that the dataset or cohort it names exists.
public struct ManifestLoader: Sendable {
    public var catalog: any KernelCatalog

    public init(catalog: any KernelCatalog) {
        self.catalog = catalog
    }

    public static let apiVersion = "medgrid/v1"

    /// Loads and validates the manifest at `url`; throws ``ManifestValidationError`` with every problem.
    public func load(contentsOf url: URL) throws -> Manifest {
        let file = url.relativePath
        let data = try Self.readBounded(url, file: file)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestValidationError(issues: [ManifestIssue(file: file, line: 1, column: 1, path: "", message: "is not UTF-8 text")])
        }
        return try load(text: text, file: file, baseDirectory: url.deletingLastPathComponent())
    }

    /// Reads at most ``ManifestLimits/maximumBytes`` of the file (plus one byte, to tell that there is more),
    /// so a huge file or an endless device is refused without being read whole.
    static func readBounded(_ url: URL, file: String) throws(ManifestValidationError) -> Data {
        func refuse(_ issue: ManifestIssue) -> ManifestValidationError { ManifestValidationError(issues: [issue]) }
        let unreadable = ManifestIssue(file: file, line: 0, column: 0, path: "", message: "cannot read the manifest file (no such file or not readable)")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let handle = FileHandle(forReadingAtPath: url.path) else { throw refuse(unreadable) }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: ManifestLimits.maximumBytes + 1) ?? Data()
        } catch {
            throw refuse(unreadable)
        }
        guard data.count <= ManifestLimits.maximumBytes else {
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let size = (attributes?[.size] as? NSNumber)?.intValue
            let found = size.flatMap { $0 > ManifestLimits.maximumBytes ? "\($0) bytes" : nil } ?? "more than \(ManifestLimits.maximumBytes) bytes"
            throw refuse(PositionedNode.tooLarge(file: file, found: found))
        }
        return data
    }

    /// Loads and validates manifest text; relative paths resolve against `baseDirectory`. With
    /// `inputOverride`, the dataset or cohort is read from there instead of the path the manifest names
    /// (a coordinator holding uploaded data); the manifest's own path is still what the report records.
    public func load(text: String, file: String, baseDirectory: URL, inputOverride: URL? = nil) throws -> Manifest {
        let root: PositionedNode
        do {
            root = try PositionedNode.parse(text, file: file)
        } catch {
            throw ManifestValidationError(issues: [error])
        }
        var v = ManifestValidation(file: file, base: baseDirectory, catalog: catalog, inputOverride: inputOverride)
        let manifest = v.validate(root)
        if !v.issues.isEmpty || manifest == nil {
            throw ManifestValidationError(issues: v.issues)
        }
        return manifest!
    }
}

/// The rules, applied field by field; collects issues instead of stopping at the first.
struct ManifestValidation {
    let file: String
    let base: URL
    let catalog: any KernelCatalog
    var inputOverride: URL? = nil
    var issues: [ManifestIssue] = []

    mutating func issue(_ node: PositionedNode, _ path: String, _ message: String) {
        issues.append(ManifestIssue(file: file, line: node.line, column: node.column, path: path, message: message))
    }

    /// Reads a mapping's fields, flagging unknown keys (with a suggestion) and missing required ones.
    mutating func fields(
        _ node: PositionedNode, _ path: String, known: [String], required: [String] = []
    ) -> [String: PositionedNode]? {
        guard case .mapping(let pairs) = node.value else {
            issue(node, path, "found \(node.found), expected a mapping")
            return nil
        }
        var out: [String: PositionedNode] = [:]
        for pair in pairs {
            let p = path.isEmpty ? pair.key : "\(path).\(pair.key)"
            if known.contains(pair.key) {
                out[pair.key] = pair.value
            } else {
                issues.append(ManifestIssue(file: file, line: pair.keyLine, column: pair.keyColumn, path: p,
                    message: "unknown field\(DidYouMean.hint(for: pair.key, among: known)); expected one of: \(known.joined(separator: ", "))"))
            }
        }
        for key in required where out[key] == nil {
            issue(node, path.isEmpty ? key : "\(path).\(key)", "missing (required)")
        }
        return out
    }

    mutating func string(_ node: PositionedNode?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .string(let s) = node.value else {
            issue(node, path, "found \(node.found), expected a string")
            return nil
        }
        return s
    }

    mutating func integer(_ node: PositionedNode?, _ path: String, range: ClosedRange<Int>) -> Int? {
        guard let node else { return nil }
        guard case .int(let i) = node.value else {
            issue(node, path, "found \(node.found), expected an integer from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        guard range.contains(i) else {
            issue(node, path, "found \(i), expected an integer from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return i
    }

    mutating func number(_ node: PositionedNode?, _ path: String, above lower: Double, orEqual: Bool = false) -> Double? {
        guard let node else { return nil }
        guard let d = node.json.doubleValue else {
            issue(node, path, "found \(node.found), expected a number \(orEqual ? ">=" : ">") \(Int(lower))")
            return nil
        }
        guard orEqual ? d >= lower : d > lower else {
            issue(node, path, "found \(CanonicalJSON.compact(node.json)), expected a number \(orEqual ? ">=" : ">") \(Int(lower))")
            return nil
        }
        return d
    }

    static let topFields = ["apiVersion", "kind", "metadata", "spec"]
    static let commonSpecFields = ["dataset", "cohort", "project", "shard", "retries", "timeoutSeconds", "priority", "placement", "seed"]
    static let jobSpecFields = commonSpecFields + ["kernel", "params", "steps", "sites"]
    static let benchmarkSpecFields = commonSpecFields + ["algorithms", "metrics", "ranking", "groundTruth", "metricOptions"]

    mutating func validate(_ root: PositionedNode) -> Manifest? {
        guard let top = fields(root, "", known: Self.topFields, required: Self.topFields) else { return nil }
        if let node = top["apiVersion"], let version = string(node, "apiVersion"), version != ManifestLoader.apiVersion {
            issue(node, "apiVersion", "found \"\(version)\", expected \"\(ManifestLoader.apiVersion)\"")
        }
        var kind: Manifest.Kind?
        if let node = top["kind"], let k = string(node, "kind") {
            kind = Manifest.Kind(rawValue: k)
            if kind == nil {
                let names = Manifest.Kind.allCases.map(\.rawValue)
                issue(node, "kind", "found \"\(k)\", expected one of: \(names.joined(separator: ", "))\(DidYouMean.hint(for: k, among: names))")
            }
        }
        var name: String?, description: String?
        if let node = top["metadata"], let meta = fields(node, "metadata", known: ["name", "description", "labels"], required: ["name"]) {
            if let n = meta["name"], let s = string(n, "metadata.name") {
                if Self.isValidName(s) { name = s } else {
                    issue(n, "metadata.name", "found \"\(s)\", expected 1–63 lower-case letters, digits and hyphens, starting with a letter or digit")
                }
            }
            description = string(meta["description"], "metadata.description")
            if let labels = meta["labels"] { _ = stringMap(labels, "metadata.labels") }
        }
        guard let specNode = top["spec"] else { return nil }
        let known = kind == .benchmark ? Self.benchmarkSpecFields : Self.jobSpecFields
        guard let spec = fields(specNode, "spec", known: known) else { return nil }

        let project = validateProject(spec["project"])
        let input = validateInput(spec, specNode, kind: kind)
        let sharding = validateSharding(spec["shard"], input: input)
        let retries = validateRetries(spec["retries"])
        let timeout = validateTimeout(spec["timeoutSeconds"])
        let priority = integer(spec["priority"], "spec.priority", range: -100...100) ?? 0
        let placement = spec["placement"].flatMap { stringMap($0, "spec.placement") } ?? [:]
        let seed = integer(spec["seed"], "spec.seed", range: 0...Int.max) ?? 0

        var steps: [Manifest.Step] = []
        var benchmark: Manifest.BenchmarkSettings?
        if kind == .benchmark {
            (steps, benchmark) = validateBenchmark(spec, specNode, input: input)
        } else {
            steps = validateJobSteps(spec, specNode, input: input)
        }
        guard issues.isEmpty, let kind, let name, let input else { return nil }
        return Manifest(
            kind: kind, name: name, project: project, description: description, input: input, steps: steps, benchmark: benchmark,
            sharding: sharding, retries: retries, timeoutSeconds: timeout, priority: priority,
            placement: placement, seed: UInt64(seed), file: file,
            inputURL: inputOverride ?? resolve(input.path), document: root.json
        )
    }

    /// `spec.timeoutSeconds`: more than 0, at most ``ManifestLimits/maximumTimeoutSeconds``; 600 by default.
    mutating func validateTimeout(_ node: PositionedNode?) -> Double {
        let maximum = ManifestLimits.maximumTimeoutSeconds
        guard let node, let t = number(node, "spec.timeoutSeconds", above: 0) else { return 600 }
        guard t <= maximum else {
            issue(node, "spec.timeoutSeconds", "found \(CanonicalJSON.compact(node.json)), expected a number > 0 and at most \(Int(maximum)) (7 days)")
            return 600
        }
        return t
    }

    /// `spec.project`: named like `metadata.name` (1–63 lower-case letters, digits and hyphens).
    mutating func validateProject(_ node: PositionedNode?) -> String? {
        guard let node, let s = string(node, "spec.project") else { return nil }
        guard Self.isValidName(s) else {
            issue(node, "spec.project", "found \(node.found), expected a project name: 1–63 lower-case letters, digits and hyphens, starting with a letter or digit")
            return nil
        }
        return s
    }

    static func isValidName(_ s: String) -> Bool {
        guard (1...63).contains(s.count), let first = s.unicodeScalars.first else { return false }
        let allowed = { (c: Unicode.Scalar) in ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "-" }
        return s.unicodeScalars.allSatisfy(allowed) && first != "-"
    }

    func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path).standardizedFileURL
    }

    mutating func stringMap(_ node: PositionedNode, _ path: String) -> [String: String]? {
        guard case .mapping(let pairs) = node.value else {
            issue(node, path, "found \(node.found), expected a mapping of names to strings (e.g. site: A)")
            return nil
        }
        var out: [String: String] = [:]
        for pair in pairs {
            switch pair.value.value {
            case .string(let s): out[pair.key] = s
            case .int(let i): out[pair.key] = String(i)
            default: issue(pair.value, "\(path).\(pair.key)", "found \(pair.value.found), expected a string")
            }
        }
        return out
    }
}

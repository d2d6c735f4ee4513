import Foundation
import Testing
@testable import MedGridCore
import MedGridKernels
import MedGridTesting

/// The limits on manifests (size, YAML anchors and aliases, nodes, depth, time limit, tasks per job) and
/// `spec.project`: each refusal names the file, line:column and field, what was found and what was expected.
struct ManifestLimitsTests {
    static let header = "apiVersion: medgrid/v1\nkind: Job\nmetadata:\n  name: t\n"
    static func job(_ spec: String) -> String { header + "spec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n" + spec }

    static let workspace: URL = try! TestSupport.workspaceCopy()
    static let jobs = workspace.appendingPathComponent("Jobs")
    static let loader = ManifestLoader(catalog: KernelRegistry.standard)

    static func load(_ text: String, file: String = "x.yaml") throws -> Manifest {
        try loader.load(text: text, file: file, baseDirectory: jobs)
    }

    /// The error text for a manifest that must be refused.
    static func refusal(_ text: String, file: String = "x.yaml") throws -> String {
        let error = #expect(throws: ManifestValidationError.self) { try load(text, file: file) }
        return try #require(error).description
    }

    /// Ten levels of ten aliases each: 10^10 scalars when expanded, a few hundred bytes as written.
    static func billionLaughs(indent: String = "    ") -> String {
        var lines = [indent + "l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for i in 1...9 {
            lines.append(indent + "l\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - spec.project

    @Test("spec.project is read into Manifest.project, and is nil when absent")
    func projectIsRead() throws {
        #expect(try Self.load(Self.job("  project: oncology-a\n")).project == "oncology-a")
        #expect(try Self.load(Self.job("")).project == nil)
    }

    @Test("a project name that is not 1–63 lower-case letters, digits and hyphens is refused with its position")
    func badProjectName() throws {
        let text = try Self.refusal(Self.job("  project: Oncology A\n"))
        #expect(text.contains("x.yaml:8:12: spec.project: found \"Oncology A\", expected a project name: 1–63 lower-case letters, digits and hyphens"), "\(text)")
        let long = try Self.refusal(Self.job("  project: \(String(repeating: "a", count: 64))\n"))
        #expect(long.contains("x.yaml:8:12: spec.project: found \""), "\(long)")
        let hyphen = try Self.refusal(Self.job("  project: -a\n"))
        #expect(hyphen.contains("spec.project: found \"-a\", expected a project name"), "\(hyphen)")
        let list = try Self.refusal(Self.job("  project: [a, b]\n"))
        #expect(list.contains("x.yaml:8:12: spec.project: found a list, expected a string"), "\(list)")
    }

    @Test("spec.project is not part of the analysis document or the manifest hash")
    func projectIsNotHashed() throws {
        let plain = try Self.load(Self.job(""))
        let owned = try Self.load(Self.job("  project: oncology-a\n"))
        let other = try Self.load(Self.job("  project: cardiology\n"))
        #expect(owned.sha256 == plain.sha256)
        #expect(other.sha256 == plain.sha256)
        #expect(owned.analysisDocument == plain.analysisDocument)
        #expect(owned.document["spec"]?["project"] == .string("oncology-a"))
        #expect(owned.analysisDocument["spec"]?["project"] == nil)
    }

    @Test("the schema accepts spec.project and refuses a bad project name and a time limit over 7 days")
    func schema() throws {
        let schemaURL = TestSupport.repositoryRoot().appendingPathComponent("Jobs/manifest.schema.json")
        let validator = JSONSchemaValidator(schema: try JSONValue(parsing: Data(contentsOf: schemaURL)))
        func document(_ extra: [String: JSONValue], kind: String = "Job") -> JSONValue {
            var spec: [String: JSONValue] = ["dataset": "../Datasets/phantom", "kernel": "imaging.stats"]
            if kind == "Benchmark" {
                spec = ["dataset": "../Datasets/phantom", "algorithms": [["name": "t", "kernel": "imaging.threshold", "params": ["lower": 60]]], "metrics": ["dice"]]
            }
            for (k, v) in extra { spec[k] = v }
            return .object(["apiVersion": "medgrid/v1", "kind": .string(kind), "metadata": ["name": "t"], "spec": .object(spec)])
        }
        for kind in ["Job", "Benchmark"] {
            let good = document(["project": "oncology-a", "timeoutSeconds": 604_800], kind: kind)
            #expect(validator.validate(good).isEmpty, "\(kind): \(validator.validate(good))")
            _ = try Self.loader.load(text: CanonicalJSON.encode(good), file: "good.json", baseDirectory: Self.jobs)
            let badProject = validator.validate(document(["project": "Oncology A"], kind: kind))
            #expect(badProject.contains { $0.hasPrefix("/spec/project:") }, "\(kind): \(badProject)")
            let longTimeout = validator.validate(document(["timeoutSeconds": 604_801], kind: kind))
            #expect(longTimeout.contains { $0.hasPrefix("/spec/timeoutSeconds:") }, "\(kind): \(longTimeout)")
        }
    }

    // MARK: - YAML anchors and aliases

    @Test("a billion-laughs manifest is refused at its first anchor, without expanding anything")
    func billionLaughs() throws {
        let text = try Self.refusal(Self.header + "spec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  params:\n" + Self.billionLaughs(), file: "bomb.yaml")
        #expect(text.contains("bomb.yaml:9:9: YAML anchors and aliases (&name, *name) are not allowed in manifests"), "\(text)")
        #expect(text.contains("expected every value written out in full"), "\(text)")
    }

    @Test("aliases used as mapping keys, in flow mappings and in JSON-style documents are refused")
    func aliasesEverywhere() throws {
        let laughs = Self.billionLaughs(indent: "")
        // An alias as a key would be hashed (expanded) while checking for duplicate keys.
        let asKey = try Self.refusal(laughs + "? *a9\n: 1\n")
        #expect(asKey.contains("x.yaml:1:5: YAML anchors and aliases"), "\(asKey)")
        let flow = try Self.refusal("{a: &x [1, 2], b: *x}\n")
        #expect(flow.contains("x.yaml:1:5: YAML anchors and aliases"), "\(flow)")
        let json = try Self.refusal(#"{"apiVersion": "medgrid/v1", "kind": &k "Job", "other": *k}"#, file: "c.json")
        #expect(json.contains("c.json:1:38: YAML anchors and aliases"), "\(json)")
        // An alias with no anchor at all, and an anchor that nothing refers to.
        let undefined = try Self.refusal(Self.job("  priority: *nothing\n"))
        #expect(undefined.contains("x.yaml:8:13: YAML anchors and aliases"), "\(undefined)")
        let unused = try Self.refusal(Self.job("  priority: &p 3\n"))
        #expect(unused.contains("x.yaml:8:13: YAML anchors and aliases"), "\(unused)")
    }

    @Test("& and * as text (quoted, in comments, in block and plain scalars) are still accepted")
    func ampersandAsText() throws {
        let text = Self.header.replacingOccurrences(of: "  name: t\n", with: """
              name: t
              description: "R&D *and* &more"   # a comment with &anchor and *alias
              labels:
                team: R&D
                note: 'say &x and *y'
                plain: first line
                  &second *third
                block: |
                  &literal
                  *text
            """ + "\n")
        let manifest = try Self.load(text + "spec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n")
        #expect(manifest.description == "R&D *and* &more")
        let labels = manifest.document["metadata"]?["labels"]
        #expect(labels?["team"] == "R&D")
        #expect(labels?["note"] == "say &x and *y")
        #expect(labels?["plain"] == "first line &second *third")
        #expect(labels?["block"] == "&literal\n*text\n")
    }

    // MARK: - Size, nodes, depth

    @Test("a manifest over 1 MiB is refused with its size, from text and from a file")
    func tooLarge() throws {
        #expect(ManifestLimits.maximumBytes == 1_048_576)
        let padding = String(repeating: "#", count: ManifestLimits.maximumBytes + 1 - Self.job("").utf8.count - 1) + "\n"
        let text = Self.job("") + padding
        #expect(text.utf8.count == ManifestLimits.maximumBytes + 1)
        let message = try Self.refusal(text)
        #expect(message.contains("x.yaml:1:1: is 1048577 bytes, expected at most 1048576 bytes (1 MiB)"), "\(message)")

        let url = Self.jobs.appendingPathComponent("huge.yaml")
        try (Self.job("") + String(repeating: "# padding\n", count: 300_000)).write(to: url, atomically: true, encoding: .utf8)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber).intValue
        let error = #expect(throws: ManifestValidationError.self) { try Self.loader.load(contentsOf: url) }
        let fileMessage = try #require(error).description
        #expect(fileMessage.contains("huge.yaml:1:1: is \(size) bytes, expected at most 1048576 bytes (1 MiB)"), "\(fileMessage)")

        // Exactly at the limit is fine.
        let atLimit = Self.job("") + String(repeating: "#", count: ManifestLimits.maximumBytes - Self.job("").utf8.count - 1) + "\n"
        #expect(atLimit.utf8.count == ManifestLimits.maximumBytes)
        _ = try Self.load(atLimit)
    }

    @Test("an endless device given as a manifest is refused without being read whole")
    func endlessFile() throws {
        let error = #expect(throws: ManifestValidationError.self) {
            try Self.loader.load(contentsOf: URL(fileURLWithPath: "/dev/zero"))
        }
        let text = try #require(error).description
        #expect(text.contains("/dev/zero:1:1: is more than 1048576 bytes, expected at most 1048576 bytes (1 MiB)"), "\(text)")
    }

    @Test("a manifest with more than 100,000 nodes is refused at the node past the limit")
    func tooManyNodes() throws {
        #expect(ManifestLimits.maximumNodes == 100_000)
        // The document, apiVersion, kind, metadata, name, spec, dataset, kernel, placement and x are 10
        // nodes; x's items make up the rest.
        func placement(items: Int) -> String {
            Self.job("  placement: {x: [" + Array(repeating: "0", count: items).joined(separator: ",") + "]}\n")
        }
        let text = try Self.refusal(placement(items: 99_991))
        #expect(text.contains("x.yaml:8:"), "\(text)")
        #expect(text.contains("has more than 100000 nodes (values, lists and mappings); expected at most 100000"), "\(text)")
        // At the limit, the only problem left is the list's type.
        let atLimit = try Self.refusal(placement(items: 99_990))
        #expect(!atLimit.contains("nodes"), "\(atLimit)")
        #expect(atLimit.contains("spec.placement.x: found a list, expected a string"), "\(atLimit)")
    }

    @Test("a manifest nested deeper than 64 levels is refused, also when far deeper than the parser allows")
    func tooDeep() throws {
        #expect(ManifestLimits.maximumDepth == 64)
        for depth in [65, 5_000] {
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let text = try Self.refusal(Self.job("  placement: {x: \(nested)}\n"))
            #expect(text.contains("x.yaml:8:"), "\(depth): \(text)")
            #expect(text.contains("nests deeper than 64 levels (expected at most 64 levels of lists and mappings)"), "\(depth): \(text)")
        }
        // 60 levels under spec.placement.x is within the limit (and then fails only as a wrong type).
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        let text = try Self.refusal(Self.job("  placement: {x: \(fine)}\n"))
        #expect(text.contains("spec.placement.x: found a list, expected a string"), "\(text)")
    }

    // MARK: - spec.timeoutSeconds

    @Test("spec.timeoutSeconds is capped at 7 days")
    func timeoutCap() throws {
        #expect(ManifestLimits.maximumTimeoutSeconds == 604_800)
        #expect(try Self.load(Self.job("  timeoutSeconds: 604800\n")).timeoutSeconds == 604_800)
        let over = try Self.refusal(Self.job("  timeoutSeconds: 604801\n"))
        #expect(over.contains("x.yaml:8:19: spec.timeoutSeconds: found 604801, expected a number > 0 and at most 604800 (7 days)"), "\(over)")
        let huge = try Self.refusal(Self.job("  timeoutSeconds: 1e999\n"))
        #expect(huge.contains("x.yaml:8:19: spec.timeoutSeconds: found \"1e999\", expected a number > 0"), "\(huge)")
    }

    // MARK: - Tasks per job

    /// The standard kernels, with a cohort index that reports as many subjects or groups as a test needs.
    struct LargeCohortSuite: KernelSuite {
        var subjects: Int
        var groups: [String] = []
        var kernels: [KernelDescription] { KernelRegistry.standard.kernels }
        func cohortIndex(at url: URL, groupBy: String?) throws -> CohortIndex {
            CohortIndex(subjectCount: subjects, groups: groups)
        }
        func reduce(step: Manifest.Step, outputs: [JSONValue]) throws -> JSONValue { .null }
    }

    static func cohortJob(_ shard: String) -> String {
        header + "spec:\n  cohort: ../Datasets/trial/cohort.csv\n  kernel: cohort.summary\n  params:\n    paramcd: OS\n  shard:\n    \(shard)\n"
    }

    static let cohortInventory = DatasetInventory(files: [.init(path: "cohort.csv", sha256: String(repeating: "0", count: 64), size: 1)])

    @Test("a plan over 100,000 tasks is refused with the count, the cap and a rowsPerTask that fits")
    func taskCapRows() throws {
        #expect(Planner.maximumTasksPerJob == 100_000)
        let manifest = try Self.load(Self.cohortJob("rowsPerTask: 1"), file: "rows.yaml")
        let planner = Planner(suite: LargeCohortSuite(subjects: 1_000_001))
        let error = #expect(throws: MedGridError.self) { try planner.plan(manifest, inventory: Self.cohortInventory) }
        let text = try #require(error).description
        #expect(text.contains("rows.yaml: the job would have 1000001 tasks, over the cap of 100000 tasks per job; set a larger spec.shard.rowsPerTask (at least 11)"), "\(text)")
        // Exactly at the cap is allowed (planning 100,000 tasks here would only make the test slow).
        #expect(throws: Never.self) { try Planner.checkTaskCount(100_000, manifest, advice: "") }
        #expect(throws: MedGridError.self) { try Planner.checkTaskCount(100_001, manifest, advice: "") }
    }

    @Test("a groupBy over more than 100,000 groups is refused with the count and the cap")
    func taskCapGroups() throws {
        let manifest = try Self.load(Self.cohortJob("groupBy: SITEID"), file: "groups.yaml")
        let planner = Planner(suite: LargeCohortSuite(subjects: 300_000, groups: (0...100_000).map { "g\($0)" }))
        let error = #expect(throws: MedGridError.self) { try planner.plan(manifest, inventory: Self.cohortInventory) }
        let text = try #require(error).description
        #expect(text.contains("groups.yaml: the job would have 100001 tasks, over the cap of 100000 tasks per job; group by a column with fewer distinct values than SITEID, or shard by rows instead: set a larger spec.shard.rowsPerTask (at least 3)"), "\(text)")
    }

    @Test("the advice names a shard size that fits the cap, counting a Benchmark's algorithms")
    func taskCapAdvice() {
        #expect(Planner.shards(10, 3) == 4)
        #expect(Planner.shards(9, 3) == 3)
        #expect(Planner.shardAdvice("casesPerTask", items: 500_000, units: 4) == "set a larger spec.shard.casesPerTask (at least 20)")
        #expect(Planner.shardAdvice("casesPerTask", items: 10, units: 200_000) == "expected at most 100000 algorithms")
    }
}

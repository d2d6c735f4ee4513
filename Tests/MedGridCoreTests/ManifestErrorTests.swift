import Foundation
import Testing
@testable import MedGridCore
import MedGridKernels
import MedGridTesting

/// Malformed manifests: each gives a precise error (file, line:column, field path, found and expected),
/// through the library and through `medgrid validate` with exit status 1 and no crash.
struct ManifestErrorTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var yaml: String
        /// Expected "line:column: path" prefix after the file name.
        var location: String
        var fragment: String
        var description: String { name }
    }

    static let header = "apiVersion: medgrid/v1\nkind: Job\nmetadata:\n  name: t\n"
    static func job(_ spec: String) -> String { header + "spec:\n" + spec }

    static let cases: [Case] = [
        Case(name: "bad YAML", yaml: "apiVersion: medgrid/v1\nkind: [Job\n", location: "3:1", fragment: "YAML syntax error"),
        Case(name: "not a mapping", yaml: "- a\n- b\n", location: "1:1", fragment: "found a list, expected a mapping"),
        Case(name: "missing apiVersion", yaml: "kind: Job\nmetadata:\n  name: t\nspec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n",
             location: "1:1: apiVersion", fragment: "missing (required)"),
        Case(name: "wrong apiVersion", yaml: "apiVersion: medgrid/v2\nkind: Job\nmetadata:\n  name: t\nspec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n",
             location: "1:13: apiVersion", fragment: "found \"medgrid/v2\", expected \"medgrid/v1\""),
        Case(name: "unknown kind", yaml: "apiVersion: medgrid/v1\nkind: Jbo\nmetadata:\n  name: t\nspec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n",
             location: "2:7: kind", fragment: "did you mean Job?"),
        Case(name: "unknown top-level field", yaml: header + "spce:\n  kernel: imaging.stats\n", location: "5:1: spce", fragment: "unknown field (did you mean spec?)"),
        Case(name: "missing name", yaml: "apiVersion: medgrid/v1\nkind: Job\nmetadata:\n  description: x\nspec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n",
             location: "4:3: metadata.name", fragment: "missing (required)"),
        Case(name: "invalid name", yaml: "apiVersion: medgrid/v1\nkind: Job\nmetadata:\n  name: Quick Start\nspec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n",
             location: "4:9: metadata.name", fragment: "lower-case letters, digits and hyphens"),
        Case(name: "wrong type", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  shard:\n    casesPerTask: two\n"),
             location: "9:19: spec.shard.casesPerTask", fragment: "found \"two\", expected an integer"),
        Case(name: "negative shard size", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  shard:\n    casesPerTask: -2\n"),
             location: "9:19: spec.shard.casesPerTask", fragment: "found -2, expected an integer from 1"),
        Case(name: "unknown kernel", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stat\n"),
             location: "7:11: spec.kernel", fragment: "unknown kernel \"imaging.stat\" (did you mean imaging.stats?)"),
        Case(name: "unknown parameter", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  params:\n    percentile: [50]\n"),
             location: "9:5: spec.params.percentile", fragment: "did you mean percentiles?"),
        Case(name: "wrong parameter type", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  params:\n    percentiles: fifty\n"),
             location: "9:18: spec.params.percentiles", fragment: "expected a list of numbers"),
        Case(name: "missing dataset", yaml: job("  dataset: ../Datasets/nowhere\n  kernel: imaging.stats\n"),
             location: "6:12: spec.dataset", fragment: "../Datasets/nowhere does not exist"),
        Case(name: "dataset without dataset.json", yaml: job("  dataset: ../Jobs\n  kernel: imaging.stats\n"),
             location: "6:12: spec.dataset", fragment: "expected a Decathlon-style dataset.json"),
        Case(name: "both kernel and steps", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  steps:\n    - kernel: imaging.stats\n"),
             location: "7:11: spec.kernel", fragment: "given together with spec.steps"),
        Case(name: "priority out of range", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  priority: 500\n"),
             location: "8:13: spec.priority", fragment: "found 500, expected an integer from -100 to 100"),
        Case(name: "misspelt spec field", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  shrad:\n    casesPerTask: 2\n"),
             location: "8:3: spec.shrad", fragment: "did you mean shard?"),
        Case(name: "zero timeout", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  timeoutSeconds: 0\n"),
             location: "8:19: spec.timeoutSeconds", fragment: "expected a number > 0"),
        Case(name: "cohort kernel on an imaging dataset", yaml: job("  dataset: ../Datasets/phantom\n  kernel: cohort.summary\n"),
             location: "7:11: spec.kernel", fragment: "reads a cohort table, but the job's input is an imaging dataset"),
        Case(name: "groupBy column not in the cohort", yaml: job("  cohort: ../Datasets/trial/cohort.csv\n  kernel: cohort.summary\n  shard:\n    groupBy: SITE\n"),
             location: "9:14: spec.shard.groupBy", fragment: "column SITE is not in ../Datasets/trial/cohort.csv (did you mean SITEID?)"),
        Case(name: "unknown benchmark metric",
             yaml: "apiVersion: medgrid/v1\nkind: Benchmark\nmetadata:\n  name: b\nspec:\n  dataset: ../Datasets/phantom\n  algorithms:\n    - name: a\n      kernel: imaging.stats\n  metrics: [dicee]\n",
             location: "10:13: spec.metrics[0]", fragment: "unknown metric \"dicee\" (did you mean dice?)"),
        Case(name: "duplicate key", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  kernel: imaging.stats\n"),
             location: "7:3", fragment: "duplicate key kernel"),
        Case(name: "placement value is a list", yaml: job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  placement:\n    site: [A, B]\n"),
             location: "9:11: spec.placement.site", fragment: "found a list, expected a string"),
    ]

    static let workspace: URL = try! TestSupport.workspaceCopy()

    func write(_ c: Case) throws -> URL {
        let url = Self.workspace.appendingPathComponent("Jobs/bad-\(c.name.replacingOccurrences(of: " ", with: "-")).yaml")
        try c.yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("each malformed manifest gives a precise error", arguments: cases)
    func preciseError(_ c: Case) throws {
        let url = try write(c)
        let loader = ManifestLoader(catalog: KernelRegistry.standard)
        let error = #expect(throws: ManifestValidationError.self) { try loader.load(contentsOf: url) }
        let text = try #require(error).description
        #expect(text.contains("\(url.relativePath):\(c.location)"), "\(text)")
        #expect(text.contains(c.fragment), "\(text)")
    }

    @Test("medgrid validate exits with status 1 and prints the error, for every malformed manifest")
    func commandLine() async throws {
        for c in Self.cases {
            let url = try write(c)
            let out = try await TestSupport.medgrid(["validate", url.path])
            #expect(out.status == 1, "\(c.name): status \(out.status)")
            #expect(out.stderr.contains(c.fragment), "\(c.name): \(out.stderr)")
        }
    }

    @Test("all problems are reported at once")
    func allAtOnce() throws {
        let yaml = "apiVersion: medgrid/v9\nkind: Job\nmetadata:\n  name: t\n  colour: red\nspec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  priority: high\n  seed: -1\n"
        let loader = ManifestLoader(catalog: KernelRegistry.standard)
        let error = #expect(throws: ManifestValidationError.self) {
            try loader.load(text: yaml, file: "x.yaml", baseDirectory: Self.workspace.appendingPathComponent("Jobs"))
        }
        #expect(error?.issues.map(\.path) == ["apiVersion", "metadata.colour", "spec.priority", "spec.seed"])
    }

    @Test("the manifest hash ignores comments, key order and formatting")
    func hashIsCanonical() throws {
        let loader = ManifestLoader(catalog: KernelRegistry.standard)
        let base = Self.workspace.appendingPathComponent("Jobs")
        let a = try loader.load(text: Self.job("  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n"), file: "a", baseDirectory: base)
        let b = try loader.load(text: "# note\nkind: Job\napiVersion: medgrid/v1\nspec: {kernel: imaging.stats, dataset: ../Datasets/phantom}\nmetadata: {name: t}\n", file: "b", baseDirectory: base)
        #expect(a.sha256 == b.sha256)
        let json = try loader.load(text: #"{"apiVersion":"medgrid/v1","kind":"Job","metadata":{"name":"t"},"spec":{"dataset":"../Datasets/phantom","kernel":"imaging.stats"}}"#, file: "c.json", baseDirectory: base)
        #expect(json.sha256 == a.sha256)
    }
}

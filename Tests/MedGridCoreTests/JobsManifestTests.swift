import Testing
import Foundation
@testable import MedGridCore
import MedGridKernels
import MedGridTesting

/// The manifests shipped in `Jobs/` load, match `Jobs/manifest.schema.json`, and name real kernels; the
/// schema refuses what the loader refuses and accepts what it accepts.
struct JobsManifestTests {
    /// The repository root: three levels up from this file (Tests/MedGridCoreTests/JobsManifestTests.swift).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let jobs = root.appendingPathComponent("Jobs")
    static let schemaFile = "manifest.schema.json"

    static func schema() throws -> JSONValue {
        try JSONValue(parsing: Data(contentsOf: jobs.appendingPathComponent(schemaFile)))
    }

    /// Every manifest in `Jobs/` (YAML or JSON), except the schema itself, by name.
    static func manifestFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: jobs, includingPropertiesForKeys: nil)
            .filter { ["yaml", "yml", "json"].contains($0.pathExtension.lowercased()) && $0.lastPathComponent != schemaFile }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static let loader = ManifestLoader(catalog: KernelRegistry.standard)

    /// Loads manifest text the way a file in `Jobs/` would be loaded (relative paths from `Jobs/`).
    static func load(_ document: JSONValue) throws -> Manifest {
        try loader.load(text: CanonicalJSON.encode(document), file: "inline.json", baseDirectory: jobs)
    }

    // MARK: - Jobs/

    @Test("Every manifest in Jobs/ loads and matches the schema")
    func jobsManifestsMatchSchema() throws {
        let validator = JSONSchemaValidator(schema: try Self.schema())
        let files = try Self.manifestFiles()
        #expect(!files.isEmpty, "no manifests found in \(Self.jobs.path)")
        for url in files {
            let manifest: Manifest
            do {
                manifest = try Self.loader.load(contentsOf: url)
            } catch {
                Issue.record("\(url.lastPathComponent) does not load: \(error)")
                continue
            }
            let errors = validator.validate(manifest.document)
            #expect(errors.isEmpty, "\(url.lastPathComponent) breaks the schema:\n\(errors.joined(separator: "\n"))")
        }
    }

    @Test("Every manifest's kernels exist in the standard registry")
    func jobsKernelsExist() throws {
        let known = Set(KernelRegistry.standard.kernels.map(\.name))
        var seen = 0
        for url in try Self.manifestFiles() {
            let manifest = try Self.loader.load(contentsOf: url)
            for step in manifest.steps {
                guard let kernel = step.kernel else { continue }
                seen += 1
                #expect(known.contains(kernel), "\(url.lastPathComponent): step \(step.name) names unknown kernel \(kernel)")
            }
        }
        #expect(seen > 0, "no manifest in Jobs/ names a kernel")
    }

    @Test("Every registry kernel name matches the schema's kernel-name pattern")
    func registryNamesMatchSchemaPattern() throws {
        let kernelName = try #require(try Self.schema()["$defs"]?["kernelName"])
        let validator = JSONSchemaValidator(schema: kernelName)
        for kernel in KernelRegistry.standard.kernels {
            let errors = validator.validate(.string(kernel.name))
            #expect(errors.isEmpty, "\(kernel.name): \(errors.joined(separator: "; "))")
        }
    }

    // MARK: - Bad and good documents

    /// A valid Job; the bad documents below differ from it in one place.
    static let validJob: JSONValue = [
        "apiVersion": "medgrid/v1",
        "kind": "Job",
        "metadata": ["name": "schema-test"],
        "spec": ["dataset": "../Datasets/phantom", "kernel": "imaging.stats", "shard": ["casesPerTask": 2]],
    ]

    /// Each bad document with the JSON pointer its schema error must name.
    static let badDocuments: [(what: String, pointer: String, document: JSONValue)] = [
        ("an unknown top-level field", "/extra", [
            "apiVersion": "medgrid/v1",
            "kind": "Job",
            "metadata": ["name": "schema-test"],
            "spec": ["dataset": "../Datasets/phantom", "kernel": "imaging.stats", "shard": ["casesPerTask": 2]],
            "extra": true,
        ]),
        ("casesPerTask -1", "/spec/shard/casesPerTask", [
            "apiVersion": "medgrid/v1",
            "kind": "Job",
            "metadata": ["name": "schema-test"],
            "spec": ["dataset": "../Datasets/phantom", "kernel": "imaging.stats", "shard": ["casesPerTask": -1]],
        ]),
        ("apiVersion medgrid/v2", "/apiVersion", [
            "apiVersion": "medgrid/v2",
            "kind": "Job",
            "metadata": ["name": "schema-test"],
            "spec": ["dataset": "../Datasets/phantom", "kernel": "imaging.stats", "shard": ["casesPerTask": 2]],
        ]),
    ]

    @Test("The schema and the loader both accept the valid base document")
    func validBaseDocument() throws {
        let validator = JSONSchemaValidator(schema: try Self.schema())
        let errors = validator.validate(Self.validJob)
        #expect(errors.isEmpty, "\(errors.joined(separator: "\n"))")
        _ = try Self.load(Self.validJob)
    }

    @Test("The schema rejects an unknown field, a negative casesPerTask and a wrong apiVersion, like the loader")
    func schemaRejectsBadDocuments() throws {
        let validator = JSONSchemaValidator(schema: try Self.schema())
        for bad in Self.badDocuments {
            let errors = validator.validate(bad.document)
            #expect(!errors.isEmpty, "the schema accepts \(bad.what)")
            #expect(errors.contains { $0.hasPrefix(bad.pointer + ":") }, "no error at \(bad.pointer) for \(bad.what): \(errors)")
            #expect(throws: ManifestValidationError.self, "the loader accepts \(bad.what)") {
                try Self.load(bad.document)
            }
        }
    }

    @Test("Documents the loader accepts (Benchmark, command step, cohort by rows, integer labels) match the schema")
    func loaderAcceptedVariantsMatchSchema() throws {
        let validator = JSONSchemaValidator(schema: try Self.schema())
        let benchmark: JSONValue = [
            "apiVersion": "medgrid/v1",
            "kind": "Benchmark",
            "metadata": ["name": "bench", "labels": ["site": "A", "round": 2]],
            "spec": [
                "dataset": "../Datasets/phantom",
                "algorithms": [
                    ["name": "threshold", "kernel": "imaging.threshold", "params": ["lower": 60]],
                    ["name": "script", "command": ["python3", "segment.py"]],
                ],
                "metrics": ["dice", "jaccard", "volume-difference"],
                "ranking": [
                    "scheme": "test-then-rank", "missing": "constant", "missingValue": -1.5, "alpha": 0.05,
                    "adjust": "holm", "bootstrap": 1000, "smallerIsBetter": false,
                ],
                "groundTruth": "label",
                "shard": ["casesPerTask": 3],
                "retries": ["lostWorker": 0, "kernelError": 100, "timeout": 2, "backoffSeconds": 0, "maxBackoffSeconds": 2.5],
                "timeoutSeconds": 0.5,
                "priority": -100,
                "placement": ["gpu": "yes"],
                "seed": 0,
            ],
        ]
        let pipeline: JSONValue = [
            "apiVersion": "medgrid/v1",
            "kind": "Job",
            "metadata": ["name": "pipeline", "description": "a command step"],
            "spec": [
                "dataset": "../Datasets/phantom",
                "steps": [
                    ["name": "stats.whole", "kernel": "imaging.stats", "params": ["mask": "none"]],
                    ["name": "external", "command": ["echo", "hi"]],
                ],
                "priority": 100,
            ],
        ]
        let cohortByRows: JSONValue = [
            "apiVersion": "medgrid/v1",
            "kind": "Job",
            "metadata": ["name": "rows"],
            "spec": [
                "cohort": "../Datasets/trial/cohort.csv",
                "kernel": "cohort.summary",
                "params": ["paramcd": "OS"],
                "shard": ["rowsPerTask": 50],
                "placement": ["rack": 7],
            ],
        ]
        for document in [benchmark, pipeline, cohortByRows] {
            let name = document["metadata"]?["name"]?.stringValue ?? "?"
            do {
                _ = try Self.load(document)
            } catch {
                Issue.record("the loader rejects \(name): \(error)")
            }
            let errors = validator.validate(document)
            #expect(errors.isEmpty, "\(name) breaks the schema:\n\(errors.joined(separator: "\n"))")
        }
    }
}

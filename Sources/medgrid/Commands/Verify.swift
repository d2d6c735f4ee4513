import ArgumentParser
import Foundation
import MedGridCore
import MedGridKernels
import MedGridReports

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run what a report records and check that its canonical JSON matches byte for byte.",
        discussion: """
            REPORT is a report.json (or the folder holding it) written by medgrid run. The job is re-run from the \
            manifest recorded in the report's provenance, over the data named in the run.json beside it (or \
            --dataset), on a throwaway local coordinator. Before re-running, the dataset's Merkle root and the \
            kernel versions are compared with the recorded ones, so a mismatch comes with its reason: which \
            dataset files changed, which kernel changed version.

            Exit status: 0 verified; 1 bad input; 3 the re-run report differs.
            """)

    @Argument(help: ArgumentHelp("The report (report.json or its folder).", valueName: "report"))
    var report: String

    @Option(help: ArgumentHelp("The dataset or cohort to re-run on (default: the location recorded in run.json).", valueName: "path"))
    var dataset: String?

    @Option(help: ArgumentHelp("Resolve the recorded manifest's relative paths from this folder (default: the recorded manifest's folder).", valueName: "dir"))
    var manifestDir: String?

    @Option(help: "Local worker count for the re-run.")
    var workers: Int = 1

    @Flag(help: "Show progress while re-running.")
    var progress = false

    func run() async throws {
        let matched = try await reportingErrors { try await verify() }
        if !matched { throw ExitCode(3) }
    }

    func verify() async throws -> Bool {
        let saved = try SavedReport(path: report)
        let (url, data, recorded, recordURL, record) = (saved.url, saved.data, saved.report, saved.recordURL, saved.record)
        guard recorded["kind"]?.stringValue == "JobReport", let provenance = recorded["provenance"], let document = provenance["manifest"] else {
            throw MedGridError(.invalidInput, "\(url.path): field kind/provenance.manifest: expected a MedGrid JobReport with its recorded manifest")
        }
        let text = String(decoding: data, as: UTF8.self)
        var reasons: [String] = []
        if CanonicalJSON.encode(recorded) != text {
            reasons.append("the report file is not in canonical form (edited after it was written?)")
        }
        guard let inputPath = dataset ?? record?.inputLocation else {
            throw MedGridError(.invalidInput, "\(recordURL.path) is missing, so the data's location is unknown: pass --dataset PATH")
        }
        let manifestFile = record?.manifestFile ?? url.path
        let baseDirectory = manifestDir.map { URL(fileURLWithPath: $0).standardizedFileURL } ?? URL(fileURLWithPath: manifestFile).deletingLastPathComponent()
        let inputURL = URL(fileURLWithPath: inputPath).standardizedFileURL
        let manifest: Manifest
        do {
            manifest = try ManifestLoader(catalog: KernelRegistry.standard).load(
                text: CanonicalJSON.encode(document), file: "\(url.path) (provenance.manifest)", baseDirectory: baseDirectory, inputOverride: inputURL)
        } catch let e as ManifestValidationError {
            throw MedGridError(.invalidInput, "the recorded manifest no longer validates:\n\(e.description)")
        }

        // Why a re-run could differ, found before running it.
        print("checking \(inputURL.path) against the recorded dataset root …")
        let current = manifest.input.isSiteLocal ? DatasetInventory(files: []) : try DatasetInventory.scan(inputURL)
        if manifest.input.isSiteLocal { print("the data are site-local: each site's workers re-read their own file; the report's per-site hashes are compared") }
        if let root = provenance["datasetRoot"]?.stringValue, root != current.root {
            reasons.append("the data changed: dataset root was \(root), now \(current.root)")
            if let before = record?.inventory {
                for change in before.changes(comparedTo: current).prefix(20) { reasons.append("  \(change)") }
            }
        }
        for k in provenance["kernels"]?.arrayValue ?? [] {
            guard let name = k["name"]?.stringValue, let version = k["version"]?.stringValue else { continue }
            if let now = KernelRegistry.standard.implementation(named: name)?.description.version, now != version {
                reasons.append("kernel \(name) was version \(version), now \(now)")
            } else if KernelRegistry.standard.implementation(named: name) == nil {
                reasons.append("kernel \(name) \(version) is not in this build")
            }
        }
        if let v = provenance["medgridVersion"]?.stringValue, v != MedGrid.version {
            reasons.append("the report was written by medgrid \(v); this is \(MedGrid.version)")
        }

        let state = FileManager.default.temporaryDirectory.appendingPathComponent("medgrid-verify-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        print("re-running \(manifest.name) …")
        let outcome = try await LocalRunner(stateDirectory: state, workers: workers, quiet: !progress).run(manifest)
        let rerun = Data(outcome.report.utf8)
        if rerun == data {
            print("verified: \(url.path) matches the re-run byte for byte (\(data.count) bytes, sha256 \(ContentHash.sha256(data)))")
            return true
        }
        print("NOT verified: the re-run report differs from \(url.path)")
        if reasons.isEmpty { reasons.append("no input or kernel changed; the computation itself gave a different result (nondeterminism?)") }
        print("why:")
        for r in reasons { print("  \(r)") }
        print("first differences (recorded → re-run):")
        for d in JSONDifference.differences(recorded, try JSONValue(parsing: rerun)) { print("  \(d)") }
        return false
    }
}

import ArgumentParser
import Foundation
import MedGridCore
import MedGridKernels
import MedGridReports

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run what a report records and check that its canonical JSON matches byte for byte (external command steps only with --allow-commands).",
        discussion: """
            REPORT is a report.json (or the folder holding it) written by medgrid run. The job is re-run from the \
            manifest recorded in the report's provenance, over the data named in the run.json beside it (or \
            --dataset), on a throwaway local coordinator. Before re-running, the dataset's Merkle root and the \
            kernel versions are compared with the recorded ones, so a mismatch comes with its reason: which \
            dataset files changed, which kernel changed version, which part of the report was edited.

            A report is untrusted input: whoever wrote it chose its manifest. When the manifest has external \
            command steps (`command: [...]`), verify refuses before running anything and prints the exact \
            commands it would run, one per line. They would run on this machine as you, with your files, keys \
            and network. Only if you trust the report's author, read them and run again with --allow-commands.

            Exit status: 0 verified; 1 bad input, or command steps without --allow-commands; 3 the re-run report differs.
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

    @Flag(name: .customLong("allow-commands"), help: ArgumentHelp(
        "DANGEROUS: run the report's external command steps: any program its author wrote, as you, with your files, keys and network.",
        discussion: "Off by default: without it, verify lists the commands and refuses. Give it only for a report whose author you trust."))
    var allowCommands = false

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
        // Edits after the report was written (its form, its manifest hash, scores against ranking, scores.csv).
        var reasons = ReportTrust.integrityProblems(report: data, file: url.path, scoresCSV: scoresCSV(beside: url))
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

        // Nothing of the report's author runs here unless the reader said so: refuse before running anything.
        let commands = ReportTrust.commandSteps(of: manifest)
        if !commands.isEmpty {
            guard allowCommands else {
                throw MedGridError(.permissionDenied, """
                    refusing to re-run \(url.path): its manifest has \(commands.count) external command step\(commands.count == 1 ? "" : "s"), \
                    and re-running it would run \(commands.count == 1 ? "this command" : "these commands") on this machine, as you, with your files, keys and network:
                    \(ReportTrust.listing(commands))
                    Nothing was run. Whoever wrote the report chose these commands. Read them; only if you trust the \
                    report's author, run again with --allow-commands.
                    """)
            }
            printError("warning: --allow-commands: running \(commands.count) external command step\(commands.count == 1 ? "" : "s") from \(url.path) as you:\n\(ReportTrust.listing(commands))")
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
        let outcome = try await LocalRunner(stateDirectory: state, workers: workers, quiet: !progress, allowCommands: allowCommands).run(manifest)
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

/// The `scores.csv` beside a report file, if there is one (for ``ReportTrust/integrityProblems(report:file:scoresCSV:)``).
func scoresCSV(beside report: URL) -> (file: String, bytes: Data)? {
    let url = report.deletingLastPathComponent().appendingPathComponent("scores.csv")
    return FileManager.default.contents(atPath: url.path).map { (url.path, $0) }
}

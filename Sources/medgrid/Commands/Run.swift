import ArgumentParser
import Foundation
import Logging
import MedGridCore
import MedGridCoordinator
import MedGridKernels
import MedGridReports
import MedGridTransport
import MedGridWorker
import ServiceLifecycle

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a manifest on this machine: a coordinator and local workers in one command.",
        discussion: """
            Starts a coordinator on the state directory, serving its HTTPS API on loopback with a throwaway CA \
            (so the one-machine mode uses the same mutual-TLS path as a cluster), and N local workers (each with its own kernel processes), \
            runs the job with a live progress bar, and writes the report (report.json, the canonical one, and \
            report.md) under reports/<job-name>/. If the state directory holds an unfinished job with the same \
            manifest and data (say, after a crash), that job is resumed instead of started again.
            """)

    @Argument(help: ArgumentHelp("The job manifest (YAML or JSON).", valueName: "manifest"))
    var manifest: String

    @Option(help: "Local worker count.")
    var workers: Int = 1

    @Option(help: "Task slots per worker (default: the core count).")
    var slots: Int = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup var state: StateOptions

    @Option(help: ArgumentHelp("Where to write the report (default: reports/<job-name>).", valueName: "dir"))
    var out: String?

    @Option(name: .customLong("lease-ttl"), help: ArgumentHelp("Seconds a silent worker keeps its leases.", valueName: "seconds"))
    var leaseTTL: Double = 10

    @Option(name: .customLong("log-level"), help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "Print timing figures at the end: wall time, tasks per second, coordinator CPU time per task.")
    var stats = false

    func validate() throws {
        guard workers >= 1 && workers <= 64 else { throw ValidationError("--workers must be from 1 to 64") }
        guard slots >= 1 && slots <= 256 else { throw ValidationError("--slots must be from 1 to 256") }
        guard leaseTTL > 0 else { throw ValidationError("--lease-ttl must be positive") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \(logLevel)") }
    }

    func run() async throws {
        let m = try loadManifest(manifest)
        let status = try await reportingErrors { try await execute(m) }
        if status != .succeeded { throw ExitCode(2) }
    }

    func execute(_ m: Manifest) async throws -> JobStatus {
        let runner = LocalRunner(stateDirectory: state.url, workers: workers, slots: slots, leaseTTL: leaseTTL, logLevel: Logger.Level(rawValue: logLevel)!, quiet: quiet)
        let outcome = try await runner.run(m)
        let outDir = URL(fileURLWithPath: out ?? "reports/\(m.name)").standardizedFileURL
        try writeReport(outcome.report, to: outDir, record: RunRecord(manifest: m, inventory: outcome.inventory))
        let report = try JSONValue(parsing: Data(outcome.report.utf8))
        let total = outcome.counts.values.reduce(0, +)
        print("\(outcome.jobID): \(outcome.status.rawValue) — \(outcome.counts[.succeeded] ?? 0)/\(total) tasks succeeded, \(outcome.counts[.failed] ?? 0) failed")
        for f in report["failures"]?.arrayValue?.prefix(5) ?? [] {
            print("  failed \(f["task"]?.stringValue ?? ""): \(f["kind"]?.stringValue ?? ""): \(f["message"]?.stringValue ?? "")")
        }
        print("report: \(outDir.path)/\(ReportFiles.names(for: report).joined(separator: ", "))")
        if stats {
            print(String(format: "stats: %d tasks in %.2f s (%.1f tasks/s; planning %.2f s); coordinator CPU %.1f µs/task (%.3f s in all)",
                         total, outcome.wallSeconds, Double(total) / outcome.wallSeconds, outcome.planningSeconds,
                         outcome.coordinatorCPUSeconds / Double(max(total, 1)) * 1e6, outcome.coordinatorCPUSeconds))
        }
        return outcome.status
    }
}

/// Writes every report format into a folder (report.json, the canonical one, and what ``ReportFiles``
/// renders from it), and with `record` the run's sidecar `run.json` that `medgrid verify` reads.
func writeReport(_ canonical: String, to folder: URL, record: RunRecord? = nil) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try Data(canonical.utf8).write(to: folder.appendingPathComponent("report.json"), options: .atomic)
    let report = try JSONValue(parsing: Data(canonical.utf8))
    let slices = record.map { BenchmarkSlices.make(report: report, dataset: URL(fileURLWithPath: $0.inputLocation)) } ?? []
    for file in ReportFiles.render(report, slices: slices) {
        try Data(file.contents.utf8).write(to: folder.appendingPathComponent(file.name), options: .atomic)
    }
    if let record {
        try Data(CanonicalJSON.encode(try JSONValue(encoding: record)).utf8).write(to: folder.appendingPathComponent(RunRecord.fileName), options: .atomic)
    }
}

/// The path of the running medgrid binary, for starting executor processes.
func selfExecutable() -> String {
    TaskRunner.executablePath
}

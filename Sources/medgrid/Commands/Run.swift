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
        var logger = Logger(label: "medgrid")
        logger.logLevel = Logger.Level(rawValue: logLevel)!
        let config = Coordinator.Configuration.defaults {
            $0.scheduler.leaseTTL = leaseTTL
            $0.scheduler.heartbeatInterval = min(2, leaseTTL / 3)
            $0.medgridVersion = MedGrid.version
        }
        let coordinator = try Coordinator(stateDirectory: state.url, suite: KernelRegistry.standard, configuration: config, logger: logger)
        let submitStart = Date()
        let jobID = try await coordinator.submit(m, reuseUnfinished: true)
        let runStart = Date()
        let executable = selfExecutable()
        // A throwaway CA for this run: the coordinator's certificate and one per local worker.
        let pki = state.url.appendingPathComponent("local-pki")
        try FileManager.default.createDirectory(at: pki, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let ca = try CertificateAuthority(directory: try CertificateAuthority.create(in: pki, commonName: "MedGrid local run CA", validityDays: 3, overwrite: true).certificate.deletingLastPathComponent())
        let serverFiles = try ca.issue(role: .coordinator, name: "coordinator", subjectAlternativeNames: ["127.0.0.1", "localhost"], validityDays: 2, into: pki, overwrite: true)
        let tls = try TLSFiles.serverConfiguration(certificate: serverFiles.certificate, privateKey: serverFiles.privateKey, trustRoot: pki.appendingPathComponent("ca.pem"))
        let server = CoordinatorServer(
            coordinator: coordinator, tls: tls, clientCAPEM: [UInt8](try Data(contentsOf: pki.appendingPathComponent("ca.pem"))),
            host: "127.0.0.1", port: 0, logger: logger)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = try server.application { port in portContinuation.yield(port) }
        let group = ServiceGroup(services: [app, CoordinatorClock(coordinator: coordinator)], gracefulShutdownSignals: [], logger: logger)
        let serving = Task { try await group.run() }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else { throw MedGridError(.io, "the local coordinator did not start") }
        var workerTasks: [Task<Void, any Error>] = []
        var clients: [CoordinatorClient] = []
        for i in 1...workers {
            let files = try ca.issue(role: .worker, name: "local-\(i)", validityDays: 2, into: pki, overwrite: true)
            let client = CoordinatorClient(
                baseURL: "https://127.0.0.1:\(port)",
                tls: try TLSFiles.clientConfiguration(certificate: files.certificate, privateKey: files.privateKey, trustRoot: pki.appendingPathComponent("ca.pem")))
            clients.append(client)
            let w = Worker(
                configuration: .defaults(name: "local-\(i)") { $0.slots = slots; $0.leaseWait = 2 },
                link: HTTPCoordinatorLink(client: client), executor: ProcessExecutor(executable: executable), logger: logger)
            workerTasks.append(Task { try await w.run() })
        }
        let progress = ProgressDisplay(enabled: !quiet, label: jobID)
        var status = JobStatus.running
        var counts: [TaskPhase: Int] = [:]
        while true {
            counts = try await coordinator.progress(of: jobID)
            status = await coordinator.jobStatus(jobID) ?? .running
            progress.update(counts: counts)
            if status.isTerminal { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        progress.finish()
        for t in workerTasks { t.cancel() }
        for t in workerTasks { _ = try? await t.value }
        for c in clients { await c.shutdown() }
        await group.triggerGracefulShutdown()
        _ = try? await serving.value
        guard let job = try coordinator.store.read({ try $0.job(jobID) }), let text = job.report else {
            throw MedGridError(.io, "job \(jobID) finished without a report")
        }
        let outDir = URL(fileURLWithPath: out ?? "reports/\(m.name)").standardizedFileURL
        try writeReport(text, to: outDir)
        let report = try JSONValue(parsing: Data(text.utf8))
        let total = counts.values.reduce(0, +)
        print("\(jobID): \(status.rawValue) — \(counts[.succeeded] ?? 0)/\(total) tasks succeeded, \(counts[.failed] ?? 0) failed")
        for f in report["failures"]?.arrayValue?.prefix(5) ?? [] {
            print("  failed \(f["task"]?.stringValue ?? ""): \(f["kind"]?.stringValue ?? ""): \(f["message"]?.stringValue ?? "")")
        }
        print("report: \(outDir.path)/report.json, report.md")
        if stats {
            let wall = Date().timeIntervalSince(runStart)
            let cpu = await coordinator.cpuSeconds
            print(String(format: "stats: %d tasks in %.2f s (%.1f tasks/s; planning %.2f s); coordinator CPU %.1f µs/task (%.3f s in all)",
                         total, wall, Double(total) / wall, runStart.timeIntervalSince(submitStart), cpu / Double(max(total, 1)) * 1e6, cpu))
        }
        return status
    }
}

/// Writes report.json (canonical) and report.md into a folder.
func writeReport(_ canonical: String, to folder: URL) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try Data(canonical.utf8).write(to: folder.appendingPathComponent("report.json"), options: .atomic)
    let report = try JSONValue(parsing: Data(canonical.utf8))
    try Data(MarkdownReport.render(report).utf8).write(to: folder.appendingPathComponent("report.md"), options: .atomic)
}

/// The path of the running medgrid binary, for starting executor processes.
func selfExecutable() -> String {
    TaskRunner.executablePath
}

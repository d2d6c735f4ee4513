import Foundation
import Logging
import MedGridCore
import MedGridCoordinator
import MedGridKernels
import MedGridTransport
import MedGridWorker
import ServiceLifecycle

/// What a local run gives back.
struct LocalRunOutcome {
    var jobID: String
    var status: JobStatus
    var counts: [TaskPhase: Int]
    /// The canonical report text.
    var report: String
    /// The files the job read, with their hashes (for `run.json`).
    var inventory: DatasetInventory
    var wallSeconds: Double
    var planningSeconds: Double
    var coordinatorCPUSeconds: Double
}

/// One-machine mode: a coordinator on a state directory, serving HTTPS on loopback with a throwaway CA (so
/// the local path is the cluster's mutual-TLS path), and N local workers with process-isolated slots.
/// `medgrid run`, `medgrid verify` and leaderboard re-evaluation share it.
struct LocalRunner {
    var stateDirectory: URL
    var workers: Int = 1
    var slots: Int = ProcessInfo.processInfo.activeProcessorCount
    var leaseTTL: Double = 10
    var logLevel: Logger.Level = .warning
    var quiet = false
    /// Whether the local workers run external command steps. `medgrid run` runs the user's own manifest, so
    /// on; `verify` and leaderboard re-evaluation re-run someone else's and pass their `--allow-commands`.
    var allowCommands = true

    func run(_ m: Manifest) async throws -> LocalRunOutcome {
        var logger = Logger(label: "medgrid")
        logger.logLevel = logLevel
        let config = Coordinator.Configuration.defaults {
            $0.scheduler.leaseTTL = leaseTTL
            $0.scheduler.heartbeatInterval = min(2, leaseTTL / 3)
            $0.medgridVersion = MedGrid.version
        }
        let coordinator = try Coordinator(stateDirectory: stateDirectory, suite: KernelRegistry.standard, configuration: config, logger: logger)
        let submitStart = Date()
        let jobID = try await coordinator.submit(m, reuseUnfinished: true)
        let runStart = Date()
        let executable = selfExecutable()
        // A throwaway CA for this run: the coordinator's certificate and one per local worker.
        let pki = stateDirectory.appendingPathComponent("local-pki")
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
                configuration: .defaults(name: "local-\(i)") { $0.slots = slots; $0.leaseWait = 2; $0.allowCommands = allowCommands },
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
        return LocalRunOutcome(
            jobID: jobID, status: status, counts: counts, report: text, inventory: job.plan.inventory,
            wallSeconds: Date().timeIntervalSince(runStart), planningSeconds: runStart.timeIntervalSince(submitStart),
            coordinatorCPUSeconds: await coordinator.cpuSeconds)
    }
}

/// A report written by `medgrid run` (given as report.json or its folder), with its `run.json` if present.
struct SavedReport {
    var url: URL
    var data: Data
    var report: JSONValue
    var recordURL: URL
    var record: RunRecord?

    init(path: String) throws {
        url = URL(fileURLWithPath: path).standardizedFileURL
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            url = url.appendingPathComponent("report.json")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw MedGridError(.notFound, "\(url.path): no such report")
        }
        self.data = data
        do { report = try JSONValue(parsing: data) } catch {
            throw MedGridError(.invalidInput, "\(url.path): not a JSON report (\(error))")
        }
        recordURL = url.deletingLastPathComponent().appendingPathComponent(RunRecord.fileName)
        let recordPath = recordURL.path
        record = try FileManager.default.contents(atPath: recordPath).map {
            do { return try JSONDecoder().decode(RunRecord.self, from: $0) } catch {
                throw MedGridError(.invalidInput, "\(recordPath): not a run record (\(error))")
            }
        }
    }
}

/// The sidecar `run.json` beside a report: where the manifest and the data were, and every input file's hash
/// then. Not part of the canonical report (paths differ between machines); `medgrid verify` uses it to re-run
/// the job and to say which file changed.
struct RunRecord: Codable {
    static let fileName = "run.json"
    var manifestFile: String
    var inputLocation: String
    var inventory: DatasetInventory

    init(manifest: Manifest, inventory: DatasetInventory) {
        manifestFile = URL(fileURLWithPath: manifest.file).standardizedFileURL.path
        inputLocation = manifest.inputURL.standardizedFileURL.path
        self.inventory = inventory
    }
}

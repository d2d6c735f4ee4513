import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MedGridCore
import MedGridCoordinator
import MedGridKernels
import MedGridTransport
import MedGridWorker
import ServiceLifecycle
import UnixSignals

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator: the HTTPS API (mutual TLS 1.3), the scheduler and the store.",
        discussion: """
            Clients and workers must present certificates signed by --ca; their role (in the certificate) decides \
            what they may do. There is no plaintext port. SIGTERM or SIGINT shut it down gracefully; started again \
            on the same --state-dir it resumes every unfinished job. SIGHUP reloads its certificate and key (rotated \
            files; a broken pair is refused and the current one kept) and the deny-list. Certificates revoked with \
            medgrid tls revoke are refused at the TLS handshake; the deny-list (--deny-list, default revoked.json \
            beside --ca) is also reloaded within seconds whenever the file changes. Options can also come from a \
            JSON --config file with the keys listen, stateDir, cert, key, ca, leaseTTL, speculateAfter, denyList.
            """)

    @Option(help: ArgumentHelp("Address to listen on, HOST:PORT.", valueName: "host:port")) var listen: String?
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The state directory (SQLite store and blobs).", valueName: "dir")) var stateDirectory: String?
    @Option(help: ArgumentHelp("The coordinator's certificate (PEM).", valueName: "file")) var cert: String?
    @Option(help: ArgumentHelp("The coordinator's private key (PEM).", valueName: "file")) var key: String?
    @Option(help: ArgumentHelp("The MedGrid CA certificate (PEM); the only trust root.", valueName: "file")) var ca: String?
    @Option(name: .customLong("deny-list"), help: ArgumentHelp("Revoked certificates (written by medgrid tls revoke), reloaded on SIGHUP and when the file changes (default: revoked.json beside --ca; read once it exists).", valueName: "file")) var denyList: String?
    @Option(name: .customLong("lease-ttl"), help: ArgumentHelp("Seconds a silent worker keeps its leases.", valueName: "seconds")) var leaseTTL: Double?
    @Option(name: .customLong("speculate-after"), help: ArgumentHelp("Speculative re-execution (off by default): once a job has nothing left to start, also give a task running longer than this to an idle worker; the first valid result wins.", valueName: "seconds")) var speculateAfter: Double?
    @Option(name: .customLong("config"), help: ArgumentHelp("A JSON config file.", valueName: "file")) var configFile: String?
    @Option(name: .customLong("log-level"), help: "Log level.") var logLevel: String = "info"
    @Option(name: .customLong("max-blob-size"), help: ArgumentHelp("The largest dataset file an upload may hold (default 8192 MiB).", valueName: "MiB")) var maxBlobMiB: Int?
    @Option(name: .customLong("project-quota"), help: ArgumentHelp("Uploaded dataset bytes each project may hold (default 1048576 MiB = 1 TiB).", valueName: "MiB")) var projectQuotaMiB: Int?
    @Option(name: .customLong("max-connections"), help: ArgumentHelp("Connections open at once; more are closed on arrival (default 1024).", valueName: "n")) var maxConnections: Int?
    @Option(name: .customLong("handshake-timeout"), help: ArgumentHelp("Seconds a connection has to finish its TLS handshake (default 10).", valueName: "seconds")) var handshakeTimeout: Int?
    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Seconds an idle connection is kept (default 75).", valueName: "seconds")) var idleTimeout: Int?
    @Option(name: .customLong("max-event-streams"), help: ArgumentHelp("Progress event streams one user may follow at once (default 8).", valueName: "n")) var maxEventStreams: Int?

    func validate() throws {
        for (flag, value) in [("--max-blob-size", maxBlobMiB), ("--project-quota", projectQuotaMiB), ("--max-connections", maxConnections),
                              ("--handshake-timeout", handshakeTimeout), ("--idle-timeout", idleTimeout), ("--max-event-streams", maxEventStreams)] {
            if let value, value < 1 { throw ValidationError("\(flag) must be at least 1 (got \(value))") }
        }
    }

    func run() async throws {
        // SIGHUP is trapped first of all: one sent while the coordinator starts is kept and acted on once it runs.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try await reportingErrors {
            var file: [String: JSONValue] = [:]
            if let configFile {
                guard let data = FileManager.default.contents(atPath: configFile) else { throw MedGridError(.notFound, "\(configFile): no such config file") }
                guard let o = try JSONValue(parsing: data).objectValue else { throw MedGridError(.invalidInput, "\(configFile): expected a JSON object") }
                file = o
            }
            func pick(_ flag: String?, _ key: String) throws -> String {
                if let v = flag ?? file[key]?.stringValue { return v }
                throw MedGridError(.invalidInput, "missing --\(key == "stateDir" ? "state-dir" : key) (or \"\(key)\" in the config file)")
            }
            let listen = try pick(self.listen, "listen")
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
                throw MedGridError(.invalidInput, "--listen \(listen): expected HOST:PORT")
            }
            let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            var logger = Logger(label: "medgrid.coordinator")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let certURL = URL(fileURLWithPath: try pick(cert, "cert"))
            if let problem = TLSDiagnosis.checkValidity(certificatePEM: certURL, at: Date()) { printError("warning: \(problem)") }
            let caURL = URL(fileURLWithPath: try pick(ca, "ca"))
            let certificate = try ReloadingCertificate(certificate: certURL, privateKey: URL(fileURLWithPath: try pick(key, "key")), trustRoot: caURL)
            let tls = try TLSFiles.serverConfiguration(reloading: certificate, trustRoot: caURL)
            let caPEM = [UInt8](try Data(contentsOf: caURL))
            let denyListURL = (denyList ?? file["denyList"]?.stringValue).map { URL(fileURLWithPath: $0) } ?? DenyList.defaultURL(besideCA: caURL)
            let revocations = try RevocationList(file: denyListURL)
            logger.info("deny-list", metadata: [
                "medgrid.deny_list": "\(denyListURL.path)",
                "medgrid.revoked": "\(FileManager.default.fileExists(atPath: denyListURL.path) ? "\(revocations.count)" : "none yet (read once the file exists)")",
            ])
            let ttl = leaseTTL ?? file["leaseTTL"]?.doubleValue ?? 10
            let coordinator = try Coordinator(
                stateDirectory: URL(fileURLWithPath: try pick(stateDirectory, "stateDir")), suite: KernelRegistry.standard,
                configuration: .defaults {
                    $0.scheduler.leaseTTL = ttl
                    $0.scheduler.heartbeatInterval = min(2, ttl / 3)
                    $0.scheduler.speculateAfter = speculateAfter ?? file["speculateAfter"]?.doubleValue
                    $0.medgridVersion = MedGrid.version
                    if let maxBlobMiB { $0.maxBlobBytes = Int64(maxBlobMiB) << 20 }
                    if let projectQuotaMiB { $0.projectQuotaBytes = Int64(projectQuotaMiB) << 20 }
                    if let maxConnections { $0.connections.maxConnections = maxConnections }
                    if let handshakeTimeout { $0.connections.handshakeTimeout = .seconds(handshakeTimeout) }
                    if let idleTimeout { $0.connections.idleTimeout = .seconds(idleTimeout) }
                    if let maxEventStreams { $0.connections.maxEventStreamsPerUser = maxEventStreams }
                },
                logger: logger)
            var server = CoordinatorServer(coordinator: coordinator, tls: tls, clientCAPEM: caPEM, host: host, port: port, logger: logger)
            server.revocations = revocations
            let log = logger
            let app = try server.application { port in
                log.notice("coordinator listening", metadata: ["medgrid.address": "https://\(host):\(port)"])
            }
            let group = ServiceGroup(
                services: [
                    app, CoordinatorClock(coordinator: coordinator),
                    CoordinatorReloadService(certificate: certificate, revocations: revocations, hangups: hangups, logger: logger),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker daemon: connects out to the coordinator, runs tasks in parallel slots.",
        discussion: """
            The worker registers, long-polls for batches of tasks, fetches their inputs by hash into a size-bounded \
            verified cache under --state-dir, runs each attempt in its own process, and uploads results in batches. \
            When the coordinator is away it retries with backoff and keeps its results. SIGTERM or SIGINT: it stops \
            taking work, finishes what runs, reports it and hands back the rest. Its name is the certificate's. \
            SIGHUP reloads its certificate and key (used from the next connection on). A worker whose certificate \
            has expired stops with status 78 (EX_CONFIG) and says how to renew it, at start and while it runs.
            """)

    @OptionGroup var connection: ConnectionOptions
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The worker's folder (its blob cache).", valueName: "dir")) var stateDirectory: String = ".medgrid-worker"
    @Option(help: "Task slots (default: the core count).") var slots: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .customLong("label"), help: ArgumentHelp("A placement label key=value; repeat for more. Data-access labels (site=) count only when the certificate carries them (medgrid tls cert create --worker NAME --label site=A): the coordinator drops such a claim and audits it.", valueName: "k=v")) var labels: [String] = []
    @Option(name: .customLong("cache-size"), help: ArgumentHelp("Cache limit in MiB.", valueName: "MiB")) var cacheMiB: Int = 10_240
    @Option(name: .customLong("wire-compression"), help: "Dataset files on the wire: zstd or none.") var wireCompression: String = "zstd"
    @Option(name: .customLong("site-data"), help: ArgumentHelp("This site's own cohort files, for site-local jobs (spec.sites): only statistics leave this machine.", valueName: "dir")) var siteData: String?
    @Flag(name: .customLong("allow-commands"), help: "Run external command steps from manifests (any program). Each runs in a private folder with an empty environment, as nobody when the worker runs as root (MEDGRID_COMMAND_USER picks another), otherwise as this worker's user. Off by default: only built-in kernels run.") var allowCommands = false
    @Option(name: .customLong("log-level"), help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

    func validate() throws {
        guard (1...256).contains(slots) else { throw ValidationError("--slots must be from 1 to 256") }
        for l in labels where !l.contains("=") { throw ValidationError("--label \(l): expected key=value") }
        guard ["zstd", "none"].contains(wireCompression) else { throw ValidationError("--wire-compression must be zstd or none") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \(logLevel)") }
    }

    func run() async throws {
        // SIGHUP is trapped first of all: one sent while the worker starts is kept and acted on once it runs.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try await reportingErrors {
            var logger = Logger(label: "medgrid.worker")
            logger.logLevel = Logger.Level(rawValue: logLevel)!
            let resolved = try connection.resolve()
            guard let identity = try CertificateSummary.inspect(pemFile: resolved.cert).first else {
                throw MedGridError(.invalidInput, "\(resolved.cert.path) holds no certificate")
            }
            guard identity.role == .worker else {
                throw MedGridError(.invalidInput, "\(resolved.cert.path) is a \(identity.role?.rawValue ?? "role-less") certificate; a worker needs one made with medgrid tls cert create --worker NAME")
            }
            WorkerCertificateWatch.exitIfExpired(identity)
            let workerName = identity.name
            let certificate = try ReloadingCertificate(certificate: resolved.cert, privateKey: resolved.key, trustRoot: resolved.ca) { renewed in
                guard renewed.role == .worker, renewed.name == workerName else {
                    throw MedGridError(
                        .invalidInput,
                        "not reloading: \(resolved.cert.path) now holds a \(renewed.role?.rawValue ?? "role-less") certificate for \(renewed.name); this worker runs as worker \(workerName) (restart it to change its name)")
                }
            }
            let watch = WorkerCertificateWatch(certificate: certificate, logger: logger)
            let client = try connection.client(reloading: certificate, wireCompression: wireCompression == "zstd")
            let cache = try BlobCache(directory: URL(fileURLWithPath: stateDirectory).appendingPathComponent("cache"), maxBytes: Int64(cacheMiB) << 20)
            var labelMap: [String: String] = [:]
            for l in labels {
                let parts = l.split(separator: "=", maxSplits: 1)
                labelMap[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            let worker = Worker(
                configuration: .defaults(name: identity.name) { $0.slots = slots; $0.labels = labelMap; $0.allowCommands = allowCommands; $0.siteData = siteData.map { URL(fileURLWithPath: $0).standardizedFileURL } },
                link: ExpiryCheckingLink(base: HTTPCoordinatorLink(client: client), watch: watch), executor: ProcessExecutor(executable: selfExecutable()),
                fetcher: BlobFetcher(client: client, cache: cache, logger: logger), logger: logger)
            logger.notice("worker starting", metadata: ["medgrid.worker": "\(identity.name)", "medgrid.slots": "\(slots)", "medgrid.coordinator": "\(resolved.url)"])
            let group = ServiceGroup(
                services: [WorkerService(worker: worker), WorkerCertificateService(watch: watch, hangups: hangups, logger: logger)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
            await client.shutdown()
        }
    }
}

/// The worker as a Service: graceful shutdown drains it (finish, report, hand back, leave).
struct WorkerService: Service {
    let worker: Worker
    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await worker.run()
        }
    }
}

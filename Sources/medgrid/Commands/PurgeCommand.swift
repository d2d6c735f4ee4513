import ArgumentParser
import Foundation
import Logging
import MedGridCore
import MedGridCoordinator
import MedGridKernels
import MedGridTransport
import MedGridWorker
import NIOHTTP1

/// `medgrid purge`: destroy a dataset or a job on the owner's instruction, with a signed certificate of destruction.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Destroy a dataset or a job and everything derived from it; get a signed certificate of destruction.",
        discussion: """
            Admins only (an admin certificate with --coordinator, or the coordinator host's --state-dir). A dataset purge \
            destroys the dataset's data key, so every sealed copy of its files (in the state directory, in backups, \
            anywhere) becomes unreadable, and rotates the coordinator's wrapping key; it deletes the sealed files, the \
            coordinator's view copy, every job over the dataset with its results and report, the local registrations, \
            and gives the project's quota back. Connected workers delete their cached copies at their next heartbeat, \
            others when they register again. Leaderboard versions over the dataset keep their rows, shown as purged. \
            Report folders under --reports that came from the purged jobs are deleted here too.

            The certificate (canonical JSON, signed with the coordinator's P-256 key) lists what was destroyed, when \
            and at whose instruction. Check it with medgrid purge verify.
            """,
        subcommands: [DatasetTarget.self, JobTarget.self, VerifyCertificate.self])

    struct Common: ParsableArguments {
        @Option(help: ArgumentHelp("Write the certificate of destruction here (default: purge-<target>-<time>.json).", valueName: "file"))
        var out: String?
        @Option(help: ArgumentHelp("Also delete report folders under this folder that came from the purged jobs (default: ./reports when present).", valueName: "dir"))
        var reports: [String] = []
        @OptionGroup var state: StateOptions
        @OptionGroup var connection: ConnectionOptions
    }

    struct DatasetTarget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dataset", abstract: "Purge a dataset (by Merkle root, 8+ leading hex digits of it, or its registered location).")
        @Argument(help: ArgumentHelp("The dataset's Merkle root (or a prefix of 8+ hex digits), its folder or file here (hashed to find its root), or the location it was registered at.", valueName: "root-or-name"))
        var target: String
        @Option(help: ArgumentHelp("The project, when the dataset is in several.", valueName: "name")) var project: String?
        @OptionGroup var common: Common

        func run() async throws {
            try await reportingErrors {
                // A folder or file here: its Merkle root names it (its registration, if any, is found by root too).
                var id = target
                if FileManager.default.fileExists(atPath: target) {
                    id = try scanWithProgress(URL(fileURLWithPath: target).standardizedFileURL).root
                }
                let certificate = try await PurgeCommand.purge(API.PurgeRequest(target: "dataset", id: id, project: project), common: common)
                let body = try DestructionCertificate.verify(Data(certificate.utf8)).body
                let root = body["target"]?["datasetRoot"]?.stringValue ?? ""
                let removed = PurgeCommand.deleteReports(in: common.reports) { report, _ in report["provenance"]?["datasetRoot"]?.stringValue == root }
                try PurgeCommand.finish(certificate, body: body, common: common, label: "dataset-\(root.prefix(12))", reportsRemoved: removed)
            }
        }
    }

    struct JobTarget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "job", abstract: "Purge one job: its tasks, results and report.")
        @Argument(help: ArgumentHelp("The job ID.", valueName: "job")) var job: String
        @OptionGroup var common: Common

        func run() async throws {
            try await reportingErrors {
                // The report's bytes, to find the folders it was written to (the store forgets it).
                let report = try? await PurgeCommand.reportText(job, common: common)
                let certificate = try await PurgeCommand.purge(API.PurgeRequest(target: "job", id: job), common: common)
                let body = try DestructionCertificate.verify(Data(certificate.utf8)).body
                let removed = report.map { text in PurgeCommand.deleteReports(in: common.reports) { _, bytes in bytes == Data(text.utf8) } } ?? []
                try PurgeCommand.finish(certificate, body: body, common: common, label: "job-\(job)", reportsRemoved: removed)
            }
        }
    }

    struct VerifyCertificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check a certificate of destruction: canonical form, signature, and (with --state-dir or --fingerprint) the signer.",
            discussion: "Exit status 0 when it verifies, 1 naming the check that failed. Any change to any byte of the file fails.")
        @Argument(help: ArgumentHelp("The certificate file.", valueName: "cert")) var certificate: String
        @Option(help: ArgumentHelp("The coordinator's signing-key fingerprint (SHA-256 of its public key) to require.", valueName: "hex"))
        var fingerprint: String?
        @Option(help: ArgumentHelp("Require the signing key of the coordinator whose state directory this is.", valueName: "dir"))
        var stateDir: String?

        func run() async throws {
            try await reportingErrors {
                let data = try Data(contentsOf: URL(fileURLWithPath: certificate))
                var pinned = fingerprint
                if let stateDir {
                    let store = try Store(stateDirectory: URL(fileURLWithPath: stateDir))
                    pinned = try CoordinatorKeys(stateDirectory: URL(fileURLWithPath: stateDir), store: store).signingFingerprint
                }
                let verified: DestructionCertificate.Verified
                do { verified = try DestructionCertificate.verify(data, pinnedFingerprint: pinned) } catch let e as MedGridError {
                    throw MedGridError(e.code, "\(certificate): \(e.message)")
                }
                let b = verified.body
                print("ok: certificate of destruction verifies (signed by key \(verified.fingerprint.prefix(16))…\(pinned == nil ? ", not checked against a known coordinator key: pass --state-dir or --fingerprint" : ", the coordinator's"))")
                print("target: \(b["target"]?["kind"]?.stringValue ?? "?") \(b["target"]?["datasetRoot"]?.stringValue ?? b["target"]?["job"]?.stringValue ?? "") in project \(b["target"]?["project"]?.stringValue ?? "?")")
                print("destroyed at \(b["destroyedAt"]?.stringValue ?? "?") at the instruction of \(b["instructedBy"]?["subject"]?.stringValue ?? "?") (\(b["instructedBy"]?["role"]?.stringValue ?? "?"))")
            }
        }
    }

    /// Runs the purge against the coordinator (remote) or on the state directory (local, as the local admin).
    static func purge(_ request: API.PurgeRequest, common: Common) async throws -> String {
        if common.connection.isRemote {
            let client = try common.connection.client()
            let data: Data
            do {
                data = try await client.raw(.POST, "/v1/purge", body: request, timeout: 3600)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            return String(decoding: data, as: UTF8.self)
        }
        let coordinator = try localCoordinator(common.state)
        let caller = Caller(name: Coordinator.localUser, isAdmin: true, certificate: "local user \(Coordinator.localUser)", role: "admin", serial: "local")
        return try await coordinator.purge(request, for: caller)
    }

    static func localCoordinator(_ state: StateOptions) throws -> Coordinator {
        guard FileManager.default.fileExists(atPath: state.url.appendingPathComponent("medgrid.sqlite").path) else {
            throw MedGridError(.notFound, "\(state.url.path): no MedGrid state here (pass the coordinator's --state-dir, or --coordinator)")
        }
        var logger = Logger(label: "medgrid.purge")
        logger.logLevel = .warning
        return try Coordinator(stateDirectory: state.url, suite: KernelRegistry.standard, logger: logger)
    }

    static func reportText(_ job: String, common: Common) async throws -> String {
        if common.connection.isRemote {
            let client = try common.connection.client()
            let data = try? await client.raw(.GET, "/v1/jobs/\(job)/report", body: Optional<String>.none, timeout: 300)
            await client.shutdown()
            guard let data else { throw MedGridError(.notFound, "no report") }
            return String(decoding: data, as: UTF8.self)
        }
        return try await localCoordinator(common.state).report(job)
    }

    /// Deletes each folder below `roots` (default ./reports) holding a report.json that `matches`.
    static func deleteReports(in roots: [String], _ matches: (JSONValue, Data) -> Bool) -> [String] {
        let fm = FileManager.default
        let folders = roots.isEmpty ? (fm.fileExists(atPath: "reports") ? ["reports"] : []) : roots
        var removed: [String] = []
        for root in folders {
            guard let e = fm.enumerator(atPath: root) else { continue }
            var found: [String] = []
            while let rel = e.nextObject() as? String {
                if (rel as NSString).lastPathComponent == "report.json" { found.append((root as NSString).appendingPathComponent(rel)) }
            }
            for file in found {
                guard let data = fm.contents(atPath: file), let report = try? JSONValue(parsing: data), matches(report, data) else { continue }
                let folder = (file as NSString).deletingLastPathComponent
                if (try? fm.removeItem(atPath: folder)) != nil { removed.append(folder) }
            }
        }
        return removed
    }

    static func finish(_ certificate: String, body: JSONValue, common: Common, label: String, reportsRemoved: [String]) throws {
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let path = common.out ?? "purge-\(label)-\(stamp).json"
        try Data(certificate.utf8).write(to: URL(fileURLWithPath: path))
        let destroyed = body["destroyed"]
        let jobs = destroyed?["jobs"]?.arrayValue?.count ?? 0
        let files = destroyed?["files"]?.arrayValue?.count
        print("purged \(body["target"]?["kind"]?.stringValue ?? "") in project \(body["target"]?["project"]?.stringValue ?? "?"): "
              + [files.map { "\($0) files" }, "\(jobs) job\(jobs == 1 ? "" : "s")", destroyed?["dataKey"]?.stringValue.map { "data key \($0.prefix(8))… destroyed" }]
                .compactMap { $0 }.joined(separator: ", "))
        for folder in reportsRemoved { print("deleted report folder \(folder)") }
        print("certificate of destruction: \(path) (check it with medgrid purge verify \(path))")
    }
}

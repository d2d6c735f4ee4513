import Foundation
import Logging
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridTesting
import MedGridTransport
import MedGridWorker
import NIOHTTP1

/// Faults across machines: a worker killed mid-task, a coordinator away for a while, corrupted bytes in
/// a worker's cache and in the coordinator's store. Real sockets, real certificates, real processes.
@Suite(.serialized)
struct ClusterFaultTests {
    static let slowJob = """
        apiVersion: medgrid/v1
        kind: Job
        metadata:
          name: slow
        spec:
          dataset: ../Datasets/twelve
          steps:
            - name: wait
              kernel: debug.sleep
              params: {seconds: 0.4}
            - name: stats
              kernel: imaging.stats
              params: {mask: label, percentiles: [50]}
          shard: {casesPerTask: 1}
        """

    func workspace() async throws -> (URL, String) {
        let ws = try TestSupport.workspaceCopy()
        _ = try await synthPhantom(in: ws, name: "twelve", cases: 12)
        return (ws, try writeManifest(Self.slowJob, named: "slow", in: ws))
    }

    func submit(_ manifest: String, to server: TestServer, as user: IssuedFiles, in ws: URL) async throws -> (job: String, uploaded: Int) {
        let out = try await TestSupport.medgrid([
            "submit", manifest, "--coordinator", server.url, "--cert", user.certificate.path, "--key", user.privateKey.path,
            "--ca", server.pki.caFile.path, "--json",
        ], in: ws)
        guard out.status == 0 else { throw MedGridError(.io, "submit failed: \(out.stderr)") }
        let json = try JSONValue(parsing: Data(out.stdout.utf8))
        return (json["job"]?.stringValue ?? "", json["uploaded"]?.intValue ?? -1)
    }

    func localReport(_ manifest: String, in ws: URL) async throws -> Data {
        let out = try await TestSupport.medgrid(["run", manifest, "--state-dir", "clean-state", "--out", "clean"], in: ws)
        guard out.status == 0 else { throw MedGridError(.io, "local run failed: \(out.stderr)") }
        return try Data(contentsOf: ws.appendingPathComponent("clean/report.json"))
    }

    func waitUntil(_ deadline: Double = 120, _ condition: () async throws -> Bool) async throws {
        let end = Date().addingTimeInterval(deadline)
        while try await !condition() {
            guard Date() < end else { throw MedGridError(.timeout, "condition not met in \(deadline) s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func logger() -> Logger {
        var l = Logger(label: "test")
        l.logLevel = .critical
        return l
    }

    @Test("SIGKILL of a worker process mid-task: its leases expire, the tasks finish on the other worker, the report is unchanged")
    func killWorker() async throws {
        let (ws, manifest) = try await workspace()
        let clean = try await localReport(manifest, in: ws)
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: try TestPKI(), leaseTTL: 2)
        let user = try server.pki.issue(.user, "alice")
        var workers: [TestSupport.RunningProcess] = []
        for name in ["n1", "n2"] {
            let f = try server.pki.issue(.worker, name)
            workers.append(try TestSupport.startMedgrid([
                "worker", "--coordinator", server.url, "--cert", f.certificate.path, "--key", f.privateKey.path,
                "--ca", server.pki.caFile.path, "--slots", "2", "--state-dir", "wstate-\(name)", "--log-level", "error",
            ], in: ws))
        }
        let (job, _) = try await submit(manifest, to: server, as: user, in: ws)
        try await waitUntil { (try await server.coordinator.progress(of: job))[.succeeded, default: 0] >= 3 }
        workers[0].kill(signal: SIGKILL)
        _ = workers[0].finish()
        try await waitUntil { await server.coordinator.jobStatus(job)?.isTerminal == true }
        #expect(await server.coordinator.jobStatus(job) == .succeeded)
        #expect(Data(try await server.coordinator.report(job).utf8) == clean)
        let expired = try server.coordinator.store.read { try $0.events(of: job, limit: 10_000) }.filter { $0.kind == "lease-expired" || $0.kind == "retry" }
        #expect(!expired.isEmpty, "the killed worker's leases expired and its tasks ran again")
        workers[1].kill(signal: SIGTERM)
        let stopped = workers[1].finish()
        #expect(stopped.status == 0, "SIGTERM drains and exits cleanly: \(stopped.stderr)")
        await server.stop()
    }

    /// A free TCP port on loopback.
    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    @Test("the coordinator process stops for a while and starts again: workers retry, resume, and nothing is lost or duplicated")
    func coordinatorAway() async throws {
        let (ws, manifest) = try await workspace()
        let clean = try await localReport(manifest, in: ws)
        let pki = try TestPKI()
        let coordFiles = try pki.issue(.coordinator, "coordinator")
        let user = try pki.issue(.user, "alice")
        let port = freePort()
        let url = "https://127.0.0.1:\(port)"
        let args = [
            "coordinator", "--listen", "127.0.0.1:\(port)", "--state-dir", "coord", "--cert", coordFiles.certificate.path,
            "--key", coordFiles.privateKey.path, "--ca", pki.caFile.path, "--lease-ttl", "3", "--log-level", "error",
        ]
        var coordinator = try TestSupport.startMedgrid(args, in: ws)
        let alice = CoordinatorClient(baseURL: url, tls: try TLSFiles.clientConfiguration(certificate: user.certificate, privateKey: user.privateKey, trustRoot: pki.caFile))
        try await waitUntil(30) { (try? await alice.call(.GET, "/healthz", as: [String: String].self)) != nil }

        let out = try await TestSupport.medgrid(["submit", manifest, "--coordinator", url, "--cert", user.certificate.path, "--key", user.privateKey.path, "--ca", pki.caFile.path], in: ws)
        #expect(out.status == 0, "\(out.stderr)")
        let job = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var tasks: [Task<Void, any Error>] = []
        var clients: [CoordinatorClient] = []
        for name in ["w1", "w2"] {
            let client = try CoordinatorClient(baseURL: url, tls: pki.clientTLS(.worker, name))
            clients.append(client)
            let cache = try BlobCache(directory: ws.appendingPathComponent("cache-\(name)"), maxBytes: 1 << 30)
            let w = Worker(
                configuration: .defaults(name: name) { $0.slots = 1; $0.leaseWait = 0.5 },
                link: HTTPCoordinatorLink(client: client), executor: ProcessExecutor(executable: TestSupport.medgridBinary.path),
                fetcher: BlobFetcher(client: client, cache: cache, logger: Self.logger()), logger: Self.logger())
            tasks.append(Task { try await w.run() })
        }
        func status() async throws -> API.JobStatusReply { try await alice.call(.GET, "/v1/jobs/\(job)") }
        try await waitUntil { ((try? await status())?.tasks["succeeded"] ?? 0) >= 3 }
        coordinator.kill(signal: SIGTERM)
        #expect(coordinator.finish().status == 0, "graceful shutdown")
        try await Task.sleep(for: .seconds(2))  // workers keep retrying meanwhile
        coordinator = try TestSupport.startMedgrid(args, in: ws)
        try await waitUntil { (try? await status())?.status.isTerminal == true }
        #expect(try await status().status == .succeeded)
        #expect(try await alice.raw(.GET, "/v1/jobs/\(job)/report") == clean)
        for t in tasks { t.cancel() }
        for t in tasks { _ = try? await t.value }
        coordinator.kill(signal: SIGTERM)
        _ = coordinator.finish()
        let store = try Store(stateDirectory: ws.appendingPathComponent("coord"))
        #expect(try store.read { try $0.outputs(of: job) }.count == 12, "one result per task")
        let succeeded = try store.read { try $0.events(of: job, limit: 10_000) }.filter { $0.kind == "succeeded" }.compactMap(\.task)
        #expect(succeeded.count == 12 && Set(succeeded).count == 12, "each task succeeded exactly once")
        for c in clients + [alice] { await c.shutdown() }
    }

    @Test("a flipped byte in a worker's cached file and in the coordinator's stored blob are detected, fetched again, and the result is unchanged")
    func corruptedBytes() async throws {
        let ws = try TestSupport.workspaceCopy()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: try TestPKI())
        let user = try server.pki.issue(.user, "alice")
        let client = try server.client(.worker, "w1")
        let cacheDir = ws.appendingPathComponent("cache")
        let cache = try BlobCache(directory: cacheDir, maxBytes: 1 << 30)
        let worker = Worker(
            configuration: .defaults(name: "w1") { $0.slots = 2; $0.leaseWait = 0.5 },
            link: HTTPCoordinatorLink(client: client), executor: ProcessExecutor(executable: TestSupport.medgridBinary.path),
            fetcher: BlobFetcher(client: client, cache: cache, logger: Self.logger()), logger: Self.logger())
        let running = Task { try await worker.run() }

        let (first, uploaded) = try await submit("Jobs/quickstart.yaml", to: server, as: user, in: ws)
        #expect(uploaded == 13)
        try await waitUntil { await server.coordinator.jobStatus(first)?.isTerminal == true }
        let report = try await server.coordinator.report(first)

        // Corrupt one cached image and one stored blob (a different file).
        let dataset = try DatasetInventory.scan(ws.appendingPathComponent("Datasets/phantom"))
        let cachedFile = try #require(dataset.file("imagesTr/phantom_002.nii.gz"))
        let cachedURL = try #require(FileManager.default.enumerator(at: cacheDir, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.first { $0.path.contains(cachedFile.sha256) && $0.lastPathComponent == "phantom_002.nii.gz.sealed" })
        let sealedBefore = try Data(contentsOf: cachedURL)
        try flip(cachedURL, at: 300)
        let storedFile = try #require(dataset.file("labelsTr/phantom_005.nii.gz"))
        let storedURL = try #require(server.coordinator.storedFile(storedFile.sha256))
        try flip(storedURL, at: 40)  // inside the first sealed segment

        // Submitting again: the coordinator finds its copy corrupt and asks for it; the worker refetches.
        let (second, reuploaded) = try await submit("Jobs/quickstart.yaml", to: server, as: user, in: ws)
        #expect(reuploaded == 1)
        try await waitUntil { await server.coordinator.jobStatus(second)?.isTerminal == true }
        #expect(try await server.coordinator.report(second) == report)
        // The damaged entry did not open (sealed entries are authenticated), so it was fetched and sealed anew.
        #expect(FileManager.default.fileExists(atPath: cachedURL.path), "the cache holds a copy again")
        #expect((try? Data(contentsOf: cachedURL)).map { $0 != sealedBefore && $0.count == sealedBefore.count } == true, "a fresh seal (new nonce), not the damaged bytes")
        running.cancel()
        _ = try? await running.value
        await client.shutdown()
        await server.stop()
    }

    func flip(_ url: URL, at offset: Int) throws {
        var data = try Data(contentsOf: url)
        data[offset] ^= 0x40
        try data.write(to: url)
    }
}

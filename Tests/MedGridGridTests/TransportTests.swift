import AsyncHTTPClient
import Foundation
import Logging
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridKernels
import MedGridTesting
import MedGridTransport
import MedGridWorker
import NIOSSL
import NIOHTTP1

/// The coordinator's HTTPS API over real sockets on loopback with real certificates.
@Suite(.serialized)
struct TransportTests {
    /// Sends a plaintext HTTP request to a TLS port; returns whatever came back.
    func plaintextRequest(port: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { return "connect failed" }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        _ = request.withCString { write(fd, $0, strlen($0)) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buf, buf.count)
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }

    @Test("refused: plain TCP, no client certificate, another CA, an expired certificate; 403 for the wrong role")
    func refusals() async throws {
        let pki = try TestPKI()
        let ws = try TestSupport.temporaryDirectory()
        let log = InMemoryLogHandler.Recorder()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("st"), pki: pki, logger: log.logger(label: "server", level: .warning))

        // Plain TCP: no HTTP answer at all.
        let plain = try plaintextRequest(port: server.port)
        #expect(!plain.contains("HTTP/1.1 200"), "\(plain)")

        // The right client works.
        let alice = try server.client(.user, "alice")
        let health: [String: String] = try await alice.call(.GET, "/healthz")
        #expect(health["status"] == "ok")

        // No client certificate.
        var anonymous = TLSConfiguration.makeClientConfiguration()
        anonymous.minimumTLSVersion = .tlsv13
        anonymous.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.caFile.path))
        let nobody = CoordinatorClient(baseURL: server.url, tls: anonymous)
        let e1 = await #expect(throws: MedGridError.self) { let _: [String: String] = try await nobody.call(.GET, "/healthz") }
        #expect(e1?.message.lowercased().contains("certificate") == true, "\(e1?.message ?? "")")

        // A certificate signed by another CA.
        let other = try TestPKI()
        let mallory = try other.issue(.user, "mallory")
        let outsider = CoordinatorClient(baseURL: server.url, tls: try TLSFiles.clientConfiguration(certificate: mallory.certificate, privateKey: mallory.privateKey, trustRoot: pki.caFile))
        let e2 = await #expect(throws: MedGridError.self) { let _: [String: String] = try await outsider.call(.GET, "/healthz") }
        #expect(e2 != nil)

        // An expired certificate from the right CA.
        let old = try pki.issue(.user, "old", validityDays: 1, now: Date().addingTimeInterval(-10 * 86400))
        let expired = CoordinatorClient(baseURL: server.url, tls: try TLSFiles.clientConfiguration(certificate: old.certificate, privateKey: old.privateKey, trustRoot: pki.caFile))
        let e3 = await #expect(throws: MedGridError.self) { let _: [String: String] = try await expired.call(.GET, "/healthz") }
        #expect(e3 != nil)
        // The coordinator says why, in plain words, on its side too.
        #expect(log.lines.contains { $0.contains("refused a TLS client") && $0.contains("CN=old") && $0.contains("expired on") }, "\(log.lines)")
        #expect(log.lines.contains { $0.contains("CN=mallory") && $0.contains("not signed by this grid's CA") }, "\(log.lines)")

        // Wrong roles: a worker may not submit or read reports; a user may not lease.
        let worker = try server.client(.worker, "w1")
        let inventory = DatasetInventory(files: [])
        let e4 = await #expect(throws: MedGridError.self) {
            let _: API.Submitted = try await worker.call(.POST, "/v1/jobs", body: API.SubmitJob(manifest: "", fileName: "x.yaml", inventory: inventory))
        }
        #expect(e4?.code == .permissionDenied)
        #expect(e4?.message.contains("403") == true)
        let e5 = await #expect(throws: MedGridError.self) { _ = try await worker.raw(.GET, "/v1/jobs/x-1/report") }
        #expect(e5?.code == .permissionDenied)
        let e6 = await #expect(throws: MedGridError.self) {
            let _: WorkerProtocol.LeaseGrant = try await alice.call(.POST, "/v1/workers/lease", body: WorkerProtocol.LeaseRequest(worker: "alice", maxTasks: 1, waitSeconds: 0))
        }
        #expect(e6?.code == .permissionDenied)
        // A worker may not speak for another worker.
        let e7 = await #expect(throws: MedGridError.self) {
            let _: WorkerProtocol.Registered = try await worker.call(.POST, "/v1/workers/register", body: WorkerProtocol.Register(worker: "w2", labels: [:], slots: 1))
        }
        #expect(e7?.code == .permissionDenied)

        let metrics = String(decoding: try await alice.raw(.GET, "/metrics"), as: UTF8.self)
        #expect(metrics.contains("medgrid_http_requests_total"))
        #expect(metrics.contains("medgrid_workers"))
        for c in [alice, nobody, outsider, expired, worker] { await c.shutdown() }
        await server.stop()
    }

    @Test("a user submits with medgrid submit and two workers complete the job over mutual TLS; the report equals a local run's")
    func userAndTwoWorkers() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki)
        let alice = try pki.issue(.user, "alice")
        let submit = try await TestSupport.medgrid([
            "submit", "Jobs/quickstart.yaml", "--coordinator", server.url, "--cert", alice.certificate.path,
            "--key", alice.privateKey.path, "--ca", pki.caFile.path, "--json",
        ], in: ws)
        #expect(submit.status == 0, "\(submit.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submit.stdout.utf8))["job"]?.stringValue)
        #expect(try JSONValue(parsing: Data(submit.stdout.utf8))["uploaded"]?.intValue == 13)

        var logger = Logger(label: "test.worker")
        logger.logLevel = .critical
        var tasks: [Task<Void, any Error>] = []
        var clients: [CoordinatorClient] = []
        for name in ["w1", "w2"] {
            let client = try server.client(.worker, name)
            clients.append(client)
            let cache = try BlobCache(directory: ws.appendingPathComponent("cache-\(name)"), maxBytes: 1 << 30)
            let w = Worker(
                configuration: .defaults(name: name) { $0.slots = 1; $0.leaseWait = 0.5 },
                link: HTTPCoordinatorLink(client: client), executor: ProcessExecutor(executable: TestSupport.medgridBinary.path),
                fetcher: BlobFetcher(client: client, cache: cache, logger: logger), logger: logger)
            tasks.append(Task { try await w.run() })
        }
        while await server.coordinator.jobStatus(job)?.isTerminal != true { try await Task.sleep(for: .milliseconds(50)) }
        for t in tasks { t.cancel() }
        for t in tasks { _ = try? await t.value }
        let remoteReport = try await server.coordinator.report(job)

        let local = try await TestSupport.medgrid(["run", "Jobs/quickstart.yaml", "--state-dir", "local", "--out", "local-out"], in: ws)
        #expect(local.status == 0, "\(local.stderr)")
        #expect(Data(remoteReport.utf8) == (try Data(contentsOf: ws.appendingPathComponent("local-out/report.json"))))

        // The same report through the API and the command line.
        let viaCLI = try await TestSupport.medgrid([
            "report", job, "--format", "json", "--coordinator", server.url, "--cert", alice.certificate.path,
            "--key", alice.privateKey.path, "--ca", pki.caFile.path,
        ], in: ws)
        #expect(viaCLI.stdout == remoteReport)
        for c in clients { await c.shutdown() }
        await server.stop()
    }
}

/// The client commands against a live coordinator: status, workers, cancel (all with --json), the
/// server-sent progress events, and dataset verification over the API.
@Suite(.serialized)
struct ClientCommandTests {
    @Test("status, workers and cancel with --json, progress events, and dataset verification against a coordinator")
    func clientCommands() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki)
        let alice = try pki.issue(.user, "alice")
        let conn = ["--coordinator", server.url, "--cert", alice.certificate.path, "--key", alice.privateKey.path, "--ca", pki.caFile.path]
        let slow = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: slow}
            spec:
              dataset: ../Datasets/phantom
              kernel: debug.sleep
              params: {seconds: 30}
            """, named: "slow", in: ws)
        let submitted = try await TestSupport.medgrid(["submit", slow, "--json"] + conn, in: ws)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submitted.stdout.utf8))["job"]?.stringValue)

        // A worker joins (in this process) and takes tasks.
        let worker = try server.client(.worker, "w1")
        _ = try await server.coordinator.register(.init(worker: "w1", labels: ["site": "A"], slots: 2))
        let workers = try await TestSupport.medgrid(["workers", "--json"] + conn, in: ws)
        #expect(try JSONValue(parsing: Data(workers.stdout.utf8))["workers"]?.arrayValue?.first?["name"]?.stringValue == "w1")
        let status = try await TestSupport.medgrid(["status", job, "--json"] + conn, in: ws)
        let s = try JSONValue(parsing: Data(status.stdout.utf8))
        #expect(s["status"]?.stringValue == "running")
        #expect(s["tasks"]?["pending"]?.intValue == 6)

        // Server-sent events: read the stream until the job ends (cancelled below).
        let alicesClient = CoordinatorClient(baseURL: server.url, tls: try TLSFiles.clientConfiguration(certificate: alice.certificate, privateKey: alice.privateKey, trustRoot: pki.caFile))
        async let events = alicesClient.raw(.GET, "/v1/jobs/\(job)/events", timeout: 60)
        try await Task.sleep(for: .milliseconds(700))
        let cancel = try await TestSupport.medgrid(["cancel", job, "--json"] + conn, in: ws)
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(try JSONValue(parsing: Data(cancel.stdout.utf8))["status"]?.stringValue == "cancelled")
        let stream = String(decoding: try await events, as: UTF8.self)
        #expect(stream.hasPrefix("event: progress\ndata: {"), "\(stream.prefix(200))")
        #expect(stream.contains("\"status\":\"running\""))
        #expect(stream.contains("\"status\":\"cancelled\""))

        // Dataset verification over the API: every uploaded blob re-hashed.
        let plan = try #require(try server.coordinator.store.read { try $0.job(job) }?.plan)
        let verify: API.DatasetVerifyReply = try await alicesClient.call(.POST, "/v1/datasets/verify", body: API.DatasetVerifyRequest(root: plan.datasetRoot))
        #expect(verify.ok && verify.files == 13)
        await worker.shutdown()
        await alicesClient.shutdown()
        await server.stop()
    }
}

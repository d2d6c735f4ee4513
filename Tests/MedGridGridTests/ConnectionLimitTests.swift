import AsyncHTTPClient
import Foundation
import Logging
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridTesting
import MedGridTransport
import MedGridWorker
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The coordinator's connection limits against real clients on 127.0.0.1: the connection cap, the TLS
/// handshake timeout and the cap on event streams per user.
@Suite(.serialized)
struct ConnectionLimitTests {
    @Test("2000 idle TCP connections without a certificate are shed by the cap and the handshake timeout while a job runs to the end")
    func idleConnectionsShed() async throws {
        let files = try #require(raiseOpenFileLimit())
        try #require(files >= 4096, "this test holds 2000 sockets; the open-file limit is \(files)")
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki) {
            $0.connections.handshakeTimeout = .seconds(2)
            $0.connections.maxConnections = 200
        }
        let alice = try pki.issue(.user, "alice")
        let submitArguments = [
            "submit", "Jobs/quickstart.yaml", "--coordinator", server.url, "--cert", alice.certificate.path,
            "--key", alice.privateKey.path, "--ca", pki.caFile.path, "--json",
        ]
        // The short handshake timeout applies to every client: on a machine busy with other tests a handshake
        // can miss it, and a real client would try again.
        var submit = try await runMedgrid(submitArguments, in: ws)
        for _ in 0..<2 where submit.status != 0 { submit = try await runMedgrid(submitArguments, in: ws) }
        #expect(submit.status == 0, "\(submit.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submit.stdout.utf8))["job"]?.stringValue)

        // The flood: 2000 plain TCP connections that never send a byte, held open by this test throughout.
        // (Opened 100 at a time so the kernel's listen queue does not overflow: the limits under test are the coordinator's.)
        let idle = IdleConnections()
        defer { idle.closeAll() }
        for _ in 0..<20 {
            idle.open(port: server.port, count: 100)
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(idle.opened >= 1000, "only \(idle.opened) connections could be opened")

        // Two workers join during the flood (their first connections may be refused; they retry) and run the job.
        var logger = Logger(label: "test.worker")
        logger.logLevel = .critical
        var tasks: [Task<Void, any Error>] = []
        var clients: [CoordinatorClient] = []
        for name in ["w1", "w2"] {
            let client = try server.client(.worker, name)
            clients.append(client)
            let cache = try BlobCache(directory: ws.appendingPathComponent("cache-\(name)"), maxBytes: 1 << 30)
            let worker = Worker(
                configuration: .defaults(name: name) { $0.slots = 1; $0.leaseWait = 0.5 },
                link: HTTPCoordinatorLink(client: client), executor: ProcessExecutor(executable: TestSupport.medgridBinary.path),
                fetcher: BlobFetcher(client: client, cache: cache, logger: logger), logger: logger)
            tasks.append(Task { try await worker.run() })
        }
        let deadline = Date().addingTimeInterval(300)
        while await server.coordinator.jobStatus(job)?.isTerminal != true, Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(await server.coordinator.jobStatus(job) == .succeeded)

        // The coordinator never held more than the cap and closed every idle connection it accepted: past the
        // cap at once, the others when their handshake timed out. What still looks open from this side is at
        // most the kernel's listen queue (connections not accepted yet hold no descriptor of the coordinator).
        let gauge = server.connections
        #expect(gauge.peak <= 200, "peak \(gauge.peak)")
        #expect(gauge.handshakeTimeouts > 0)
        let shedBy = Date().addingTimeInterval(60)
        while gauge.open > 10, Date() < shedBy { try await Task.sleep(for: .milliseconds(200)) }
        #expect(gauge.open <= 10, "\(gauge.open) connections still open at the coordinator")
        let seenBy = Date().addingTimeInterval(10)
        while idle.stillOpen() > 0, Date() < seenBy { try await Task.sleep(for: .milliseconds(200)) }
        // A connection the kernel lost from a full listen queue looks open to this side until it sends a byte
        // (then the coordinator's kernel resets it, or accepts it once its queue has room, and the coordinator
        // closes it). On a busy machine the queue drains slowly: probe again every 2 s, for up to a minute.
        let probedBy = Date().addingTimeInterval(60)
        repeat {
            idle.sendOneByteToTheOpenOnes()
            try await Task.sleep(for: .seconds(2))
        } while idle.stillOpen() > 0 && Date() < probedBy
        #expect(idle.stillOpen() <= 256, "\(idle.stillOpen()) of \(idle.opened) idle connections are still open")

        for t in tasks { t.cancel() }
        for t in tasks { _ = try? await t.value }
        for c in clients { await c.shutdown() }
        idle.closeAll()
        await server.stop()
    }

    @Test("A user may follow a limited number of jobs at once: one more event stream gets 429, and a closed stream frees its slot")
    func eventStreamsPerUser() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki) {
            $0.connections.maxEventStreamsPerUser = 3
        }
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
        let submitted = try await runMedgrid(["submit", slow, "--json"] + conn, in: ws)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submitted.stdout.utf8))["job"]?.stringValue)
        let path = "/v1/jobs/\(job)/events"

        // No worker joins: the job keeps running and every stream stays open.
        let follower = try RawAPIClient(server: server, role: .user, name: "alice")
        var streams: [HTTPClientResponse] = []
        for _ in 0..<3 {
            let stream = try await follower.start(.GET, path, timeout: 600)
            #expect(stream.status == .ok)
            streams.append(stream)
        }
        let other = try RawAPIClient(server: server, role: .user, name: "alice")
        let refused = try await other.send(.GET, path)
        #expect(refused.status == 429, "\(refused.body)")
        #expect(refused.body.contains("alice already follows 3 jobs"), "\(refused.body)")

        // Closing the streams frees the slots (within a poll of the stream loop).
        streams.removeAll()
        await follower.shutdown()
        var reopened = false
        let deadline = Date().addingTimeInterval(60)
        while !reopened, Date() < deadline {
            let attempt = try await other.start(.GET, path, timeout: 600)
            reopened = attempt.status == .ok
            if !reopened {
                _ = try await attempt.body.collect(upTo: 1 << 20)
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(reopened)

        await other.shutdown()
        await server.stop()
    }
}

/// Runs the medgrid binary to completion, waiting without holding a thread of the concurrency pool (the
/// coordinator under test runs in this process and needs those threads to answer it).
func runMedgrid(_ arguments: [String], in directory: URL, timeout: Double = 300) async throws -> TestSupport.ProcessOutput {
    let process = try TestSupport.startMedgrid(arguments, in: directory)
    let deadline = Date().addingTimeInterval(timeout)
    while process.process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
    if process.process.isRunning { process.process.terminate() }
    return process.finish()
}

/// Plain TCP connections to 127.0.0.1 that never send a byte (non-blocking, so a full accept queue does
/// not stall the test). Connections refused or reset on the way are not kept.
final class IdleConnections {
    private(set) var descriptors: [Int32] = []

    func open(port: Int, count: Int) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for _ in 0..<count {
            #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            let result = withUnsafePointer(to: address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if result == 0 || errno == EINPROGRESS {
                descriptors.append(fd)
            } else {
                close(fd)
            }
        }
    }

    var opened: Int { descriptors.count }

    /// Connections the coordinator has not closed yet: a read would wait, rather than see the end or a reset.
    func stillOpen() -> Int {
        var open = 0
        var byte: UInt8 = 0
        for fd in descriptors {
            let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { open += 1 }
        }
        return open
    }

    /// Writes one byte on each connection that still looks open.
    func sendOneByteToTheOpenOnes() {
        var byte = UInt8(ascii: "x")
        var peeked: UInt8 = 0
        for fd in descriptors {
            let n = recv(fd, &peeked, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                #if os(Linux)
                _ = send(fd, &byte, 1, Int32(MSG_NOSIGNAL))
                #else
                _ = send(fd, &byte, 1, 0)
                #endif
            }
        }
    }

    func closeAll() {
        for fd in descriptors { close(fd) }
        descriptors = []
    }
}

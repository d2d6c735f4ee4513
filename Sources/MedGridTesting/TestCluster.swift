public import Foundation
import Hummingbird
public import Logging
import MedGridCore
public import MedGridCoordinator
import MedGridKernels
public import MedGridTransport
public import MedGridWorker
public import NIOSSL
import ServiceLifecycle

/// A CA and certificates in a temporary folder, for tests over real TLS.
public struct TestPKI: Sendable {
    public let directory: URL
    public let ca: CertificateAuthority

    public init() throws {
        directory = try TestSupport.temporaryDirectory("medgrid-pki")
        _ = try CertificateAuthority.create(in: directory)
        ca = try CertificateAuthority(directory: directory)
    }

    public var caFile: URL { directory.appendingPathComponent("ca.pem") }

    public func issue(_ role: Role, _ name: String, validityDays: Int = 30, now: Date = Date()) throws -> IssuedFiles {
        try ca.issue(role: role, name: name, subjectAlternativeNames: role == .coordinator ? ["127.0.0.1", "localhost"] : [], validityDays: validityDays, into: directory, now: now, overwrite: true)
    }

    /// A certificate with placement labels signed into it (`medgrid tls cert create --worker NAME --label k=v`).
    public func issue(_ role: Role, _ name: String, labels: [String: String], validityDays: Int = 30, now: Date = Date()) throws -> IssuedFiles {
        try ca.issue(role: role, name: name, subjectAlternativeNames: role == .coordinator ? ["127.0.0.1", "localhost"] : [], validityDays: validityDays, labels: labels, into: directory, now: now, overwrite: true)
    }

    public func serverTLS() throws -> TLSConfiguration {
        let f = try issue(.coordinator, "coordinator")
        return try TLSFiles.serverConfiguration(certificate: f.certificate, privateKey: f.privateKey, trustRoot: caFile)
    }

    public func clientTLS(_ role: Role, _ name: String) throws -> TLSConfiguration {
        let f = try issue(role, name)
        return try TLSFiles.clientConfiguration(certificate: f.certificate, privateKey: f.privateKey, trustRoot: caFile)
    }
}

/// A coordinator serving its HTTPS API on a loopback port, in this process.
public final class TestServer: Sendable {
    // The server's service group runs until stop().
    public let coordinator: Coordinator
    public let port: Int
    public let pki: TestPKI
    /// The server's live connection counts.
    public let connections: ConnectionGauge
    let group: ServiceGroup
    let task: Task<Void, any Error>

    /// - Parameter configure: changes to the coordinator's configuration (limits, quotas), applied last.
    public init(
        stateDirectory: URL, pki: TestPKI, leaseTTL: Double = 3, port requestedPort: Int = 0, logger given: Logger? = nil,
        configure: (inout Coordinator.Configuration) -> Void = { _ in }
    ) async throws {
        var logger = given ?? Logger(label: "medgrid.test.server")
        if given == nil { logger.logLevel = .critical }
        coordinator = try Coordinator(
            stateDirectory: stateDirectory, suite: KernelRegistry.standard,
            configuration: .defaults {
                $0.scheduler.leaseTTL = leaseTTL; $0.scheduler.heartbeatInterval = leaseTTL / 4; $0.tickInterval = 0.1
                // This server shares the test process's cooperative threads with tests that wait for child
                // processes synchronously, and the client-certificate check of each handshake needs one: on a
                // busy 2-core machine a handshake, or a request's handler, can wait longer than a real
                // coordinator's limits allow.
                $0.connections.handshakeTimeout = .seconds(120)
                $0.connections.idleTimeout = .seconds(600)
                configure(&$0)
            },
            logger: logger)
        self.pki = pki
        let server = CoordinatorServer(
            coordinator: coordinator, tls: try pki.serverTLS(), clientCAPEM: [UInt8](try Data(contentsOf: pki.caFile)),
            host: "127.0.0.1", port: requestedPort, logger: logger)
        connections = server.connectionGauge
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try server.application { continuation.yield($0) }
        let group = ServiceGroup(services: [app, CoordinatorClock(coordinator: coordinator)], gracefulShutdownSignals: [], logger: logger)
        self.group = group
        let running = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        task = running
        var it = ports.makeAsyncIterator()
        guard let bound = await it.next() else {
            let error: (any Error)? = await { do { try await running.value; return nil } catch { return error } }()
            throw MedGridError(.io, "the test coordinator did not start on port \(requestedPort): \(error.map { "\($0)" } ?? "no error")")
        }
        port = bound
    }

    public var url: String { "https://127.0.0.1:\(port)" }

    public func client(_ role: Role, _ name: String) throws -> CoordinatorClient {
        CoordinatorClient(baseURL: url, tls: try pki.clientTLS(role, name))
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

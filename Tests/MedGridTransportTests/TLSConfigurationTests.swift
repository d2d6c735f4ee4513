import Foundation
import MedGridCore
import MedGridTesting
import MedGridTransport
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// The NIOSSL configurations built from MedGrid's PKI, their errors, and real handshakes over loopback.
struct TLSConfigurationTests {
    /// A CA with a coordinator and a worker certificate, in a temporary directory.
    struct PKI {
        var dir: URL
        var ca: CertificateAuthority
        var caFile: URL { dir.appendingPathComponent("ca.pem") }
        var coordinator: IssuedFiles
        var worker: IssuedFiles

        init(now: Date = Date()) throws {
            dir = try TestSupport.temporaryDirectory()
            try CertificateAuthority.create(in: dir, now: now.addingTimeInterval(-100 * 86_400))
            ca = try CertificateAuthority(directory: dir)
            coordinator = try ca.issue(role: .coordinator, name: "coordinator", into: dir)
            worker = try ca.issue(role: .worker, name: "node07", into: dir)
        }

        func server() throws -> TLSConfiguration {
            try TLSFiles.serverConfiguration(certificate: coordinator.certificate, privateKey: coordinator.privateKey, trustRoot: caFile)
        }

        func client(_ files: IssuedFiles? = nil) throws -> TLSConfiguration {
            let files = files ?? worker
            return try TLSFiles.clientConfiguration(certificate: files.certificate, privateKey: files.privateKey, trustRoot: caFile)
        }
    }

    @Test("The server requires TLS 1.3 and a client certificate from our CA only")
    func serverFields() throws {
        let pki = try PKI()
        let server = try pki.server()
        let ca = try NIOSSLCertificate.fromPEMFile(pki.caFile.path)
        #expect(server.minimumTLSVersion == .tlsv13)
        #expect(server.maximumTLSVersion == nil)
        #expect(server.certificateVerification == .noHostnameVerification)
        #expect(server.trustRoots == .certificates(ca))
        #expect(server.trustRoots != .default)
        #expect(server.additionalTrustRoots.isEmpty)
        #expect(server.certificateChain == [.certificate(try NIOSSLCertificate.fromPEMFile(pki.coordinator.certificate.path)[0])])
        #expect(server.privateKey != nil)
    }

    @Test("The client requires TLS 1.3, verifies the server fully against our CA only, and presents its certificate")
    func clientFields() throws {
        let pki = try PKI()
        let client = try pki.client()
        let ca = try NIOSSLCertificate.fromPEMFile(pki.caFile.path)
        #expect(client.minimumTLSVersion == .tlsv13)
        #expect(client.maximumTLSVersion == nil)
        #expect(client.certificateVerification == .fullVerification)
        #expect(client.trustRoots == .certificates(ca))
        #expect(client.additionalTrustRoots.isEmpty)
        #expect(client.certificateChain == [.certificate(try NIOSSLCertificate.fromPEMFile(pki.worker.certificate.path)[0])])
        #expect(client.privateKey != nil)
    }

    @Test("The in-memory variants build the same configurations from PEM bytes")
    func inMemory() throws {
        let ca = try CertificateAuthority()
        let coordinator = try ca.issuePEM(role: .coordinator, name: "coordinator")
        let worker = try ca.issuePEM(role: .worker, name: "local")
        let server = try TLSFiles.serverConfiguration(
            certificatePEM: coordinator.certificatePEM, privateKeyPEM: coordinator.privateKeyPEM, trustRootPEM: ca.certificatePEM
        )
        let client = try TLSFiles.clientConfiguration(
            certificatePEM: worker.certificatePEM, privateKeyPEM: worker.privateKeyPEM, trustRootPEM: ca.certificatePEM
        )
        let root = try NIOSSLCertificate.fromPEMBytes(ca.certificatePEM)
        #expect(server.minimumTLSVersion == .tlsv13 && client.minimumTLSVersion == .tlsv13)
        #expect(server.certificateVerification == .noHostnameVerification)
        #expect(client.certificateVerification == .fullVerification)
        #expect(server.trustRoots == .certificates(root) && client.trustRoots == .certificates(root))
    }

    @Test("Bad files give errors that name the file and what was expected")
    func fileErrors() throws {
        let pki = try PKI()
        let missing = pki.dir.appendingPathComponent("missing.pem")
        let noFile = try #require(throws: MedGridError.self) {
            try TLSFiles.serverConfiguration(certificate: missing, privateKey: pki.coordinator.privateKey, trustRoot: pki.caFile)
        }
        #expect(noFile.message.contains("certificate file \(missing.path) does not exist"))

        let swapped = try #require(throws: MedGridError.self) {
            try TLSFiles.clientConfiguration(certificate: pki.worker.privateKey, privateKey: pki.worker.certificate, trustRoot: pki.caFile)
        }
        #expect(swapped.message.contains("holds a private key, not a certificate"))

        let mismatched = try #require(throws: MedGridError.self) {
            try TLSFiles.clientConfiguration(certificate: pki.worker.certificate, privateKey: pki.coordinator.privateKey, trustRoot: pki.caFile)
        }
        #expect(mismatched.message.contains("do not match"))

        let leafAsRoot = try #require(throws: MedGridError.self) {
            try TLSFiles.clientConfiguration(certificate: pki.worker.certificate, privateKey: pki.worker.privateKey, trustRoot: pki.coordinator.certificate)
        }
        #expect(leafAsRoot.message.contains("not a CA certificate"))

        let empty = pki.dir.appendingPathComponent("empty.pem")
        try Data().write(to: empty)
        let noPEM = try #require(throws: MedGridError.self) {
            try TLSFiles.serverConfiguration(certificate: pki.coordinator.certificate, privateKey: pki.coordinator.privateKey, trustRoot: empty)
        }
        #expect(noPEM.message.contains("empty.pem holds no PEM data"))
    }

    @Test("Known TLS errors are put into plain words")
    func explain() {
        struct Described: Error, CustomStringConvertible { var description: String }
        let peer = "the coordinator at grid:8443"
        let cases: [(String, String)] = [
            ("error:1000045c:SSL routines:OPENSSL_internal:TLSV1_ALERT_CERTIFICATE_REQUIRED", "presented none"),
            ("error:10000418:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA", "signed by a CA"),
            ("error:10000415:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED", "has expired"),
            ("error:10000412:SSL routines:OPENSSL_internal:SSLV3_ALERT_BAD_CERTIFICATE", "refused this machine's certificate"),
            ("error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED", "could not be verified"),
            ("error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST", "plain HTTP"),
            ("error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER", "does not speak TLS"),
        ]
        for (text, fragment) in cases {
            let message = TLSDiagnosis.explain(Described(description: text), peer: peer)
            #expect(message.contains(fragment), "\(text) → \(message)")
        }
        #expect(TLSDiagnosis.explain(NIOSSLError.uncleanShutdown, peer: peer).contains("without ending the TLS session"))
        #expect(TLSDiagnosis.explain(NIOSSLError.handshakeFailed(.sslError([.eofDuringHandshake])), peer: peer)
            .contains("closed the connection during the TLS handshake"))
        #expect(TLSDiagnosis.explain(Described(description: "something else"), peer: peer) == "something else")
    }

    // MARK: Real handshakes over loopback

    @Test("A worker and the coordinator complete a mutual TLS 1.3 handshake; the server reads the worker's identity")
    func handshake() async throws {
        let pki = try PKI()
        let outcome = try await Loopback.run(server: pki.server(), client: pki.client())
        #expect(try outcome.client.get() == "pong")
        let identity = try outcome.server.get()
        #expect(identity.role == .worker && identity.name == "node07")
    }

    @Test("A client without a certificate is refused, and both sides say so plainly")
    func noClientCertificate() async throws {
        let pki = try PKI()
        var client = try pki.client()
        client.certificateChain = []
        client.privateKey = nil
        let outcome = try await Loopback.run(server: pki.server(), client: client)
        let clientError = try #require(outcome.client.failure)
        #expect(TLSDiagnosis.explain(clientError, peer: "the coordinator").contains("requires a client certificate"), "\(clientError)")
        let serverError = try #require(outcome.server.failure)
        #expect(TLSDiagnosis.explain(serverError, peer: "the client").contains("presented no client certificate"), "\(serverError)")
    }

    @Test("A client certificate from another CA is refused as signed by an unknown CA")
    func foreignClient() async throws {
        let pki = try PKI()
        let other = try PKI()
        let foreign = try TLSFiles.clientConfiguration(
            certificate: other.worker.certificate, privateKey: other.worker.privateKey, trustRoot: pki.caFile
        )
        let outcome = try await Loopback.run(server: pki.server(), client: foreign)
        let clientError = try #require(outcome.client.failure)
        #expect(TLSDiagnosis.explain(clientError, peer: "the coordinator").contains("refused this machine's certificate"), "\(clientError)")
        let serverError = try #require(outcome.server.failure)
        #expect(TLSDiagnosis.explain(serverError, peer: "the client").contains("could not be verified"), "\(serverError)")
    }

    @Test("An expired client certificate is refused as expired")
    func expiredClient() async throws {
        let pki = try PKI()
        let old = try pki.ca.issue(role: .worker, name: "old", validityDays: 30, into: pki.dir, now: Date().addingTimeInterval(-40 * 86_400))
        let outcome = try await Loopback.run(server: pki.server(), client: pki.client(old))
        let clientError = try #require(outcome.client.failure)
        #expect(TLSDiagnosis.explain(clientError, peer: "the coordinator").contains("expired"), "\(clientError)")
        #expect(outcome.server.failure != nil)
    }

    @Test("A server certificate from another CA is refused by the client")
    func foreignServer() async throws {
        let pki = try PKI()
        let other = try PKI()
        let outcome = try await Loopback.run(server: other.server(), client: pki.client())
        let clientError = try #require(outcome.client.failure)
        #expect(TLSDiagnosis.explain(clientError, peer: "the coordinator").contains("could not be verified"), "\(clientError)")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// One TLS connection over loopback with plain NIO handlers: the client sends "ping", the server answers "pong".
enum Loopback {
    struct Outcome {
        var client: Result<String, any Error>
        var server: Result<PeerIdentity, any Error>
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "connection closed" }
    }

    static func run(server: TLSConfiguration, client: TLSConfiguration, host: String = "127.0.0.1") async throws -> Outcome {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let serverContext = try NIOSSLContext(configuration: server)
        let clientContext = try NIOSSLContext(configuration: client)
        let serverPromise = group.next().makePromise(of: PeerIdentity.self)
        let clientPromise = group.next().makePromise(of: String.self)

        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverContext))
                    try channel.pipeline.syncOperations.addHandler(ServerHandler(promise: serverPromise))
                }
            }
            .bind(host: host, port: 0)
            .get()
        let port = try #require(listener.localAddress?.port)
        let connection = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: clientContext, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(ClientHandler(promise: clientPromise))
                }
            }
            .connect(host: host, port: port)
            .get()

        let clientResult: Result<String, any Error>
        do { clientResult = .success(try await clientPromise.futureResult.get()) } catch { clientResult = .failure(error) }
        let serverResult: Result<PeerIdentity, any Error>
        do { serverResult = .success(try await serverPromise.futureResult.get()) } catch { serverResult = .failure(error) }

        try? await connection.close()
        try? await listener.close()
        try await group.shutdownGracefully()
        return Outcome(client: clientResult, server: serverResult)
    }

    final class ServerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let promise: EventLoopPromise<PeerIdentity>

        init(promise: EventLoopPromise<PeerIdentity>) { self.promise = promise }

        /// The first bytes arrive only after the handshake, client certificate checked, so the peer's is there.
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            do {
                let handler = try context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
                let certificate = try #require(handler.peerCertificate)
                promise.succeed(try CertificateIdentity.identity(fromDER: certificate.toDERBytes()))
            } catch {
                promise.fail(error)
            }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "pong")), promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Closed())
            context.fireChannelInactive()
        }
    }

    final class ClientHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let promise: EventLoopPromise<String>

        init(promise: EventLoopPromise<String>) { self.promise = promise }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "ping")), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            promise.succeed(String(buffer: unwrapInboundIn(data)))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Closed())
            context.fireChannelInactive()
        }
    }
}

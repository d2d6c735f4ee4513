import Foundation
import MedGridCore
import MedGridTesting
import MedGridTransport
import NIOCore
import NIOPosix
import NIOSSL
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real `medgrid coordinator` process serves a rotated certificate after SIGHUP, without a restart.
struct CertificateReloadTests {
    @Test("SIGHUP makes a running coordinator serve its rotated certificate (new fingerprint seen by a client), same process")
    func coordinatorRotation() async throws {
        let pki = try TestPKI()
        let work = try TestSupport.temporaryDirectory("medgrid-rotate")
        let coordinatorFiles = try pki.issue(.coordinator, "coordinator")
        let client = try pki.issue(.user, "alice")
        let clientTLS = try TLSFiles.clientConfiguration(certificate: client.certificate, privateKey: client.privateKey, trustRoot: pki.caFile)
        let process = try TestSupport.startMedgrid([
            "coordinator", "--listen", "127.0.0.1:0", "--state-dir", work.appendingPathComponent("state").path,
            "--cert", coordinatorFiles.certificate.path, "--key", coordinatorFiles.privateKey.path, "--ca", pki.caFile.path,
            "--log-level", "info",
        ])
        defer {
            if process.process.isRunning {
                process.kill(signal: SIGTERM)
                _ = process.finish()
            }
        }
        let port = try await process.listeningPort()
        let before = try await Self.serverFingerprint(port: port, tls: clientTLS)
        let first = try #require(try CertificateSummary.inspect(pemFile: coordinatorFiles.certificate).first)
        #expect(before == first.sha256Fingerprint)

        _ = try pki.issue(.coordinator, "coordinator")  // rotated in place: new key, new certificate
        let rotated = try #require(try CertificateSummary.inspect(pemFile: coordinatorFiles.certificate).first)
        #expect(rotated.sha256Fingerprint != first.sha256Fingerprint)
        #expect(try await Self.serverFingerprint(port: port, tls: clientTLS) == first.sha256Fingerprint, "nothing changes before SIGHUP")

        let pid = process.process.processIdentifier
        process.kill(signal: SIGHUP)
        let deadline = Date().addingTimeInterval(30)
        var seen = before
        while seen != rotated.sha256Fingerprint, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            seen = try await Self.serverFingerprint(port: port, tls: clientTLS)
        }
        #expect(seen == rotated.sha256Fingerprint, "\(process.stderrSoFar)")
        #expect(process.process.isRunning && process.process.processIdentifier == pid, "no restart")
        #expect(process.stderrSoFar.contains("reloaded the coordinator certificate"))

        // A broken rotation (certificate without its key) is refused and the last good pair kept.
        let goodKey = try Data(contentsOf: coordinatorFiles.privateKey)
        _ = try pki.issue(.coordinator, "coordinator")
        try goodKey.write(to: coordinatorFiles.privateKey)
        process.kill(signal: SIGHUP)
        let refusedBy = Date().addingTimeInterval(30)
        while !process.stderrSoFar.contains("kept the current coordinator certificate"), Date() < refusedBy {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(process.stderrSoFar.contains("kept the current coordinator certificate"))
        #expect(try await Self.serverFingerprint(port: port, tls: clientTLS) == rotated.sha256Fingerprint)

        process.kill(signal: SIGTERM)
        #expect(process.finish().status == 0)
    }

    /// Connects with TLS and returns the SHA-256 fingerprint of the certificate the server presented.
    static func serverFingerprint(port: Int, tls: TLSConfiguration) async throws -> String {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let result: Result<[UInt8], any Error>
        do {
            let context = try NIOSSLContext(configuration: tls)
            let promise = group.next().makePromise(of: [UInt8].self)
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Record the certificate the server presents (this probe only reads it; it trusts nothing).
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: nil) { chain, verification in
                            if let leaf = chain.first, let der = try? leaf.toDERBytes() {
                                promise.succeed(der)
                            } else {
                                promise.fail(MedGridError(.io, "the server presented no certificate"))
                            }
                            verification.succeed(.certificateVerified)
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                        try channel.pipeline.syncOperations.addHandler(PeerCertificateCatcher(promise: promise))
                    }
                }
                .connect(host: "127.0.0.1", port: port)
                .get()
            do {
                result = .success(try await promise.futureResult.get())
            } catch {
                result = .failure(error)
            }
            try? await channel.close()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
        return try CertificateSummary(derEncoded: try result.get()).sha256Fingerprint
    }

    final class PeerCertificateCatcher: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<[UInt8]>

        init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(MedGridError(.io, "connection closed before the handshake completed"))
            context.fireChannelInactive()
        }
    }
}

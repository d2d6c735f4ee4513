public import Foundation
import MedGridCore
import NIOCore
public import NIOSSL
import X509

/// Builds the NIOSSL configurations of MedGrid's mutual TLS 1.3 from the PKI's PEM files.
///
/// Both ends trust only MedGrid's CA (never the system store), require TLS 1.3, and present a certificate:
/// the server requires and verifies the client's (roles come from it), the client verifies the server's fully,
/// host name included.
public enum TLSFiles {
    /// The coordinator's side: presents `certificate`, requires a client certificate signed by `trustRoot`.
    public static func serverConfiguration(certificate: URL, privateKey: URL, trustRoot: URL) throws -> TLSConfiguration {
        let material = try Material(certificate: certificate, privateKey: privateKey, trustRoot: trustRoot)
        return material.serverConfiguration()
    }

    /// A worker's or user's side: presents `certificate`, verifies the server's certificate and host name against
    /// `trustRoot`.
    public static func clientConfiguration(certificate: URL, privateKey: URL, trustRoot: URL) throws -> TLSConfiguration {
        let material = try Material(certificate: certificate, privateKey: privateKey, trustRoot: trustRoot)
        return material.clientConfiguration()
    }

    /// ``serverConfiguration(certificate:privateKey:trustRoot:)`` whose certificate and key come from `reloading` at
    /// every handshake, so that ``ReloadingCertificate/reload(at:)`` (on SIGHUP) rotates them without a restart.
    public static func serverConfiguration(reloading: ReloadingCertificate, trustRoot: URL) throws -> TLSConfiguration {
        var configuration = try material(reloading, trustRoot: trustRoot).serverConfiguration()
        configuration.sslContextCallback = { _, promise in promise.succeed(reloading.override) }
        return configuration
    }

    /// ``clientConfiguration(certificate:privateKey:trustRoot:)`` whose client certificate and key come from
    /// `reloading` whenever a server asks for them (each new connection).
    public static func clientConfiguration(reloading: ReloadingCertificate, trustRoot: URL) throws -> TLSConfiguration {
        var configuration = try material(reloading, trustRoot: trustRoot).clientConfiguration()
        configuration.sslContextCallback = { _, promise in promise.succeed(reloading.override) }
        return configuration
    }

    private static func material(_ reloading: ReloadingCertificate, trustRoot: URL) throws -> Material {
        let pem = reloading.pem
        let rootText = try PEMFile.read(trustRoot, expecting: .certificate, role: "CA certificate")
        return try Material(
            certificatePEM: pem.certificate,
            privateKeyPEM: pem.privateKey,
            trustRootPEM: Array(rootText.utf8),
            sources: Sources(
                certificate: "certificate file \(reloading.certificateFile.path)",
                privateKey: "private key file \(reloading.privateKeyFile.path)",
                trustRoot: "CA certificate file \(trustRoot.path)"
            )
        )
    }

    /// ``serverConfiguration(certificate:privateKey:trustRoot:)`` from PEM bytes in memory (the one-machine mode's
    /// throwaway CA, see ``CertificateAuthority/issuePEM(role:name:subjectAlternativeNames:validityDays:now:)``).
    public static func serverConfiguration(
        certificatePEM: [UInt8],
        privateKeyPEM: [UInt8],
        trustRootPEM: [UInt8]
    ) throws -> TLSConfiguration {
        let material = try Material(
            certificatePEM: certificatePEM,
            privateKeyPEM: privateKeyPEM,
            trustRootPEM: trustRootPEM,
            sources: .inMemory
        )
        return material.serverConfiguration()
    }

    /// ``clientConfiguration(certificate:privateKey:trustRoot:)`` from PEM bytes in memory.
    public static func clientConfiguration(
        certificatePEM: [UInt8],
        privateKeyPEM: [UInt8],
        trustRootPEM: [UInt8]
    ) throws -> TLSConfiguration {
        let material = try Material(
            certificatePEM: certificatePEM,
            privateKeyPEM: privateKeyPEM,
            trustRootPEM: trustRootPEM,
            sources: .inMemory
        )
        return material.clientConfiguration()
    }
}

extension TLSFiles {
    /// Names for the three inputs in error messages.
    struct Sources {
        var certificate: String
        var privateKey: String
        var trustRoot: String

        static let inMemory = Sources(
            certificate: "the certificate PEM",
            privateKey: "the private key PEM",
            trustRoot: "the CA certificate PEM"
        )
    }

    /// A certificate chain, its key and the trust roots, checked and loaded into NIOSSL.
    struct Material {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
        var roots: [NIOSSLCertificate]

        init(certificate: URL, privateKey: URL, trustRoot: URL) throws {
            let certificateText = try PEMFile.read(certificate, expecting: .certificate, role: "certificate")
            let keyText = try PEMFile.read(privateKey, expecting: .privateKey, role: "private key")
            let rootText = try PEMFile.read(trustRoot, expecting: .certificate, role: "CA certificate")
            try self.init(
                certificatePEM: Array(certificateText.utf8),
                privateKeyPEM: Array(keyText.utf8),
                trustRootPEM: Array(rootText.utf8),
                sources: Sources(
                    certificate: "certificate file \(certificate.path)",
                    privateKey: "private key file \(privateKey.path)",
                    trustRoot: "CA certificate file \(trustRoot.path)"
                )
            )
        }

        init(certificatePEM: [UInt8], privateKeyPEM: [UInt8], trustRootPEM: [UInt8], sources: Sources) throws {
            // Parse with swift-certificates first: its errors say what is wrong, BoringSSL's do not.
            let certificateText = String(decoding: certificatePEM, as: UTF8.self)
            let leafChain = try PEMFile.certificates(in: certificateText, source: sources.certificate)
            let key = try PEMFile.privateKey(in: String(decoding: privateKeyPEM, as: UTF8.self), source: sources.privateKey)
            let roots = try PEMFile.certificates(in: String(decoding: trustRootPEM, as: UTF8.self), source: sources.trustRoot)
            guard let leaf = leafChain.first, key.publicKey == leaf.publicKey else {
                throw MedGridError(
                    .invalidInput,
                    "\(sources.privateKey) is not the key of \(sources.certificate) (the key and certificate do not match)"
                )
            }
            for root in roots {
                guard case .isCertificateAuthority = (try? root.extensions.basicConstraints) ?? nil else {
                    let name = root.subject.values(of: .RDNAttributeType.commonName).first ?? "\(root.subject)"
                    throw MedGridError(
                        .invalidInput,
                        "\(sources.trustRoot) holds CN=\(name), which is not a CA certificate (expected MedGrid's ca.pem)"
                    )
                }
            }
            do {
                self.chain = try NIOSSLCertificate.fromPEMBytes(certificatePEM)
            } catch {
                throw MedGridError(.invalidInput, "\(sources.certificate) cannot be loaded by TLS", cause: error)
            }
            do {
                self.key = try NIOSSLPrivateKey(bytes: privateKeyPEM, format: .pem)
            } catch {
                throw MedGridError(.invalidInput, "\(sources.privateKey) cannot be loaded by TLS", cause: error)
            }
            do {
                self.roots = try NIOSSLCertificate.fromPEMBytes(trustRootPEM)
            } catch {
                throw MedGridError(.invalidInput, "\(sources.trustRoot) cannot be loaded by TLS", cause: error)
            }
        }

        func serverConfiguration() -> TLSConfiguration {
            var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key),
                trustRoots: .certificates(roots)
            )
            configuration.minimumTLSVersion = .tlsv13
            configuration.maximumTLSVersion = nil
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(roots)
            configuration.additionalTrustRoots = []
            return configuration
        }

        func clientConfiguration() -> TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv13
            configuration.maximumTLSVersion = nil
            configuration.certificateVerification = .fullVerification
            configuration.trustRoots = .certificates(roots)
            configuration.additionalTrustRoots = []
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
            return configuration
        }
    }
}

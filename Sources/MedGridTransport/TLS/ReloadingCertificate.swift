public import Foundation
import MedGridCore
public import NIOSSL
import X509

/// A certificate and private key read from files, which ``reload()`` reads again (on SIGHUP) so that rotated files
/// are served without a restart.
///
/// NIOSSL asks for the pair at every handshake through `TLSConfiguration.sslContextCallback` (see
/// ``TLSFiles/serverConfiguration(reloading:trustRoot:)`` and ``TLSFiles/clientConfiguration(reloading:trustRoot:)``),
/// so new connections get the new certificate while established ones keep the one they started with. A reload that
/// finds a broken pair (unreadable, a key that does not match, a certificate from another CA, expired or not yet
/// valid) keeps the current one and throws, so a half-done rotation never takes a coordinator down.
public final class ReloadingCertificate: @unchecked Sendable {
    public let certificateFile: URL
    public let privateKeyFile: URL
    /// When set, a new certificate must chain to this CA certificate file before it is used.
    public let trustRoot: URL?
    /// Extra conditions a new certificate must meet before it is used (such as: still a worker certificate with the
    /// same name); throw to refuse it.
    let requirement: (@Sendable (CertificateSummary) throws -> Void)?

    private let lock = NSLock()
    private var loaded: Loaded

    struct Loaded {
        var override: NIOSSLContextConfigurationOverride
        var summary: CertificateSummary
        var certificatePEM: [UInt8]
        var privateKeyPEM: [UInt8]
    }

    /// Loads the pair; throws with the file named when it cannot be used.
    public init(
        certificate: URL,
        privateKey: URL,
        trustRoot: URL? = nil,
        requirement: (@Sendable (CertificateSummary) throws -> Void)? = nil
    ) throws {
        self.certificateFile = certificate
        self.privateKeyFile = privateKey
        self.trustRoot = trustRoot
        self.requirement = requirement
        self.loaded = try Self.load(certificate: certificate, privateKey: privateKey, trustRoot: nil, at: nil)
    }

    /// What the current certificate is (subject, serial, validity, fingerprint).
    public var current: CertificateSummary { lock.withLock { loaded.summary } }

    /// What NIOSSL applies at each handshake.
    public var override: NIOSSLContextConfigurationOverride { lock.withLock { loaded.override } }

    var pem: (certificate: [UInt8], privateKey: [UInt8]) {
        lock.withLock { (loaded.certificatePEM, loaded.privateKeyPEM) }
    }

    /// Reads the files again and, if the new pair is good, uses it from the next handshake on.
    ///
    /// - Returns: the previous and the current certificate (the same fingerprint when nothing changed).
    @discardableResult
    public func reload(at now: Date = Date()) throws -> (previous: CertificateSummary, current: CertificateSummary) {
        let fresh = try Self.load(certificate: certificateFile, privateKey: privateKeyFile, trustRoot: trustRoot, at: now)
        try requirement?(fresh.summary)
        return lock.withLock {
            let previous = loaded.summary
            loaded = fresh
            return (previous, fresh.summary)
        }
    }

    static func load(certificate: URL, privateKey: URL, trustRoot: URL?, at now: Date?) throws -> Loaded {
        let certificateText = try PEMFile.read(certificate, expecting: .certificate, role: "certificate")
        let keyText = try PEMFile.read(privateKey, expecting: .privateKey, role: "private key")
        let chain = try PEMFile.certificates(in: certificateText, source: certificate.path)
        let key = try PEMFile.privateKey(in: keyText, source: privateKey.path)
        guard let leaf = chain.first, key.publicKey == leaf.publicKey else {
            throw MedGridError(
                .invalidInput,
                "\(privateKey.path) is not the key of \(certificate.path) (the key and certificate do not match; rotate both files before reloading)"
            )
        }
        if let now {
            if let problem = TLSDiagnosis.checkValidity(certificatePEM: certificate, at: now) {
                throw MedGridError(.invalidInput, "not reloading: \(problem)")
            }
            if let trustRoot, let problem = TLSDiagnosis.checkChain(certificate: certificate, trustRoot: trustRoot, at: now) {
                throw MedGridError(.invalidInput, "not reloading: \(problem)")
            }
        }
        let certificatePEM = Array(certificateText.utf8)
        let privateKeyPEM = Array(keyText.utf8)
        var override = NIOSSLContextConfigurationOverride()
        do {
            override.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificatePEM).map { .certificate($0) }
        } catch {
            throw MedGridError(.invalidInput, "certificate file \(certificate.path) cannot be loaded by TLS", cause: error)
        }
        do {
            override.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: privateKeyPEM, format: .pem))
        } catch {
            throw MedGridError(.invalidInput, "private key file \(privateKey.path) cannot be loaded by TLS", cause: error)
        }
        return Loaded(
            override: override,
            summary: try CertificateSummary(leaf),
            certificatePEM: certificatePEM,
            privateKeyPEM: privateKeyPEM
        )
    }
}

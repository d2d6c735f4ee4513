import Crypto
public import Foundation
import MedGridCore
import SwiftASN1
import X509

/// A certificate and its private key, as written to disk.
public struct IssuedFiles: Sendable, Hashable {
    /// The PEM certificate (`ca.pem`, `coordinator.pem`, `worker-NAME.pem`, `user-NAME.pem`).
    public var certificate: URL
    /// The PEM private key, mode 0600 (`ca-key.pem`, `coordinator-key.pem`, ...).
    public var privateKey: URL

    public init(certificate: URL, privateKey: URL) {
        self.certificate = certificate
        self.privateKey = privateKey
    }
}

/// A certificate and its private key, in memory (for the one-machine mode, whose throwaway CA never touches disk).
public struct IssuedPEM: Sendable, Hashable {
    public var certificatePEM: [UInt8]
    public var privateKeyPEM: [UInt8]

    public init(certificatePEM: [UInt8], privateKeyPEM: [UInt8]) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// MedGrid's own certificate authority: a P-256 ECDSA key that signs (with SHA-256) the certificates of the
/// coordinator, workers and users. The role goes in the subject's OU, the name in its CN.
///
/// ```swift
/// try CertificateAuthority.create(in: pki)
/// let ca = try CertificateAuthority(directory: pki)
/// try ca.issue(role: .coordinator, name: "coordinator", subjectAlternativeNames: ["grid.example.org"], into: pki)
/// try ca.issue(role: .worker, name: "node07", into: pki)
/// ```
public struct CertificateAuthority: Sendable {
    /// The CA certificate's file name in its directory.
    public static let certificateFileName = "ca.pem"
    /// The CA key's file name in its directory.
    public static let privateKeyFileName = "ca-key.pem"

    let certificate: Certificate
    let privateKey: Certificate.PrivateKey

    /// The CA certificate, PEM-encoded: the trust root both ends of a connection use.
    public let certificatePEM: [UInt8]

    /// The CA's common name.
    public var commonName: String { certificate.subject.values(of: .RDNAttributeType.commonName).first ?? "" }
    /// When the CA certificate, and so every certificate it signed, stops being trusted.
    public var notAfter: Date { certificate.notValidAfter }

    private init(certificate: Certificate, privateKey: Certificate.PrivateKey) throws {
        self.certificate = certificate
        self.privateKey = privateKey
        self.certificatePEM = Array(try certificate.pemString.utf8)
    }

    // MARK: Creating and loading

    /// Creates a CA in `dir`: `ca.pem` and `ca-key.pem` (mode 0600).
    ///
    /// Refuses to replace either file unless `overwrite` is set: a new CA invalidates every certificate the old one
    /// signed.
    @discardableResult
    public static func create(
        in dir: URL,
        commonName: String = "MedGrid CA",
        validityDays: Int = 3650,
        now: Date = Date(),
        overwrite: Bool = false
    ) throws -> IssuedFiles {
        let files = IssuedFiles(
            certificate: dir.appendingPathComponent(certificateFileName),
            privateKey: dir.appendingPathComponent(privateKeyFileName)
        )
        try PEMFile.refuseExisting([files.certificate, files.privateKey], overwrite: overwrite)
        let ca = try CertificateAuthority(commonName: commonName, validityDays: validityDays, now: now)
        try PEMFile.makeDirectory(dir)
        try PEMFile.createFile(try ca.privateKey.serializeAsPEM().pemString + "\n", at: files.privateKey, mode: 0o600, overwrite: overwrite)
        try PEMFile.createFile(String(decoding: ca.certificatePEM, as: UTF8.self), at: files.certificate, mode: 0o644, overwrite: overwrite)
        return files
    }

    /// Creates a CA in memory only, such as the throwaway CA of the one-machine mode.
    public init(commonName: String = "MedGrid CA", validityDays: Int = 3650, now: Date = Date()) throws {
        let trimmed = commonName.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 64 else {
            throw MedGridError(.invalidInput, "CA common name must be 1–64 characters (got \"\(commonName)\")")
        }
        try Self.checkValidityDays(validityDays)
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            OrganizationName("MedGrid")
            CommonName(trimmed)
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Self.randomSerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-Self.clockSkew),
            notValidAfter: now.addingTimeInterval(Double(validityDays) * 86_400),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: key
        )
        try self.init(certificate: certificate, privateKey: key)
    }

    /// Loads the CA in `directory` (`ca.pem` and `ca-key.pem`).
    public init(directory: URL) throws {
        let certificateURL = directory.appendingPathComponent(Self.certificateFileName)
        let keyURL = directory.appendingPathComponent(Self.privateKeyFileName)
        let certificateText = try PEMFile.read(certificateURL, expecting: .certificate, role: "CA certificate")
        let keyText = try PEMFile.read(keyURL, expecting: .privateKey, role: "CA key")
        let certificates = try PEMFile.certificates(in: certificateText, source: certificateURL.path)
        guard certificates.count == 1, let certificate = certificates.first else {
            throw MedGridError(
                .invalidInput,
                "\(certificateURL.path) holds \(certificates.count) certificates (expected only the CA certificate)"
            )
        }
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw MedGridError(
                .invalidInput,
                "\(certificateURL.path) is not a CA certificate (CN=\(certificate.subject.values(of: .RDNAttributeType.commonName).first ?? "?")); create one with medgrid tls ca create"
            )
        }
        let key = try PEMFile.privateKey(in: keyText, source: keyURL.path)
        guard key.publicKey == certificate.publicKey else {
            throw MedGridError(
                .invalidInput,
                "\(keyURL.path) is not the private key of \(certificateURL.path) (the key and certificate do not match)"
            )
        }
        try self.init(certificate: certificate, privateKey: key)
    }

    // MARK: Issuing

    /// The file names MedGrid uses for a role's certificate: `coordinator.pem`/`coordinator-key.pem`,
    /// `worker-NAME.pem`/`worker-NAME-key.pem`, `user-NAME.pem`/`user-NAME-key.pem` (admins are users).
    public static func files(for role: Role, name: String, in dir: URL) -> IssuedFiles {
        let stem: String
        switch role {
        case .coordinator: stem = "coordinator"
        case .worker: stem = "worker-\(name)"
        case .user, .admin: stem = "user-\(name)"
        }
        return IssuedFiles(
            certificate: dir.appendingPathComponent("\(stem).pem"),
            privateKey: dir.appendingPathComponent("\(stem)-key.pem")
        )
    }

    /// Issues a certificate for `role` and `name` into `dir` (see ``files(for:name:in:)`` for the names); the key file
    /// gets mode 0600.
    ///
    /// - Parameters:
    ///   - subjectAlternativeNames: DNS names and IP literals the holder is reached at. For the coordinator they
    ///     default to `localhost`, `127.0.0.1` and `::1`.
    ///   - validityDays: how long it lasts; at most ``Role/maximumValidityDays`` (397 for users and admins, 825 for
    ///     workers and the coordinator).
    ///   - labels: placement labels signed into the certificate (``CertificateLabels``), such as `["site": "A"]` for
    ///     a worker at site A; read back as ``PeerIdentity/labels``.
    ///   - now: the issuing time; a time in the past or future makes expired or not-yet-valid certificates for tests.
    ///   - overwrite: replace existing files (renewal); otherwise they are left alone and an error is thrown.
    @discardableResult
    public func issue(
        role: Role,
        name: String,
        subjectAlternativeNames: [String] = [],
        validityDays: Int = 30,
        labels: [String: String] = [:],
        into dir: URL,
        now: Date = Date(),
        overwrite: Bool = false
    ) throws -> IssuedFiles {
        try Self.checkName(name)
        let files = Self.files(for: role, name: name, in: dir)
        try PEMFile.refuseExisting([files.certificate, files.privateKey], overwrite: overwrite)
        let issued = try issuePEM(
            role: role,
            name: name,
            subjectAlternativeNames: subjectAlternativeNames,
            validityDays: validityDays,
            labels: labels,
            now: now
        )
        try PEMFile.makeDirectory(dir)
        try PEMFile.createFile(String(decoding: issued.privateKeyPEM, as: UTF8.self), at: files.privateKey, mode: 0o600, overwrite: overwrite)
        try PEMFile.createFile(String(decoding: issued.certificatePEM, as: UTF8.self), at: files.certificate, mode: 0o644, overwrite: overwrite)
        return files
    }

    /// Issues a certificate in memory; same rules as
    /// ``issue(role:name:subjectAlternativeNames:validityDays:labels:into:now:overwrite:)``.
    public func issuePEM(
        role: Role,
        name: String,
        subjectAlternativeNames: [String] = [],
        validityDays: Int = 30,
        labels: [String: String] = [:],
        now: Date = Date()
    ) throws -> IssuedPEM {
        try Self.checkName(name)
        try Self.checkValidityDays(validityDays, for: role)
        try CertificateLabels.check(labels)
        var sans = subjectAlternativeNames
        if role == .coordinator, sans.isEmpty {
            sans = ["localhost", "127.0.0.1", "::1"]
        }
        let generalNames = try SubjectAlternativeNameParser.generalNames(sans)
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            OrganizationName("MedGrid")
            OrganizationalUnitName(role.rawValue)
            CommonName(name)
        }
        let usages: [ExtendedKeyUsage.Usage] = role == .coordinator ? [.serverAuth, .clientAuth] : [.clientAuth]
        let authorityKeyID = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
            ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage(usages)
            if !generalNames.isEmpty {
                SubjectAlternativeNames(generalNames)
            }
            SubjectKeyIdentifier(hash: key.publicKey)
            AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
            if !labels.isEmpty {
                try CertificateLabels.certificateExtension(labels)
            }
        }
        let notAfter = now.addingTimeInterval(Double(validityDays) * 86_400)
        guard notAfter <= certificate.notValidAfter else {
            throw MedGridError(
                .invalidInput,
                "a \(validityDays)-day certificate would outlive the CA (valid until \(certificate.notValidAfter)); issue a shorter one or create a new CA"
            )
        }
        let leaf = try Certificate(
            version: .v3,
            serialNumber: Self.randomSerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-Self.clockSkew),
            notValidAfter: notAfter,
            issuer: certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: privateKey
        )
        return IssuedPEM(
            certificatePEM: Array(try leaf.pemString.utf8),
            privateKeyPEM: Array((try key.serializeAsPEM().pemString + "\n").utf8)
        )
    }

    // MARK: Rules

    /// How far before `now` a certificate starts, so that peers whose clocks lag a little still accept it.
    static let clockSkew: TimeInterval = 5 * 60

    /// A random positive 16-byte serial number.
    static func randomSerialNumber() -> Certificate.SerialNumber {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        bytes[0] = (bytes[0] & 0x7F) | 0x40  // positive, and exactly 16 bytes once DER-encoded
        return Certificate.SerialNumber(bytes: bytes)
    }

    /// Names go into file names and log lines: 1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-'.
    static func checkName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count), name.allSatisfy(allowed.contains), name != ".", name != ".." else {
            throw MedGridError(
                .invalidInput,
                "invalid certificate name \"\(name)\": use 1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-'"
            )
        }
    }

    static func checkValidityDays(_ days: Int) throws {
        guard (1...36_500).contains(days) else {
            throw MedGridError(.invalidInput, "validity must be 1 to 36500 days (got \(days))")
        }
    }

    /// A leaf's validity: 1 day up to its role's ``Role/maximumValidityDays``.
    static func checkValidityDays(_ days: Int, for role: Role) throws {
        let limit = role.maximumValidityDays
        guard (1...limit).contains(days) else {
            let flag = role == .coordinator ? "--coordinator" : role == .worker ? "--worker NAME" : "--user NAME"
            throw MedGridError(
                .invalidInput,
                "\(role == .admin ? "an" : "a") \(role.rawValue) certificate may last 1 to \(limit) days (asked for \(days)); issue a shorter one and renew it "
                    + "before it expires (medgrid tls cert create \(flag) --days \(min(max(days, 1), limit)) --overwrite)"
            )
        }
    }
}

import Crypto
public import Foundation
import MedGridCore
import SwiftASN1
import X509

/// What `medgrid tls cert info` shows about a certificate.
public struct CertificateSummary: Sendable, Hashable, CustomStringConvertible {
    /// The subject, RFC 4514 style: `CN=node07,OU=worker,O=MedGrid`.
    public var subject: String
    /// The issuer, same style.
    public var issuer: String
    /// The MedGrid role (the subject's OU), if the certificate has exactly one.
    public var role: Role?
    /// The subject's common name.
    public var name: String
    /// The serial number in hex, bytes separated by colons.
    public var serialNumber: String
    /// The serial number as the deny-list writes it: lower-case hex, no separators (``CertificateSerial``).
    public var serialHex: String
    /// Placement labels signed into the certificate (``CertificateLabels``); empty when none.
    public var labels: [String: String]
    /// Why the label extension could not be read, when it is malformed (MedGrid then refuses the certificate).
    public var labelProblem: String?
    public var notBefore: Date
    public var notAfter: Date
    /// Subject alternative names: `DNS:localhost`, `IP:127.0.0.1`, ...
    public var subjectAlternativeNames: [String]
    /// Extended key usages: `serverAuth`, `clientAuth`.
    public var extendedKeyUsages: [String]
    /// Whether this is a CA certificate (basicConstraints CA:true).
    public var isCA: Bool
    /// SHA-256 of the DER encoding, upper-case hex bytes separated by colons (as `openssl x509 -fingerprint -sha256`).
    public var sha256Fingerprint: String

    /// Summarises a DER-encoded certificate.
    public init(derEncoded bytes: [UInt8]) throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: bytes)
        } catch {
            throw MedGridError(.invalidInput, "not a valid DER-encoded X.509 certificate", cause: error)
        }
        try self.init(certificate, der: bytes)
    }

    init(_ certificate: Certificate, der: [UInt8]? = nil) throws {
        let der = try der ?? certificate.derBytes
        subject = String(describing: certificate.subject)
        issuer = String(describing: certificate.issuer)
        role = try? CertificateIdentity.identity(of: certificate).role
        name = certificate.subject.values(of: .RDNAttributeType.commonName).first ?? ""
        serialNumber = certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
        serialHex = CertificateSerial.hex(certificate.serialNumber)
        do {
            labels = try CertificateLabels.labels(in: certificate)
            labelProblem = nil
        } catch {
            labels = [:]
            labelProblem = String(describing: error)
        }
        notBefore = certificate.notValidBefore
        notAfter = certificate.notValidAfter
        subjectAlternativeNames = ((try? certificate.extensions.subjectAlternativeNames) ?? nil)
            .map { $0.map(SubjectAlternativeNameParser.text) } ?? []
        extendedKeyUsages = ((try? certificate.extensions.extendedKeyUsage) ?? nil).map { $0.map(String.init(describing:)) } ?? []
        if case .isCertificateAuthority = (try? certificate.extensions.basicConstraints) ?? nil {
            isCA = true
        } else {
            isCA = false
        }
        sha256Fingerprint = SHA256.hash(data: der).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    /// `valid`, `expired N days ago` (`expired today` within the first day) or `not yet valid`.
    public func status(at date: Date = Date()) -> String {
        if date < notBefore { return "not yet valid" }
        if date > notAfter {
            let days = Int((date.timeIntervalSince(notAfter) / 86_400).rounded(.down))
            switch days {
            case 0: return "expired today"
            case 1: return "expired 1 day ago"
            default: return "expired \(days) days ago"
            }
        }
        return "valid"
    }

    /// Every certificate in a PEM file, in order.
    ///
    /// Throws a clear error for a missing file, a key file passed by mistake, or malformed PEM.
    public static func inspect(pemFile: URL) throws -> [CertificateSummary] {
        let text = try PEMFile.read(pemFile, expecting: .certificate, role: "certificate")
        return try PEMFile.certificates(in: text, source: pemFile.path).map { try CertificateSummary($0) }
    }

    /// A multi-line summary, as `medgrid tls cert info` prints it.
    public var description: String {
        let roleText: String
        if let role {
            roleText = role.rawValue
        } else {
            roleText = isCA ? "(certificate authority)" : "(none: not usable with MedGrid)"
        }
        var lines = [
            "Subject:      \(subject)",
            "Issuer:       \(issuer)",
            "Role:         \(roleText)",
            "Name:         \(name)",
            "Serial:       \(serialNumber)",
            "Not before:   \(Self.format(notBefore))",
            "Not after:    \(Self.format(notAfter))",
            "Status:       \(status())",
        ]
        if !subjectAlternativeNames.isEmpty {
            lines.append("Alt. names:   \(subjectAlternativeNames.joined(separator: ", "))")
        }
        if let labelProblem {
            lines.append("Labels:       (unreadable: \(labelProblem))")
        } else if !labels.isEmpty {
            lines.append("Labels:       \(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
        }
        if !extendedKeyUsages.isEmpty {
            lines.append("Usage:        \(extendedKeyUsages.joined(separator: ", "))")
        }
        lines.append("CA:           \(isCA ? "yes" : "no")")
        lines.append("SHA-256:      \(sha256Fingerprint)")
        return lines.joined(separator: "\n")
    }

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }
}

public import Foundation
import MedGridCore
import SwiftASN1
import X509

/// What a certificate's holder may do in MedGrid. Stored as the subject's organizational unit (OU).
public enum Role: String, Codable, Sendable, CaseIterable {
    /// The coordinator: serves the API, and may also call other MedGrid services as a client.
    case coordinator
    /// A worker daemon that leases and runs tasks.
    case worker
    /// A person who submits jobs and reads reports.
    case user
    /// A user with admin rights.
    case admin

    /// The longest a certificate for this role may last: 397 days for people (users and admins, the CA/Browser
    /// Forum's ceiling for TLS certificates: a lost laptop's key should not stay good for years) and 825 days for
    /// machines (workers and the coordinator, whose keys stay on managed hosts and which are renewed by scripts).
    /// User certificates default to 30 days.
    public var maximumValidityDays: Int {
        switch self {
        case .user, .admin: return 397
        case .worker, .coordinator: return 825
        }
    }
}

/// Who is on the other end of a mutual-TLS connection, as read from their certificate.
public struct PeerIdentity: Sendable, Hashable {
    /// The role from the subject's OU.
    public var role: Role
    /// The subject's common name (CN): the worker's or user's name.
    public var name: String
    /// When the certificate stops being valid.
    public var notAfter: Date
    /// The certificate's serial number: lower-case hex, no separators (as `medgrid tls revoke` and the deny-list
    /// write it; see ``CertificateSerial``).
    public var serial: String
    /// Placement labels the CA put into the certificate (`medgrid tls cert create --worker NAME --label site=A`),
    /// read from MedGrid's label extension (``CertificateLabels``); empty when it has none. Unlike labels a worker
    /// declares with a flag, these are signed by the CA, so they are the ones that may decide access to data.
    public var labels: [String: String]

    public init(role: Role, name: String, notAfter: Date, serial: String = "", labels: [String: String] = [:]) {
        self.role = role
        self.name = name
        self.notAfter = notAfter
        self.serial = serial
        self.labels = labels
    }
}

/// Reads a ``PeerIdentity`` from a certificate.
public enum CertificateIdentity {
    /// Reads the role (the subject's OU: exactly one of `coordinator`, `worker`, `user`, `admin`) and the name
    /// (the subject's CN) from a DER-encoded certificate, such as the one `channel.nioSSL_peerCertificate()` gives
    /// (`try certificate.toDERBytes()`).
    ///
    /// The certificate's signature and dates are not checked here; the TLS handshake has already done that. A
    /// malformed label extension makes the whole identity unreadable (refused), never an empty label set.
    public static func identity(fromDER bytes: [UInt8]) throws -> PeerIdentity {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: bytes)
        } catch {
            throw MedGridError(.invalidInput, "peer certificate is not a valid DER-encoded X.509 certificate", cause: error)
        }
        return try identity(of: certificate)
    }

    /// The identity in a parsed certificate.
    static func identity(of certificate: Certificate) throws -> PeerIdentity {
        let commonNames = certificate.subject.values(of: .RDNAttributeType.commonName)
        let shown = commonNames.first.map { "CN=\($0)" } ?? "\"\(certificate.subject)\""
        guard commonNames.count == 1, let name = commonNames.first, !name.isEmpty else {
            throw MedGridError(.permissionDenied, "certificate \(shown) has no MedGrid name (expected exactly one CN)")
        }
        let units = certificate.subject.values(of: .RDNAttributeType.organizationalUnitName)
        let roles = units.compactMap(Role.init(rawValue:))
        guard roles.count == 1, let role = roles.first else {
            let found = units.isEmpty ? "" : " (found OU \(units.joined(separator: ", ")))"
            throw MedGridError(
                .permissionDenied,
                "certificate \(shown) has no MedGrid role\(found) (expected OU coordinator, worker, user or admin)"
            )
        }
        let labels: [String: String]
        do {
            labels = try CertificateLabels.labels(in: certificate)
        } catch {
            throw MedGridError(.permissionDenied, "certificate \(shown) has an unreadable MedGrid label extension", cause: error)
        }
        return PeerIdentity(
            role: role,
            name: name,
            notAfter: certificate.notValidAfter,
            serial: CertificateSerial.hex(certificate.serialNumber),
            labels: labels
        )
    }
}

extension DistinguishedName {
    /// The text of every attribute of the given type, in order.
    func values(of type: ASN1ObjectIdentifier) -> [String] {
        var found: [String] = []
        for rdn in self {
            for attribute in rdn where attribute.type == type {
                found.append(String(attribute.value) ?? String(describing: attribute.value))
            }
        }
        return found
    }
}

public import Foundation
import MedGridCore
import NIOSSL
import X509

/// Puts TLS failures into words a cluster admin can act on.
///
/// BoringSSL reports a failed handshake as a stack of reason codes (`CERTIFICATE_VERIFY_FAILED`,
/// `TLSV1_ALERT_UNKNOWN_CA`, ...). The side that checks a certificate only learns that verification failed; the
/// side whose certificate was refused learns why from the alert the checker sends (`..._ALERT_CERTIFICATE_EXPIRED`,
/// `..._ALERT_UNKNOWN_CA`, `..._ALERT_CERTIFICATE_REQUIRED`). So messages say whose certificate is at fault.
/// To learn *why* a local certificate is refused before connecting, use ``checkValidity(certificatePEM:at:)`` and
/// ``checkChain(certificate:trustRoot:at:)``.
public enum TLSDiagnosis {
    /// A plain explanation of `error`, raised while talking to `peer` (such as `"the coordinator at
    /// grid.example.org:8443"` or `"worker node07"`); the error's own description when it is not a TLS failure
    /// MedGrid knows.
    public static func explain(_ error: any Error, peer: String) -> String {
        if let error = error as? MedGridError {
            return error.description
        }
        if let error = error as? NIOSSLError {
            switch error {
            case .uncleanShutdown:
                return "\(peer) closed the connection without ending the TLS session (it may have stopped or "
                    + "restarted, or something between us cut the connection)"
            case .failedToLoadCertificate, .noSuchFilesystemObject:
                return "TLS could not load this machine's certificate for \(peer) (check the certificate file)"
            case .failedToLoadPrivateKey:
                return "TLS could not load this machine's private key for \(peer) (check the -key.pem file)"
            default:
                break
            }
        }
        let text = (String(describing: error) + " " + String(reflecting: error)).uppercased()
        for rule in rules where rule.patterns.contains(where: text.contains) {
            return rule.message(peer)
        }
        if let error = error as? NIOSSLError, case .handshakeFailed = error {
            return "the TLS handshake with \(peer) failed (\(error))"
        }
        return String(describing: error)
    }

    /// One known failure: any of `patterns` (upper-case) in the error's text means `message`.
    private struct Rule: Sendable {
        var patterns: [String]
        var message: @Sendable (String) -> String
    }

    /// Most specific first: an alert from the peer before our own verification result.
    private static let rules: [Rule] = [
        Rule(patterns: ["TLSV1_ALERT_CERTIFICATE_REQUIRED", "CERTIFICATE_REQUIRED"]) { peer in
            "\(peer) requires a client certificate and this machine presented none: pass this machine's "
                + "certificate and key (issued with medgrid tls cert issue)"
        },
        Rule(patterns: ["PEER_DID_NOT_RETURN_A_CERTIFICATE", "NO_CERTIFICATE_RETURNED"]) { peer in
            "\(peer) presented no client certificate; every MedGrid client needs one signed by the MedGrid CA"
        },
        Rule(patterns: ["ALERT_CERTIFICATE_EXPIRED"]) { peer in
            "\(peer) refused this machine's certificate: it has expired (or is not yet valid by \(peer)'s clock); "
                + "issue a new one with medgrid tls cert issue"
        },
        Rule(patterns: ["TLSV1_ALERT_UNKNOWN_CA", "ALERT_UNKNOWN_CA"]) { peer in
            "\(peer) refused this machine's certificate: it is signed by a CA \(peer) does not trust (a different "
                + "MedGrid CA?); issue this machine's certificate from the CA \(peer) uses"
        },
        Rule(patterns: ["ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_UNKNOWN", "ALERT_UNSUPPORTED_CERTIFICATE"]) { peer in
            "\(peer) refused this machine's certificate: it is signed by another CA, expired, not yet valid, revoked, "
                + "or not issued for this role; check it with medgrid tls cert info (\(peer)'s log says which)"
        },
        Rule(patterns: ["ALERT_CERTIFICATE_REVOKED"]) { peer in
            "\(peer) refused this machine's certificate: it has been revoked; ask the cluster admin for a new one"
        },
        Rule(patterns: ["CERTIFICATE HAS EXPIRED", "CERTIFICATE_EXPIRED", "CERT_HAS_EXPIRED"]) { peer in
            "the certificate \(peer) presented has expired; \(peer) needs a new one (medgrid tls cert issue)"
        },
        Rule(patterns: ["NOT YET VALID", "CERT_NOT_YET_VALID"]) { peer in
            "the certificate \(peer) presented is not yet valid: check the clocks of both machines"
        },
        Rule(patterns: ["UNABLE TO GET LOCAL ISSUER", "SELF SIGNED CERTIFICATE", "SELF-SIGNED CERTIFICATE", "UNKNOWN CA"]) { peer in
            "the certificate \(peer) presented is signed by a CA this machine does not trust (not our MedGrid CA)"
        },
        Rule(patterns: ["CERTIFICATE_VERIFY_FAILED"]) { peer in
            "the certificate \(peer) presented could not be verified against our MedGrid CA: it is signed by a "
                + "different CA, has expired, or is not yet valid (medgrid tls cert info on \(peer)'s certificate "
                + "shows which)"
        },
        Rule(patterns: ["FAILEDTOVALIDATEHOSTNAME", "COULDN'T FIND", "SERVERHOSTNAMEIMPOSSIBLETOMATCH"]) { peer in
            "the certificate \(peer) presented does not name the host this machine connected to: reissue the "
                + "coordinator's certificate with that DNS name or IP address as a subject alternative name"
        },
        Rule(patterns: ["HTTP_REQUEST", "HTTPS_PROXY_REQUEST"]) { peer in
            "\(peer) spoke plain HTTP to a TLS port: MedGrid only speaks HTTPS (use https:// and a client certificate)"
        },
        Rule(patterns: ["WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_TOO_LARGE"]) { peer in
            "\(peer) does not speak TLS: it is plain HTTP or another service on that port (check the URL and port)"
        },
        Rule(patterns: ["ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL"]) { peer in
            "\(peer) does not support TLS 1.3, which MedGrid requires"
        },
        Rule(patterns: ["NO_SHARED_CIPHER", "ALERT_HANDSHAKE_FAILURE", "NO_SHARED_GROUP"]) { peer in
            "\(peer) and this machine share no TLS parameters (MedGrid needs TLS 1.3)"
        },
        Rule(patterns: ["KEY_VALUES_MISMATCH"]) { _ in
            "this machine's private key does not belong to its certificate (pass the matching -key.pem file)"
        },
        Rule(patterns: ["EOF DURING HANDSHAKE", "EOFDURINGHANDSHAKE"]) { peer in
            "\(peer) closed the connection during the TLS handshake: it probably refused this machine's certificate "
                + "(see \(peer)'s log), or it is not a MedGrid service"
        },
        Rule(patterns: ["UNCLEANSHUTDOWN"]) { peer in
            "\(peer) closed the connection without ending the TLS session (it may have stopped or restarted)"
        },
        Rule(patterns: ["CONNECTION REFUSED", "ECONNREFUSED", "CONNECTIONREFUSED"]) { peer in
            "nothing is listening at \(peer): is it running, and are the host and port right?"
        },
        Rule(patterns: ["CONNECTION RESET", "ECONNRESET"]) { peer in
            "\(peer) reset the connection (it may have refused this machine's certificate; see its log)"
        },
    ]

    // MARK: Checking local files before connecting

    /// A warning when the first certificate in `file` is expired or not yet valid at `date` (or cannot be read);
    /// nil when it is valid.
    public static func checkValidity(certificatePEM file: URL, at date: Date = Date()) -> String? {
        let certificate: Certificate
        do {
            certificate = try leafCertificate(file)
        } catch {
            return String(describing: error)
        }
        let shown = describe(certificate)
        if date < certificate.notValidBefore {
            return "\(file.path): certificate \(shown) is not valid until \(CertificateSummary.format(certificate.notValidBefore))"
                + " (\(span(certificate.notValidBefore.timeIntervalSince(date))) from now); check this machine's clock"
        }
        if date > certificate.notValidAfter {
            return "\(file.path): certificate \(shown) expired \(span(date.timeIntervalSince(certificate.notValidAfter)))"
                + " ago (on \(CertificateSummary.format(certificate.notValidAfter))); issue a new one with medgrid tls cert issue"
        }
        return nil
    }

    /// A warning when the first certificate in `certificate` is not signed by a CA in `trustRoot`, or that CA is not
    /// valid at `date` (or either file cannot be read); nil when the chain is good.
    public static func checkChain(certificate: URL, trustRoot: URL, at date: Date = Date()) -> String? {
        let leaf: Certificate
        let roots: [Certificate]
        do {
            leaf = try leafCertificate(certificate)
            let rootText = try PEMFile.read(trustRoot, expecting: .certificate, role: "CA certificate")
            roots = try PEMFile.certificates(in: rootText, source: trustRoot.path)
        } catch {
            return String(describing: error)
        }
        guard
            let root = roots.first(where: {
                $0.subject == leaf.issuer && $0.publicKey.isValidSignature(leaf.signature, for: leaf)
            })
        else {
            let caNames = roots.map(describe).joined(separator: ", ")
            return "\(certificate.path): certificate \(describe(leaf)) is not signed by the CA in \(trustRoot.path) "
                + "(\(caNames)); it was issued by \(leaf.issuer). Issue it again from this CA, or use the CA that issued it"
        }
        if date > root.notValidAfter {
            return "\(trustRoot.path): the CA certificate \(describe(root)) expired \(span(date.timeIntervalSince(root.notValidAfter))) ago; "
                + "create a new CA and reissue every certificate"
        }
        if date < root.notValidBefore {
            return "\(trustRoot.path): the CA certificate \(describe(root)) is not valid until "
                + "\(CertificateSummary.format(root.notValidBefore)); check this machine's clock"
        }
        return nil
    }

    private static func leafCertificate(_ file: URL) throws -> Certificate {
        let text = try PEMFile.read(file, expecting: .certificate, role: "certificate")
        // `certificates(in:)` never returns an empty array.
        return try PEMFile.certificates(in: text, source: file.path)[0]
    }

    private static func describe(_ certificate: Certificate) -> String {
        let name = certificate.subject.values(of: .RDNAttributeType.commonName).first ?? "?"
        if let role = try? CertificateIdentity.identity(of: certificate).role {
            return "CN=\(name) (\(role.rawValue))"
        }
        return "CN=\(name)"
    }

    /// `3 days`, `1 day`, `5 hours`, `12 minutes`.
    private static func span(_ seconds: TimeInterval) -> String {
        let days = Int(seconds / 86_400)
        if days >= 1 { return days == 1 ? "1 day" : "\(days) days" }
        let hours = Int(seconds / 3_600)
        if hours >= 1 { return hours == 1 ? "1 hour" : "\(hours) hours" }
        let minutes = max(1, Int(seconds / 60))
        return minutes == 1 ? "1 minute" : "\(minutes) minutes"
    }
}

public import Foundation
import X509
import SwiftASN1

/// Verifies a client's certificate chain against the MedGrid CA (RFC 5280 path validation) and, when it
/// fails, says why in plain words: expired, not yet valid, signed by another CA, revoked. The
/// coordinator uses it as its TLS verification callback so that refusals are explained in its log too.
public struct ClientCertificateVerifier: Sendable {
    let root: Certificate
    /// The deny-list: a certificate whose serial is on it is refused even though its chain is good.
    public let revocations: RevocationList?

    public init(trustRootPEM: [UInt8], revocations: RevocationList? = nil) throws {
        do {
            root = try Certificate(pemEncoded: String(decoding: trustRootPEM, as: UTF8.self))
        } catch {
            throw MedGridTransportVerifierError(message: "the trust root is not a PEM certificate: \(error)")
        }
        self.revocations = revocations
    }

    /// - Parameter chain: DER certificates as the peer sent them, leaf first.
    /// - Returns: nil when the chain is valid; otherwise the reason.
    public func problem(with chain: [[UInt8]], at now: Date = Date()) async -> String? {
        guard let first = chain.first else { return "the client presented no certificate" }
        let leaf: Certificate
        do {
            leaf = try Certificate(derEncoded: first)
        } catch {
            return "the client's certificate could not be parsed"
        }
        let subject = leaf.subject.description
        if leaf.notValidAfter < now {
            return "client certificate \(subject) expired on \(ISO8601DateFormatter().string(from: leaf.notValidAfter)); issue a new one with medgrid tls cert create"
        }
        if leaf.notValidBefore > now {
            return "client certificate \(subject) is not valid until \(ISO8601DateFormatter().string(from: leaf.notValidBefore)) (check the clocks)"
        }
        if leaf.issuer != root.subject {
            return "client certificate \(subject) was issued by \(leaf.issuer), not by this grid's CA \(root.subject)"
        }
        let intermediates = CertificateStore(chain.dropFirst().compactMap { try? Certificate(derEncoded: $0) })
        var verifier = Verifier(rootCertificates: CertificateStore([root])) { RFC5280Policy(validationTime: now) }
        switch await verifier.validate(leaf: leaf, intermediates: intermediates) {
        case .validCertificate:
            let serial = CertificateSerial.hex(leaf.serialNumber)
            if let revocations, let entry = revocations.entry(forSerial: serial) {
                let reason = entry.reason.map { ": \($0)" } ?? ""
                return "client certificate \(subject) (serial \(serial)) has been revoked (deny-list \(revocations.file.path)\(reason))"
            }
            return nil
        case .couldNotValidate(let failures):
            let reasons = failures.map { "\($0.policyFailureReason)" }.joined(separator: "; ")
            if reasons.isEmpty {
                return "client certificate \(subject) was not signed by this grid's CA (its issuer has the same name but another key: a different CA)"
            }
            return "client certificate \(subject) failed verification against this grid's CA: \(reasons)"
        }
    }
}

struct MedGridTransportVerifierError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

public import Foundation
public import Crypto

/// A certificate of destruction: what a purge destroyed, when and at whose instruction, signed by the
/// coordinator's P-256 key (ECDSA with SHA-256).
///
/// The file is the canonical JSON (``CanonicalJSON/encode(_:)``) of
/// `{"certificate": BODY, "signature": base64 DER, "signer": {"algorithm", "publicKey" (PEM), "fingerprint"}}`,
/// and the signature covers the compact canonical form of BODY. ``verify(_:pinnedFingerprint:)`` accepts
/// only those exact bytes: any change of any byte, whitespace included, fails.
public enum DestructionCertificate {
    public static let algorithm = "ECDSA P-256 SHA-256"

    /// Signs `body` and returns the certificate's bytes.
    public static func sign(_ body: JSONValue, with key: P256.Signing.PrivateKey) throws -> String {
        let signature = try key.signature(for: Data(CanonicalJSON.compact(body).utf8))
        let document: JSONValue = .object([
            "certificate": body,
            "signature": .string(signature.derRepresentation.base64EncodedString()),
            "signer": .object([
                "algorithm": .string(algorithm),
                "publicKey": .string(key.publicKey.pemRepresentation),
                "fingerprint": .string(fingerprint(key.publicKey)),
            ]),
        ])
        return CanonicalJSON.encode(document)
    }

    public static func fingerprint(_ key: P256.Signing.PublicKey) -> String {
        SHA256.hash(data: key.derRepresentation).map { String(format: "%02x", $0) }.joined()
    }

    /// What a valid certificate says.
    public struct Verified: Sendable {
        public var body: JSONValue
        public var fingerprint: String
    }

    /// Checks a certificate's bytes: canonical form, the signer's fingerprint, the signature, and (when
    /// given) that the signer is the pinned coordinator key.
    /// - Throws: ``MedGridError`` `.integrity` saying which check failed.
    public static func verify(_ bytes: Data, pinnedFingerprint: String? = nil) throws -> Verified {
        let document: JSONValue
        do { document = try JSONValue(parsing: bytes) } catch {
            throw MedGridError(.integrity, "not a certificate of destruction: \(error)")
        }
        guard CanonicalJSON.encode(document).utf8.elementsEqual(bytes) else {
            throw MedGridError(.integrity, "the file is not in the canonical form it was signed in: it was changed after signing")
        }
        guard let body = document["certificate"], let signatureText = document["signature"]?.stringValue,
              let pem = document["signer"]?["publicKey"]?.stringValue, let claimed = document["signer"]?["fingerprint"]?.stringValue
        else { throw MedGridError(.integrity, "field certificate, signature or signer is missing") }
        guard document["signer"]?["algorithm"]?.stringValue == algorithm else {
            throw MedGridError(.integrity, "field signer.algorithm: expected \(algorithm)")
        }
        let key: P256.Signing.PublicKey
        do { key = try P256.Signing.PublicKey(pemRepresentation: pem) } catch {
            throw MedGridError(.integrity, "field signer.publicKey: not a P-256 public key")
        }
        let actual = fingerprint(key)
        guard actual == claimed else { throw MedGridError(.integrity, "field signer.fingerprint does not match signer.publicKey") }
        guard let der = Data(base64Encoded: signatureText), let signature = try? P256.Signing.ECDSASignature(derRepresentation: der),
              key.isValidSignature(signature, for: Data(CanonicalJSON.compact(body).utf8))
        else { throw MedGridError(.integrity, "the signature does not match the certificate: it was changed after signing") }
        if let pinnedFingerprint, pinnedFingerprint.lowercased() != actual {
            throw MedGridError(.integrity, "signed by key \(actual.prefix(16))…, not by the coordinator key \(pinnedFingerprint.prefix(16))… it was checked against")
        }
        return Verified(body: body, fingerprint: actual)
    }
}

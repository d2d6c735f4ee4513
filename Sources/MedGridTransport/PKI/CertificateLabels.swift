import Foundation
import MedGridCore
public import SwiftASN1
public import X509

/// Placement labels carried inside a certificate, signed by the CA: `site=A` on a worker's certificate says that the
/// worker belongs to site A, and no flag the worker passes can say otherwise.
///
/// They travel in a non-critical X.509 extension of MedGrid's own:
///
/// ```
/// medgridLabels EXTENSION ::= { OID 1.3.6.1.4.1.32473.7733.1, non-critical }
/// MedGridLabels ::= SEQUENCE SIZE (1..16) OF SEQUENCE { key UTF8String, value UTF8String }  -- sorted by key, keys unique
/// ```
///
/// The OID sits under enterprise number 32473, which RFC 5612 reserves for documentation and IANA will never assign
/// to anyone, so it cannot clash with another organisation's extension (the `2.25.<UUID>` arc would be the usual
/// choice, but its 128-bit arc does not fit swift-asn1's 64-bit OID components). Once MedGrid has its own enterprise
/// number, change ``extensionOID`` and reissue the labelled certificates. The extension is non-critical so that
/// other TLS stacks (BoringSSL on the client side, `openssl x509`) still accept the certificate; MedGrid itself
/// refuses a certificate whose label extension is malformed rather than reading it as "no labels".
public enum CertificateLabels {
    /// `1.3.6.1.4.1.32473.7733.1`: MedGrid's label extension.
    public static let extensionOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 32473, 7733, 1]

    /// At most this many labels in one certificate.
    public static let maximumCount = 16

    /// Keys: 1–63 characters of a–z, 0–9, '.', '_', '-' and '/', starting with a letter or digit (`site`,
    /// `medgrid.org/site`). Values: 1–63 characters of A–Z, a–z, 0–9, '.', '_' and '-'.
    public static func check(_ labels: [String: String]) throws {
        guard labels.count <= maximumCount else {
            throw MedGridError(.invalidInput, "a certificate holds at most \(maximumCount) labels (got \(labels.count))")
        }
        let keyCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789._-/")
        let valueCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let alphanumeric = Set("abcdefghijklmnopqrstuvwxyz0123456789")
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            guard (1...63).contains(key.count), key.allSatisfy(keyCharacters.contains),
                let first = key.first, alphanumeric.contains(first)
            else {
                throw MedGridError(
                    .invalidInput,
                    "label key \"\(key)\": expected 1–63 characters of a–z, 0–9, '.', '_', '-' and '/', starting with a letter or digit"
                )
            }
            guard (1...63).contains(value.count), value.allSatisfy(valueCharacters.contains) else {
                throw MedGridError(
                    .invalidInput,
                    "label \(key)=\"\(value)\": expected a value of 1–63 characters of A–Z, a–z, 0–9, '.', '_' and '-'"
                )
            }
        }
    }

    /// Parses `key=value` arguments (as `--label site=A` gives them); a key given twice is an error.
    public static func parse(_ arguments: [String]) throws -> [String: String] {
        var labels: [String: String] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else {
                throw MedGridError(.invalidInput, "--label \(argument): expected key=value, e.g. site=A")
            }
            let key = String(argument[..<equals])
            let value = String(argument[argument.index(after: equals)...])
            guard labels[key] == nil else {
                throw MedGridError(.invalidInput, "--label \(argument): the key \(key) is given twice")
            }
            labels[key] = value
        }
        try check(labels)
        return labels
    }

    /// The extension holding `labels` (checked first).
    public static func certificateExtension(_ labels: [String: String]) throws -> Certificate.Extension {
        try check(labels)
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { sequence in
            for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
                try sequence.appendConstructedNode(identifier: .sequence) { pair in
                    try pair.serialize(ASN1UTF8String(key))
                    try pair.serialize(ASN1UTF8String(value))
                }
            }
        }
        return Certificate.Extension(oid: extensionOID, critical: false, value: serializer.serializedBytes[...])
    }

    /// The labels in a certificate; empty when it has no label extension. Throws when the extension is there but
    /// malformed (bad DER, a duplicate key, a key or value MedGrid would not issue).
    public static func labels(in certificate: Certificate) throws -> [String: String] {
        guard let ext = certificate.extensions[oid: extensionOID] else { return [:] }
        return try decode(ext.value)
    }

    /// Decodes the extension's value (`MedGridLabels`).
    static func decode(_ value: ArraySlice<UInt8>) throws -> [String: String] {
        let root: ASN1Node
        do {
            root = try DER.parse(value)
        } catch {
            throw MedGridError(.invalidInput, "the MedGrid label extension is not valid DER", cause: error)
        }
        let pairs: [(String, String)]
        do {
            pairs = try DER.sequence(root, identifier: .sequence) { elements in
                var found: [(String, String)] = []
                while let element = elements.next() {
                    found.append(
                        try DER.sequence(element, identifier: .sequence) { pair in
                            let key = try ASN1UTF8String(derEncoded: &pair)
                            let value = try ASN1UTF8String(derEncoded: &pair)
                            return (String(key), String(value))
                        }
                    )
                }
                return found
            }
        } catch {
            throw MedGridError(
                .invalidInput,
                "the MedGrid label extension is malformed (expected SEQUENCE OF SEQUENCE { key UTF8String, value UTF8String })",
                cause: error
            )
        }
        var labels: [String: String] = [:]
        for (key, value) in pairs {
            guard labels[key] == nil else {
                throw MedGridError(.invalidInput, "the MedGrid label extension names the key \(key) twice")
            }
            labels[key] = value
        }
        try check(labels)
        return labels
    }
}

/// Certificate serial numbers as MedGrid writes them: lower-case hex without separators
/// (`4a1f…`, 32 digits for MedGrid's 16-byte serials), the form the deny-list and ``PeerIdentity/serial`` use.
public enum CertificateSerial {
    /// The serial's hex form, leading zero bytes dropped (as OpenSSL prints it).
    public static func hex(_ serial: Certificate.SerialNumber) -> String {
        var bytes = ArraySlice(serial.bytes)
        while bytes.count > 1, bytes.first == 0 { bytes = bytes.dropFirst() }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The serial of a DER-encoded certificate, in ``hex(_:)`` form.
    public static func serial(fromDER bytes: [UInt8]) throws -> String {
        do {
            return hex(try Certificate(derEncoded: bytes).serialNumber)
        } catch {
            throw MedGridError(.invalidInput, "not a valid DER-encoded X.509 certificate", cause: error)
        }
    }

    /// Normalises a serial someone typed or copied: `4A:1F:…`, `4a1f…`, `0x4A1F…`, with or without colons, spaces
    /// or leading zero bytes. Throws when it is not 1–40 bytes of hex.
    public static func normalize(_ text: String) throws -> String {
        var digits = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if digits.hasPrefix("0x") { digits.removeFirst(2) }
        digits.removeAll { $0 == ":" || $0 == " " || $0 == "-" }
        let hexDigits = Set("0123456789abcdef")
        guard !digits.isEmpty, digits.count <= 80, digits.allSatisfy(hexDigits.contains) else {
            throw MedGridError(
                .invalidInput,
                "\"\(text)\" is not a certificate serial number (expected hex digits, e.g. 4a:1f:… as medgrid tls cert info shows it)"
            )
        }
        if digits.count % 2 == 1 { digits = "0" + digits }
        while digits.count > 2, digits.hasPrefix("00") { digits.removeFirst(2) }
        return digits
    }
}

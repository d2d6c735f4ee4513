import Crypto
import Foundation

/// Checks on the names that become paths in the blob store and the cache. Nothing builds a path from a
/// hash or file name that has not passed these checks.
package enum BlobName {
    /// True for exactly 64 lower-case hexadecimal characters.
    package static func isSHA256(_ string: String) -> Bool {
        let utf8 = string.utf8
        return utf8.count == 64 && utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// True for a single path component: not empty, not `.` or `..`, no `/` or NUL, at most 255 bytes.
    package static func isFileName(_ string: String) -> Bool {
        let utf8 = string.utf8
        guard !utf8.isEmpty, utf8.count <= 255, string != ".", string != ".." else { return false }
        return !utf8.contains(0x2F) && !utf8.contains(0)
    }

    static func requireSHA256(_ string: String) throws {
        guard isSHA256(string) else {
            throw DataPlaneError(.invalidInput, "\(shown(string)) is not a SHA-256 (64 lower-case hex digits)")
        }
    }

    static func requireFileName(_ string: String) throws {
        guard isFileName(string) else {
            throw DataPlaneError(
                .invalidInput, "\(shown(string)) is not a file name (one path component, not '.' or '..')")
        }
    }

    /// A bounded, quoted rendering of untrusted input for error messages.
    static func shown(_ string: String) -> String {
        let cut = string.count > 80 ? String(string.prefix(80)) + "…" : string
        return "\"\(cut.debugDescription.dropFirst().dropLast())\""
    }
}

extension SHA256.Digest {
    /// Lower-case hex, the form used for blob names.
    var lowercaseHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

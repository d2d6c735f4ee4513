import Foundation
import MedGridCore
import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns the names a person types (`grid.example.org`, `10.0.0.5`, `::1`) into X.509 subject alternative names,
/// and back.
enum SubjectAlternativeNameParser {
    /// IPv4 and IPv6 literals become IP-address names (brackets around IPv6 are allowed); anything else a DNS name.
    static func generalNames(_ names: [String]) throws -> [GeneralName] {
        var result: [GeneralName] = []
        for raw in names {
            let name = raw.trimmingCharacters(in: .whitespaces)
            let generalName: GeneralName
            if let address = ipAddressBytes(name) {
                generalName = .ipAddress(ASN1OctetString(contentBytes: address[...]))
            } else {
                try checkDNSName(name)
                generalName = .dnsName(name.lowercased())
            }
            if !result.contains(generalName) {
                result.append(generalName)
            }
        }
        return result
    }

    /// The 4 or 16 bytes of an IP literal, or nil when `text` is not one.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var literal = text
        if literal.hasPrefix("["), literal.hasSuffix("]") {
            literal = String(literal.dropFirst().dropLast())
        }
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, literal, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, literal, &v6) == 1 { return v6 }
        return nil
    }

    /// A DNS name: labels of letters, digits and '-', separated by dots; a leading `*.` wildcard is allowed.
    static func checkDNSName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
        var labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if labels.first == "*", labels.count > 2 { labels.removeFirst() }
        let valid = !name.isEmpty && name.utf8.count <= 253
            && labels.allSatisfy { !$0.isEmpty && $0.count <= 63 && $0.allSatisfy(allowed.contains) && !$0.hasPrefix("-") }
        guard valid else {
            throw MedGridError(
                .invalidInput,
                "subject alternative name \"\(name)\" is neither an IP address nor a DNS name"
            )
        }
    }

    /// How a name reads in `medgrid tls cert info`: `DNS:host`, `IP:10.0.0.5`.
    static func text(_ name: GeneralName) -> String {
        switch name {
        case .dnsName(let dns):
            return "DNS:\(dns)"
        case .ipAddress(let octets):
            return "IP:\(ipAddressText(Array(octets.bytes)))"
        case .rfc822Name(let email):
            return "email:\(email)"
        case .uniformResourceIdentifier(let uri):
            return "URI:\(uri)"
        default:
            return String(describing: name)
        }
    }

    /// An IP address's usual text form.
    static func ipAddressText(_ bytes: [UInt8]) -> String {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
        }
        var buffer = [CChar](repeating: 0, count: 64)
        let ok = bytes.withUnsafeBytes { address in
            inet_ntop(family, address.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        return ok ? String(cString: buffer) : bytes.map { String($0) }.joined(separator: ".")
    }
}

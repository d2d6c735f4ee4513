public import Foundation
import Crypto

/// The canonical text form of a ``JSONValue``: keys sorted by their UTF-8 bytes, two-space indentation,
/// integers without a fraction, doubles in Swift's shortest round-trip form (`0.1`, `1e-05`), no trailing
/// spaces, a final newline. Two equal values always give the same bytes, which is what makes reports
/// comparable byte for byte.
public enum CanonicalJSON {
    /// Pretty canonical text (for reports and files).
    public static func encode(_ value: JSONValue) -> String {
        var out = ""
        write(value, indent: 0, pretty: true, into: &out)
        out.append("\n")
        return out
    }

    /// Compact canonical text on one line (for hashing and line protocols).
    public static func compact(_ value: JSONValue) -> String {
        var out = ""
        write(value, indent: 0, pretty: false, into: &out)
        return out
    }

    /// SHA-256 of the compact canonical form, in lower-case hex.
    public static func sha256(_ value: JSONValue) -> String {
        SHA256.hash(data: Data(compact(value).utf8)).hexString
    }

    static func write(_ value: JSONValue, indent: Int, pretty: Bool, into out: inout String) {
        switch value {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): out.append(String(i))
        case .double(let d): out.append(format(d))
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            if a.isEmpty { out.append("[]"); return }
            out.append("[")
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(",") }
                if pretty { newline(indent + 1, into: &out) }
                write(element, indent: indent + 1, pretty: pretty, into: &out)
            }
            if pretty { newline(indent, into: &out) }
            out.append("]")
        case .object(let o):
            if o.isEmpty { out.append("{}"); return }
            out.append("{")
            let keys = o.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(",") }
                if pretty { newline(indent + 1, into: &out) }
                writeString(key, into: &out)
                out.append(pretty ? ": " : ":")
                write(o[key]!, indent: indent + 1, pretty: pretty, into: &out)
            }
            if pretty { newline(indent, into: &out) }
            out.append("}")
        }
    }

    /// Shortest round-trip decimal text of a double; `null` for values JSON cannot hold.
    public static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == 0 { return "0.0" }
        return "\(d)"
    }

    private static func newline(_ indent: Int, into out: inout String) {
        out.append("\n")
        out.append(String(repeating: "  ", count: indent))
    }

    private static func writeString(_ s: String, into out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            default:
                if scalar.value < 0x20 {
                    out.append("\\u")
                    let hex = String(scalar.value, radix: 16)
                    out.append(String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal text.
    public var hexString: String {
        var s = ""
        for byte in self {
            s.append(Character(Unicode.Scalar(hexDigits[Int(byte >> 4)])))
            s.append(Character(Unicode.Scalar(hexDigits[Int(byte & 0x0f)])))
        }
        return s
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

import Foundation

/// A strict RFC 8259 JSON parser straight into ``JSONValue``, over UTF-8 bytes. Integers that fit in `Int`
/// stay integers; other numbers become doubles. Errors name the byte offset. Nesting is limited to 512
/// levels so hostile input cannot exhaust the stack.
struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    var depth = 0

    struct Failure: Error, CustomStringConvertible {
        var offset: Int
        var message: String
        var description: String { "byte \(offset): \(message)" }
    }

    static func parse(_ data: Data) throws -> JSONValue {
        var p = JSONParser(bytes: Array(data))
        if p.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.i = 3 }
        p.skipSpace()
        let v = try p.value()
        p.skipSpace()
        guard p.i == p.bytes.count else { throw Failure(offset: p.i, message: "unexpected text after the JSON value") }
        return v
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value() throws -> JSONValue {
        guard i < bytes.count else { throw Failure(offset: i, message: "unexpected end of input (expected a value)") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw Failure(offset: i, message: "unexpected character '\(Character(Unicode.Scalar(bytes[i])))' (expected a value)")
        }
    }

    mutating func literal(_ word: String) throws {
        let n = word.utf8.count
        guard i + n <= bytes.count, bytes[i..<i + n].elementsEqual(word.utf8) else {
            throw Failure(offset: i, message: "invalid literal (expected \(word))")
        }
        i += n
    }

    mutating func enter() throws {
        depth += 1
        if depth > 512 { throw Failure(offset: i, message: "nesting deeper than 512 levels") }
    }

    mutating func object() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var out: [String: JSONValue] = [:]
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Failure(offset: i, message: "expected a quoted key") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Failure(offset: i, message: "expected ':' after a key") }
            i += 1
            skipSpace()
            out[key] = try value()
            skipSpace()
            guard i < bytes.count else { throw Failure(offset: i, message: "unexpected end of input in an object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
            throw Failure(offset: i, message: "expected ',' or '}' in an object")
        }
    }

    mutating func array() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
        while true {
            skipSpace()
            out.append(try value())
            skipSpace()
            guard i < bytes.count else { throw Failure(offset: i, message: "unexpected end of input in a list") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
            throw Failure(offset: i, message: "expected ',' or ']' in a list")
        }
    }

    mutating func string() throws -> String {
        let start = i
        i += 1
        var plainStart = i
        var out: [UInt8] = []
        var escaped = false
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let s: String
                if escaped {
                    out.append(contentsOf: bytes[plainStart..<i])
                    s = String(decoding: out, as: UTF8.self)
                } else {
                    s = String(decoding: bytes[plainStart..<i], as: UTF8.self)
                }
                i += 1
                return s
            }
            if c < 0x20 { throw Failure(offset: i, message: "control character in a string") }
            if c == UInt8(ascii: "\\") {
                escaped = true
                out.append(contentsOf: bytes[plainStart..<i])
                i += 1
                guard i < bytes.count else { break }
                switch bytes[i] {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(at: i + 1)
                    i += 4
                    if (0xD800...0xDBFF).contains(scalar), i + 6 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u") {
                        let low = try hex4(at: i + 3)
                        if (0xDC00...0xDFFF).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        }
                    }
                    let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw Failure(offset: i, message: "invalid escape in a string")
                }
                i += 1
                plainStart = i
                continue
            }
            i += 1
        }
        throw Failure(offset: start, message: "unterminated string")
    }

    func hex4(at j: Int) throws -> UInt32 {
        guard j + 4 <= bytes.count else { throw Failure(offset: j, message: "truncated \\u escape") }
        var v: UInt32 = 0
        for k in j..<j + 4 {
            let c = bytes[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw Failure(offset: k, message: "invalid hex digit in a \\u escape")
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    mutating func number() throws -> JSONValue {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        func digits() -> Int {
            let s = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            return i - s
        }
        guard digits() > 0 else { throw Failure(offset: i, message: "expected digits in a number") }
        var isInteger = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard digits() > 0 else { throw Failure(offset: i, message: "expected digits after '.'") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw Failure(offset: i, message: "expected digits in an exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if isInteger, let v = Int(text) { return .int(v) }
        guard let d = Double(text) else { throw Failure(offset: start, message: "number out of range") }
        return .double(d)
    }
}

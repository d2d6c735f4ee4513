import Foundation

// Shared helpers for MedGridKernelTests: fixture locations, temporary folders, a seeded generator,
// tolerance comparisons and a small exact JSON reader for the reference files.

/// The `Reference` folder copied into the test bundle (`resources: [.copy("Reference")]`).
enum Reference {
    static var root: URL {
        Bundle.module.url(forResource: "Reference", withExtension: nil)!
    }

    /// A file under `Reference/`, e.g. `stats/expected.json`.
    static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    static func json(_ relativePath: String) throws -> RefJSON {
        try RefJSON.parse(data(relativePath))
    }
}

/// A fresh folder under the system temporary directory. Call ``remove()`` (usually in a `defer`).
struct TemporaryDirectory {
    let url: URL

    init(_ prefix: String = "medgrid-kernel-tests") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes `data` to `name` inside the folder and returns its URL.
    @discardableResult
    func write(_ data: Data, to name: String) throws -> URL {
        let target = file(name)
        try data.write(to: target)
        return target
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// xorshift64* (Vigna 2016): a tiny deterministic generator, so fuzzing and shuffles repeat exactly.
struct TestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in `0..<n` (n > 0); the tiny modulo bias does not matter here.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 32) }
}

/// `a` and `b` agree to a relative tolerance: |a - b| <= tolerance * max(|a|, |b|) (exact equality always passes).
func isClose(_ a: Double, _ b: Double, relative tolerance: Double) -> Bool {
    if a == b { return true }
    return abs(a - b) <= tolerance * max(abs(a), abs(b))
}

/// `a` and `b` agree to an absolute tolerance: |a - b| <= tolerance.
func isClose(_ a: Double, _ b: Double, absolute tolerance: Double) -> Bool {
    abs(a - b) <= tolerance
}

/// The same Float, bit for bit, or both NaN (NaN payloads are not compared).
func sameFloat(_ a: Float, _ b: Float) -> Bool {
    (a.isNaN && b.isNaN) || a.bitPattern == b.bitPattern
}

/// A JSON document read exactly: numbers are converted with `Double(String)` (correctly rounded), so the
/// reference files' decimals become exactly the doubles Python wrote, independent of Foundation's parser.
enum RefJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RefJSON])
    case object([String: RefJSON])

    struct ParseError: Error, CustomStringConvertible {
        var offset: Int
        var message: String
        var description: String { "JSON byte \(offset): \(message)" }
    }

    subscript(key: String) -> RefJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    subscript(index: Int) -> RefJSON? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    var double: Double? {
        if case .number(let d) = self { return d }
        return nil
    }

    var int: Int? {
        if case .number(let d) = self, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        return nil
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var array: [RefJSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var object: [String: RefJSON]? {
        if case .object(let o) = self { return o }
        return nil
    }

    var isNull: Bool { self == .null }

    var doubles: [Double]? { array.map { $0.compactMap(\.double) } }

    static func parse(_ data: Data) throws -> RefJSON {
        var parser = Parser(bytes: [UInt8](data))
        parser.skipSpace()
        let value = try parser.value()
        parser.skipSpace()
        guard parser.at == parser.bytes.count else { throw ParseError(offset: parser.at, message: "trailing characters") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var at = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        func fail(_ message: String) -> ParseError { ParseError(offset: at, message: message) }

        mutating func expect(_ literal: String) throws {
            let l = Array(literal.utf8)
            guard at + l.count <= bytes.count, Array(bytes[at..<at + l.count]) == l else { throw fail("expected \(literal)") }
            at += l.count
        }

        mutating func value() throws -> RefJSON {
            guard at < bytes.count else { throw fail("unexpected end") }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var out: [String: RefJSON] = [:]
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(out) }
                while true {
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    out[key] = try value()
                    skipSpace()
                    guard at < bytes.count else { throw fail("unterminated object") }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                    try expect("}")
                    return .object(out)
                }
            case UInt8(ascii: "["):
                at += 1
                var out: [RefJSON] = []
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(out) }
                while true {
                    skipSpace()
                    out.append(try value())
                    skipSpace()
                    guard at < bytes.count else { throw fail("unterminated array") }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                    try expect("]")
                    return .array(out)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default:
                let start = at
                while at < bytes.count, "+-0123456789.eE".utf8.contains(bytes[at]) { at += 1 }
                let text = String(decoding: bytes[start..<at], as: UTF8.self)
                guard !text.isEmpty, let d = Double(text) else { throw ParseError(offset: start, message: "bad number \(text)") }
                return .number(d)
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard at + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16)
            else { throw fail("bad \\u escape") }
            at += 4
            return v
        }

        mutating func string() throws -> String {
            at += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard at < bytes.count else { throw fail("unterminated string") }
                let c = bytes[at]
                at += 1
                if c == UInt8(ascii: "\"") { break }
                guard c == UInt8(ascii: "\\") else { out.append(c); continue }
                guard at < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[at]
                at += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        try expect("\\u")
                        let low = try hex4()
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("bad code point") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: out.append(e)  // \" \\ \/
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}

public import Foundation

/// A JSON document as a value: what kernels return, what parameters hold, what reports are made of.
///
/// Numbers keep the difference between integers and doubles so that canonical output
/// (see ``CanonicalJSON``) is stable: an `Int` prints without a fraction, a `Double` prints in Swift's
/// shortest round-trip form.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// A short name of the value's JSON type, for error messages ("a string", "an integer", ...).
    public var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }

    /// A double from a finite value, `null` for NaN and infinities (JSON has no such numbers).
    public static func number(_ d: Double) -> JSONValue {
        d.isFinite ? .double(d) : .null
    }

    public static func number(_ d: Double?) -> JSONValue {
        d.map { number($0) } ?? .null
    }
}

extension JSONValue: Codable {
    /// With this key set to true in an encoder's or decoder's `userInfo`, a JSON value is coded as one
    /// string holding its canonical JSON text. Foundation's JSON coders do not keep a whole-number double
    /// apart from an integer (1.0 is written `1`, and `1.0` is read as an Int), so a value stored and read
    /// back through them could come back as another value with other canonical bytes; this keeps it exact.
    public static let codedAsCanonicalText = CodingUserInfoKey(rawValue: "medgrid.jsonValueAsCanonicalText")!

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if decoder.userInfo[Self.codedAsCanonicalText] as? Bool == true {
            let text = try c.decode(String.self)
            self = try JSONValue(parsing: Data(text.utf8))
            return
        }
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if encoder.userInfo[Self.codedAsCanonicalText] as? Bool == true {
            try c.encode(CanonicalJSON.compact(self))
            return
        }
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): if d.isFinite { try c.encode(d) } else { try c.encodeNil() }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// Converts any `Encodable` value through JSONEncoder.
    public init(encoding value: some Encodable) throws {
        let data = try JSONEncoder().encode(value)
        self = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Decodes a `Decodable` type from this value.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(CanonicalJSON.encode(self).utf8))
    }

    /// Parses JSON text (RFC 8259); errors name the byte offset.
    public init(parsing data: Data) throws {
        self = try JSONParser.parse(data)
    }
}

public import MedGridCore
import Foundation

/// A small JSON Schema (draft 2020-12) validator over ``JSONValue``, for checking manifests against
/// `Jobs/manifest.schema.json` in tests.
///
/// It supports the keywords that schema uses: `type` (with `integer` distinct from `number`), `const`,
/// `enum`, `properties`, `required`, `additionalProperties` (`false` or a schema), `items`, `minItems`,
/// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `pattern`, `oneOf`, `anyOf`, `allOf`,
/// `not`, `if`/`then`/`else` and `$ref` to a JSON pointer in the same document (`#/$defs/...`).
/// Annotations (`$schema`, `$id`, `title`, `description`, `$defs`, ...) are ignored. Any other keyword is
/// reported as an error rather than silently skipped, so the schema cannot outgrow the validator unnoticed.
///
/// As in JSON Schema, a number with no fractional part (`2.0`) counts as an integer, and `1` equals `1.0`
/// for `const` and `enum`.
public struct JSONSchemaValidator: Sendable {
    public let schema: JSONValue

    public init(schema: JSONValue) {
        self.schema = schema
    }

    /// Every way `instance` breaks the schema, each as `"<JSON pointer>: <problem>"`; empty when it is valid.
    public func validate(_ instance: JSONValue) -> [String] {
        var errors: [String] = []
        check(instance, against: schema, at: "", depth: 0, into: &errors)
        return errors
    }

    // MARK: - Keywords

    static let annotations: Set<String> = [
        "$schema", "$id", "$comment", "$defs", "definitions", "title", "description", "default", "examples",
        "deprecated", "readOnly", "writeOnly", "format",
    ]
    static let assertions: Set<String> = [
        "$ref", "type", "const", "enum", "properties", "required", "additionalProperties", "items", "minItems",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern", "oneOf", "anyOf", "allOf", "not",
        "if", "then", "else",
    ]

    /// Recursion limit for `$ref` chains that do not descend into the instance.
    static let maxDepth = 500

    private func check(_ instance: JSONValue, against schema: JSONValue, at path: String, depth: Int, into errors: inout [String]) {
        func fail(_ message: String) {
            errors.append("\(path.isEmpty ? "(root)" : path): \(message)")
        }
        guard depth < Self.maxDepth else {
            fail("schema nests deeper than \(Self.maxDepth) levels (a $ref loop?)")
            return
        }
        let keywords: [String: JSONValue]
        switch schema {
        case .bool(true): return
        case .bool(false):
            fail("no value is allowed here")
            return
        case .object(let o): keywords = o
        default:
            fail("invalid schema: found \(schema.typeDescription), expected a mapping or a boolean")
            return
        }

        for key in keywords.keys.sorted() where !Self.annotations.contains(key) && !Self.assertions.contains(key) {
            fail("unsupported schema keyword \(key)")
        }

        if let ref = keywords["$ref"] {
            if let target = ref.stringValue.flatMap({ resolve($0) }) {
                check(instance, against: target, at: path, depth: depth + 1, into: &errors)
            } else {
                fail("cannot resolve $ref \(CanonicalJSON.compact(ref)) (expected \"#/$defs/<name>\")")
            }
        }

        if let type = keywords["type"] {
            let names = type.arrayValue?.compactMap(\.stringValue) ?? type.stringValue.map { [$0] } ?? []
            if !names.contains(where: { Self.instance(instance, hasType: $0) }) {
                fail("found \(instance.typeDescription), expected \(names.map(Self.article).joined(separator: " or "))")
            }
        }

        if let c = keywords["const"], !Self.equal(instance, c) {
            fail("found \(CanonicalJSON.compact(instance)), expected \(CanonicalJSON.compact(c))")
        }

        if let e = keywords["enum"] {
            let options = e.arrayValue ?? []
            if !options.contains(where: { Self.equal(instance, $0) }) {
                fail("found \(CanonicalJSON.compact(instance)), expected one of: \(options.map(CanonicalJSON.compact).joined(separator: ", "))")
            }
        }

        checkNumber(instance, keywords, fail: { fail($0) })

        if let pattern = keywords["pattern"]?.stringValue, case .string(let s) = instance {
            do {
                let regex = try NSRegularExpression(pattern: pattern)
                if regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) == nil {
                    fail("\(CanonicalJSON.compact(instance)) does not match the pattern \(pattern)")
                }
            } catch {
                fail("invalid pattern \(pattern) in the schema: \(error)")
            }
        }

        if case .object(let object) = instance {
            checkObject(object, keywords, at: path, depth: depth, into: &errors)
        }

        if case .array(let items) = instance {
            if let min = keywords["minItems"]?.intValue, items.count < min {
                fail("has \(items.count) item\(items.count == 1 ? "" : "s"), expected at least \(min)")
            }
            if let itemSchema = keywords["items"] {
                for (i, item) in items.enumerated() {
                    check(item, against: itemSchema, at: "\(path)/\(i)", depth: depth + 1, into: &errors)
                }
            }
        }

        if let all = keywords["allOf"]?.arrayValue {
            for sub in all { check(instance, against: sub, at: path, depth: depth + 1, into: &errors) }
        }

        if let alternatives = keywords["anyOf"]?.arrayValue {
            let results = alternatives.map { errorsOf(instance, $0, path, depth) }
            if !results.contains(where: \.isEmpty) {
                fail("matches none of the \(alternatives.count) allowed forms: " + Self.summary(results))
            }
        }

        if let one = keywords["oneOf"]?.arrayValue {
            let results = one.map { errorsOf(instance, $0, path, depth) }
            let matching = results.indices.filter { results[$0].isEmpty }
            if matching.isEmpty {
                fail("matches none of the \(one.count) alternatives (expected exactly one): " + Self.summary(results))
            } else if matching.count > 1 {
                fail("matches \(matching.count) alternatives (\(matching.map { "#\($0 + 1)" }.joined(separator: ", "))), expected exactly one: "
                    + matching.map { CanonicalJSON.compact(Self.withoutAnnotations(one[$0])) }.joined(separator: " and "))
            }
        }

        if let not = keywords["not"], errorsOf(instance, not, path, depth).isEmpty {
            fail("must not match \(CanonicalJSON.compact(Self.withoutAnnotations(not)))")
        }

        if let condition = keywords["if"] {
            if errorsOf(instance, condition, path, depth).isEmpty {
                if let then = keywords["then"] { check(instance, against: then, at: path, depth: depth + 1, into: &errors) }
            } else if let otherwise = keywords["else"] {
                check(instance, against: otherwise, at: path, depth: depth + 1, into: &errors)
            }
        }
    }

    private func checkObject(
        _ object: [String: JSONValue], _ keywords: [String: JSONValue], at path: String, depth: Int, into errors: inout [String]
    ) {
        let properties = keywords["properties"]?.objectValue ?? [:]
        for key in object.keys.sorted() {
            let value = object[key]!
            let childPath = "\(path)/\(Self.escape(key))"
            if let sub = properties[key] {
                check(value, against: sub, at: childPath, depth: depth + 1, into: &errors)
            } else if let additional = keywords["additionalProperties"] {
                if additional == .bool(false) {
                    let known = properties.keys.sorted()
                    errors.append("\(childPath): unknown property \"\(key)\"" + (known.isEmpty ? "" : "; expected one of: \(known.joined(separator: ", "))"))
                } else {
                    check(value, against: additional, at: childPath, depth: depth + 1, into: &errors)
                }
            }
        }
        for case .string(let key) in keywords["required"]?.arrayValue ?? [] where object[key] == nil {
            errors.append("\(path)/\(Self.escape(key)): missing (required)")
        }
    }

    private func checkNumber(_ instance: JSONValue, _ keywords: [String: JSONValue], fail: (String) -> Void) {
        guard instance.doubleValue != nil else { return }
        let text = CanonicalJSON.compact(instance)
        if let bound = keywords["minimum"], let c = Self.compare(instance, bound), c < 0 {
            fail("found \(text), expected at least \(CanonicalJSON.compact(bound))")
        }
        if let bound = keywords["maximum"], let c = Self.compare(instance, bound), c > 0 {
            fail("found \(text), expected at most \(CanonicalJSON.compact(bound))")
        }
        if let bound = keywords["exclusiveMinimum"], let c = Self.compare(instance, bound), c <= 0 {
            fail("found \(text), expected more than \(CanonicalJSON.compact(bound))")
        }
        if let bound = keywords["exclusiveMaximum"], let c = Self.compare(instance, bound), c >= 0 {
            fail("found \(text), expected less than \(CanonicalJSON.compact(bound))")
        }
    }

    private func errorsOf(_ instance: JSONValue, _ schema: JSONValue, _ path: String, _ depth: Int) -> [String] {
        var errors: [String] = []
        check(instance, against: schema, at: path, depth: depth + 1, into: &errors)
        return errors
    }

    // MARK: - Helpers

    /// The schema at a same-document reference: `#` or `#/a/b` (JSON pointer, `~0`/`~1` escapes, percent-decoded).
    private func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#") else { return nil }
        let pointer = String(ref.dropFirst())
        if pointer.isEmpty { return schema }
        guard pointer.hasPrefix("/") else { return nil }
        var node = schema
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = (String(raw).removingPercentEncoding ?? String(raw))
                .replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch node {
            case .object(let o):
                guard let next = o[token] else { return nil }
                node = next
            case .array(let a):
                guard let i = Int(token), a.indices.contains(i) else { return nil }
                node = a[i]
            default:
                return nil
            }
        }
        return node
    }

    static func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func instance(_ value: JSONValue, hasType type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("number", .int), ("number", .double), ("integer", .int): return true
        case ("integer", .double(let d)): return d.isFinite && d.rounded(.towardZero) == d
        default: return false
        }
    }

    static func article(_ type: String) -> String {
        switch type {
        case "integer", "array", "object": return "an \(type)"
        case "null": return "null"
        default: return "a \(type)"
        }
    }

    /// -1, 0 or 1 comparing two numbers (integers exactly), nil if either is not a number.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int? {
        if case .int(let x) = a, case .int(let y) = b { return x < y ? -1 : (x > y ? 1 : 0) }
        guard let x = a.doubleValue, let y = b.doubleValue else { return nil }
        return x < y ? -1 : (x > y ? 1 : 0)
    }

    /// JSON equality: numbers compare by value (`1 == 1.0`), objects regardless of key order.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double): return compare(a, b) == 0
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { equal(value, $0) } ?? false }
        default: return a == b
        }
    }

    /// A subschema without its descriptions, for quoting in messages.
    static func withoutAnnotations(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, v) in o where !annotations.contains(k) { out[k] = withoutAnnotations(v) }
            return .object(out)
        case .array(let a): return .array(a.map(withoutAnnotations))
        default: return schema
        }
    }

    /// The first problem of each failed alternative, numbered.
    static func summary(_ results: [[String]]) -> String {
        results.enumerated().map { "#\($0.offset + 1) \($0.element.first ?? "matches")" }.joined(separator: "; ")
    }
}

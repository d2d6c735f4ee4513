import Foundation
import Yams

/// A YAML (or JSON) document as a tree whose every node knows its line and column, so that manifest
/// errors can point at the exact place.
struct PositionedNode: Sendable {
    enum Value: Sendable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case list([PositionedNode])
        case mapping([(key: String, keyLine: Int, keyColumn: Int, value: PositionedNode)])
    }

    var value: Value
    var line: Int
    var column: Int

    /// Parses text. Throws ``ManifestIssue`` for syntax errors, with the position the parser reports, and for
    /// anything past ``ManifestLimits``: the size, any YAML anchor or alias, the number of nodes, the depth.
    static func parse(_ text: String, file: String) throws(ManifestIssue) -> PositionedNode {
        let size = text.utf8.count
        guard size <= ManifestLimits.maximumBytes else { throw tooLarge(file: file, found: "\(size) bytes") }
        try refuseAnchorsAndAliases(text, file: file)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw issue(for: error, file: file)
        } catch {
            throw ManifestIssue(file: file, line: 1, column: 1, path: "", message: "cannot be parsed as YAML or JSON: \(error)")
        }
        guard let node else {
            throw ManifestIssue(file: file, line: 1, column: 1, path: "", message: "is empty (expected a manifest with apiVersion, kind, metadata and spec)")
        }
        var nodes = 0
        return try convert(node, file: file, depth: 0, nodes: &nodes)
    }

    /// The issue for a manifest over ``ManifestLimits/maximumBytes``; `found` says how big it is.
    static func tooLarge(file: String, found: String) -> ManifestIssue {
        ManifestIssue(file: file, line: 1, column: 1, path: "",
                      message: "is \(found), expected at most \(ManifestLimits.maximumBytes) bytes (1 MiB)")
    }

    /// Refuses YAML anchors and aliases before any document is composed, so that no alias is ever expanded.
    ///
    /// The parser scans `&` and `*` alike everywhere: as an anchor or alias indicator where a node starts,
    /// as text anywhere else (in quotes, comments, block scalars, inside plain scalars). So the text with
    /// every `&` turned into `*` gives the same events as the text itself up to its first anchor or alias,
    /// where it gives an alias instead. That copy has no anchor at all, so the parser stops at that alias
    /// as undefined, having expanded nothing, and its position is the one to report. A text without `&` has
    /// no anchor, so any alias in it is undefined in the real parse in the same way.
    private static func refuseAnchorsAndAliases(_ text: String, file: String) throws(ManifestIssue) {
        let ampersand = UInt8(ascii: "&"), star = UInt8(ascii: "*")
        guard text.utf8.contains(ampersand) else { return }
        let probe = String(decoding: text.utf8.map { $0 == ampersand ? star : $0 }, as: UTF8.self)
        do {
            _ = try Yams.compose(yaml: probe)
        } catch let error as YamlError {
            throw issue(for: error, file: file)
        } catch {
            throw ManifestIssue(file: file, line: 1, column: 1, path: "", message: "cannot be parsed as YAML or JSON: \(error)")
        }
    }

    private static func issue(for error: YamlError, file: String) -> ManifestIssue {
        switch error {
        case .composer(_, let problem, let mark, _) where problem.contains("undefined alias"):
            return ManifestIssue(file: file, line: mark.line, column: mark.column, path: "",
                                 message: "YAML anchors and aliases (&name, *name) are not allowed in manifests (one alias can stand for a huge document); expected every value written out in full")
        case .parser(_, let problem, let mark, _) where problem.contains("Maximum nesting level"),
            .scanner(_, let problem, let mark, _) where problem.contains("Maximum nesting level"):
            return deepIssue(file: file, line: mark.line, column: mark.column)
        default:
            return syntaxIssue(error, file: file)
        }
    }

    private static func deepIssue(file: String, line: Int, column: Int) -> ManifestIssue {
        ManifestIssue(file: file, line: line, column: column, path: "",
                      message: "nests deeper than \(ManifestLimits.maximumDepth) levels (expected at most \(ManifestLimits.maximumDepth) levels of lists and mappings)")
    }

    private static func syntaxIssue(_ error: YamlError, file: String) -> ManifestIssue {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let ctx = context.map { " \($0.text)" } ?? ""
            return ManifestIssue(file: file, line: mark.line, column: mark.column, path: "",
                                 message: "YAML syntax error: \(problem)\(ctx)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ManifestIssue(file: file, line: context.mark.line, column: context.mark.column, path: "",
                                 message: "duplicate key \(duplicates.joined(separator: ", ")) (expected each key once)")
        default:
            return ManifestIssue(file: file, line: 1, column: 1, path: "", message: "YAML error: \(error)")
        }
    }

    /// Converts a composed node, counting nodes into `nodes` and refusing past the node and depth limits.
    private static func convert(_ node: Node, file: String, depth: Int, nodes: inout Int) throws(ManifestIssue) -> PositionedNode {
        let line = node.mark?.line ?? 1, column = node.mark?.column ?? 1
        if depth > ManifestLimits.maximumDepth {
            throw deepIssue(file: file, line: line, column: column)
        }
        nodes += 1
        if nodes > ManifestLimits.maximumNodes {
            throw ManifestIssue(file: file, line: line, column: column, path: "",
                                message: "has more than \(ManifestLimits.maximumNodes) nodes (values, lists and mappings); expected at most \(ManifestLimits.maximumNodes)")
        }
        switch node {
        case .scalar(let s):
            return PositionedNode(value: scalarValue(s), line: line, column: column)
        case .sequence(let seq):
            var items: [PositionedNode] = []
            for item in seq { items.append(try convert(item, file: file, depth: depth + 1, nodes: &nodes)) }
            return PositionedNode(value: .list(items), line: line, column: column)
        case .mapping(let map):
            var pairs: [(key: String, keyLine: Int, keyColumn: Int, value: PositionedNode)] = []
            var seen = Set<String>()
            for (k, v) in map {
                let key = k.string ?? "\(k.any)"
                let kl = k.mark?.line ?? line, kc = k.mark?.column ?? column
                if !seen.insert(key).inserted {
                    throw ManifestIssue(file: file, line: kl, column: kc, path: key, message: "duplicate key \(key) (expected each key once)")
                }
                pairs.append((key, kl, kc, try convert(v, file: file, depth: depth + 1, nodes: &nodes)))
            }
            return PositionedNode(value: .mapping(pairs), line: line, column: column)
        case .alias:
            throw ManifestIssue(file: file, line: line, column: column, path: "",
                                message: "YAML anchors and aliases (&name, *name) are not allowed in manifests (one alias can stand for a huge document); expected every value written out in full")
        }
    }

    private static func scalarValue(_ s: Node.Scalar) -> Value {
        let text = s.string
        guard s.style == .plain || s.style == .any else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let i = Int(text) { return .int(i) }
        if let d = Double(text), d.isFinite, text.contains(where: { $0.isNumber }), !text.lowercased().contains("inf"), !text.lowercased().contains("nan") {
            return .double(d)
        }
        return .string(text)
    }

    /// The plain JSON value of this node (positions dropped).
    var json: JSONValue {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .list(let l): return .array(l.map(\.json))
        case .mapping(let m): return .object(Dictionary(m.map { ($0.key, $0.value.json) }, uniquingKeysWith: { a, _ in a }))
        }
    }

    var typeDescription: String { json.typeDescription }

    /// Short text of what was found, for error messages.
    var found: String {
        switch value {
        case .string(let s): return "\"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .list: return "a list"
        case .mapping: return "a mapping"
        default: return CanonicalJSON.compact(json)
        }
    }
}

public import MedGridCore

/// Where two JSON documents differ, as readable lines: `path: was X, now Y`. Object keys are compared in
/// sorted order and arrays by index, so the first lines name the first differences of the canonical text.
public enum JSONDifference {
    /// - Parameter path: where `old` and `new` sit in a larger document (e.g. `ranking`), put before every path.
    public static func differences(_ old: JSONValue, _ new: JSONValue, limit: Int = 20, path: String = "") -> [String] {
        var out: [String] = []
        walk(old, new, path: path, into: &out, limit: limit)
        return out
    }

    private static func walk(_ a: JSONValue, _ b: JSONValue, path: String, into out: inout [String], limit: Int) {
        guard out.count < limit, a != b else { return }
        switch (a, b) {
        case (.object(let x), .object(let y)):
            for key in Set(x.keys).union(y.keys).sorted() {
                let p = path.isEmpty ? key : "\(path).\(key)"
                switch (x[key], y[key]) {
                case (let u?, let v?): walk(u, v, path: p, into: &out, limit: limit)
                case (let u?, nil): out.append("\(p): was \(short(u)), now absent")
                case (nil, let v?): out.append("\(p): absent before, now \(short(v))")
                default: break
                }
                if out.count >= limit { return }
            }
        case (.array(let x), .array(let y)):
            for i in 0..<min(x.count, y.count) {
                walk(x[i], y[i], path: "\(path)[\(i)]", into: &out, limit: limit)
                if out.count >= limit { return }
            }
            if x.count != y.count { out.append("\(path): \(x.count) items before, \(y.count) now") }
        default:
            out.append("\(path.isEmpty ? "(document)" : path): was \(short(a)), now \(short(b))")
        }
    }

    private static func short(_ v: JSONValue) -> String {
        let text = CanonicalJSON.compact(v)
        return text.count > 80 ? String(text.prefix(77)) + "…" : text
    }
}

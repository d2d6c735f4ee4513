/// Suggests the closest known word for a misspelt one: "did you mean shard?".
public enum DidYouMean {
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        let lower = word.lowercased()
        var best: (String, Int)?
        for c in candidates {
            let d = distance(lower, c.lowercased())
            let limit = max(1, min(3, c.count / 3))
            if d <= limit, best == nil || d < best!.1 { best = (c, d) }
        }
        if let best { return best.0 }
        return candidates.first { $0.lowercased().hasPrefix(lower) && lower.count >= 3 }
    }

    /// Levenshtein distance between two strings, by Unicode scalar.
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// " (did you mean X?)" or "".
    public static func hint(for word: String, among candidates: [String]) -> String {
        suggestion(for: word, among: candidates).map { " (did you mean \($0)?)" } ?? ""
    }
}

/// Text helpers shared by ``HTMLReport`` and ``MedGridPlot``: XML/HTML escaping and locale-free,
/// fixed-decimal number formatting (so the same input gives byte-identical output on every machine).
public enum HTMLText {
    /// Escapes text for HTML/XML element content and (double- or single-quoted) attribute values:
    /// `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`, `"` → `&quot;`, `'` → `&#39;`.
    /// Characters that XML 1.0 forbids (C0 controls other than tab, LF and CR, U+FFFE, U+FFFF) are replaced by
    /// U+FFFD so the result is always well-formed.
    public static func escape(_ text: String) -> String {
        // fast path: nothing to replace (0xEF starts the UTF-8 of U+FFFE / U+FFFF, checked in the slow path)
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 || $0 == 0xEF }) {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// `value` with exactly `decimals` digits after the point (0...12), rounded half away from zero on the
    /// binary value (`(|x|·10^d).rounded()`), no exponent, no grouping, `-` only when the rounded value is
    /// non-zero. Non-finite values give `"NaN"`, `"Inf"` or `"-Inf"`. Magnitudes too large for exact integer
    /// arithmetic (≥ 9·10^15 after scaling) fall back to Swift's shortest round-trip description.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "Inf" }
        let d = min(max(decimals, 0), 12)
        var scale: Double = 1
        for _ in 0..<d { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e15 else { return "\(value)" }
        let n = UInt64(scaled)
        let unit = UInt64(scale)
        let integerPart = n / unit
        var text = (value < 0 && n != 0) ? "-" : ""
        text += String(integerPart)
        if d > 0 {
            let fraction = String(n % unit)
            text += "." + String(repeating: "0", count: d - fraction.count) + fraction
        }
        return text
    }

    /// A coordinate for SVG attributes: ``fixed(_:decimals:)`` with 2 decimals, trailing zeros (and a
    /// trailing point) removed; `-0` becomes `0`. Non-finite values become `0`.
    static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        var s = fixed(value, decimals: 2)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// A p-value for tooltips: `"p < 0.0001"` below 10⁻⁴, else `"p = "` with 4 decimals; `"p = n/a"` when NaN.
    static func pValue(_ p: Double) -> String {
        if !p.isFinite { return "p = n/a" }
        if p < 0.0001 { return "p < 0.0001" }
        return "p = " + fixed(p, decimals: 4)
    }

    /// FNV-1a (64-bit) of the UTF-8 bytes: a hash that, unlike `Hasher`, is the same in every process.
    static func fnv1a64(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// A deterministic value in [0, 1) derived from `key` (FNV-1a, then a SplitMix64 finaliser, top 53 bits).
    static func unitHash(_ key: String) -> Double {
        var z = fnv1a64(key) &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        z = z ^ (z >> 31)
        return Double(z >> 11) / 9_007_199_254_740_992.0
    }

    /// At most `limit` characters (grapheme clusters); longer text is cut and ends with "…".
    static func truncated(_ text: String, limit: Int) -> String {
        guard text.count > limit, limit > 1 else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }
}

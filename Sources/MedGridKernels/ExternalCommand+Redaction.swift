public import Foundation

extension ExternalCommand {
    /// Most lines and bytes of a stderr tail.
    public static let tailLines = 20
    public static let tailBytes = 2048

    /// What of a command's (or an executor process's) stderr may reach a report: the last 20 lines, at most
    /// 2 KiB, after ``redact(_:)``, with runs of native stack frames (`3 libswiftCore.so 0x… symbol`) folded
    /// into one line so the error above them stays in view. Site-local tasks send none of it (the worker
    /// keeps it at the site).
    public static func tail(_ data: Data) -> String {
        let redacted = redact(String(decoding: data.suffix(64 << 10), as: UTF8.self))
        var lines: [Substring] = []
        var frames = 0
        for line in redacted.split(separator: "\n", omittingEmptySubsequences: false) {
            if isStackFrame(line) { frames += 1; continue }
            if frames > 0 { lines.append(Substring("[\(frames) stack frame\(frames == 1 ? "" : "s") omitted]")); frames = 0 }
            lines.append(line)
        }
        if frames > 0 { lines.append(Substring("[\(frames) stack frame\(frames == 1 ? "" : "s") omitted]")) }
        let folded = lines.joined(separator: "\n")
        let bounded = String(decoding: Array(folded.utf8.suffix(tailBytes)), as: UTF8.self)
        return bounded.split(separator: "\n", omittingEmptySubsequences: false).suffix(tailLines).joined(separator: "\n")
    }

    /// A line of a native backtrace: frame number, image, address.
    static func isStackFrame(_ line: Substring) -> Bool {
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
        return parts.count >= 3 && parts[0].allSatisfy(\.isNumber) && parts[2].hasPrefix("0x")
    }

    /// Replaces what could be a secret with `[redacted]`:
    /// - PEM blocks, from `-----BEGIN` to the end of the matching `-----END …-----` line (to the end of the
    ///   text when it has none);
    /// - whole lines that mention `PRIVATE KEY` (any case) or hold a PEM boundary;
    /// - base64-like runs (`A–Z a–z 0–9 + / = _ -`) of 40 characters or more with a digit and a letter, and
    ///   hexadecimal runs of 32 digits or more (keys, tokens, digests).
    public static func redact(_ text: String) -> String {
        var text = text
        // PEM blocks, possibly spanning lines.
        var searchFrom = text.startIndex
        while let begin = text.range(of: "-----BEGIN", range: searchFrom..<text.endIndex) {
            var blockEnd = text.endIndex
            if let end = text.range(of: "-----END", range: begin.upperBound..<text.endIndex) {
                blockEnd = text[end.upperBound...].firstIndex(of: "\n") ?? text.endIndex
            }
            let offset = text.distance(from: text.startIndex, to: begin.lowerBound)
            text.replaceSubrange(begin.lowerBound..<blockEnd, with: "[redacted]")
            searchFrom = text.index(text.startIndex, offsetBy: offset + "[redacted]".count)
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let upper = line.uppercased()
            if upper.contains("PRIVATE KEY") || line.contains("-----BEGIN") || line.contains("-----END") { return "[redacted]" }
            return redactRuns(line)
        }
        return lines.joined(separator: "\n")
    }

    static func redactRuns(_ line: Substring) -> String {
        var out = ""
        var run = ""
        func flush() {
            if looksSecret(run) { out += "[redacted]" } else { out += run }
            run = ""
        }
        for ch in line {
            if ch.isASCII, ch.isLetter || ch.isNumber || "+/=_-".contains(ch) {
                run.append(ch)
            } else {
                flush()
                out.append(ch)
            }
        }
        flush()
        return out
    }

    static func looksSecret(_ run: String) -> Bool {
        let hasDigit = run.contains(where: \.isNumber)
        if run.count >= 32, hasDigit, run.allSatisfy(\.isHexDigit) { return true }
        return run.count >= 40 && hasDigit && run.contains(where: \.isLetter)
    }
}

public import Foundation
public import MedGridCore

/// A saved report is untrusted input: anyone can write or edit a `report.json`, and one can arrive by e-mail.
/// `medgrid verify` and `medgrid leaderboard` check it with these before they use it.
///
/// - Re-running a report must not run programs its author chose unless the reader says so:
///   ``commandSteps(of:)`` lists them and ``listing(_:)`` shows them, shell-quoted, for the refusal.
/// - Scores are taken only from a report that is what MedGrid wrote (``integrityProblems(report:file:scoresCSV:)``).
///   There is no signature, so this does not prove who computed the scores (only `medgrid verify` does, by
///   re-running); it finds a report, or a file beside it, changed after it was written without everything
///   derived from it being re-derived too.
public enum ReportTrust {
    /// One external command step that a manifest would run on this machine.
    public struct CommandStep: Sendable, Equatable {
        /// The step's (or the Benchmark algorithm's) name.
        public var step: String
        /// The program and its arguments, exactly as the manifest gives them.
        public var argv: [String]

        public init(step: String, argv: [String]) {
            self.step = step
            self.argv = argv
        }

        /// `argv` as one line that a shell reads back into the same arguments.
        public var shellLine: String { ReportTrust.shellQuoted(argv) }
    }

    /// Every external command step of a manifest (Job steps and Benchmark algorithms), in manifest order.
    public static func commandSteps(of manifest: Manifest) -> [CommandStep] {
        manifest.steps.compactMap { step in step.command.map { CommandStep(step: step.name, argv: $0) } }
    }

    /// The commands, one per line, each shell-quoted and followed by a comment naming its step, indented
    /// by two spaces (a valid shell script, so it can be read as exactly what would run).
    public static func listing(_ steps: [CommandStep]) -> String {
        steps.map { "  \($0.shellLine)    # step \(shellQuoted(argument: $0.step))" }.joined(separator: "\n")
    }

    // MARK: - Shell quoting

    /// Arguments joined by spaces, each quoted only where a POSIX shell would otherwise split or expand it.
    public static func shellQuoted(_ argv: [String]) -> String {
        argv.enumerated().map { i, a in
            // A first word with `=` would read as a variable assignment.
            i == 0 && a.contains("=") ? quoted(a) : shellQuoted(argument: a)
        }.joined(separator: " ")
    }

    /// One argument: as is when it holds only `A-Z a-z 0-9 @ % + = : , . / _ -`; in single quotes otherwise;
    /// and as `$'…'` with escapes when it holds a control, format or unusual space character (a newline, a
    /// carriage return, an ANSI escape, a right-to-left override), so nothing can hide a part of the command.
    public static func shellQuoted(argument a: String) -> String {
        if a.isEmpty { return "''" }
        if a.unicodeScalars.allSatisfy({ plainCharacters.contains($0) }) { return a }
        return quoted(a)
    }

    private static let plainCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-".unicodeScalars)

    private static func quoted(_ a: String) -> String {
        guard a.unicodeScalars.contains(where: isHidden) else {
            return "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        var out = "$'"
        for c in a.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if !isHidden(c) {
                    out.unicodeScalars.append(c)
                } else if c.value < 0x80 {
                    out += "\\x" + hex(c.value, width: 2)
                } else if c.value <= 0xFFFF {
                    out += "\\u" + hex(c.value, width: 4)
                } else {
                    out += "\\U" + hex(c.value, width: 8)
                }
            }
        }
        return out + "'"
    }

    /// Characters a terminal does not show as themselves.
    private static func isHidden(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: return true
        case .spaceSeparator: return c != " "
        default: return false
        }
    }

    private static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    // MARK: - Integrity

    /// Why a saved report is not the one MedGrid wrote, each problem naming the file and what differs;
    /// empty when it is self-consistent. Checked:
    /// - the file is exactly the canonical encoding of its own JSON (a hand edit shows as the first byte
    ///   offset where the canonical re-encoding differs);
    /// - `provenance.manifestSHA256` is the SHA-256 of the recorded `provenance.manifest`;
    /// - for a Benchmark: the `ranking` section is the one its `scores` give (the coordinator derives it from
    ///   them with the recorded ranking settings and seed), so a changed score shows;
    /// - for a Benchmark with `scoresCSV` (the `scores.csv` beside it): every line is what the scores render to.
    /// - Parameters:
    ///   - bytes: the report file's bytes.
    ///   - file: its path, for the messages.
    ///   - scoresCSV: the `scores.csv` beside it, if there is one.
    public static func integrityProblems(report bytes: Data, file: String, scoresCSV: (file: String, bytes: Data)? = nil) -> [String] {
        let report: JSONValue
        do { report = try JSONValue(parsing: bytes) } catch { return ["\(file): not JSON (\(error))"] }
        var problems: [String] = []

        let canonical = Data(CanonicalJSON.encode(report).utf8)
        if canonical != bytes {
            let a = [UInt8](bytes), b = [UInt8](canonical)
            let offset = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            let line = a.prefix(offset).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            problems.append("\(file): byte offset \(offset) (line \(line)): the file is not the canonical JSON MedGrid writes (edited after it was written?); its canonical re-encoding is \(b.count) bytes, the file \(a.count)")
        }

        let provenance = report["provenance"]
        if let recorded = provenance?["manifestSHA256"]?.stringValue, let manifest = provenance?["manifest"] {
            let actual = CanonicalJSON.sha256(manifest)
            if actual != recorded {
                problems.append("\(file): provenance.manifestSHA256 is \(recorded), but the recorded provenance.manifest hashes to \(actual) (the manifest or its hash was edited)")
            }
        } else {
            problems.append("\(file): provenance.manifestSHA256 or provenance.manifest: missing (expected the analysis manifest and its SHA-256)")
        }

        guard report["job"]?["kind"]?.stringValue == "Benchmark" else { return problems }
        guard let scores = report["scores"]?.arrayValue else {
            problems.append("\(file): scores: missing (a Benchmark report keeps every per-case score)")
            return problems
        }
        let spec = provenance?["manifest"]?["spec"]
        let derived: JSONValue
        do {
            derived = try BenchmarkRanking.analyse(
                scores: scores, metrics: spec?["metrics"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                ranking: spec?["ranking"] ?? .object([:]), seed: UInt64(clamping: provenance?["seed"]?.intValue ?? 0)).json
        } catch {
            derived = ["error": .string("\(error)")]
        }
        let recorded = report["ranking"] ?? .null
        if CanonicalJSON.compact(derived) != CanonicalJSON.compact(recorded) {
            // Read back from its text, as the recorded one was, so 2.0 and 2 do not show as a difference.
            let reread = (try? JSONValue(parsing: Data(CanonicalJSON.compact(derived).utf8))) ?? derived
            let differences = JSONDifference.differences(recorded, reread, limit: 3, path: "ranking")
            problems.append("\(file): ranking: not the ranking its scores give, so the scores or the ranking were edited after the report was written (was = recorded, now = derived from the scores): "
                + differences.joined(separator: "; "))
        }
        if let csv = scoresCSV {
            let expected = ScoresCSV.render(scores)
            if let line = ScoresCSV.firstDifferingLine(expected, String(decoding: csv.bytes, as: UTF8.self)) {
                var row = ""
                if line >= 2, line - 2 < scores.count {
                    let s = scores[line - 2]
                    row = " (scores[\(line - 2)]: algorithm \(shellQuoted(argument: s["algorithm"]?.stringValue ?? "")), metric \(shellQuoted(argument: s["metric"]?.stringValue ?? "")))"
                }
                problems.append("\(csv.file): line \(line)\(row): not what the report's scores render to; scores.csv is written from report.json, so one of the two was edited")
            }
        }
        return problems
    }
}

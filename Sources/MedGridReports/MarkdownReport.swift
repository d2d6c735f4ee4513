public import MedGridCore
import Foundation

/// Renders a canonical job report (JSON) as Markdown: provenance, outcome, per-case results,
/// aggregates and failures. Deterministic: the same report gives the same text.
public enum MarkdownReport {
    public static func render(_ report: JSONValue) -> String {
        var out: [String] = []
        let name = report["job"]?["name"]?.stringValue ?? "job"
        let kind = report["job"]?["kind"]?.stringValue ?? "Job"
        out.append("# \(kind) report: \(name)")
        out.append("")
        let status = report["status"]?.stringValue ?? "unknown"
        let s = report["summary"]
        if let cases = s?["cases"]?.intValue {
            out.append("**Status:** \(status) — \(s?["casesSucceeded"]?.intValue ?? 0) of \(cases) cases succeeded, \(s?["casesFailed"]?.intValue ?? 0) failed.")
        } else {
            out.append("**Status:** \(status) — \(s?["failedTasks"]?.intValue ?? 0) failed tasks.")
        }
        out.append("")
        out.append("## Provenance")
        out.append("")
        out.append("| what | value |")
        out.append("|---|---|")
        let p = report["provenance"]
        out.append("| manifest SHA-256 | `\(p?["manifestSHA256"]?.stringValue ?? "")` |")
        out.append("| dataset Merkle root | `\(p?["datasetRoot"]?.stringValue ?? "")` |")
        out.append("| dataset | \(p?["datasetFiles"]?.intValue ?? 0) files, \(p?["datasetBytes"]?.intValue ?? 0) bytes |")
        let kernels = p?["kernels"]?.arrayValue?.map { "\($0["name"]?.stringValue ?? "") \($0["version"]?.stringValue ?? "")" } ?? []
        out.append("| kernels | \(kernels.joined(separator: ", ")) |")
        out.append("| seed | \(p?["seed"]?.intValue ?? 0) |")
        out.append("| MedGrid | \(p?["medgridVersion"]?.stringValue ?? "") |")
        for step in p?["steps"]?.arrayValue ?? [] {
            let params = step["params"].map { CanonicalJSON.compact($0) } ?? "{}"
            out.append("| step \(step["name"]?.stringValue ?? "") | `\(escape(params))` |")
        }
        out.append("")
        if let scores = report["scores"]?.arrayValue {
            out.append(contentsOf: benchmarkTables(report, scores: scores))
        } else if let cases = report["cases"]?.arrayValue, !cases.isEmpty {
            out.append("## Per-case results")
            out.append("")
            var columns: [String] = []
            var rows: [(String, [String: String])] = []
            for c in cases {
                var flat: [String: String] = [:]
                flatten(c["results"] ?? .null, prefix: "", into: &flat)
                for k in flat.keys.sorted() where !columns.contains(k) { columns.append(k) }
                rows.append((c["case"]?.stringValue ?? "", flat))
            }
            out.append("| case | " + columns.joined(separator: " | ") + " |")
            out.append("|---|" + columns.map { _ in "---:" }.joined(separator: "|") + "|")
            for (id, flat) in rows {
                out.append("| \(escape(id)) | " + columns.map { flat[$0] ?? "" }.joined(separator: " | ") + " |")
            }
            out.append("")
        }
        if let aggregates = report["aggregates"]?.objectValue, !aggregates.isEmpty {
            out.append("## Aggregates")
            out.append("")
            for key in aggregates.keys.sorted() {
                out.append("### \(key)")
                out.append("")
                out.append("```json")
                out.append(CanonicalJSON.encode(aggregates[key]!).trimmingSuffixNewline())
                out.append("```")
                out.append("")
            }
        }
        if let failures = report["failures"]?.arrayValue, !failures.isEmpty {
            out.append("## Failed tasks")
            out.append("")
            out.append("| task | covers | kind | message |")
            out.append("|---|---|---|---|")
            for f in failures {
                out.append("| \(f["task"]?.stringValue ?? "") | \(escape(f["covers"]?.stringValue ?? "")) | \(f["kind"]?.stringValue ?? "") | \(escape(f["message"]?.stringValue ?? "")) |")
            }
            out.append("")
            for f in failures {
                if let tail = f["stderrTail"]?.stringValue, !tail.isEmpty {
                    out.append("stderr of \(f["task"]?.stringValue ?? ""):")
                    out.append("")
                    out.append("```")
                    out.append(tail)
                    out.append("```")
                    out.append("")
                }
            }
        }
        return out.joined(separator: "\n")
    }

    /// Per algorithm: each metric's mean and median over cases; then the per-case scores.
    static func benchmarkTables(_ report: JSONValue, scores: [JSONValue]) -> [String] {
        var out: [String] = []
        let metrics = report["provenance"]?["manifest"]?["spec"]?["metrics"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let algorithms = report["provenance"]?["steps"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        out.append("## Scores by algorithm (mean / median over cases)")
        out.append("")
        out.append("| algorithm | " + metrics.joined(separator: " | ") + " |")
        out.append("|---|" + metrics.map { _ in "---:" }.joined(separator: "|") + "|")
        for a in algorithms {
            let cells = metrics.map { m -> String in
                let agg = report["aggregates"]?[a]?[m]
                guard let mean = agg?["mean"]?.doubleValue, let median = agg?["median"]?.doubleValue else { return "—" }
                return "\(format(mean)) / \(format(median))"
            }
            out.append("| \(escape(a)) | " + cells.joined(separator: " | ") + " |")
        }
        out.append("")
        if let defs = report["provenance"]?["metricDefinitions"]?.objectValue, !defs.isEmpty {
            out.append("Metric definitions: " + defs.keys.sorted().map { "**\($0)**: \(escape(defs[$0]?.stringValue ?? ""))" }.joined(separator: "; ") + ".")
            out.append("")
        }
        out.append(contentsOf: rankingTables(report["ranking"]))
        out.append("## Per-case scores")
        out.append("")
        out.append("| algorithm | case | " + metrics.joined(separator: " | ") + " |")
        out.append("|---|---|" + metrics.map { _ in "---:" }.joined(separator: "|") + "|")
        var table: [(String, String, [String: String])] = []
        for s in scores {
            let a = s["algorithm"]?.stringValue ?? "", c = s["case"]?.stringValue ?? "", m = s["metric"]?.stringValue ?? ""
            let v = s["value"]?.doubleValue.map(format) ?? "—"
            if let last = table.last, last.0 == a, last.1 == c { table[table.count - 1].2[m] = v } else { table.append((a, c, [m: v])) }
        }
        for (a, c, vals) in table {
            out.append("| \(escape(a)) | \(escape(c)) | " + metrics.map { vals[$0] ?? "—" }.joined(separator: " | ") + " |")
        }
        out.append("")
        return out
    }

    /// The ranking section: consensus with bootstrap rank intervals, each metric's ranking, significant
    /// pairs, and Kendall's τ-b between schemes.
    static func rankingTables(_ ranking: JSONValue?) -> [String] {
        guard let ranking else { return [] }
        var out = ["## Ranking", ""]
        if let error = ranking["error"]?.stringValue {
            return out + ["The ranking could not be computed: \(escape(error))", ""]
        }
        out.append("Derived from the per-case scores below: \(ranking["description"]?.stringValue ?? "").")
        out.append("")
        out.append("| rank | algorithm | score | median rank | 95% rank interval | ranked first |")
        out.append("|---:|---|---:|---:|---|---:|")
        for s in ranking["consensus"]?.arrayValue ?? [] {
            let interval = s["rankLower"]?.doubleValue.map { "[\(format($0)), \(format(s["rankUpper"]?.doubleValue ?? $0))]" } ?? "—"
            let first = s["firstShare"]?.doubleValue.map { "\(format($0 * 100))%" } ?? "—"
            out.append("| \(s["rank"]?.intValue ?? 0) | \(escape(s["algorithm"]?.stringValue ?? "")) | \(s["score"]?.doubleValue.map(format) ?? "—") | \(s["medianRank"]?.doubleValue.map(format) ?? "—") | \(interval) | \(first) |")
        }
        out.append("")
        for (metric, m) in (ranking["metrics"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            out.append("### \(metric) (\(m["direction"]?.stringValue ?? "")\(m["rankedOn"] != nil ? ", ranked on the absolute value" : ""))")
            out.append("")
            out.append("\(m["ranking"]?["scoreMeaning"]?.stringValue ?? "score"): " + (m["ranking"]?["ranking"]?.arrayValue ?? []).map {
                "\($0["rank"]?.intValue ?? 0). \(escape($0["algorithm"]?.stringValue ?? "")) (\($0["score"]?.doubleValue.map(format) ?? "—"))"
            }.joined(separator: ", "))
            out.append("")
            let wins = (m["significance"]?["comparisons"]?.arrayValue ?? []).filter { $0["significant"]?.boolValue == true }
            out.append("Significantly better (one-sided Wilcoxon): " + (wins.isEmpty ? "no pair" : wins.map {
                "\(escape($0["algorithm"]?.stringValue ?? "")) > \(escape($0["opponent"]?.stringValue ?? "")) (p = \($0["adjustedPValue"]?.doubleValue.map(format) ?? "—"))"
            }.joined(separator: "; ")))
            out.append("")
            let taus = (m["schemes"]?["kendallTau"]?.arrayValue ?? []).map { t -> String in
                let names = t["schemes"]?.arrayValue?.compactMap(\.stringValue).joined(separator: " vs ") ?? ""
                return "\(names): \(t["tau"]?.doubleValue.map(format) ?? "undefined")"
            }
            if !taus.isEmpty { out.append("Kendall's τ-b between schemes: " + taus.joined(separator: "; ")); out.append("") }
        }
        return out
    }

    static func flatten(_ v: JSONValue, prefix: String, into out: inout [String: String]) {
        switch v {
        case .object(let o):
            for (k, child) in o { flatten(child, prefix: prefix.isEmpty ? k : "\(prefix).\(k)", into: &out) }
        case .double(let d):
            out[prefix] = format(d)
        case .int(let i):
            out[prefix] = String(i)
        case .null:
            out[prefix] = "—"
        case .string(let s):
            out[prefix] = escape(s)
        case .bool(let b):
            out[prefix] = b ? "true" : "false"
        case .array:
            out[prefix] = escape(CanonicalJSON.compact(v))
        }
    }

    /// Six significant digits, deterministic.
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "—" }
        if d == d.rounded() && abs(d) < 1e12 { return String(Int(d)) }
        let magnitude = d == 0 ? 0 : Int(floor(log10(abs(d))))
        let decimals = max(0, 5 - magnitude)
        let scale = pow(10.0, Double(min(decimals, 12)))
        let rounded = (d * scale).rounded() / scale
        return "\(rounded)"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

extension String {
    func trimmingSuffixNewline() -> String {
        hasSuffix("\n") ? String(dropLast()) : self
    }
}

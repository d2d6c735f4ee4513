public import MedGridCore
import Foundation

/// Every file a canonical report is rendered into, beside `report.json` (the source of truth):
/// `report.md` always; for a Benchmark also `scores.csv` (per-case scores in the long format that
/// `medgrid rank` reads) and `report.html` (self-contained, with SVG plots).
public enum ReportFiles {
    public struct File: Sendable {
        public var name: String
        public var contents: String
    }

    public static func render(_ report: JSONValue, slices: [BenchmarkHTML.Slice] = []) -> [File] {
        var files = [File(name: "report.md", contents: MarkdownReport.render(report))]
        if let scores = report["scores"]?.arrayValue {
            files.append(File(name: "scores.csv", contents: ScoresCSV.render(scores)))
            let html: String
            do { html = try BenchmarkHTML.render(report, slices: slices) } catch {
                html = HTMLReport(title: "Benchmark report", summary: "The page could not be drawn: \(error)", provenance: [], sections: []).render()
            }
            files.append(File(name: "report.html", contents: html))
        }
        return files
    }

    /// The names of the files written for a report, report.json first.
    public static func names(for report: JSONValue) -> [String] {
        ["report.json"] + render(report).map(\.name)
    }
}

/// Per-case scores as CSV: `algorithm,case,metric,value`, one row per (algorithm, case, metric), in the
/// report's order; a missing value is an empty cell. Numbers use the canonical shortest form.
public enum ScoresCSV {
    public static func render(_ scores: [JSONValue]) -> String {
        var out = "algorithm,case,metric,value\n"
        for row in scores {
            let value: String
            switch row["value"] {
            case .double(let d)?: value = d.isFinite ? CanonicalJSON.format(d) : ""
            case .int(let i)?: value = String(i)
            default: value = ""
            }
            out += [row["algorithm"]?.stringValue ?? "", row["case"]?.stringValue ?? "", row["metric"]?.stringValue ?? "", value]
                .map(field).joined(separator: ",") + "\n"
        }
        return out
    }

    /// The first line (1-based) where two CSV texts differ, or nil when they are equal.
    public static func firstDifferingLine(_ expected: String, _ actual: String) -> Int? {
        guard expected != actual else { return nil }
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = actual.split(separator: "\n", omittingEmptySubsequences: false)
        return (zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)) + 1
    }

    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

import Foundation
import MedGridCore
import Testing

@testable import MedGridCohort

/// A parsed reference CSV (numeric cells; empty cells are NaN).
struct ReferenceTable {
    var columns: [String]
    var rows: [[Double]]

    init(_ name: String) throws {
        let text = try String(contentsOf: survivalReferenceURL(name), encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        columns = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        rows = lines.map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) ?? .nan }
        }
    }

    func column(_ name: String) -> [Double] {
        let i = columns.firstIndex(of: name)!
        return rows.map { $0[i] }
    }
}

/// The lifelines/statsmodels reference values.
func survivalReference() throws -> [String: JSONValue] {
    let data = try Data(contentsOf: survivalReferenceURL("survival_reference.json"))
    return try JSONValue(parsing: data).objectValue ?? [:]
}

extension JSONValue {
    var doubles: [Double] { (arrayValue ?? []).map { $0.doubleValue ?? .nan } }
    var double: Double { doubleValue ?? .nan }
}

/// `|a − b| ≤ tol·max(1, |b|)`-style check; NaN/nil reference values must match exactly.
func close(_ a: Double, _ b: Double, rel: Double, abs absTol: Double = 0) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a == b { return true }
    return Swift.abs(a - b) <= Swift.max(rel * Swift.abs(b), absTol)
}

func rossiData() throws -> (time: [Double], event: [Bool], table: ReferenceTable) {
    let t = try ReferenceTable("rossi.csv")
    return (t.column("week"), t.column("arrest").map { $0 == 1 }, t)
}

func rossiCovariates(_ t: ReferenceTable, _ names: [String]) -> [Double] {
    let cols = names.map { t.column($0) }
    var out: [Double] = []
    for r in 0..<t.rows.count { for c in cols { out.append(c[r]) } }
    return out
}

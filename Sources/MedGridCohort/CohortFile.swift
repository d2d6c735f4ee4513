public import Foundation

/// Reads a cohort table by its file type: `.xpt` as SAS XPORT v5 (the first member), anything else as CSV.
public enum CohortFile {
    public static func isXPORT(_ url: URL) -> Bool { url.pathExtension.lowercased() == "xpt" }

    /// - Parameter name: the file's logical name when `url` is a cached copy (its extension decides the type).
    public static func read(contentsOf url: URL, name: String? = nil) throws -> CohortTable {
        guard isXPORT(name.map { URL(fileURLWithPath: $0) } ?? url) else { return try CSV.read(contentsOf: url) }
        return try SASTransport.read(contentsOf: url).cohortTable()
    }
}

extension AnalysisTable {
    /// The table as text cells: numbers in their shortest exact form (so they read back to the same
    /// `Double`), missing values empty.
    public func cohortTable() -> CohortTable {
        var rows = Array(repeating: [String](), count: rowCount)
        for c in columns {
            switch c {
            case .numeric(let v):
                for r in 0..<rowCount {
                    let x = v[r]
                    rows[r].append(x.isNaN ? "" : (x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"))
                }
            case .text(let v):
                for r in 0..<rowCount { rows[r].append(v[r] ?? "") }
            }
        }
        return CohortTable(columns: names, rows: rows)
    }
}

/// Which rows of a ``CohortTable`` a task works on.
///
/// Conventions:
/// - ``all``: every row.
/// - ``subjects(from:to:)``: every row of the subjects whose 0-based index in
///   ``CohortTable/subjectOrder(subjectColumn:)`` lies in `from..<to`, in original row order. `to` past the
///   end is clamped; `from < 0` or `to < from` is an error. A subject's rows are never split, so this is how
///   the planner shards a cohort.
/// - ``group(column:value:)``: rows whose cell in `column` equals `value` exactly (raw, case-sensitive).
public enum CohortSelection: Codable, Sendable, Hashable {
    case all
    case subjects(from: Int, to: Int)
    case group(column: String, value: String)
}

extension CohortTable {
    /// Distinct subject IDs in order of first appearance.
    ///
    /// If `subjectColumn` is absent, each row is its own subject, with ID `row-N` (N the 1-based data row).
    /// A row whose subject cell is missing (see ``missingTokens``) is likewise its own subject `row-N`.
    public func subjectOrder(subjectColumn: String = "USUBJID") -> [String] {
        guard let c = columnIndex(subjectColumn) else {
            return rows.indices.map { "row-\($0 + 1)" }
        }
        var seen = Set<String>()
        var order: [String] = []
        for (r, row) in rows.enumerated() {
            let id = Self.subjectID(row[c], rowIndex: r)
            if seen.insert(id).inserted { order.append(id) }
        }
        return order
    }

    /// The rows chosen by `s`, with the same columns. See ``CohortSelection`` for the conventions.
    ///
    /// - Throws: ``CohortError`` (file `<table>`) for an unknown column in `.group` or a bad subject range.
    public func selecting(_ s: CohortSelection, subjectColumn: String = "USUBJID") throws -> CohortTable {
        switch s {
        case .all:
            return self
        case let .subjects(from, to):
            guard from >= 0, to >= from else {
                throw CohortError(
                    file: Self.inMemoryName, code: .invalidArgument,
                    message: "subject range \(from)..<\(to) is invalid (need 0 <= from <= to)"
                )
            }
            let c = columnIndex(subjectColumn)
            var index: [String: Int] = [:]
            var kept: [[String]] = []
            for (r, row) in rows.enumerated() {
                let id = c.map { Self.subjectID(row[$0], rowIndex: r) } ?? "row-\(r + 1)"
                let k: Int
                if let known = index[id] {
                    k = known
                } else {
                    k = index.count
                    index[id] = k
                }
                if k >= from, k < to { kept.append(row) }
            }
            return CohortTable(columns: columns, rows: kept)
        case let .group(column, value):
            guard let c = columnIndex(column) else { throw missingColumnError(column) }
            return CohortTable(columns: columns, rows: rows.filter { $0[c] == value })
        }
    }

    /// The distinct raw values of `column`, sorted ascending (Swift `String` order), missing tokens included.
    ///
    /// - Throws: ``CohortError`` with code `missingColumn` if there is no such column.
    public func distinctValues(of column: String) throws -> [String] {
        guard let c = columnIndex(column) else { throw missingColumnError(column) }
        var values = Set<String>()
        for row in rows { values.insert(row[c]) }
        return values.sorted()
    }

    static func subjectID(_ cell: String, rowIndex: Int) -> String {
        isMissing(cell) ? "row-\(rowIndex + 1)" : cell
    }
}

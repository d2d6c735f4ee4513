/// An in-memory table of raw string cells, as read from a CSV file.
///
/// Conventions:
/// - `columns` holds the header names in file order; names are unique (``CSV`` enforces it).
/// - `rows` holds data rows in file order; every row has `columns.count` cells.
/// - Cells are raw: no trimming, no type conversion. Missing-value tokens are ``missingTokens``.
/// - Row numbers in messages are 1-based data rows; the header is row 0.
public struct CohortTable: Sendable, Hashable {
    /// Header names, in file order.
    public var columns: [String]
    /// Data rows, in file order; each has `columns.count` raw cells.
    public var rows: [[String]]

    /// The cell values treated as missing everywhere in MedGridCohort: the empty string, `NA` and `.`
    /// (compared exactly: no trimming, case-sensitive).
    public static let missingTokens: Set<String> = ["", "NA", "."]

    public init(columns: [String], rows: [[String]]) {
        self.columns = columns
        self.rows = rows
    }

    /// The index of the column named `name` (exact, case-sensitive match), or `nil`.
    public func columnIndex(_ name: String) -> Int? {
        columns.firstIndex(of: name)
    }

    /// Whether `cell` is one of ``missingTokens``.
    @inlinable
    public static func isMissing(_ cell: String) -> Bool {
        cell.isEmpty || cell == "NA" || cell == "."
    }

    /// The file name used in errors about tables that did not come from a file.
    static let inMemoryName = "<table>"

    /// A "column not found" error that lists the columns present.
    func missingColumnError(_ name: String, file: String = CohortTable.inMemoryName) -> CohortError {
        CohortError(
            file: file, column: name, code: .missingColumn,
            message: "column not found; columns found: \(columns.joined(separator: ", "))"
        )
    }
}

/// An error about cohort data, located as precisely as possible.
///
/// Conventions: `row` is a 1-based data-row number, with the header as row 0 (in CSV errors, a row is one
/// record, which can span several lines when a quoted field holds a newline). `byteOffset` is 0-based from the
/// start of the file, counting any byte-order mark. The description reads like
/// `trial.csv: row 12, column AVAL: the cell is not a number (…)`. Messages never quote a cell's text: it may
/// be patient data (a subject ID), and the errors of site-local tasks leave the site.
public struct CohortError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What kind of problem this is; match on it instead of on the message.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case unreadableFile = "unreadable file"
            case malformedCSV = "malformed CSV"
            case missingColumn = "missing column"
            case invalidValue = "invalid value"
            case invalidArgument = "invalid argument"
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The file could not be read, or is not UTF-8.
        public static let unreadableFile = Code(.unreadableFile)
        /// The bytes are not valid RFC 4180 CSV (unterminated quote, ragged row, duplicate header, empty file).
        public static let malformedCSV = Code(.malformedCSV)
        /// A column the operation needs is not in the table.
        public static let missingColumn = Code(.missingColumn)
        /// A cell holds a value the operation cannot use.
        public static let invalidValue = Code(.invalidValue)
        /// The caller passed an argument out of range.
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { wrapped.rawValue }
    }

    /// The file name (last path component) or ``CohortTable``'s placeholder `<table>` for in-memory tables.
    public var file: String
    /// 1-based data-row number; 0 is the header; `nil` when the error is not about one row.
    public var row: Int?
    /// 0-based byte offset into the file, where useful (CSV syntax errors).
    public var byteOffset: Int?
    /// The column concerned, if any.
    public var column: String?
    public var code: Code
    /// What went wrong, in words a person can act on.
    public var message: String

    public init(
        file: String, row: Int? = nil, byteOffset: Int? = nil, column: String? = nil,
        code: Code, message: String
    ) {
        self.file = file
        self.row = row
        self.byteOffset = byteOffset
        self.column = column
        self.code = code
        self.message = message
    }

    public var description: String {
        var location: [String] = []
        if let row { location.append(row == 0 ? "row 0 (header)" : "row \(row)") }
        if let byteOffset { location.append("byte \(byteOffset)") }
        if let column { location.append("column \(column)") }
        let prefix = location.isEmpty ? file : "\(file): \(location.joined(separator: ", "))"
        return "\(prefix): \(message)"
    }
}

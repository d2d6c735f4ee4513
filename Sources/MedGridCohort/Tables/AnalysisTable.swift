/// A typed, column-oriented analysis table: what models and ADaM helpers work on.
///
/// Conventions:
/// - Each column is either ``Column/numeric(_:)`` (`[Double]`, missing as NaN) or ``Column/text(_:)``
///   (`[String?]`, missing as `nil`). All columns have ``rowCount`` entries.
/// - Column names are unique and compared exactly (case-sensitive). Each column has a label (`""` if none;
///   SAS transport files carry labels, CSV files do not).
/// - Row numbers in errors are 1-based data rows (the CSV header is row 0), like ``CohortTable``.
/// - Built from a ``CohortTable`` (see ``init(_:schema:file:)``) or read from a SAS transport file
///   (see ``SASTransport``).
public struct AnalysisTable: Sendable {
    /// The storage of one column.
    public enum Column: Sendable {
        /// Numbers, missing as NaN.
        case numeric([Double])
        /// Text, missing as `nil`.
        case text([String?])

        /// The number of entries.
        public var count: Int {
            switch self {
            case .numeric(let v): return v.count
            case .text(let v): return v.count
            }
        }

        /// Whether the column is numeric or text.
        public var kind: ColumnKind {
            switch self {
            case .numeric: return .numeric
            case .text: return .text
            }
        }
    }

    /// The type of a column, as declared in a schema or inferred.
    public enum ColumnKind: String, Sendable, Hashable, Codable {
        case numeric, text
    }

    /// Column names, in order.
    public private(set) var names: [String]
    /// Column labels (descriptions), parallel to ``names``; `""` when none.
    public private(set) var labels: [String]
    /// Column storage, parallel to ``names``.
    public private(set) var columns: [Column]
    /// The number of data rows.
    public let rowCount: Int
    /// The source named in errors: a file's last path component, or `<table>`.
    public var source: String

    /// Builds a table from ready columns.
    ///
    /// - Throws: ``CohortError`` (`invalidArgument`) if the three arrays differ in length, a name repeats, or a
    ///   column's length differs from the first column's.
    public init(names: [String], labels: [String]? = nil, columns: [Column], source: String = "<table>") throws {
        let labels = labels ?? Array(repeating: "", count: names.count)
        guard names.count == columns.count, labels.count == names.count else {
            throw CohortError(
                file: source, code: .invalidArgument,
                message: "\(names.count) names, \(labels.count) labels and \(columns.count) columns (expected equal counts)"
            )
        }
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw CohortError(file: source, column: name, code: .invalidArgument, message: "duplicate column name")
        }
        let rows = columns.first?.count ?? 0
        for (k, column) in columns.enumerated() where column.count != rows {
            throw CohortError(
                file: source, column: names[k], code: .invalidArgument,
                message: "has \(column.count) rows but column \(names[0]) has \(rows)"
            )
        }
        self.names = names
        self.labels = labels
        self.columns = columns
        self.rowCount = rows
        self.source = source
    }

    /// The index of the column named `name`, or `nil`.
    public func columnIndex(_ name: String) -> Int? {
        names.firstIndex(of: name)
    }

    /// The kind of the column named `name`, or `nil` if there is none.
    public func kind(of name: String) -> ColumnKind? {
        columnIndex(name).map { columns[$0].kind }
    }

    /// The column named `name`.
    ///
    /// - Throws: ``CohortError`` `missingColumn`, listing the columns present.
    public func column(_ name: String) throws -> Column {
        guard let k = columnIndex(name) else { throw missingColumnError(name) }
        return columns[k]
    }

    /// The numeric column named `name`.
    ///
    /// - Throws: ``CohortError`` `missingColumn` if absent, `invalidValue` if it is a text column.
    public func numeric(_ name: String) throws -> [Double] {
        switch try column(name) {
        case .numeric(let v): return v
        case .text:
            throw CohortError(file: source, column: name, code: .invalidValue, message: "is a text column (expected numeric)")
        }
    }

    /// The column named `name` as text: text columns as they are; numeric columns formatted with Swift's
    /// shortest round-trip `description`, integers without a fraction (`2.0` → `"2"`), NaN as `nil`.
    public func textValues(_ name: String) throws -> [String?] {
        switch try column(name) {
        case .text(let v): return v
        case .numeric(let v): return v.map { Self.format($0) }
        }
    }

    /// A number as text the way ``textValues(_:)`` shows it.
    static func format(_ x: Double) -> String? {
        if x.isNaN { return nil }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return String(x)
    }

    func missingColumnError(_ name: String) -> CohortError {
        CohortError(
            file: source, column: name, code: .missingColumn,
            message: "column not found; columns found: \(names.joined(separator: ", "))"
        )
    }
}

// MARK: - From a CohortTable

extension AnalysisTable {
    /// Types the raw string cells of `table`.
    ///
    /// Conventions:
    /// - Missing cells are exactly `""`, `"NA"` and `"."` (``CohortTable/missingTokens``): NaN in numeric
    ///   columns, `nil` in text columns.
    /// - A number is a finite plain decimal: optional sign, digits with an optional `.`, optional exponent
    ///   (`12`, `-3.5`, `.5`, `1e3`); no spaces, no `inf`, `nan`, hex or thousands separators. It is converted
    ///   with correct rounding (the same `Double` as `Double(String)`).
    /// - Columns named in `schema` get that kind. Any other column is numeric if every non-missing cell is a
    ///   number (an all-missing column is numeric), otherwise text.
    /// - Labels are empty.
    ///
    /// - Throws: ``CohortError`` `missingColumn` for a schema column absent from the table; `invalidValue`
    ///   naming `file`, the 1-based data row, the column and the expected type for a cell of a declared-numeric
    ///   column that is neither missing nor a number (never the cell's text: it may be patient data, and
    ///   errors of site-local tasks leave the site); `malformedCSV` for a row of the wrong width.
    public init(_ table: CohortTable, schema: [String: ColumnKind] = [:], file: String = "<table>") throws {
        let width = table.columns.count
        for name in schema.keys.sorted() where table.columnIndex(name) == nil {
            throw CohortError(
                file: file, column: name, code: .missingColumn,
                message: "schema names a column that is not in the table; columns found: \(table.columns.joined(separator: ", "))"
            )
        }
        for (r, row) in table.rows.enumerated() where row.count != width {
            throw CohortError(
                file: file, row: r + 1, code: .malformedCSV,
                message: "has \(row.count) cells but the table has \(width) columns"
            )
        }
        let n = table.rows.count
        // One row-major pass parses every column not declared text; a column whose cell fails stops parsing
        // (declared numeric: error; inferred: becomes text).
        var numericValues = [[Double]](repeating: [], count: width)
        var parsing = [Bool](repeating: false, count: width)
        var failedRow = [Int?](repeating: nil, count: width)
        for c in 0..<width where schema[table.columns[c]] != .text {
            numericValues[c] = [Double](repeating: .nan, count: n)
            parsing[c] = true
        }
        for r in 0..<n {
            let row = table.rows[r]
            for c in 0..<width where parsing[c] {
                switch NumberParsing.parseCell(row[c]) {
                case .missing: continue
                case .number(let v): numericValues[c][r] = v
                case .invalid:
                    if schema[table.columns[c]] == .numeric {
                        throw CohortError(
                            file: file, row: r + 1, column: table.columns[c], code: .invalidValue,
                            message: "the cell is not a number (the column is declared numeric: expected a plain decimal such as 12 or -3.5, or a missing value: empty, NA or .; the cell's text is not shown, so no patient data leaves in errors)"
                        )
                    }
                    failedRow[c] = r
                    parsing[c] = false
                    numericValues[c] = []
                }
            }
        }
        var columns: [Column] = []
        columns.reserveCapacity(width)
        for c in 0..<width {
            if schema[table.columns[c]] == .text || failedRow[c] != nil {
                columns.append(.text(table.rows.map { CohortTable.isMissing($0[c]) ? nil : $0[c] }))
            } else {
                columns.append(.numeric(numericValues[c]))
            }
        }
        try self.init(names: table.columns, labels: nil, columns: columns, source: file)
    }
}

/// Allocation-free parsing of decimal text.
enum NumberParsing {
    enum Cell {
        case missing
        case number(Double)
        case invalid
    }

    /// Classifies a raw cell: a missing token, a finite plain decimal, or neither.
    @inline(__always)
    static func parseCell(_ cell: String) -> Cell {
        if let r = cell.utf8.withContiguousStorageIfAvailable({ parseCell(bytes: $0) }) { return r }
        var copy = cell
        return copy.withUTF8 { parseCell(bytes: $0) }
    }

    @inline(__always)
    static func parseCell(bytes b: UnsafeBufferPointer<UInt8>) -> Cell {
        let n = b.count
        if n == 0 { return .missing }
        if n == 1, b[0] == UInt8(ascii: ".") { return .missing }
        if n == 2, b[0] == UInt8(ascii: "N"), b[1] == UInt8(ascii: "A") { return .missing }
        if let v = parseDecimal(b) { return .number(v) }
        return .invalid
    }

    /// Exact powers of ten representable as `Double` (10^0 … 10^22).
    static let powersOfTen: [Double] = (0...22).map { k in
        var p = 1.0
        for _ in 0..<k { p *= 10 }
        return p
    }

    /// Parses a finite plain decimal (see ``AnalysisTable/init(_:schema:file:)``), correctly rounded.
    ///
    /// Fast path (Clinger): at most 15 significant digits and a decimal exponent within ±22, where
    /// `m × 10^e` or `m / 10^-e` with exact operands is correctly rounded. Otherwise falls back to
    /// `Double(String)` (strtod), which allocates only in that rare case.
    static func parseDecimal(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = b.count
        var i = 0
        var negative = false
        if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0  // significant digits taken into `mantissa` (after leading zeros)
        var dropped = false  // a nonzero digit did not fit
        var decimalShift = 0  // digits after the point taken into the mantissa
        var sawDigit = false
        var intDigitsOverflow = 0  // integer digits not taken into the mantissa
        while i < n, b[i] >= 48, b[i] <= 57 {
            sawDigit = true
            let d = UInt64(b[i] - 48)
            if significant < 19 {
                if mantissa != 0 || d != 0 {
                    mantissa = mantissa * 10 + d
                    significant += 1
                }
            } else {
                intDigitsOverflow += 1
                if d != 0 { dropped = true }
            }
            i += 1
        }
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, b[i] >= 48, b[i] <= 57 {
                sawDigit = true
                let d = UInt64(b[i] - 48)
                if significant < 19 {
                    if mantissa != 0 || d != 0 {
                        mantissa = mantissa * 10 + d
                        significant += 1
                    }
                    decimalShift += 1
                } else if d != 0 {
                    dropped = true
                }
                i += 1
            }
        }
        guard sawDigit else { return nil }
        var exponent = 0
        if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                expNegative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            var expDigits = false
            while i < n, b[i] >= 48, b[i] <= 57 {
                expDigits = true
                if exponent < 100_000 { exponent = exponent * 10 + Int(b[i] - 48) }
                i += 1
            }
            guard expDigits else { return nil }
            if expNegative { exponent = -exponent }
        }
        guard i == n else { return nil }
        let e10 = exponent - decimalShift + intDigitsOverflow
        if !dropped, significant <= 15 {
            if mantissa == 0 { return negative ? -0.0 : 0.0 }
            let m = Double(mantissa)
            if e10 >= 0, e10 <= 22 {
                let v = m * powersOfTen[e10]
                if v.isFinite { return negative ? -v : v }
            } else if e10 < 0, e10 >= -22 {
                let v = m / powersOfTen[-e10]
                return negative ? -v : v
            }
        }
        guard let v = Double(String(decoding: b, as: UTF8.self)), v.isFinite else { return nil }
        return v
    }
}

import Foundation
public import MedGridCore

/// Counts of rows left out of an analysis, by reason. Nothing is dropped silently: every row an analysis
/// does not use is counted here under exactly one reason (the first that applies, in the order the analysis
/// checks its columns).
///
/// Reason wording: `missing value in <column>`, `invalid value in <column> (<what was expected>)`.
public struct RowExclusions: Sendable, Hashable, Codable {
    /// Rows examined.
    public var rowsRead: Int
    /// Excluded-row counts keyed by reason.
    public var counts: [String: Int]

    /// Counts so far (default: nothing read).
    public init(rowsRead: Int = 0, counts: [String: Int] = [:]) {
        self.rowsRead = rowsRead
        self.counts = counts
    }

    /// Rows excluded for any reason.
    public var excluded: Int { counts.values.reduce(0, +) }
    /// Rows kept (`rowsRead - excluded`).
    public var kept: Int { rowsRead - excluded }

    /// Counts one excluded row under `reason`.
    public mutating func exclude(_ reason: String) { counts[reason, default: 0] += 1 }

    /// The reason for a missing value in `column`.
    public static func missing(_ column: String) -> String { "missing value in \(column)" }
    /// The reason for an unusable value in `column`; `expected` says what would have been accepted.
    public static func invalid(_ column: String, expected: String) -> String { "invalid value in \(column) (\(expected))" }

    /// Adds another part's counts (shards of one table).
    public mutating func merge(_ other: RowExclusions) {
        rowsRead += other.rowsRead
        for (k, v) in other.counts { counts[k, default: 0] += v }
    }

    /// `{"rows_read", "rows_kept", "rows_excluded", "by_reason": {reason: count}}`.
    public func json() -> JSONValue {
        [
            "rows_read": .int(rowsRead), "rows_kept": .int(kept), "rows_excluded": .int(excluded),
            "by_reason": .object(counts.mapValues { .int($0) }),
        ]
    }
}

/// ADaM column roles with the CDISC defaults: arm `TRT01P` (planned treatment), site `SITEID`, subject
/// `USUBJID`.
public struct ADaMRoles: Sendable, Hashable, Codable {
    public var arm: String
    public var site: String
    public var subject: String

    /// CDISC ADaM defaults unless given.
    public init(arm: String = "TRT01P", site: String = "SITEID", subject: String = "USUBJID") {
        self.arm = arm
        self.site = site
        self.subject = subject
    }

    /// The arm of each row (the arm column as text, see ``AnalysisTable/textValues(_:)``; missing is `nil`).
    ///
    /// - Throws: ``CohortError`` `missingColumn` if the table has no such column.
    public func arms(in table: AnalysisTable) throws -> [String?] { try table.textValues(arm) }

    /// The site of each row (the site column as text; missing is `nil`).
    public func sites(in table: AnalysisTable) throws -> [String?] { try table.textValues(site) }

    /// The subject ID of each row (the subject column as text; missing is `nil`).
    public func subjects(in table: AnalysisTable) throws -> [String?] { try table.textValues(subject) }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue { ["arm": .string(arm), "site": .string(site), "subject": .string(subject)] }
}

/// A binary event (outcome) indicator defined by a small expression over one column.
///
/// Grammar: `COLUMN`, `COLUMN==VALUE` or `COLUMN!=VALUE`, spaces around the parts ignored; `VALUE` may be
/// quoted with `"` or `'`. Examples: `CNSR==0` (ADaM time-to-event: censor 0 is an event), `CNSR!=1`,
/// `DTHFL==Y`, `EVENT`.
///
/// Evaluation, per row (1 = event, 0 = no event, or excluded):
/// - Bare column: the column must be numeric (or text whose cells are numbers); nonzero is an event, zero is
///   not. A non-number is excluded as `invalid value in COL (expected a number)`.
/// - `==` / `!=` on a numeric column: `VALUE` must be a number; compared numerically (`1` equals `1.0`).
/// - `==` / `!=` on a text column: compared with the cell exactly (case-sensitive).
/// - A missing cell (NaN, `nil`) is excluded as `missing value in COL`, unless ``missingIsNoMatch`` is set, in
///   which case a missing cell counts as not equal to `VALUE` (for ADaM flags that are `Y` or blank, e.g.
///   `DTHFL==Y` with blank meaning no).
public struct EventIndicator: Sendable, Hashable, Codable, CustomStringConvertible {
    /// How the cell is tested: nonzero (bare column), `==` or `!=`.
    public enum Comparison: String, Sendable, Hashable, Codable {
        case nonzero, equal = "==", notEqual = "!="
    }

    public var column: String
    public var comparison: Comparison
    /// The comparison value (empty for ``Comparison/nonzero``).
    public var value: String
    /// Treat missing cells as "not equal to the value" instead of excluding them (comparisons only).
    public var missingIsNoMatch: Bool

    /// An indicator from its parts (see ``init(parsing:missingIsNoMatch:)`` for the text form).
    public init(column: String, comparison: Comparison = .nonzero, value: String = "", missingIsNoMatch: Bool = false) {
        self.column = column
        self.comparison = comparison
        self.value = value
        self.missingIsNoMatch = missingIsNoMatch
    }

    /// Parses an expression such as `CNSR==0` (see ``EventIndicator``).
    ///
    /// - Throws: ``CohortError`` `invalidArgument` naming the expression when it is empty or malformed.
    public init(parsing expression: String, missingIsNoMatch: Bool = false) throws {
        func fail(_ why: String) -> CohortError {
            CohortError(file: "<expression>", code: .invalidArgument, message: "event expression \"\(expression)\": \(why) (expected COLUMN, COLUMN==VALUE or COLUMN!=VALUE)")
        }
        func trim(_ s: Substring) -> String {
            String(s.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        }
        var comparison = Comparison.nonzero
        var columnPart = Substring(expression)
        var valuePart: Substring = ""
        if let r = expression.range(of: "==") {
            comparison = .equal
            columnPart = expression[..<r.lowerBound]
            valuePart = expression[r.upperBound...]
        } else if let r = expression.range(of: "!=") {
            comparison = .notEqual
            columnPart = expression[..<r.lowerBound]
            valuePart = expression[r.upperBound...]
        }
        let column = trim(columnPart)
        guard !column.isEmpty else { throw fail("no column name") }
        guard !column.contains(where: { "=!<> \"'".contains($0) }) else { throw fail("unexpected character in the column name") }
        var value = trim(valuePart)
        if comparison != .nonzero {
            if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f {
                value = String(value.dropFirst().dropLast())
            } else {
                guard !value.isEmpty else { throw fail("no value after the operator") }
                guard !value.contains(where: { "=!<>\"'".contains($0) }) else { throw fail("unexpected character in the value") }
            }
        }
        self.init(column: column, comparison: comparison, value: value, missingIsNoMatch: missingIsNoMatch)
    }

    /// The expression in the grammar above.
    public var description: String {
        comparison == .nonzero ? column : "\(column)\(comparison.rawValue)\(value)"
    }

    /// Evaluates the indicator on every row: 1 event, 0 no event, `nil` excluded (the reason is counted in
    /// `exclusions` under this column's name).
    ///
    /// - Throws: ``CohortError`` `missingColumn` if the column is absent; `invalidArgument` if the value of a
    ///   comparison on a numeric column is not a number.
    public func evaluate(_ table: AnalysisTable, exclusions: inout RowExclusions) throws -> [UInt8?] {
        let column = try table.column(self.column)
        var out = [UInt8?](repeating: nil, count: table.rowCount)
        switch (column, comparison) {
        case (.numeric(let v), .nonzero):
            for r in 0..<v.count {
                if v[r].isNaN { exclusions.exclude(RowExclusions.missing(self.column)) } else { out[r] = v[r] != 0 ? 1 : 0 }
            }
        case (.text(let t), .nonzero):
            for r in 0..<t.count {
                guard let cell = t[r] else { exclusions.exclude(RowExclusions.missing(self.column)); continue }
                guard case .number(let x) = NumberParsing.parseCell(cell) else {
                    exclusions.exclude(RowExclusions.invalid(self.column, expected: "expected a number"))
                    continue
                }
                out[r] = x != 0 ? 1 : 0
            }
        case (.numeric(let v), _):
            var copy = value
            guard case .number(let target) = copy.withUTF8({ NumberParsing.parseCell(bytes: $0) }) else {
                throw CohortError(
                    file: table.source, column: self.column, code: .invalidArgument,
                    message: "event expression \"\(description)\": \(self.column) is numeric, so the value must be a number"
                )
            }
            let equalMeansEvent: UInt8 = comparison == .equal ? 1 : 0
            for r in 0..<v.count {
                if v[r].isNaN {
                    if missingIsNoMatch { out[r] = 1 - equalMeansEvent } else { exclusions.exclude(RowExclusions.missing(self.column)) }
                } else {
                    out[r] = v[r] == target ? equalMeansEvent : 1 - equalMeansEvent
                }
            }
        case (.text(let t), _):
            let equalMeansEvent: UInt8 = comparison == .equal ? 1 : 0
            for r in 0..<t.count {
                if let cell = t[r] {
                    out[r] = cell == value ? equalMeansEvent : 1 - equalMeansEvent
                } else if missingIsNoMatch {
                    out[r] = 1 - equalMeansEvent
                } else {
                    exclusions.exclude(RowExclusions.missing(self.column))
                }
            }
        }
        return out
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "expression": .string(description), "column": .string(column), "comparison": .string(comparison.rawValue),
            "value": .string(value), "missing_is_no_match": .bool(missingIsNoMatch),
        ]
    }
}

/// The numeric inputs of a model, with the rows that could not be used accounted for.
///
/// Conventions: `design` is row-major, `rowCount × covariates.count`, no intercept column (models add it);
/// `outcome` holds 0/1; `sourceRows` gives each kept row's 0-based index in the table.
public struct ModelFrame: Sendable {
    public var covariates: [String]
    public var design: [Double]
    public var outcome: [Double]
    public var sourceRows: [Int]
    public var exclusions: RowExclusions
    /// The event definition used.
    public var event: EventIndicator

    /// The number of rows.
    public var rowCount: Int { outcome.count }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "covariates": .array(covariates.map { .string($0) }), "event": event.json(), "rows": .int(rowCount),
            "exclusions": exclusions.json(),
        ]
    }
}

extension AnalysisTable {
    /// Builds a ``ModelFrame``: for each row, the event indicator then each covariate in order; the first
    /// problem excludes the row (counted once, under `missing value in COL` / `invalid value in COL (…)`).
    ///
    /// - Throws: ``CohortError`` `missingColumn` for an absent column; `invalidValue` if a covariate is a text
    ///   column (declare it numeric or encode it first).
    public func modelFrame(event: EventIndicator, covariates: [String]) throws -> ModelFrame {
        var probe = RowExclusions()
        let indicator = try event.evaluate(self, exclusions: &probe)
        var columnsData: [[Double]] = []
        for name in covariates { columnsData.append(try numeric(name)) }
        var exclusions = RowExclusions(rowsRead: rowCount)
        var design: [Double] = []
        design.reserveCapacity(rowCount * covariates.count)
        var outcome: [Double] = []
        var rows: [Int] = []
        let eventColumn = try column(event.column)
        rowLoop: for r in 0..<rowCount {
            guard let y = indicator[r] else {
                let reason: String
                switch eventColumn {
                case .numeric: reason = RowExclusions.missing(event.column)
                case .text(let t): reason = t[r] == nil ? RowExclusions.missing(event.column) : RowExclusions.invalid(event.column, expected: "expected a number")
                }
                exclusions.exclude(reason)
                continue
            }
            for (k, c) in columnsData.enumerated() where c[r].isNaN {
                exclusions.exclude(RowExclusions.missing(covariates[k]))
                continue rowLoop
            }
            for c in columnsData { design.append(c[r]) }
            outcome.append(Double(y))
            rows.append(r)
        }
        return ModelFrame(covariates: covariates, design: design, outcome: outcome, sourceRows: rows, exclusions: exclusions, event: event)
    }
}

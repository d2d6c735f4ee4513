/// One shard's half of the `cohort.summary` computation; ``CohortSummary/combine(_:)`` merges shards exactly.
///
/// Conventions:
/// - Rows are grouped by (arm, site), the raw cells of the arm and site columns (default `TRT01P`, `SITEID`).
/// - `subjects` counts distinct subject IDs in this part; `rows` counts kept rows; `events` counts rows with
///   censor value 0 and `censored` rows with censor value > 0 (ADaM `CNSR`: 0 = event, 1, 2, … = censoring
///   reasons).
/// - A row is excluded (counted once, under the first reason that applies, in this order) when its arm,
///   site, subject or censor cell is missing ("missing TRT01P", "missing SITEID", "missing USUBJID",
///   "missing CNSR"), when the censor cell is not an integer ("CNSR not an integer") or is negative
///   ("CNSR negative"). Names follow the column names actually used.
/// - Missing cells are exactly `""`, `"NA"` and `"."` (``CohortTable/missingTokens``).
/// - Every column except the key columns (``CohortSummary/keyColumns`` and the four columns named in the call)
///   gets a ``ColumnValues``: its numeric values sorted ascending (`-0` stored as `+0`), and counts of
///   non-numeric and of missing cells. A numeric cell is a finite plain decimal: optional sign, digits with an
///   optional `.`, optional exponent (`12`, `-3.5`, `.5`, `1e3`); no spaces, no `inf`, `nan` or hex.
public struct CohortSummaryPartial: Codable, Sendable, Equatable {
    /// The values of one column within one group.
    public struct ColumnValues: Codable, Sendable, Equatable {
        /// Numeric values, sorted ascending.
        public var values: [Double]
        /// Cells that are neither missing nor numeric.
        public var nonNumeric: Int
        /// Missing cells.
        public var missing: Int

        public init(values: [Double] = [], nonNumeric: Int = 0, missing: Int = 0) {
            self.values = values
            self.nonNumeric = nonNumeric
            self.missing = missing
        }
    }

    /// One (arm, site) group of this part.
    public struct Group: Codable, Sendable, Equatable {
        public var arm: String
        public var site: String
        public var subjects: Int
        public var rows: Int
        public var events: Int
        public var censored: Int
        /// Keyed by column name.
        public var columns: [String: ColumnValues]

        public init(
            arm: String, site: String, subjects: Int = 0, rows: Int = 0, events: Int = 0, censored: Int = 0,
            columns: [String: ColumnValues] = [:]
        ) {
            self.arm = arm
            self.site = site
            self.subjects = subjects
            self.rows = rows
            self.events = events
            self.censored = censored
            self.columns = columns
        }
    }

    /// Groups sorted by (arm, site).
    public var groups: [Group]
    /// Distinct subjects per arm in this part (across sites).
    public var armSubjects: [String: Int]
    /// Excluded-row counts by reason.
    public var excluded: [String: Int]
    /// Data rows read, before any filtering.
    public var rowsRead: Int
    /// Rows dropped because their `PARAMCD` is not `paramcd` (not counted as excluded).
    public var rowsOtherParamcd: Int
    /// The `PARAMCD` filter used, if any.
    public var paramcd: String?

    public init(
        groups: [Group] = [], armSubjects: [String: Int] = [:], excluded: [String: Int] = [:],
        rowsRead: Int = 0, rowsOtherParamcd: Int = 0, paramcd: String? = nil
    ) {
        self.groups = groups
        self.armSubjects = armSubjects
        self.excluded = excluded
        self.rowsRead = rowsRead
        self.rowsOtherParamcd = rowsOtherParamcd
        self.paramcd = paramcd
    }
}

extension CohortSummary {
    /// Columns never summarised as numeric.
    public static let keyColumns: Set<String> = [
        "USUBJID", "SUBJID", "STUDYID", "SITEID", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "CNSR", "PARAMCD",
        "PARAM",
    ]

    /// Computes one part of the summary from `table` (see ``CohortSummaryPartial`` for the conventions).
    ///
    /// - Parameters:
    ///   - file: names the source in errors.
    ///   - paramcd: if given, only rows whose `PARAMCD` equals it are used.
    /// - Throws: ``CohortError`` with code `missingColumn` naming a required column that is absent (and
    ///   listing the columns found), or `malformedCSV` for a row with the wrong number of cells.
    public static func partial(
        of table: CohortTable, file: String, armColumn: String = "TRT01P", siteColumn: String = "SITEID",
        subjectColumn: String = "USUBJID", censorColumn: String = "CNSR", paramcd: String? = nil
    ) throws -> CohortSummaryPartial {
        func require(_ name: String) throws -> Int {
            guard let index = table.columnIndex(name) else { throw table.missingColumnError(name, file: file) }
            return index
        }
        let armIndex = try require(armColumn), siteIndex = try require(siteColumn)
        let subjectIndex = try require(subjectColumn), censorIndex = try require(censorColumn)
        let paramIndex = try paramcd.map { _ in try require("PARAMCD") }

        let keys = keyColumns.union([armColumn, siteColumn, subjectColumn, censorColumn])
        let valueColumns = table.columns.indices.filter { !keys.contains(table.columns[$0]) }

        struct Accumulator {
            var subjects = Set<String>()
            var rows = 0, events = 0, censored = 0
            var values: [[Double]]
            var nonNumeric: [Int]
            var missing: [Int]
        }
        let width = valueColumns.count
        var groupIndex: [GroupKey: Int] = [:]
        var accumulators: [Accumulator] = []
        var armSubjects: [String: Set<String>] = [:]
        var excluded: [String: Int] = [:]
        var otherParamcd = 0

        for (r, row) in table.rows.enumerated() {
            guard row.count == table.columns.count else {
                throw CohortError(
                    file: file, row: r + 1, code: .malformedCSV,
                    message: "has \(row.count) cells but the table has \(table.columns.count) columns"
                )
            }
            if let paramIndex, row[paramIndex] != paramcd {
                otherParamcd += 1
                continue
            }
            let arm = row[armIndex], site = row[siteIndex], subject = row[subjectIndex]
            let censorCell = row[censorIndex]
            var reason: String? = nil
            if CohortTable.isMissing(arm) {
                reason = "missing \(armColumn)"
            } else if CohortTable.isMissing(site) {
                reason = "missing \(siteColumn)"
            } else if CohortTable.isMissing(subject) {
                reason = "missing \(subjectColumn)"
            } else if CohortTable.isMissing(censorCell) {
                reason = "missing \(censorColumn)"
            }
            let censor = Int(censorCell)
            if reason == nil, censor == nil { reason = "\(censorColumn) not an integer" }
            if reason == nil, let censor, censor < 0 { reason = "\(censorColumn) negative" }
            if let reason {
                excluded[reason, default: 0] += 1
                continue
            }

            let key = GroupKey(arm: arm, site: site)
            let g: Int
            if let known = groupIndex[key] {
                g = known
            } else {
                g = accumulators.count
                groupIndex[key] = g
                accumulators.append(
                    Accumulator(
                        values: Array(repeating: [], count: width), nonNumeric: Array(repeating: 0, count: width),
                        missing: Array(repeating: 0, count: width)
                    )
                )
            }
            accumulators[g].subjects.insert(subject)
            armSubjects[arm, default: []].insert(subject)
            accumulators[g].rows += 1
            if censor == 0 { accumulators[g].events += 1 } else { accumulators[g].censored += 1 }
            for (k, column) in valueColumns.enumerated() {
                let cell = row[column]
                if CohortTable.isMissing(cell) {
                    accumulators[g].missing[k] += 1
                } else if let value = parseDecimal(cell) {
                    accumulators[g].values[k].append(value)
                } else {
                    accumulators[g].nonNumeric[k] += 1
                }
            }
        }

        var groups: [CohortSummaryPartial.Group] = []
        for (key, g) in groupIndex.sorted(by: { $0.key < $1.key }) {
            let a = accumulators[g]
            var columns: [String: CohortSummaryPartial.ColumnValues] = [:]
            for (k, column) in valueColumns.enumerated() {
                columns[table.columns[column]] = .init(
                    values: a.values[k].sorted(), nonNumeric: a.nonNumeric[k], missing: a.missing[k]
                )
            }
            groups.append(
                .init(
                    arm: key.arm, site: key.site, subjects: a.subjects.count, rows: a.rows, events: a.events,
                    censored: a.censored, columns: columns
                )
            )
        }
        return CohortSummaryPartial(
            groups: groups, armSubjects: armSubjects.mapValues(\.count), excluded: excluded,
            rowsRead: table.rows.count, rowsOtherParamcd: otherParamcd, paramcd: paramcd
        )
    }

    /// A finite plain decimal (see ``CohortSummaryPartial``), with `-0` turned into `+0`; otherwise `nil`.
    static func parseDecimal(_ cell: String) -> Double? {
        // States: 0 start, 1 sign, 2 integer digits, 3 point, 4 fraction digits, 5 e, 6 exponent sign,
        // 7 exponent digits.
        var state = 0
        var mantissaDigits = false
        for c in cell.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                switch state {
                case 0, 1, 2: state = 2; mantissaDigits = true
                case 3, 4: state = 4; mantissaDigits = true
                default: state = 7
                }
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                if state == 0 { state = 1 } else if state == 5 { state = 6 } else { return nil }
            case UInt8(ascii: "."):
                guard state <= 2 else { return nil }
                state = 3
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard mantissaDigits, state >= 2, state <= 4 else { return nil }
                state = 5
            default:
                return nil
            }
        }
        guard mantissaDigits, state == 2 || state == 3 || state == 4 || state == 7 else { return nil }
        guard let value = Double(cell), value.isFinite else { return nil }
        return value + 0.0
    }
}

/// An (arm, site) key, ordered by arm then site.
struct GroupKey: Hashable, Comparable {
    var arm: String
    var site: String

    static func < (a: GroupKey, b: GroupKey) -> Bool {
        a.arm != b.arm ? a.arm < b.arm : a.site < b.site
    }
}

/// The result of `cohort.summary`: per (arm, site) and per arm counts and numeric-column statistics.
///
/// Conventions:
/// - Built by ``combine(_:)`` from ``CohortSummaryPartial``s; see that type for grouping, event/censoring,
///   exclusion, missing-value and "numeric" conventions.
/// - `groups` are sorted by (arm, site); `armTotals` by arm (their `site` is `nil`). Strings compare with
///   Swift `String` ordering.
/// - A column is reported (``numericColumns``, sorted by name) only if it has zero non-numeric cells in every
///   group of every part; a column with no values at all is reported with `n == 0` and `nil` statistics.
/// - `n` counts numeric cells and `missing` missing cells. `mean` is the compensated (Neumaier) sum of the
///   values taken in ascending order, divided by `n`; `median` is the middle sorted value, or the average
///   `(a + b) / 2` of the two middle ones; `min`/`max` are the extremes. `subjects` in ``armTotals`` counts
///   distinct subjects per arm across sites.
/// - The result is bitwise identical however the rows were split into parts and in whatever order the parts
///   come, provided no subject's rows are split between parts.
public struct CohortSummary: Codable, Sendable, Equatable {
    /// Statistics of one numeric column within one stratum.
    public struct ColumnStats: Codable, Sendable, Equatable {
        public var column: String
        public var n: Int
        public var missing: Int
        public var mean: Double?
        public var median: Double?
        public var min: Double?
        public var max: Double?

        public init(
            column: String, n: Int, missing: Int, mean: Double?, median: Double?, min: Double?, max: Double?
        ) {
            self.column = column
            self.n = n
            self.missing = missing
            self.mean = mean
            self.median = median
            self.min = min
            self.max = max
        }
    }

    /// An (arm, site) group, or an arm total when `site` is `nil`.
    public struct Stratum: Codable, Sendable, Equatable {
        public var arm: String
        public var site: String?
        public var subjects: Int
        public var rows: Int
        public var events: Int
        public var censored: Int
        /// One entry per ``CohortSummary/numericColumns`` name, in that order.
        public var columns: [ColumnStats]

        public init(
            arm: String, site: String?, subjects: Int, rows: Int, events: Int, censored: Int,
            columns: [ColumnStats]
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

    /// Per (arm, site), sorted by (arm, site).
    public var groups: [Stratum]
    /// Per arm across sites, sorted by arm.
    public var armTotals: [Stratum]
    /// The summarised columns, sorted by name.
    public var numericColumns: [String]
    /// Excluded-row counts by reason, summed over parts.
    public var excluded: [String: Int]
    /// Data rows read, summed over parts.
    public var rowsRead: Int
    /// Rows dropped by the `PARAMCD` filter, summed over parts.
    public var rowsOtherParamcd: Int
    /// The `PARAMCD` filter, when all parts used the same one; otherwise `nil`.
    public var paramcd: String?

    public init(
        groups: [Stratum], armTotals: [Stratum], numericColumns: [String], excluded: [String: Int],
        rowsRead: Int, rowsOtherParamcd: Int, paramcd: String?
    ) {
        self.groups = groups
        self.armTotals = armTotals
        self.numericColumns = numericColumns
        self.excluded = excluded
        self.rowsRead = rowsRead
        self.rowsOtherParamcd = rowsOtherParamcd
        self.paramcd = paramcd
    }

    /// Merges parts into the final summary. Order-independent and split-independent (see ``CohortSummary``).
    public static func combine(_ parts: [CohortSummaryPartial]) -> CohortSummary {
        struct Merged {
            var subjects = 0, rows = 0, events = 0, censored = 0
            var columns: [String: CohortSummaryPartial.ColumnValues] = [:]

            mutating func add(
                subjects: Int, rows: Int, events: Int, censored: Int,
                columns other: [String: CohortSummaryPartial.ColumnValues]
            ) {
                self.subjects += subjects
                self.rows += rows
                self.events += events
                self.censored += censored
                for (name, part) in other {
                    columns[name, default: .init()].values.append(contentsOf: part.values)
                    columns[name, default: .init()].nonNumeric += part.nonNumeric
                    columns[name, default: .init()].missing += part.missing
                }
            }
        }

        var groups: [GroupKey: Merged] = [:]
        var arms: [String: Merged] = [:]
        var excluded: [String: Int] = [:]
        var rowsRead = 0, rowsOtherParamcd = 0
        var paramcds = Set<String?>()
        for part in parts {
            for g in part.groups {
                groups[GroupKey(arm: g.arm, site: g.site), default: Merged()].add(
                    subjects: g.subjects, rows: g.rows, events: g.events, censored: g.censored, columns: g.columns
                )
                arms[g.arm, default: Merged()].add(
                    subjects: 0, rows: g.rows, events: g.events, censored: g.censored, columns: g.columns
                )
            }
            for (arm, count) in part.armSubjects { arms[arm, default: Merged()].subjects += count }
            for (reason, count) in part.excluded { excluded[reason, default: 0] += count }
            rowsRead += part.rowsRead
            rowsOtherParamcd += part.rowsOtherParamcd
            paramcds.insert(part.paramcd)
        }

        var nonNumeric: [String: Int] = [:]
        for merged in groups.values {
            for (name, column) in merged.columns { nonNumeric[name, default: 0] += column.nonNumeric }
        }
        let numericColumns = nonNumeric.filter { $0.value == 0 }.map(\.key).sorted()

        func stratum(arm: String, site: String?, _ merged: Merged) -> Stratum {
            let columns = numericColumns.map { name in
                stats(name, merged.columns[name] ?? .init())
            }
            return Stratum(
                arm: arm, site: site, subjects: merged.subjects, rows: merged.rows, events: merged.events,
                censored: merged.censored, columns: columns
            )
        }
        return CohortSummary(
            groups: groups.sorted { $0.key < $1.key }.map { stratum(arm: $0.key.arm, site: $0.key.site, $0.value) },
            armTotals: arms.sorted { $0.key < $1.key }.map { stratum(arm: $0.key, site: nil, $0.value) },
            numericColumns: numericColumns,
            excluded: excluded,
            rowsRead: rowsRead,
            rowsOtherParamcd: rowsOtherParamcd,
            paramcd: paramcds.count == 1 ? paramcds.first! : nil
        )
    }

    /// Statistics of one column from its (unsorted, merged) values.
    static func stats(_ name: String, _ column: CohortSummaryPartial.ColumnValues) -> ColumnStats {
        let values = column.values.sorted()
        guard let first = values.first, let last = values.last else {
            return ColumnStats(column: name, n: 0, missing: column.missing, mean: nil, median: nil, min: nil, max: nil)
        }
        // Neumaier compensated summation in ascending order.
        var sum = 0.0, compensation = 0.0
        for v in values {
            let t = sum + v
            if abs(sum) >= abs(v) {
                compensation += (sum - t) + v
            } else {
                compensation += (v - t) + sum
            }
            sum = t
        }
        let n = values.count
        let median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2
        return ColumnStats(
            column: name, n: n, missing: column.missing, mean: (sum + compensation) / Double(n), median: median,
            min: first, max: last
        )
    }
}

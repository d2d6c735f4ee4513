import MedGridCore
import Foundation

/// One per-case score of one algorithm in a challenge: a row of the long ("tidy") format that challengeR's
/// `as.challenge` takes (task, metric, algorithm, case, value).
///
/// `value == nil` means the case is missing for that algorithm (no submission, failed run). A NaN given to
/// ``ScoreTable/init(records:)`` is stored as `nil`.
public struct ScoreRecord: Sendable, Hashable {
    /// The challenge task (e.g. "liver segmentation").
    public var task: String
    /// The metric the value measures (e.g. "DSC", "HD95").
    public var metric: String
    /// The participating algorithm (team / method).
    public var algorithm: String
    /// The test case identifier.
    public var caseID: String
    /// The score; `nil` when the case is missing.
    public var value: Double?

    /// A record; a NaN value is stored as `nil` (missing).
    public init(task: String, metric: String, algorithm: String, caseID: String, value: Double?) {
        self.task = task
        self.metric = metric
        self.algorithm = algorithm
        self.caseID = caseID
        self.value = value.flatMap { $0.isNaN ? nil : $0 }
    }
}

/// A (task, metric) pair: the unit that one ranking is computed for.
public struct TaskMetric: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var task: String
    public var metric: String

    /// The pair (task, metric).
    public init(task: String, metric: String) {
        self.task = task
        self.metric = metric
    }

    /// Ordered by task, then metric.
    public static func < (a: TaskMetric, b: TaskMetric) -> Bool {
        a.task != b.task ? a.task < b.task : a.metric < b.metric
    }

    /// `task/metric`.
    public var description: String { "\(task)/\(metric)" }
}

/// Per-case challenge scores in long format.
///
/// Conventions:
/// - A (task, metric, algorithm, case) key occurs at most once (a duplicate is an error).
/// - Every algorithm of the table is ranked in every (task, metric): an algorithm with no row in a
///   (task, metric) counts as missing on all of that pair's cases. The cases of a (task, metric) are the union
///   of the cases that appear in it.
/// - Algorithms and cases are ordered by Swift `String` comparison (`<`), so results do not depend on the
///   row order of the input.
/// - Values must be finite; missing values are `nil` (NaN is mapped to `nil`).
public struct ScoreTable: Sendable {
    /// The records, in input order.
    public let records: [ScoreRecord]

    /// Builds a table; throws `MedGridError(.invalidInput)` naming the record index of a duplicate
    /// (task, metric, algorithm, case) key or of an infinite value.
    public init(records: [ScoreRecord]) throws {
        var seen = [RecordKey: Int]()
        seen.reserveCapacity(records.count)
        for (i, r) in records.enumerated() {
            if let v = r.value, !v.isFinite {
                throw MedGridError(.invalidInput, "record \(i): value \(v) for algorithm '\(r.algorithm)', case '\(r.caseID)' is not finite (expected a finite number, or nil for a missing case)")
            }
            let key = RecordKey(task: r.task, metric: r.metric, algorithm: r.algorithm, caseID: r.caseID)
            if let first = seen[key] {
                throw MedGridError(.invalidInput, "record \(i): duplicate (task '\(r.task)', metric '\(r.metric)', algorithm '\(r.algorithm)', case '\(r.caseID)'); first given at record \(first)")
            }
            seen[key] = i
        }
        self.records = records
    }

    /// All algorithms, sorted.
    public var algorithms: [String] { Array(Set(records.map(\.algorithm))).sorted() }

    /// All (task, metric) pairs, sorted by task then metric.
    public var taskMetrics: [TaskMetric] {
        Array(Set(records.map { TaskMetric(task: $0.task, metric: $0.metric) })).sorted()
    }

    /// The algorithm × case matrix of one (task, metric); throws `.notFound` if the pair has no record.
    public func matrix(for key: TaskMetric) throws -> ScoreMatrix {
        let algorithms = self.algorithms
        let rows = records.filter { $0.task == key.task && $0.metric == key.metric }
        guard !rows.isEmpty else {
            throw MedGridError(.notFound, "no scores for task '\(key.task)', metric '\(key.metric)'")
        }
        let cases = Array(Set(rows.map(\.caseID))).sorted()
        var algIndex = [String: Int]()
        for (i, a) in algorithms.enumerated() { algIndex[a] = i }
        var caseIndex = [String: Int]()
        for (j, c) in cases.enumerated() { caseIndex[c] = j }
        var values = [Double](repeating: .nan, count: algorithms.count * cases.count)
        for r in rows {
            guard let v = r.value, let i = algIndex[r.algorithm], let j = caseIndex[r.caseID] else { continue }
            values[i * cases.count + j] = v
        }
        return try ScoreMatrix(task: key.task, metric: key.metric, algorithms: algorithms, cases: cases, values: values)
    }

    /// The matrices of every (task, metric), in ``taskMetrics`` order.
    public func matrices() throws -> [ScoreMatrix] {
        try taskMetrics.map { try matrix(for: $0) }
    }

    private struct RecordKey: Hashable {
        var task, metric, algorithm, caseID: String
    }
}

/// The scores of one (task, metric) as a dense algorithm × case matrix, row-major (`values[a * caseCount + c]`),
/// with NaN for a missing case.
public struct ScoreMatrix: Sendable, Equatable {
    public var task: String
    public var metric: String
    /// Row labels (algorithms).
    public var algorithms: [String]
    /// Column labels (cases).
    public var cases: [String]
    /// Row-major values; NaN = missing.
    public var values: [Double]

    /// Builds a matrix; throws `.invalidInput` if `values.count != algorithms.count * cases.count`, if a label
    /// repeats, or if a value is infinite.
    public init(task: String = "task", metric: String = "metric", algorithms: [String], cases: [String], values: [Double]) throws {
        guard values.count == algorithms.count * cases.count else {
            throw MedGridError(.invalidInput, "score matrix '\(task)/\(metric)': \(values.count) values, expected algorithms × cases = \(algorithms.count) × \(cases.count)")
        }
        guard Set(algorithms).count == algorithms.count else {
            throw MedGridError(.invalidInput, "score matrix '\(task)/\(metric)': algorithm names repeat")
        }
        guard Set(cases).count == cases.count else {
            throw MedGridError(.invalidInput, "score matrix '\(task)/\(metric)': case identifiers repeat")
        }
        if let k = values.firstIndex(where: { $0.isInfinite }) {
            throw MedGridError(.invalidInput, "score matrix '\(task)/\(metric)': value for algorithm '\(algorithms[k / max(cases.count, 1)])', case '\(cases[k % max(cases.count, 1)])' is infinite (expected a finite number or NaN for missing)")
        }
        self.task = task
        self.metric = metric
        self.algorithms = algorithms
        self.cases = cases
        self.values = values
    }

    /// Builds a matrix from rows: `rows[a][c]` is the value of algorithm `a` on case `c` (`nil` = missing).
    public init(task: String = "task", metric: String = "metric", algorithms: [String], cases: [String], rows: [[Double?]]) throws {
        guard rows.count == algorithms.count else {
            throw MedGridError(.invalidInput, "score matrix '\(task)/\(metric)': \(rows.count) rows, expected one per algorithm (\(algorithms.count))")
        }
        var values: [Double] = []
        values.reserveCapacity(algorithms.count * cases.count)
        for (a, row) in rows.enumerated() {
            guard row.count == cases.count else {
                throw MedGridError(.invalidInput, "score matrix '\(task)/\(metric)': row of algorithm '\(algorithms[a])' has \(row.count) values, expected one per case (\(cases.count))")
            }
            values.append(contentsOf: row.map { $0 ?? .nan })
        }
        try self.init(task: task, metric: metric, algorithms: algorithms, cases: cases, values: values)
    }

    /// The (task, metric) of the matrix.
    public var key: TaskMetric { TaskMetric(task: task, metric: metric) }
    /// K, the number of algorithms.
    public var algorithmCount: Int { algorithms.count }
    /// n, the number of cases.
    public var caseCount: Int { cases.count }

    /// The value of algorithm `a` on case `c`; `nil` if missing.
    public func value(algorithm a: Int, case c: Int) -> Double? {
        let v = values[a * cases.count + c]
        return v.isNaN ? nil : v
    }

    /// Number of missing (algorithm, case) cells.
    public var missingCount: Int { values.reduce(0) { $0 + ($1.isNaN ? 1 : 0) } }
}

// MARK: - CSV

extension ScoreTable {
    /// Parses a long-format CSV of challenge scores.
    ///
    /// Format:
    /// - Comma-separated, RFC 4180 quoting (`"..."`, `""` for a quote; quoted fields may hold commas and line
    ///   breaks); LF, CRLF or CR line ends; blank lines skipped; optional UTF-8 byte-order mark.
    /// - The first record is the header. Required columns `algorithm`, `case`, `value`; optional `task`,
    ///   `metric` (when absent, `defaultTask` / `defaultMetric` are used). Column names are matched exactly
    ///   after trimming spaces, in any order; other columns are ignored; a repeated name is an error.
    /// - `value` is a decimal number (Swift `Double` syntax, surrounding spaces allowed). An empty cell, `NA`,
    ///   `NaN`, `nan`, `null` or `NULL` means missing. Infinite values are rejected.
    /// - Each data record must have as many fields as the header.
    ///
    /// Errors: `MedGridError(.invalidInput)` naming the 1-based line, the 1-based column (and its header name)
    /// and what was expected. A duplicate (task, metric, algorithm, case) names both lines.
    public static func parseCSV(_ text: String, defaultTask: String = "task", defaultMetric: String = "metric") throws -> ScoreTable {
        let records = try ScoreCSVReader.records(Array(text.utf8))
        guard let header = records.first else {
            throw MedGridError(.invalidInput, "score CSV: empty input (expected a header line with columns algorithm, case, value)")
        }
        var columnOf = [String: Int]()
        for (k, raw) in header.fields.enumerated() {
            let name = raw.trimmingCharacters(in: .whitespaces)
            if columnOf[name] != nil {
                throw MedGridError(.invalidInput, "score CSV line \(header.line), column \(k + 1): column name '\(name)' repeats (expected each column once)")
            }
            columnOf[name] = k
        }
        for required in ["algorithm", "case", "value"] where columnOf[required] == nil {
            throw MedGridError(.invalidInput, "score CSV line \(header.line): missing column '\(required)' (expected a header with algorithm, case, value and optionally task, metric; found \(header.fields.map { "'\($0)'" }.joined(separator: ", ")))")
        }
        let cAlg = columnOf["algorithm"]!, cCase = columnOf["case"]!, cValue = columnOf["value"]!
        let cTask = columnOf["task"], cMetric = columnOf["metric"]
        let width = header.fields.count
        var out: [ScoreRecord] = []
        out.reserveCapacity(records.count - 1)
        var firstLine = [String: Int]()
        for rec in records.dropFirst() {
            guard rec.fields.count == width else {
                throw MedGridError(.invalidInput, "score CSV line \(rec.line): \(rec.fields.count) fields, expected \(width) as in the header")
            }
            let algorithm = rec.fields[cAlg], caseID = rec.fields[cCase]
            if algorithm.isEmpty {
                throw MedGridError(.invalidInput, "score CSV line \(rec.line), column \(cAlg + 1) (algorithm): empty (expected an algorithm name)")
            }
            if caseID.isEmpty {
                throw MedGridError(.invalidInput, "score CSV line \(rec.line), column \(cCase + 1) (case): empty (expected a case identifier)")
            }
            let task = cTask.map { rec.fields[$0] } ?? defaultTask
            let metric = cMetric.map { rec.fields[$0] } ?? defaultMetric
            let rawValue = rec.fields[cValue].trimmingCharacters(in: .whitespaces)
            let value: Double?
            switch rawValue {
            case "", "NA", "NaN", "nan", "null", "NULL":
                value = nil
            default:
                guard let v = Double(rawValue) else {
                    throw MedGridError(.invalidInput, "score CSV line \(rec.line), column \(cValue + 1) (value): '\(rawValue)' is not a number (expected a decimal number, or empty/NA/NaN for a missing case)")
                }
                guard v.isFinite else {
                    throw MedGridError(.invalidInput, "score CSV line \(rec.line), column \(cValue + 1) (value): '\(rawValue)' is not finite (expected a finite number, or empty/NA/NaN for a missing case)")
                }
                value = v
            }
            let key = "\(task)\u{0}\(metric)\u{0}\(algorithm)\u{0}\(caseID)"
            if let first = firstLine[key] {
                throw MedGridError(.invalidInput, "score CSV line \(rec.line): duplicate score for task '\(task)', metric '\(metric)', algorithm '\(algorithm)', case '\(caseID)' (first given on line \(first); expected one value per task, metric, algorithm and case)")
            }
            firstLine[key] = rec.line
            out.append(ScoreRecord(task: task, metric: metric, algorithm: algorithm, caseID: caseID, value: value))
        }
        return try ScoreTable(records: out)
    }
}

/// A minimal RFC 4180 reader that remembers the 1-based line on which each record starts.
enum ScoreCSVReader {
    struct Record {
        var line: Int
        var fields: [String]
    }

    static func records(_ b: [UInt8]) throws -> [Record] {
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let n = b.count
        var i = 0
        if n >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
        var line = 1
        var out: [Record] = []
        var field: [UInt8] = []
        func lineEnd(_ i: inout Int) {
            // at a CR or LF: consume CRLF / CR / LF
            if b[i] == cr, i + 1 < n, b[i + 1] == lf { i += 2 } else { i += 1 }
        }
        while i < n {
            if b[i] == lf || b[i] == cr { lineEnd(&i); line += 1; continue }  // blank line
            let startLine = line
            var fields: [String] = []
            while true {
                field.removeAll(keepingCapacity: true)
                if i < n, b[i] == quote {
                    let openLine = line, column = fields.count + 1
                    i += 1
                    while true {
                        guard i < n else {
                            throw MedGridError(.invalidInput, "score CSV line \(openLine), column \(column): unterminated quoted field (expected a closing '\"')")
                        }
                        let c = b[i]
                        if c == quote {
                            if i + 1 < n, b[i + 1] == quote { field.append(quote); i += 2; continue }
                            i += 1
                            break
                        }
                        if c == lf || (c == cr && !(i + 1 < n && b[i + 1] == lf)) { line += 1 }
                        field.append(c)
                        i += 1
                    }
                    if i < n, b[i] != comma, b[i] != lf, b[i] != cr {
                        throw MedGridError(.invalidInput, "score CSV line \(line), column \(column): unexpected character after a closing quote (expected a comma or a line end)")
                    }
                } else {
                    while i < n, b[i] != comma, b[i] != lf, b[i] != cr {
                        if b[i] == quote {
                            throw MedGridError(.invalidInput, "score CSV line \(line), column \(fields.count + 1): a '\"' inside an unquoted field (expected the whole field to be quoted)")
                        }
                        field.append(b[i])
                        i += 1
                    }
                }
                guard let s = String(validating: field, as: UTF8.self) else {
                    throw MedGridError(.invalidInput, "score CSV line \(line), column \(fields.count + 1): not valid UTF-8")
                }
                fields.append(s)
                if i < n, b[i] == comma { i += 1; continue }
                if i < n { lineEnd(&i); line += 1 }
                break
            }
            out.append(Record(line: startLine, fields: fields))
        }
        return out
    }
}

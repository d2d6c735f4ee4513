import Foundation
import Testing
@testable import MedGridCore
@testable import MedGridCohort
@testable import MedGridKernels

/// CSV parsing, the `cohort.summary` kernel against pandas (Reference/cohort), split invariance and CohortSynth.
@Suite("Cohort tables and cohort.summary")
struct CohortTests {
    // MARK: - CSV

    static func parse(_ text: String) throws -> CohortTable { try CSV.parse(text, file: "t.csv") }

    static func csvError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> CohortError {
        try #require(throws: CohortError.self, sourceLocation: sourceLocation) { try CSV.parse(text, file: "t.csv") }
    }

    @Test("a quoted field keeps its comma")
    func quotedComma() throws {
        let t = try Self.parse("a,b\n\"x, y\",z\n")
        #expect(t.columns == ["a", "b"])
        #expect(t.rows == [["x, y", "z"]])
    }

    @Test("a doubled quote inside a quoted field is one literal quote")
    func escapedQuote() throws {
        let t = try Self.parse("a,b\n\"said \"\"no\"\", then left\",2\n\"\"\"\",\"\"\n")
        #expect(t.rows == [["said \"no\", then left", "2"], ["\"", ""]])
    }

    @Test("CRLF, lone CR and LF line endings all end records", arguments: ["\r\n", "\r", "\n"])
    func lineEndings(ending: String) throws {
        let t = try Self.parse(["a,b", "1,2", "3,4"].joined(separator: ending) + ending)
        #expect(t.columns == ["a", "b"])
        #expect(t.rows == [["1", "2"], ["3", "4"]])
    }

    @Test("a quoted field may hold line breaks")
    func quotedNewline() throws {
        let t = try Self.parse("a,b\r\n\"line 1\r\nline 2\",x\r\n")
        #expect(t.rows == [["line 1\r\nline 2", "x"]])
    }

    @Test("a UTF-8 byte-order mark is skipped, in text and in files")
    func byteOrderMark() throws {
        let t = try Self.parse("\u{FEFF}USUBJID,AGE\n1,60\n")
        #expect(t.columns == ["USUBJID", "AGE"])

        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = try dir.write(Data([0xEF, 0xBB, 0xBF]) + Data("USUBJID,AGE\n1,60\n".utf8), to: "bom.csv")
        let fromFile = try CSV.read(contentsOf: url)
        #expect(fromFile.columns == ["USUBJID", "AGE"])
        #expect(fromFile.rows == [["1", "60"]])
    }

    @Test("the last record needs no line ending, and a trailing empty field is kept")
    func noTrailingNewline() throws {
        #expect(try Self.parse("a,b\n1,2").rows == [["1", "2"]])
        #expect(try Self.parse("a,b\n1,").rows == [["1", ""]])
        #expect(try Self.parse("a,b\n1,\"\"").rows == [["1", ""]])
    }

    @Test("blank lines are skipped and cells are not trimmed")
    func blankLinesAndSpaces() throws {
        let t = try Self.parse("a,b\n\n 1 ,NA\n\r\n.,\n")
        #expect(t.rows == [[" 1 ", "NA"], [".", ""]])
    }

    @Test("an unterminated quote names the row and the byte offset of the opening quote")
    func unterminatedQuote() throws {
        // "a,b\n" is bytes 0-3, "1,2\n" 4-7, and the quote opening row 2's second field is byte 10.
        let error = try Self.csvError("a,b\n1,2\n3,\"oops\n4,5\n")
        #expect(error.code == .malformedCSV)
        #expect(error.row == 2)  // exact
        #expect(error.byteOffset == 10)  // exact
        #expect(error.file == "t.csv")
        #expect(error.description.contains("row 2") && error.description.contains("byte 10"), "\(error)")
    }

    @Test("a row with the wrong number of fields is named, with its byte offset")
    func wrongFieldCount() throws {
        let error = try Self.csvError("a,b,c\n1,2,3\n4,5\n")
        #expect(error.code == .malformedCSV)
        #expect(error.row == 2)  // exact
        #expect(error.byteOffset == 12)  // exact: row 2 starts after "a,b,c\n1,2,3\n"
        #expect(error.message.contains("has 2 fields but the header has 3"), "\(error)")
        #expect(error.description.hasPrefix("t.csv: row 2"), "\(error)")

        let tooMany = try Self.csvError("a,b\n1,2,3\n")
        #expect(tooMany.row == 1)  // exact
    }

    @Test("a duplicate header name is refused at row 0, naming the column")
    func duplicateHeader() throws {
        let error = try Self.csvError("USUBJID,AGE,USUBJID\n1,2,3\n")
        #expect(error.code == .malformedCSV)
        #expect(error.row == 0)  // exact
        #expect(error.column == "USUBJID")
        #expect(error.description.contains("row 0 (header)"), "\(error)")
    }

    @Test("text after a closing quote and an empty file are errors")
    func otherSyntaxErrors() throws {
        let stray = try Self.csvError("a,b\n\"x\"y,2\n")
        #expect(stray.row == 1)  // exact
        #expect(stray.byteOffset == 7)  // exact: the "y" after the closing quote
        let empty = try Self.csvError("")
        #expect(empty.code == .malformedCSV)
        #expect(empty.message.contains("empty file"))
    }

    @Test("invalid UTF-8 in a file is refused with its byte offset")
    func invalidUTF8() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = try dir.write(Data("a,b\n1,".utf8) + Data([0xC3, 0x28]) + Data("\n".utf8), to: "latin.csv")
        let error = try #require(throws: CohortError.self) { try CSV.read(contentsOf: url) }
        #expect(error.code == .unreadableFile)
        #expect(error.byteOffset == 6)  // exact
        #expect(error.file == "latin.csv")
    }

    @Test("CSV.write then CSV.parse gives the same table back")
    func writeParseRoundTrip() throws {
        let table = CohortTable(
            columns: ["ID", "COMMENT", "EMPTY"],
            rows: [["1", "plain", ""], ["2", "a, b", "\"quoted\""], ["3", "two\nlines", "cr\rlf"], ["4", "", "NA"]])
        #expect(try CSV.parse(CSV.write(table), file: "rt.csv") == table)

        let single = CohortTable(columns: ["X"], rows: [[""], ["1"], [""]])
        #expect(try CSV.parse(CSV.write(single), file: "rt.csv") == single)  // empty one-column rows survive
    }

    @Test("the reference CSV parses as pandas read it")
    func referenceCSV() throws {
        let table = try CSV.read(contentsOf: Reference.url("cohort/small_adtte.csv"))
        #expect(table.columns.count == 12)  // exact
        #expect(table.rows.count == 40)  // exact
        let comment = try #require(table.columnIndex("COMMENT"))
        #expect(table.rows[9][comment] == "said \"no more visits\", withdrew")
        #expect(table.rows[2][comment] == "Dose reduced, cycle 3")
        #expect(table.subjectOrder().count == 29)  // exact: PFS rows repeat OS subjects
    }

    // MARK: - cohort.summary against pandas

    static func table() throws -> CohortTable { try CSV.read(contentsOf: Reference.url("cohort/small_adtte.csv")) }

    static func kernel() throws -> any Kernel {
        try #require(KernelRegistry.standard.implementation(named: "cohort.summary"))
    }

    static func parameters(_ variant: String) throws -> KernelParameters {
        try KernelParameters(variant == "paramcd_OS" ? ["paramcd": "OS"] : [:], for: kernel().description)
    }

    /// Runs the kernel on `table` and returns its partial result.
    static func partial(_ table: CohortTable, _ variant: String) throws -> JSONValue {
        let output = try kernel().run(.cohort(table: table, file: "small_adtte.csv"), parameters: parameters(variant), seed: 0)
        guard case .result(let value) = output else { throw MedGridError(.invalidInput, "cohort.summary gave a volume") }
        return value
    }

    /// Reduces partial results with the kernel and decodes the summary.
    static func summary(_ partials: [JSONValue]) throws -> CohortSummary {
        try kernel().reduce(partials).decode(CohortSummary.self)
    }

    static func expectStratum(
        _ s: CohortSummary.Stratum, _ e: RefJSON, columns: [String], _ context: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(s.arm == e["arm"]?.string, "\(context).arm", sourceLocation: sourceLocation)
        #expect(s.site == e["site"]?.string, "\(context).site", sourceLocation: sourceLocation)
        // tolerance: exact for every count
        #expect(s.subjects == e["subjects"]?.int, "\(context).subjects", sourceLocation: sourceLocation)
        #expect(s.rows == e["rows"]?.int, "\(context).rows", sourceLocation: sourceLocation)
        #expect(s.events == e["events"]?.int, "\(context).events", sourceLocation: sourceLocation)
        #expect(s.censored == e["censored"]?.int, "\(context).censored", sourceLocation: sourceLocation)
        #expect(s.columns.map(\.column) == columns, "\(context) columns", sourceLocation: sourceLocation)
        for c in s.columns {
            guard let ec = e["columns"]?[c.column] else {
                Issue.record("\(context): no expected column \(c.column)", sourceLocation: sourceLocation)
                continue
            }
            let where_ = "\(context).\(c.column)"
            #expect(c.n == ec["n"]?.int, "\(where_).n", sourceLocation: sourceLocation)  // exact
            #expect(c.missing == ec["missing"]?.int, "\(where_).missing", sourceLocation: sourceLocation)  // exact
            // tolerance: exact for median, min and max (order statistics and (a + b) / 2, as pandas computes them)
            #expect(c.median == ec["median"]?.double, "\(where_).median", sourceLocation: sourceLocation)
            #expect(c.min == ec["min"]?.double, "\(where_).min", sourceLocation: sourceLocation)
            #expect(c.max == ec["max"]?.double, "\(where_).max", sourceLocation: sourceLocation)
            switch (c.mean, ec["mean"]?.double) {
            case let (got?, want?):
                // tolerance: relative 1e-12 (pandas sums pairwise, MedGrid compensated in ascending order)
                #expect(isClose(got, want, relative: 1e-12), "\(where_).mean \(got) vs \(want)", sourceLocation: sourceLocation)
            case (nil, nil): break
            default: Issue.record("\(where_).mean: \(String(describing: c.mean)) vs \(String(describing: ec["mean"]))", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("cohort.summary (run, then reduce of one partial) matches pandas", arguments: ["all", "paramcd_OS"])
    func summaryMatchesPandas(variant: String) throws {
        let expected = try #require(try Reference.json("cohort/expected_summary.json")[variant])
        let summary = try Self.summary([try Self.partial(try Self.table(), variant)])

        let columnList = expected["numeric_columns"]?.array?.compactMap { $0.string }
        let columns = try #require(columnList)
        #expect(summary.numericColumns == columns)
        #expect(summary.numericColumns == ["AGE", "AVAL", "ECOG"])
        #expect(summary.rowsRead == expected["rows_read"]?.int)  // exact
        #expect(summary.rowsOtherParamcd == expected["rows_other_paramcd"]?.int)  // exact
        #expect(summary.paramcd == expected["paramcd"]?.string)
        let excluded = try #require(expected["excluded"]?.object).compactMapValues(\.int)
        #expect(summary.excluded == excluded)  // exact

        let groups = try #require(expected["groups"]?.array)
        try #require(summary.groups.count == groups.count)  // exact
        for (i, (s, e)) in zip(summary.groups, groups).enumerated() {
            Self.expectStratum(s, e, columns: columns, "\(variant).groups[\(i)]")
        }
        let arms = try #require(expected["arm_totals"]?.array)
        try #require(summary.armTotals.count == arms.count)  // exact
        for (i, (s, e)) in zip(summary.armTotals, arms).enumerated() {
            Self.expectStratum(s, e, columns: columns, "\(variant).arm_totals[\(i)]")
        }
    }

    @Test("a cohort without a required column is refused, naming it")
    func missingColumn() throws {
        let table = CohortTable(columns: ["USUBJID", "TRT01P", "CNSR"], rows: [["1", "A", "0"]])
        let error = #expect(throws: CohortError.self) {
            try Self.kernel().run(.cohort(table: table, file: "x.csv"), parameters: try Self.parameters("all"), seed: 0)
        }
        #expect(error?.code == .missingColumn)
        #expect(error?.column == "SITEID")
    }

    // MARK: - Split invariance

    /// Every double of a summary as a bit pattern, in a fixed order (nil for absent statistics).
    static func bits(_ s: CohortSummary) -> [UInt64?] {
        (s.groups + s.armTotals).flatMap { stratum in
            stratum.columns.flatMap { c in [c.mean, c.median, c.min, c.max].map { $0?.bitPattern } }
        }
    }

    static func expectBitwiseEqual(
        _ a: CohortSummary, _ b: CohortSummary, _ context: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(a == b, "\(context)", sourceLocation: sourceLocation)
        #expect(bits(a) == bits(b), "\(context): bit patterns differ", sourceLocation: sourceLocation)  // exact, bitwise
    }

    /// `n` subjects cut into `k` contiguous, nearly equal ranges.
    static func ranges(subjects n: Int, shards k: Int) -> [Range<Int>] {
        (0..<k).map { i in (i * n / k)..<((i + 1) * n / k) }
    }

    @Test("partials over 1, 3, 7 or 29 subject shards, combined in shuffled order, equal the pooled summary bitwise",
          arguments: ["all", "paramcd_OS"], [1, 3, 7, 29])
    func subjectShardInvariance(variant: String, shards: Int) throws {
        let table = try Self.table()
        let pooled = try Self.summary([try Self.partial(table, variant)])
        let n = table.subjectOrder().count
        #expect(n == 29)  // exact

        var parts: [JSONValue] = []
        var rowsCovered = 0
        for r in Self.ranges(subjects: n, shards: shards) {
            let slice = try table.selecting(.subjects(from: r.lowerBound, to: r.upperBound))
            rowsCovered += slice.rows.count
            parts.append(try Self.partial(slice, variant))
        }
        #expect(rowsCovered == table.rows.count)  // exact: subject shards partition the rows

        var rng = TestRandom(seed: UInt64(shards) &* 7919 &+ UInt64(variant.count))
        for attempt in 0..<3 {
            let combined = try Self.summary(parts.shuffled(using: &rng))
            Self.expectBitwiseEqual(combined, pooled, "\(variant), \(shards) shards, shuffle \(attempt)")
        }
    }

    @Test("a group split by SITEID, in shuffled order, equals the pooled summary bitwise", arguments: ["all", "paramcd_OS"])
    func siteGroupInvariance(variant: String) throws {
        let table = try Self.table()
        let pooled = try Self.summary([try Self.partial(table, variant)])
        let sites = try table.distinctValues(of: "SITEID")
        #expect(sites == ["", "S01", "S02", "S03"])  // the row with a missing site forms its own group
        var parts = try sites.map { try Self.partial(try table.selecting(.group(column: "SITEID", value: $0)), variant) }
        var rng = TestRandom(seed: 0x5173)
        parts.shuffle(using: &rng)
        Self.expectBitwiseEqual(try Self.summary(parts), pooled, "\(variant) by site")
    }

    @Test("shards with no rows at all do not change the summary")
    func emptyShards() throws {
        let table = try Self.table()
        let pooled = try Self.summary([try Self.partial(table, "all")])
        let empty = try table.selecting(.subjects(from: 100, to: 200))
        #expect(empty.rows.isEmpty)
        let withEmpty = try Self.summary([try Self.partial(empty, "all"), try Self.partial(table, "all"), try Self.partial(empty, "all")])
        Self.expectBitwiseEqual(withEmpty, pooled, "with empty shards")
    }

    @Test("a bad subject range or an unknown group column is refused")
    func badSelections() throws {
        let table = try Self.table()
        let range = #expect(throws: CohortError.self) { try table.selecting(.subjects(from: 5, to: 2)) }
        #expect(range?.code == .invalidArgument)
        let column = #expect(throws: CohortError.self) { try table.selecting(.group(column: "SITE", value: "S01")) }
        #expect(column?.code == .missingColumn)
    }

    @Test("a large synthetic cohort gives the same summary over 5 shuffled subject shards", arguments: [UInt64(1), 42])
    func syntheticShardInvariance(seed: UInt64) throws {
        let table = CohortSynth.generate(settings: .init(subjects: 1500, sites: 5, seed: seed))
        let pooled = try Self.summary([try Self.partial(table, "all")])
        let n = table.subjectOrder().count
        #expect(n == 1500)  // exact: one row per subject
        var parts = try Self.ranges(subjects: n, shards: 5).map {
            try Self.partial(try table.selecting(.subjects(from: $0.lowerBound, to: $0.upperBound)), "all")
        }
        var rng = TestRandom(seed: seed)
        parts.shuffle(using: &rng)
        Self.expectBitwiseEqual(try Self.summary(parts), pooled, "synthetic seed \(seed)")
        #expect(pooled.numericColumns == ["AGE", "AVAL", "ECOG"])  // SEX is not numeric
        #expect(pooled.armTotals.map(\.arm) == ["Drug A", "Placebo"])
        #expect(pooled.armTotals.map(\.subjects).reduce(0, +) == 1500)  // exact
    }

    // MARK: - CohortSynth

    @Test("CohortSynth is deterministic and has the declared columns")
    func synthDeterministic() throws {
        let settings = CohortSynth.Settings(subjects: 300, sites: 3, seed: 9)
        let a = CohortSynth.generate(settings: settings)
        let b = CohortSynth.generate(settings: settings)
        #expect(a == b)  // exact
        #expect(CSV.write(a) == CSV.write(b))
        #expect(a.columns == CohortSynth.columns)
        #expect(a.columns == ["STUDYID", "USUBJID", "SITEID", "TRT01P", "TRT01PN", "AGE", "SEX", "ECOG", "PARAMCD", "AVAL", "CNSR"])
        #expect(a.rows.count == 300)  // exact
        #expect(CohortSynth.generate(settings: .init(subjects: 300, sites: 3, seed: 10)) != a)
    }

    @Test("CohortSynth values follow its documented conventions")
    func synthConventions() throws {
        let t = CohortSynth.generate(settings: .init(subjects: 600, sites: 4, seed: 3))
        func column(_ name: String) throws -> [String] {
            let i = try #require(t.columnIndex(name))
            return t.rows.map { $0[i] }
        }
        #expect(t.rows.allSatisfy { $0.count == CohortSynth.columns.count })
        #expect(Set(try column("STUDYID")) == ["MG01"])
        #expect(Set(try column("PARAMCD")) == ["OS"])
        #expect(Set(try column("SITEID")).isSubset(of: ["S01", "S02", "S03", "S04"]))
        #expect(Set(try column("TRT01P")) == ["Placebo", "Drug A"])
        #expect(Set(try column("SEX")) == ["F", "M"])
        #expect(Set(try column("ECOG")).isSubset(of: ["0", "1", "2"]))
        #expect(Set(try column("CNSR")).isSubset(of: ["0", "1", "2"]))
        let ids = try column("USUBJID")
        #expect(Set(ids).count == ids.count)  // exact: one row per subject
        let arm = try column("TRT01P"), armN = try column("TRT01PN")
        #expect(zip(arm, armN).allSatisfy { ($0 == "Drug A") == ($1 == "1") })
        for (site, id) in zip(try column("SITEID"), ids) {
            #expect(id.hasPrefix("MG01-\(site)-"), "\(id) at \(site)")
        }
        for age in try column("AGE") where !age.isEmpty {
            let value = try #require(Int(age))
            #expect((18...90).contains(value))  // exact bounds
        }
        for (aval, cnsr) in zip(try column("AVAL"), try column("CNSR")) {
            let value = try #require(Double(aval))
            // tolerance: exact bounds; administrative censoring at 1095 days
            #expect(value >= 0.1 && value <= 1095, "\(aval)")
            if cnsr == "1" { #expect(aval == "1095.0") }
        }
    }
}

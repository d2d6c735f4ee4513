import Foundation
import MedGridCohort
import MedGridCore
import Testing

@Suite struct TablesAnalysisTableTests {
    static let csv = """
        USUBJID,TRT01P,AGE,AVAL,CNSR,SEX,NOTE
        S1,Placebo,61,120.5,0,F,
        S2,Drug A,NA,.5,1,M,x
        S3,Drug A,,1e3,0,F,NA
        S4,Placebo,70,-3,.,M,y

        """

    @Test func infersKindsAndMissingTokens() throws {
        let table = try AnalysisTable(CSV.parse(Self.csv, file: "t.csv"), file: "t.csv")
        #expect(table.rowCount == 4)
        #expect(table.kind(of: "USUBJID") == .text)
        #expect(table.kind(of: "AGE") == .numeric)
        #expect(table.kind(of: "AVAL") == .numeric)
        #expect(table.kind(of: "CNSR") == .numeric)
        #expect(table.kind(of: "NOTE") == .text)
        let age = try table.numeric("AGE")
        #expect(age[0] == 61 && age[1].isNaN && age[2].isNaN && age[3] == 70)
        #expect(try table.numeric("AVAL") == [120.5, 0.5, 1000, -3])
        #expect(try table.textValues("NOTE") == [nil, "x", nil, "y"])
        #expect(try table.textValues("CNSR") == ["0", "1", "0", nil])
    }

    @Test func declaredNumericColumnWithTextIsAnError() throws {
        let raw = try CSV.parse(Self.csv, file: "t.csv")
        do {
            _ = try AnalysisTable(raw, schema: ["SEX": .numeric], file: "trial.csv")
            Issue.record("expected an error")
        } catch let e as CohortError {
            #expect(e.file == "trial.csv")
            #expect(e.row == 1)
            #expect(e.column == "SEX")
            #expect(e.code == .invalidValue)
            // The cell's text is never quoted (it may be patient data); row, column and expected type are.
            #expect(!e.description.contains("\"F\""))
            #expect(e.description.contains("not a number") && e.description.contains("declared numeric"))
        }
        // Declared text keeps numbers as text; an unknown schema column is an error.
        let t = try AnalysisTable(raw, schema: ["AGE": .text], file: "t.csv")
        #expect(t.kind(of: "AGE") == .text)
        #expect(throws: CohortError.self) { try AnalysisTable(raw, schema: ["NOPE": .numeric]) }
    }

    @Test func numberGrammarAndCorrectRounding() throws {
        let accepted = ["0", "-0", "+1", "1.", ".5", "1e3", "1E-3", "123456789012345678901234567890", "0.1", "2.5e-310",
                        "9007199254740993", "0.30000000000000004", "1.7976931348623157e308", "000123.4500", "4.9e-324",
                        "1234567890.0987654321", "-7.25e+22", "3.14159265358979323846264338327950288"]
        for s in accepted {
            let t = try AnalysisTable(CohortTable(columns: ["x"], rows: [[s]]), schema: ["x": .numeric])
            let v = try t.numeric("x")[0]
            let expected = try #require(Double(s))
            #expect(v.bitPattern == expected.bitPattern || (v == 0 && expected == 0), "\(s)")
        }
        let rejected = ["1e400", "inf", "nan", "0x10", " 1", "1 ", "1,5", "--1", "e5", "1e", ".", "+", "1.2.3", "١"]
        for s in rejected where !CohortTable.isMissing(s) {
            #expect(throws: CohortError.self, "\(s)") { try AnalysisTable(CohortTable(columns: ["x"], rows: [[s]]), schema: ["x": .numeric]) }
        }
        // Random decimals agree bitwise with Double(String).
        var rng = Xoshiro256StarStar(seed: 5)
        for _ in 0..<20_000 {
            let digits = 1 + rng.below(18)
            var s = rng.below(2) == 0 ? "" : "-"
            for i in 0..<digits {
                if i == rng.below(digits + 1) { s += "." }
                s += String(rng.below(10))
            }
            if rng.below(3) == 0 { s += "e\(rng.below(60) - 30)" }
            guard let expected = Double(s) else { continue }
            let t = try AnalysisTable(CohortTable(columns: ["x"], rows: [[s]]), schema: ["x": .numeric])
            #expect(try t.numeric("x")[0].bitPattern == expected.bitPattern, "\(s)")
        }
    }

    @Test func raggedRowsAndDuplicateNamesAreErrors() throws {
        #expect(throws: CohortError.self) { try AnalysisTable(CohortTable(columns: ["a", "b"], rows: [["1"]])) }
        #expect(throws: CohortError.self) { try AnalysisTable(names: ["a", "a"], columns: [.numeric([1]), .numeric([2])]) }
        #expect(throws: CohortError.self) { try AnalysisTable(names: ["a", "b"], columns: [.numeric([1]), .numeric([2, 3])]) }
    }
}

@Suite struct TablesADaMTests {
    static func table() throws -> AnalysisTable {
        let csv = """
            USUBJID,TRT01P,SITEID,CNSR,DTHFL,AGE,EVT
            1,A,S1,0,Y,60,1
            2,A,S1,1,,61,0
            3,B,S2,0,Y,,2
            4,B,S2,,N,63,0
            5,B,S1,2,,64,x

            """
        return try AnalysisTable(CSV.parse(csv, file: "adtte.csv"), file: "adtte.csv")
    }

    @Test func parsesExpressions() throws {
        let a = try EventIndicator(parsing: "CNSR==0")
        #expect(a.column == "CNSR" && a.comparison == .equal && a.value == "0")
        let b = try EventIndicator(parsing: " CNSR != 1 ")
        #expect(b.column == "CNSR" && b.comparison == .notEqual && b.value == "1")
        let c = try EventIndicator(parsing: "DTHFL=='Y'")
        #expect(c.value == "Y" && c.description == "DTHFL==Y")
        let d = try EventIndicator(parsing: "EVT")
        #expect(d.comparison == .nonzero)
        for bad in ["", "==1", "CNSR==", "CN SR==0", "A==B==C"] {
            #expect(throws: CohortError.self, "\(bad)") { try EventIndicator(parsing: bad) }
        }
    }

    @Test func evaluatesAndCountsExclusions() throws {
        let t = try Self.table()
        var ex = RowExclusions()
        #expect(try EventIndicator(parsing: "CNSR==0").evaluate(t, exclusions: &ex) == [1, 0, 1, nil, 0])
        #expect(ex.counts == ["missing value in CNSR": 1])
        ex = RowExclusions()
        #expect(try EventIndicator(parsing: "CNSR!=1").evaluate(t, exclusions: &ex) == [1, 0, 1, nil, 1])
        ex = RowExclusions()
        #expect(try EventIndicator(parsing: "DTHFL==Y").evaluate(t, exclusions: &ex) == [1, nil, 1, 0, nil])
        #expect(ex.counts == ["missing value in DTHFL": 2])
        ex = RowExclusions()
        #expect(try EventIndicator(parsing: "DTHFL==Y", missingIsNoMatch: true).evaluate(t, exclusions: &ex) == [1, 0, 1, 0, 0])
        #expect(ex.counts.isEmpty)
        ex = RowExclusions()
        #expect(try EventIndicator(parsing: "EVT").evaluate(t, exclusions: &ex) == [1, 0, 1, 0, nil])
        #expect(ex.counts == ["invalid value in EVT (expected a number)": 1])
        #expect(throws: CohortError.self) { try EventIndicator(parsing: "CNSR==Y").evaluate(t, exclusions: &ex) }
        #expect(throws: CohortError.self) { try EventIndicator(parsing: "NOPE==1").evaluate(t, exclusions: &ex) }
    }

    @Test func modelFrameAccountsForEveryRow() throws {
        let t = try Self.table()
        let frame = try t.modelFrame(event: EventIndicator(parsing: "CNSR==0"), covariates: ["AGE"])
        #expect(frame.sourceRows == [0, 1, 4])
        #expect(frame.outcome == [1, 0, 0])
        #expect(frame.design == [60, 61, 64])
        #expect(frame.exclusions.rowsRead == 5)
        #expect(frame.exclusions.kept == 3)
        #expect(frame.exclusions.counts == ["missing value in AGE": 1, "missing value in CNSR": 1])
        let json = frame.exclusions.json()
        #expect(json["rows_excluded"]?.intValue == 2)
        #expect(json["by_reason"]?["missing value in AGE"]?.intValue == 1)
        var merged = frame.exclusions
        merged.merge(frame.exclusions)
        #expect(merged.rowsRead == 10 && merged.excluded == 4)
        #expect(throws: CohortError.self) { try t.modelFrame(event: EventIndicator(parsing: "CNSR==0"), covariates: ["TRT01P"]) }
        let roles = ADaMRoles()
        #expect(roles.arm == "TRT01P" && roles.site == "SITEID" && roles.subject == "USUBJID")
        #expect(try roles.arms(in: t) == ["A", "A", "B", "B", "B"])
        #expect(try roles.sites(in: t) == ["S1", "S1", "S2", "S2", "S1"])
        #expect(try roles.subjects(in: t) == ["1", "2", "3", "4", "5"])
    }
}

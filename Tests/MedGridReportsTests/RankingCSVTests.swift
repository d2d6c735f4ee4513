import Foundation
import MedGridCore
import Testing

@testable import MedGridReports

struct RankingCSVTests {
    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch let e as MedGridError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    @Test func parsesTheReferenceLongTable() throws {
        let url = Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("ranking/scores.csv")
        let table = try ScoreTable.parseCSV(String(contentsOf: url, encoding: .utf8))
        #expect(table.records.count == 2 * 6 * 14)
        #expect(table.taskMetrics == [TaskMetric(task: "seg", metric: "DSC"), TaskMetric(task: "seg", metric: "HD")])
        let dsc = try table.matrix(for: TaskMetric(task: "seg", metric: "DSC"))
        let expected = try referenceMatrix("dsc_missing", metric: "DSC")
        #expect(dsc.algorithms == expected.algorithms && dsc.cases == expected.cases)
        #expect(dsc.missingCount == 6)
        for i in dsc.values.indices {
            #expect(dsc.values[i] == expected.values[i] || (dsc.values[i].isNaN && expected.values[i].isNaN))
        }
        #expect(try table.matrix(for: TaskMetric(task: "seg", metric: "HD")) == (try referenceMatrix("hd", metric: "HD")))
        // Ranking every (task, metric) and the consensus run from the table.
        let rankings = try ChallengeRanking.rankAll(table) { key in
            RankingSettings(scheme: .rankThenMean, smallerIsBetter: key.metric == "HD")
        }
        #expect(rankings.count == 2)
        let consensus = try ChallengeRanking.consensus(rankings)
        #expect(consensus.entries.count == 6)
    }

    @Test func optionalTaskAndMetricQuotedFieldsAndMissingValues() throws {
        let csv = "\u{FEFF}algorithm,case,value\r\n\"team, one\",c1,0.5\r\n\"team \"\"2\"\"\",c1, NA \r\n\r\n\"team, one\",c2,\r\nB,c2,1e-1\n"
        let t = try ScoreTable.parseCSV(csv, defaultTask: "T", defaultMetric: "M")
        #expect(t.records.count == 4)
        #expect(t.records[0] == ScoreRecord(task: "T", metric: "M", algorithm: "team, one", caseID: "c1", value: 0.5))
        #expect(t.records[1].algorithm == "team \"2\"" && t.records[1].value == nil)
        #expect(t.records[2].value == nil)
        #expect(t.records[3].value == 0.1)
        #expect(t.algorithms == ["B", "team \"2\"", "team, one"])
    }

    @Test func malformedInputNamesLineColumnAndExpectation() {
        // Missing required column.
        #expect(message { _ = try ScoreTable.parseCSV("algorithm,case\nA,1\n") }.contains("missing column 'value'"))
        // Not a number: line 3, column 3.
        let notNumber = message { _ = try ScoreTable.parseCSV("algorithm,case,value\nA,1,0.5\nA,2,abc\n") }
        #expect(notNumber.contains("line 3, column 3 (value)") && notNumber.contains("expected a decimal number"))
        // Infinite value.
        #expect(message { _ = try ScoreTable.parseCSV("algorithm,case,value\nA,1,inf\n") }.contains("not finite"))
        // Wrong field count.
        let fields = message { _ = try ScoreTable.parseCSV("task,algorithm,case,value\nt,A,1\n") }
        #expect(fields.contains("line 2") && fields.contains("3 fields, expected 4"))
        // Unterminated quote opened on line 2.
        let quote = message { _ = try ScoreTable.parseCSV("algorithm,case,value\n\"A,1,0.5\nB,1,0.2\n") }
        #expect(quote.contains("line 2, column 1") && quote.contains("unterminated"))
        // Junk after a closing quote.
        #expect(message { _ = try ScoreTable.parseCSV("algorithm,case,value\n\"A\"x,1,0.5\n") }.contains("after a closing quote"))
        // Duplicate (task, metric, algorithm, case): names both lines.
        let dup = message { _ = try ScoreTable.parseCSV("metric,algorithm,case,value\nDSC,A,1,0.5\nHD,A,1,3\nDSC,A,1,0.6\n") }
        #expect(dup.contains("line 4") && dup.contains("first given on line 2") && dup.contains("duplicate"))
        // Repeated header column, empty algorithm, empty input.
        #expect(message { _ = try ScoreTable.parseCSV("algorithm,case,value,case\nA,1,2,3\n") }.contains("column 4"))
        #expect(message { _ = try ScoreTable.parseCSV("algorithm,case,value\n,1,2\n") }.contains("line 2, column 1 (algorithm)"))
        #expect(message { _ = try ScoreTable.parseCSV("") }.contains("empty input"))
        // A quoted field with a line break moves the line count on.
        let multi = message { _ = try ScoreTable.parseCSV("algorithm,case,value\n\"A\nB\",1,0.5\nC,2,x\n") }
        #expect(multi.contains("line 4, column 3"))
    }

    @Test func duplicateRecordsAreRejectedByTheInitialiser() {
        let r = ScoreRecord(task: "t", metric: "m", algorithm: "a", caseID: "1", value: 1)
        #expect(throws: MedGridError.self) { try ScoreTable(records: [r, r]) }
        #expect(ScoreRecord(task: "t", metric: "m", algorithm: "a", caseID: "1", value: .nan).value == nil)
    }
}

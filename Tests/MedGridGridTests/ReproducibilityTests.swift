import Foundation
import Testing
import MedGridTesting

/// The canonical report is byte-identical whatever the worker count, slot count or shard size.
/// These run the real `medgrid run` (coordinator, workers and executor processes).
@Suite(.serialized)
struct ReproducibilityTests {
    @Test("imaging: --workers 1 and --workers 3, and two shard sizes, give byte-identical reports")
    func imagingReports() async throws {
        let ws = try TestSupport.workspaceCopy()
        let shard1 = try String(contentsOf: ws.appendingPathComponent("Jobs/quickstart.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "casesPerTask: 2", with: "casesPerTask: 1")
        #expect(shard1.contains("casesPerTask: 1"))
        let shardManifest = try writeManifest(shard1, named: "quickstart-shard1", in: ws)
        let runs: [([String], String)] = [
            (["run", "Jobs/quickstart.yaml", "--workers", "1", "--slots", "1"], "a"),
            (["run", "Jobs/quickstart.yaml", "--workers", "3", "--slots", "2"], "b"),
            (["run", shardManifest, "--workers", "2", "--slots", "1"], "c"),
        ]
        var reports: [Data] = []
        for (args, name) in runs {
            let out = try await TestSupport.medgrid(args + ["--state-dir", "state-\(name)", "--out", "out-\(name)"], in: ws)
            #expect(out.status == 0, "\(out.stderr)")
            reports.append(try reportBytes(ws.appendingPathComponent("out-\(name)")))
        }
        #expect(reports[0] == reports[1])
        #expect(reports[0] == reports[2])
        let text = String(decoding: reports[0], as: UTF8.self)
        #expect(text.contains("\"datasetRoot\""))
        #expect(text.contains("\"status\": \"succeeded\""))
        #expect(FileManager.default.fileExists(atPath: ws.appendingPathComponent("out-a/report.md").path))
    }

    @Test("cohort: one task per site and two row-shard sizes give byte-identical reports")
    func cohortReports() async throws {
        let ws = try TestSupport.workspaceCopy()
        let base = try String(contentsOf: ws.appendingPathComponent("Jobs/cohort-summary.yaml"), encoding: .utf8)
        #expect(base.contains("groupBy: SITEID"))
        let rows37 = try writeManifest(base.replacingOccurrences(of: "groupBy: SITEID", with: "rowsPerTask: 37"), named: "rows37", in: ws)
        let rows1000 = try writeManifest(base.replacingOccurrences(of: "groupBy: SITEID", with: "rowsPerTask: 1000"), named: "rows1000", in: ws)
        var reports: [Data] = []
        for (i, (manifest, workers)) in [("Jobs/cohort-summary.yaml", 1), (rows37, 3), (rows1000, 2)].enumerated() {
            let out = try await TestSupport.medgrid(["run", manifest, "--workers", "\(workers)", "--slots", "2", "--state-dir", "s\(i)", "--out", "o\(i)"], in: ws)
            #expect(out.status == 0, "\(out.stderr)")
            reports.append(try reportBytes(ws.appendingPathComponent("o\(i)")))
        }
        #expect(reports[0] == reports[1])
        #expect(reports[0] == reports[2])
        #expect(String(decoding: reports[0], as: UTF8.self).contains("\"armTotals\""))
    }
}

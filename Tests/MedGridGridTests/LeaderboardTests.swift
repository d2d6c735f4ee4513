import Foundation
import Testing
import MedGridCore
import MedGridTesting

/// Benchmark reports in every format, `medgrid verify`, `medgrid rank` and leaderboards over time.
struct LeaderboardTests {
    @Test("a benchmark run writes every report format, and verify passes on it and fails with the reason when a label changes")
    func verifyReport() async throws {
        let ws = try TestSupport.workspaceCopy()
        let run = try await TestSupport.medgrid(["run", "Jobs/phantom-benchmark.yaml", "--state-dir", "s", "--out", "out"], in: ws)
        #expect(run.status == 0, "\(run.stderr)")
        for file in ["report.json", "report.md", "scores.csv", "report.html", "run.json"] {
            #expect(FileManager.default.fileExists(atPath: ws.appendingPathComponent("out/\(file)").path), "\(file) missing")
        }
        let report = try JSONValue(parsing: try reportBytes(ws.appendingPathComponent("out")))
        let consensus = try #require(report["ranking"]?["consensus"]?.arrayValue)
        #expect(consensus.count == report["provenance"]?["steps"]?.arrayValue?.count)
        #expect(consensus.allSatisfy { $0["rankLower"]?.doubleValue != nil && $0["rankUpper"]?.doubleValue != nil })

        // The benchmark has an external command algorithm, so verify runs it only with --allow-commands (ReportTrustTests).
        let ok = try await TestSupport.medgrid(["verify", "out", "--allow-commands"], in: ws)
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("matches the re-run byte for byte"))

        // Change one ground-truth file: verify fails, names the file and the differing fields.
        let label = ws.appendingPathComponent("Datasets/phantom/labelsTr/phantom_002.nii.gz")
        let other = ws.appendingPathComponent("Datasets/phantom/labelsTr/phantom_001.nii.gz")
        try FileManager.default.removeItem(at: label)
        try FileManager.default.copyItem(at: other, to: label)
        let bad = try await TestSupport.medgrid(["verify", "out", "--allow-commands"], in: ws)
        #expect(bad.status == 3, "\(bad.stdout)\(bad.stderr)")
        #expect(bad.stdout.contains("the data changed"))
        #expect(bad.stdout.contains("labelsTr/phantom_002.nii.gz"))
        #expect(bad.stdout.contains("first differences"))
        #expect(bad.stdout.contains(".dice"))

        // A missing report is a clear error.
        let edited = try await TestSupport.medgrid(["verify", "/nonexistent/report.json"], in: ws)
        #expect(edited.status == 1)
        #expect(edited.stderr.contains("no such report"))
    }

    @Test("medgrid rank ranks a long-format CSV from anywhere, with a deterministic bootstrap")
    func rankCSV() async throws {
        let ws = try TestSupport.workspaceCopy()
        // Two algorithms, four cases: A = 0.2 everywhere, B = 1.0 everywhere; smaller is better.
        var csv = "algorithm,case,value\n"
        for c in 1...4 { csv += "A,c\(c),0.2\nB,c\(c),1.0\n" }
        try csv.write(to: ws.appendingPathComponent("scores.csv"), atomically: true, encoding: .utf8)
        let out = try await TestSupport.medgrid(["rank", "scores.csv", "--scheme", "test-then-rank", "--smaller-is-better", "--json"], in: ws)
        #expect(out.status == 0, "\(out.stderr)")
        let json = try JSONValue(parsing: Data(out.stdout.utf8))
        let comparisons = try #require(json["rankings"]?.arrayValue?.first?["significance"]?["comparisons"]?.arrayValue)
        let aOverB = try #require(comparisons.first { $0["algorithm"]?.stringValue == "A" })
        #expect(abs((aOverB["pValue"]?.doubleValue ?? 0) - 0.035930) < 1e-6)  // R: wilcox.test(..., paired, "less", correct = TRUE)
        let ranking = try #require(json["rankings"]?.arrayValue?.first?["ranking"]?["ranking"]?.arrayValue)
        #expect(ranking.first?["algorithm"]?.stringValue == "A")

        let b1 = try await TestSupport.medgrid(["rank", "scores.csv", "--bootstrap", "50", "--seed", "7", "--json"], in: ws)
        let b2 = try await TestSupport.medgrid(["rank", "scores.csv", "--bootstrap", "50", "--seed", "7", "--json"], in: ws)
        #expect(b1.status == 0 && b1.stdout == b2.stdout)

        try "algorithm,case\nA,c1\n".write(to: ws.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        let bad = try await TestSupport.medgrid(["rank", "bad.csv"], in: ws)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("bad.csv") && bad.stderr.contains("value"))
    }

    @Test("a leaderboard publishes immutable versions, refuses other benchmarks, and re-evaluates when the ground truth changes")
    func leaderboardVersions() async throws {
        let ws = try TestSupport.workspaceCopy()
        #expect(try await TestSupport.medgrid(["run", "Jobs/phantom-benchmark.yaml", "--state-dir", "s", "--out", "out"], in: ws).status == 0)
        let add = try await TestSupport.medgrid(["leaderboard", "phantom", "--add", "out", "--state-dir", "s"], in: ws)
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("version 1"))
        #expect(add.stdout.contains("rank 95% interval"))

        let show = try await TestSupport.medgrid(["leaderboard", "phantom", "--state-dir", "s", "--json"], in: ws)
        let v1 = try JSONValue(parsing: Data(show.stdout.utf8))
        #expect(v1["version"]?.intValue == 1)
        #expect(v1["entries"]?.arrayValue?.allSatisfy { $0["source"]?["manifestSHA256"]?.stringValue != nil } == true)

        // A report on other metrics is not on this benchmark.
        let other = try String(contentsOf: ws.appendingPathComponent("Jobs/phantom-benchmark.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "name: phantom-benchmark", with: "name: phantom-dice-only")
            .replacingOccurrences(of: "metrics: [dice, jaccard, volume-difference, hd95, nsd]", with: "metrics: [dice]")
        let path = try writeManifest(other, named: "phantom-dice-only", in: ws)
        #expect(try await TestSupport.medgrid(["run", path, "--state-dir", "s", "--out", "out-dice"], in: ws).status == 0)
        let refused = try await TestSupport.medgrid(["leaderboard", "phantom", "--add", "out-dice", "--state-dir", "s"], in: ws)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("metrics"))

        // Nothing changed: no new version.
        let same = try await TestSupport.medgrid(["leaderboard", "phantom", "--reevaluate", "--state-dir", "s"], in: ws)
        #expect(same.status == 0)
        #expect(same.stdout.contains("nothing to re-evaluate"))

        // New ground truth: the labels of cases 2–6 are replaced by case 1's, so the scores change.
        for i in 2...6 {
            let label = ws.appendingPathComponent("Datasets/phantom/labelsTr/phantom_00\(i).nii.gz")
            try FileManager.default.removeItem(at: label)
            try FileManager.default.copyItem(at: ws.appendingPathComponent("Datasets/phantom/labelsTr/phantom_001.nii.gz"), to: label)
        }
        let re = try await TestSupport.medgrid(["leaderboard", "phantom", "--reevaluate", "--allow-commands", "--state-dir", "s"], in: ws)
        #expect(re.status == 0, "\(re.stderr)")
        #expect(re.stdout.contains("version 2"))
        #expect(re.stdout.contains("ground truth/data changed"))
        let history = try await TestSupport.medgrid(["leaderboard", "phantom", "--history", "--state-dir", "s"], in: ws)
        #expect(history.stdout.contains("v1: added"))
        #expect(history.stdout.contains("v2: re-evaluated"))
        let old = try JSONValue(parsing: Data(try await TestSupport.medgrid(["leaderboard", "phantom", "--version", "1", "--json", "--state-dir", "s"], in: ws).stdout.utf8))
        #expect(old == v1)  // history is immutable
        let v2 = try JSONValue(parsing: Data(try await TestSupport.medgrid(["leaderboard", "phantom", "--json", "--state-dir", "s"], in: ws).stdout.utf8))
        #expect(v2["benchmark"]?["datasetRoot"] != v1["benchmark"]?["datasetRoot"])
        #expect(v2["entries"]?.arrayValue?.first?["scores"] != v1["entries"]?.arrayValue?.first?["scores"])

        // The store refuses to edit a published version.
        let db = ws.appendingPathComponent("s/medgrid.sqlite").path
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);\ntry:\n c.execute(\"UPDATE leaderboard_versions SET document='x'\"); c.commit(); print('updated')\nexcept Exception as e: print('refused', e)", db]
        let pipe = Pipe()
        sqlite.standardOutput = pipe
        try sqlite.run()
        sqlite.waitUntilExit()
        let said = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(said.contains("refused"), "\(said)")
    }
}

/// The benchmark page in a real browser: no console errors, every plot drawn with a non-zero size, every
/// embedded PNG valid. Runs where Chromium is installed (`apt-get install -y chromium python3-pil`).
struct BrowserReportTests {
    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test("the phantom benchmark's report.html renders in headless Chromium without errors", .enabled(if: chromium != nil))
    func headlessChromium() async throws {
        let ws = try TestSupport.workspaceCopy()
        let run = try await TestSupport.medgrid(["run", "Jobs/phantom-benchmark.yaml", "--state-dir", "s", "--out", "out"], in: ws)
        #expect(run.status == 0, "\(run.stderr)")
        let script = TestSupport.repositoryRoot().appendingPathComponent("Scripts/check-html-report.sh").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script, ws.appendingPathComponent("out/report.html").path]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(output)")
        #expect(output.contains("PASS"))
        for kind in ["score-distribution", "rank-blobs", "significance-map", "slice-overlay"] {
            #expect(output.contains("ok: \(kind):"), "\(kind) missing: \(output)")
        }
    }
}

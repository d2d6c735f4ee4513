import Foundation
import Testing
import MedGridCore
import MedGridReports
import MedGridTesting

/// A saved report is untrusted input. `verify` and `leaderboard --reevaluate` must not run the command steps
/// its author wrote unless told to, and `leaderboard --add` must not take scores that were changed after the
/// report was written. Each refusal is shown by the attack it stops, with the real binary.
struct ReportTrustTests {
    /// A genuine Benchmark report (written by `medgrid run`) whose second algorithm is an external command that
    /// touches `marker` before segmenting, so every run of it leaves a trace.
    struct MarkerReport {
        var workspace: URL
        var out: URL
        var marker: URL
        var command: [String]
    }

    static func markerReport() async throws -> MarkerReport {
        let ws = try TestSupport.workspaceCopy()
        // Writable by all: a command step of a worker running as root runs as another, unprivileged user.
        let markers = ws.appendingPathComponent("markers")
        try FileManager.default.createDirectory(at: markers, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: markers.path)
        let marker = markers.appendingPathComponent("touched-by-report")
        let script = "touch \(marker.path) && exec \"$MEDGRID_BIN\" kernel run imaging.threshold --input \"$MEDGRID_IMAGE\" --param lower=70 --param upper=150 --output \"$MEDGRID_PREDICTION\""
        let command = ["sh", "-c", script]
        let manifest = """
            apiVersion: medgrid/v1
            kind: Benchmark
            metadata:
              name: marker-benchmark
            spec:
              dataset: ../Datasets/phantom
              algorithms:
                - name: threshold-60
                  kernel: imaging.threshold
                  params: {lower: 60, upper: 200}
                - name: marker
                  command: \(CanonicalJSON.compact(.array(command.map { .string($0) })))
              metrics: [dice]
              ranking: {scheme: mean-then-rank, bootstrap: 50}
              shard: {casesPerTask: 3}
              seed: 1
            """
        let path = try writeManifest(manifest, named: "marker-benchmark", in: ws)
        let run = try await TestSupport.medgrid(["run", path, "--state-dir", "s", "--out", "out", "--quiet"], in: ws)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: marker.path), "the command step ran during medgrid run")
        try FileManager.default.removeItem(at: marker)
        return MarkerReport(workspace: ws, out: ws.appendingPathComponent("out"), marker: marker, command: command)
    }

    @Test("verify refuses a report with a command step before running anything and lists the command; --allow-commands runs it and verifies")
    func verifyRefusesCommands() async throws {
        let r = try await Self.markerReport()
        let refused = try await TestSupport.medgrid(["verify", "out"], in: r.workspace)
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: r.marker.path), "verify ran the report's command")
        let line = ReportTrust.shellQuoted(r.command)
        #expect(line.hasPrefix("sh -c 'touch \(r.marker.path) && exec"))
        #expect(refused.stderr.contains("\n  \(line)    # step marker\n"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--allow-commands"))
        #expect(refused.stderr.contains("trust"))
        #expect(!refused.stdout.contains("re-running"), "\(refused.stdout)")

        let allowed = try await TestSupport.medgrid(["verify", "out", "--allow-commands"], in: r.workspace)
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(FileManager.default.fileExists(atPath: r.marker.path))
        #expect(allowed.stderr.contains("warning: --allow-commands"))
        #expect(allowed.stderr.contains(line))
        #expect(allowed.stdout.contains("matches the re-run byte for byte"))

        #expect(try await TestSupport.medgrid(["verify", "--help"]).stdout.contains("--allow-commands"))
    }

    @Test("leaderboard --reevaluate refuses entries that are commands, lists them and publishes nothing; --allow-commands runs them")
    func reevaluateRefusesCommands() async throws {
        let r = try await Self.markerReport()
        let add = try await TestSupport.medgrid(["leaderboard", "marker", "--add", "out", "--state-dir", "s"], in: r.workspace)
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stderr.contains("marker is an external command"), "\(add.stderr)")
        #expect(!FileManager.default.fileExists(atPath: r.marker.path), "--add runs nothing")
        let v1 = try await TestSupport.medgrid(["leaderboard", "marker", "--json", "--state-dir", "s"], in: r.workspace).stdout
        let source = try #require(try JSONValue(parsing: Data(v1.utf8))["entries"]?.arrayValue?.first?["source"])
        #expect(source["reportSHA256"]?.stringValue == ContentHash.sha256(try reportBytes(r.out)))

        let refused = try await TestSupport.medgrid(["leaderboard", "marker", "--reevaluate", "--force", "--state-dir", "s"], in: r.workspace)
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: r.marker.path), "re-evaluation ran an entry's command")
        #expect(refused.stderr.contains("\n  \(ReportTrust.shellQuoted(r.command))    # step marker\n"), "\(refused.stderr)")
        #expect(refused.stderr.contains("marker-benchmark"), "names the job the command came from")
        #expect(refused.stderr.contains("--allow-commands"))
        #expect(try await TestSupport.medgrid(["leaderboard", "marker", "--json", "--state-dir", "s"], in: r.workspace).stdout == v1)

        // The flag means nothing without --reevaluate, so it is refused rather than silently ignored.
        #expect(try await TestSupport.medgrid(["leaderboard", "marker", "--allow-commands", "--state-dir", "s"], in: r.workspace).status != 0)

        let allowed = try await TestSupport.medgrid(["leaderboard", "marker", "--reevaluate", "--force", "--allow-commands", "--state-dir", "s"], in: r.workspace)
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(FileManager.default.fileExists(atPath: r.marker.path))
        #expect(allowed.stderr.contains("warning: --allow-commands"))
        #expect(allowed.stdout.contains("version 2"))
    }

    @Test("leaderboard --add refuses a report whose scores, manifest, form or scores.csv were changed, names the file, and leaves the leaderboard unchanged")
    func addRefusesTamperedReports() async throws {
        let r = try await Self.markerReport()
        let ws = r.workspace
        #expect(try await TestSupport.medgrid(["leaderboard", "marker", "--add", "out", "--state-dir", "s"], in: ws).status == 0)
        let v1 = try await TestSupport.medgrid(["leaderboard", "marker", "--json", "--state-dir", "s"], in: ws).stdout
        let original = try reportBytes(r.out)
        let report = try JSONValue(parsing: original)

        func variant(_ name: String, edit: (URL) throws -> Void) throws -> URL {
            let dir = ws.appendingPathComponent(name)
            try FileManager.default.copyItem(at: r.out, to: dir)
            try edit(dir)
            return dir
        }
        func writeCanonical(_ value: JSONValue, to dir: URL) throws {
            try Data(CanonicalJSON.encode(value).utf8).write(to: dir.appendingPathComponent("report.json"))
        }

        // One score made better, the report kept canonical and scores.csv re-rendered to agree with it: only
        // the ranking recorded beside the scores gives it away.
        let betterScore = try variant("better-score") { dir in
            guard case .object(var top) = report, var scores = report["scores"]?.arrayValue,
                  let i = scores.firstIndex(where: { $0["algorithm"]?.stringValue == "threshold-60" && $0["value"]?.doubleValue != nil }),
                  case .object(var row) = scores[i] else { Issue.record("no score to change"); return }
            row["value"] = .double(0.999)
            scores[i] = .object(row)
            top["scores"] = .array(scores)
            try writeCanonical(.object(top), to: dir)
            try ScoresCSV.render(scores).write(to: dir.appendingPathComponent("scores.csv"), atomically: true, encoding: .utf8)
        }
        // Only scores.csv changed.
        let csv = try variant("edited-csv") { dir in
            let url = dir.appendingPathComponent("scores.csv")
            var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
            var cells = lines[1].components(separatedBy: ",")
            cells[cells.count - 1] = "0.999"
            lines[1] = cells.joined(separator: ",")
            try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        // The recorded manifest changed, its hash not.
        let manifest = try variant("edited-manifest") { dir in
            guard case .object(var top) = report, case .object(var provenance)? = report["provenance"],
                  case .object(var m)? = provenance["manifest"], case .object(var metadata)? = m["metadata"] else { Issue.record("no manifest"); return }
            metadata["description"] = "edited"
            m["metadata"] = .object(metadata)
            provenance["manifest"] = .object(m)
            top["provenance"] = .object(provenance)
            try writeCanonical(.object(top), to: dir)
        }
        // Hand-edited: same JSON values, not the canonical bytes.
        let form = try variant("not-canonical") { dir in
            var text = String(decoding: original, as: UTF8.self)
            text = text.replacingOccurrences(of: "\"kind\": \"JobReport\"", with: "\"kind\":  \"JobReport\"")
            try text.write(to: dir.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
        }

        let cases: [(URL, [String])] = [
            (betterScore, ["better-score/report.json", "ranking"]),
            (csv, ["edited-csv/scores.csv: line 2", "threshold-60"]),
            (manifest, ["edited-manifest/report.json", "provenance.manifestSHA256"]),
            (form, ["not-canonical/report.json: byte offset", "canonical"]),
        ]
        for (dir, fragments) in cases {
            let out = try await TestSupport.medgrid(["leaderboard", "marker", "--add", dir.path, "--state-dir", "s"], in: ws)
            #expect(out.status == 1, "\(dir.lastPathComponent): \(out.stdout)\(out.stderr)")
            #expect(out.stderr.contains("refusing to add"), "\(out.stderr)")
            #expect(out.stderr.contains("Nothing was published"))
            for f in fragments { #expect(out.stderr.contains(f), "\(dir.lastPathComponent): expected \(f) in \(out.stderr)") }
        }
        // All or nothing: a genuine report added together with a tampered one is not published either.
        let both = try await TestSupport.medgrid(["leaderboard", "marker", "--add", "out", "--add", csv.path, "--state-dir", "s"], in: ws)
        #expect(both.status == 1)

        #expect(try await TestSupport.medgrid(["leaderboard", "marker", "--json", "--state-dir", "s"], in: ws).stdout == v1)
        let history = try await TestSupport.medgrid(["leaderboard", "marker", "--history", "--state-dir", "s"], in: ws).stdout
        #expect(history.split(separator: "\n").count == 1, "\(history)")
        // verify names the same edit as a reason (with the commands allowed, it re-runs and differs).
        let verify = try await TestSupport.medgrid(["verify", betterScore.path, "--allow-commands"], in: ws)
        #expect(verify.status == 3, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("ranking: not the ranking its scores give"), "\(verify.stdout)")
    }

    @Test("a report's integrity problems name the file, the field or byte offset, and what differs")
    func integrityProblems() throws {
        let manifest: JSONValue = ["apiVersion": "medgrid/v1", "kind": "Job", "metadata": ["name": "x"], "spec": ["kernel": "debug.noop"]]
        let report: JSONValue = [
            "kind": "JobReport", "job": ["name": "x", "kind": "Job"],
            "provenance": ["manifest": manifest, "manifestSHA256": .string(CanonicalJSON.sha256(manifest))],
        ]
        let bytes = Data(CanonicalJSON.encode(report).utf8)
        #expect(ReportTrust.integrityProblems(report: bytes, file: "r.json").isEmpty)

        var spaced = bytes
        spaced.insert(UInt8(ascii: " "), at: 11)  // `{\n  "job": {` becomes `{\n  "job":  {`
        let form = ReportTrust.integrityProblems(report: spaced, file: "r.json")
        #expect(form.count == 1)
        #expect(form.first?.hasPrefix("r.json: byte offset 11 (line 2)") == true, "\(form)")

        guard case .object(var top) = report else { return }
        top["provenance"] = ["manifest": ["kind": "Job"], "manifestSHA256": .string(CanonicalJSON.sha256(manifest))]
        let edited = ReportTrust.integrityProblems(report: Data(CanonicalJSON.encode(.object(top)).utf8), file: "r.json")
        #expect(edited.count == 1)
        #expect(edited.first?.contains("r.json: provenance.manifestSHA256 is \(CanonicalJSON.sha256(manifest))") == true, "\(edited)")

        #expect(ScoresCSV.firstDifferingLine("a\nb\nc\n", "a\nb\nc\n") == nil)
        #expect(ScoresCSV.firstDifferingLine("a\nb\nc\n", "a\nB\nc\n") == 2)
        #expect(ScoresCSV.firstDifferingLine("a\nb\n", "a\nb\nc\n") == 3)
    }

    @Test("shell quoting gives a line bash reads back into the same arguments, with hidden characters made visible", arguments: [
        (["sh", "-c", "touch /tmp/m"], "sh -c 'touch /tmp/m'"),
        (["echo", "it's"], "echo 'it'\\''s'"),
        (["printf", "a\nb"], "printf $'a\\nb'"),
        (["cat", "\u{202E}txt.exe"], "cat $'\\u202etxt.exe'"),
        (["echo", "ok\u{1B}[2K\rfine"], "echo $'ok\\x1b[2K\\rfine'"),
        (["echo", ""], "echo ''"),
        (["A=1", "b"], "'A=1' b"),
        (["kernel", "--param", "lower=70"], "kernel --param lower=70"),
        (["echo", "$HOME", "`id`", "*"], "echo '$HOME' '`id`' '*'"),
    ])
    func shellQuoting(_ argv: [String], _ expected: String) throws {
        let line = ReportTrust.shellQuoted(argv)
        #expect(line == expected)
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1B}"))
        // bash reads the line back into exactly these arguments.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "printf '%s\\0' \(line)"]
        p.environment = ["LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"]  // $'\u…' needs a UTF-8 locale
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var args = String(decoding: data, as: UTF8.self).components(separatedBy: "\0")
        args.removeLast()
        #expect(args == argv)
    }
}

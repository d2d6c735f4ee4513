import Foundation
import Testing
import MedGridCore
import MedGridTesting

/// A kernel that traps, hangs, throws or exits non-zero fails only that attempt: the worker and the job
/// go on, and the error (with the command's stderr tail) reaches the report.
struct FailureTests {
    @Test("trap, hang, throw and a failing command each fail only their task; the rest succeed")
    func failuresAreContained() async throws {
        let ws = try TestSupport.workspaceCopy()
        let dataset = try await synthPhantom(in: ws, name: "six", cases: 6)
        let script = ws.appendingPathComponent("Jobs/segment.sh")
        try """
            #!/bin/sh
            # An external "algorithm": reads the task JSON on stdin, fails on one case.
            task=$(cat)
            case "$task" in
              *phantom_005*) echo "model weights not found for this case" >&2; exit 3 ;;
            esac
            echo '{"ok": 1}'
            """.write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        let manifest = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata:
              name: failures
            spec:
              dataset: \(dataset)
              steps:
                - name: trap
                  kernel: debug.trap
                  params: {cases: [phantom_002]}
                - name: fail
                  kernel: debug.fail
                  params: {cases: [phantom_003], message: "lesion not found"}
                - name: hang
                  kernel: debug.sleep
                  params: {cases: [phantom_004], seconds: 120}
                - name: external
                  command: [\(script.path)]
                - name: stats
                  kernel: imaging.stats
              shard: {casesPerTask: 1}
              retries: {kernelError: 1, timeout: 0, backoffSeconds: 0}
              timeoutSeconds: 3
            """, named: "failures", in: ws)
        let out = try await TestSupport.medgrid(["run", manifest, "--workers", "1", "--slots", "1", "--state-dir", "st", "--out", "out"], in: ws)
        #expect(out.status == 2, "exit status 2 means: finished with failed tasks. \(out.stderr)")
        let report = try JSONValue(parsing: try reportBytes(ws.appendingPathComponent("out")))
        #expect(report["status"]?.stringValue == "partiallyFailed")
        let failures = try #require(report["failures"]?.arrayValue)
        let byCase = Dictionary(uniqueKeysWithValues: failures.map { ($0["covers"]?.stringValue ?? "", $0) })
        #expect(byCase["case phantom_002"]?["kind"]?.stringValue == "trapped")
        #expect(byCase["case phantom_002"]?["stderrTail"]?.stringValue?.contains("Index out of range") == true)
        #expect(byCase["case phantom_003"]?["kind"]?.stringValue == "kernelError")
        #expect(byCase["case phantom_003"]?["message"]?.stringValue?.contains("lesion not found") == true)
        #expect(byCase["case phantom_004"]?["kind"]?.stringValue == "timeout")
        #expect(byCase["case phantom_005"]?["kind"]?.stringValue == "kernelError")
        #expect(byCase["case phantom_005"]?["stderrTail"]?.stringValue?.contains("model weights not found") == true)
        let succeeded = report["cases"]?.arrayValue?.compactMap { $0["case"]?.stringValue }
        #expect(succeeded == ["phantom_001", "phantom_006"])
        #expect(report["cases"]?.arrayValue?.first?["results"]?["stats"]?["voxelCount"]?.intValue == 16 * 16 * 8)
        let md = try String(contentsOf: ws.appendingPathComponent("out/report.md"), encoding: .utf8)
        #expect(md.contains("## Failed tasks"))
    }
}

import Foundation
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridTesting
import MedGridTransport

/// No cell value leaves a site-local task: not in failure messages, not in stderr tails, not in the
/// coordinator's store. Errors name the row and column instead.
@Suite(.serialized)
struct SitePrivacyTests {
    /// A recognisable patient ID planted in a numeric cell of the site's file.
    static let patientID = "MG01-S77-4711"

    @Test("a bad cell in a site-local job is reported by row and column; no cell text reaches the coordinator")
    func badCellStaysAtSite() async throws {
        let ws = try TestSupport.workspaceCopy()
        let sites = try SiteCohortTests.splitBySite(ws)
        let site = sites[0]
        // The last data row's AGE becomes a patient ID.
        let file = ws.appendingPathComponent("sites/\(site)/adtte.csv")
        var lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let age = try #require(header.firstIndex(of: "AGE"))
        var cells = lines[lines.count - 1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        cells[age] = Self.patientID
        lines[lines.count - 1] = cells.joined(separator: ",")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let badRow = lines.count - 1  // 1-based data row: the header is row 0

        func manifest(_ name: String, _ steps: String) throws -> String {
            try writeManifest("""
                apiVersion: medgrid/v1
                kind: Job
                metadata: {name: \(name)}
                spec:
                  sites: {file: adtte.csv, label: site, names: [\(site)]}
                  steps:
                \(steps)
                  retries: {kernelError: 0, backoffSeconds: 0}
                """, named: name, in: ws)
        }
        // 1. A declared numeric column holding the ID. 2. The issue's case: USUBJID declared numeric.
        // 3. A command step that prints the row with the ID to stderr and fails (the manifest, which the
        //    report records, does not hold the ID itself).
        let jobs = [
            try manifest("age-numeric", "    - kernel: survival.km\n      params: {schema: [\"AGE:numeric\"]}"),
            try manifest("usubjid-numeric", "    - kernel: survival.km\n      params: {schema: [\"USUBJID:numeric\"]}"),
            try manifest("stderr-leak", "    - name: leak\n      command: [sh, -c, 'cat >/dev/null; grep -h S77 inputs/site/*/adtte.csv >&2; exit 1']"),
        ]

        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: try TestPKI(), leaseTTL: 10)
        let user = try server.pki.issue(.user, "alice")
        let f = try server.pki.issue(.worker, "w-\(site)", labels: ["site": site])  // the site comes from the certificate
        let worker = try TestSupport.startMedgrid([
            "worker", "--coordinator", server.url, "--cert", f.certificate.path, "--key", f.privateKey.path,
            "--ca", server.pki.caFile.path, "--slots", "1", "--state-dir", "wstate", "--log-level", "debug",
            "--label", "site=\(site)", "--site-data", ws.appendingPathComponent("sites/\(site)").path, "--allow-commands",
        ], in: ws)
        defer { if worker.process.isRunning { worker.kill(signal: SIGKILL) }; _ = worker.finish() }

        var reports: [String: JSONValue] = [:]
        var texts: [String] = []
        for manifest in jobs {
            let out = try await TestSupport.medgrid(["submit", manifest, "--coordinator", server.url, "--cert", user.certificate.path, "--key", user.privateKey.path, "--ca", server.pki.caFile.path, "--json"], in: ws)
            #expect(out.status == 0, "\(out.stderr)")
            let job = try #require(try JSONValue(parsing: Data(out.stdout.utf8))["job"]?.stringValue)
            let end = Date().addingTimeInterval(240)  // generous: a busy 2-core machine runs other suites at once
            while await server.coordinator.jobStatus(job)?.isTerminal != true, Date() < end { try await Task.sleep(for: .milliseconds(100)) }
            #expect(await server.coordinator.jobStatus(job)?.isTerminal == true, "\(job) did not finish")
            let text = try await server.coordinator.report(job)
            texts.append(text)
            reports[URL(fileURLWithPath: manifest).deletingPathExtension().lastPathComponent] = try JSONValue(parsing: Data(text.utf8))
        }

        // Each job failed, and says where without saying what.
        func failure(_ name: String) throws -> JSONValue {
            try #require(reports[name]?["failures"]?.arrayValue?.first, "\(name) has no failure")
        }
        let ageFailure = try failure("age-numeric")
        let ageMessage = try #require(ageFailure["message"]?.stringValue)
        #expect(ageMessage.contains("row \(badRow)") && ageMessage.contains("column AGE"), "\(ageMessage)")
        #expect(ageMessage.contains("not a number") && ageMessage.contains("declared numeric"), "\(ageMessage)")
        let idMessage = try #require(try failure("usubjid-numeric")["message"]?.stringValue)
        #expect(idMessage.contains("row 1") && idMessage.contains("column USUBJID"), "\(idMessage)")
        let leak = try failure("stderr-leak")
        #expect(leak["kind"]?.stringValue == "kernelError")
        #expect(leak["stderrTail"] == nil, "a site-local task's stderr tail left the site")

        // No subject ID anywhere: reports, the coordinator's store (with its WAL), the worker's log.
        for text in texts {
            #expect(!text.contains(Self.patientID) && !text.contains("MG01-S"), "a report holds a subject ID")
        }
        await server.stop()
        let coordFiles = FileManager.default.enumerator(at: ws.appendingPathComponent("coord"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL } ?? []
        #expect(coordFiles.contains { $0.lastPathComponent == "medgrid.sqlite" })
        for url in coordFiles {
            guard let bytes = try? Data(contentsOf: url) else { continue }
            #expect(bytes.range(of: Data(Self.patientID.utf8)) == nil, "\(url.lastPathComponent) holds the planted patient ID")
            #expect(bytes.range(of: Data("MG01-S".utf8)) == nil, "\(url.lastPathComponent) holds a subject ID")
        }
        worker.kill(signal: SIGTERM)
        let log = worker.finish().stderr
        #expect(!log.contains(Self.patientID) && !log.contains("MG01-S"), "the worker's log holds a subject ID")
        #expect(log.contains("stderr_bytes"), "the worker logs only the length of a site-local stderr tail")
    }
}

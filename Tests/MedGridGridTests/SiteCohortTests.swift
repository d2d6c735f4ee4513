import Foundation
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridTesting
import MedGridTransport

/// Multi-site cohorts whose rows never leave their sites, and multi-round jobs.
@Suite(.serialized)
struct SiteCohortTests {
    /// Splits the trial cohort by SITEID into one folder per site (`sites/<site>/adtte.csv`).
    static func splitBySite(_ ws: URL) throws -> [String] {
        let text = try String(contentsOf: ws.appendingPathComponent("Datasets/trial/cohort.csv"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines[0]
        let siteColumn = header.split(separator: ",").firstIndex(of: "SITEID")!
        var bySite: [String: [Substring]] = [:]
        for line in lines.dropFirst() { bySite[String(line.split(separator: ",")[siteColumn]), default: []].append(line) }
        for (site, rows) in bySite {
            let dir = ws.appendingPathComponent("sites/\(site)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try ([header] + rows).joined(separator: "\n").appending("\n").write(to: dir.appendingPathComponent("adtte.csv"), atomically: true, encoding: .utf8)
        }
        return bySite.keys.sorted()
    }

    @Test("a site-local job runs each site's task on that site's worker only; rows never reach the coordinator; rounds advance")
    func siteLocal() async throws {
        let ws = try TestSupport.workspaceCopy()
        let sites = try Self.splitBySite(ws)
        let manifest = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: sites}
            spec:
              sites: {file: adtte.csv, label: site, names: [\(sites.joined(separator: ", "))]}
              steps:
                - kernel: cohort.summary
                  params: {paramcd: OS}
                - kernel: debug.rounds
                  params: {rounds: 3}
                - kernel: survival.cox
                  params: {covariates: "TRT01PN,AGE", strata: SITEID, paramcd: OS}
            """, named: "sites", in: ws)
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: try TestPKI(), leaseTTL: 5)
        let user = try server.pki.issue(.user, "alice")
        var workers: [TestSupport.RunningProcess] = []
        // One worker per site, plus one at a site that is not in the study: it must get nothing.
        for site in sites + ["S99"] {
            let f = try server.pki.issue(.worker, "w-\(site)", labels: ["site": site])  // the site comes from the certificate
            workers.append(try TestSupport.startMedgrid([
                "worker", "--coordinator", server.url, "--cert", f.certificate.path, "--key", f.privateKey.path,
                "--ca", server.pki.caFile.path, "--slots", "1", "--state-dir", "wstate-\(site)", "--log-level", "error",
                "--label", "site=\(site)", "--site-data", ws.appendingPathComponent("sites/\(site == "S99" ? sites[0] : site)").path,
            ], in: ws))
        }
        // Whatever happens below, no worker outlives the test.
        defer { for w in workers { w.kill(signal: SIGKILL); _ = w.finish() } }
        let out = try await TestSupport.medgrid(["submit", manifest, "--coordinator", server.url, "--cert", user.certificate.path, "--key", user.privateKey.path, "--ca", server.pki.caFile.path, "--json"], in: ws)
        #expect(out.status == 0, "\(out.stderr)")
        let submitted = try JSONValue(parsing: Data(out.stdout.utf8))
        #expect(submitted["uploaded"]?.intValue == 0, "nothing is uploaded for site-local data")
        let job = try #require(submitted["job"]?.stringValue)
        let end = Date().addingTimeInterval(120)
        while await server.coordinator.jobStatus(job)?.isTerminal != true, Date() < end { try await Task.sleep(for: .milliseconds(100)) }
        #expect(await server.coordinator.jobStatus(job) == .succeeded)
        let report = try JSONValue(parsing: Data(try await server.coordinator.report(job).utf8))

        // Each site's tasks (one per round) ran on that site's worker, none on S99's.
        let events = try server.coordinator.store.read { try $0.events(of: job, limit: 10_000) }
        let succeeded = events.filter { $0.kind == "succeeded" }
        #expect(succeeded.count % sites.count == 0 && succeeded.count >= sites.count * 3)
        #expect(!succeeded.contains { $0.detail.contains("w-S99") })
        let rounds = try #require(report["aggregates"]?["debug.rounds"])
        #expect(rounds["rounds"]?.intValue == 3)
        #expect(rounds["rowsPerRound"]?.arrayValue?.allSatisfy { $0.intValue == 600 } == true)
        #expect(report["provenance"]?["siteInputs"]?.arrayValue?.count == sites.count)

        // The same summary as the pooled cohort read in one place.
        let pooled = try await TestSupport.medgrid(["kernel", "run", "cohort.summary", "--input", "Datasets/trial/cohort.csv", "--param", "paramcd=OS"], in: ws)
        #expect(try JSONValue(parsing: Data(pooled.stdout.utf8))["result"] == report["aggregates"]?["cohort.summary"])

        // Cox stratified by site from per-site statistics equals the pooled fit bit for bit.
        let cox = try await TestSupport.medgrid(["kernel", "run", "survival.cox", "--input", "Datasets/trial/cohort.csv", "--param", "covariates=TRT01PN,AGE", "--param", "strata=SITEID", "--param", "paramcd=OS"], in: ws)
        let pooledCox = try JSONValue(parsing: Data(cox.stdout.utf8))["result"]
        #expect(pooledCox?["coefficients"] != nil)
        #expect(pooledCox?["coefficients"] == report["aggregates"]?["survival.cox"]?["coefficients"])

        // No subject identifier reached the coordinator's store or blob store.
        let db = try Data(contentsOf: ws.appendingPathComponent("coord/medgrid.sqlite"))
        #expect(db.range(of: Data("MG01-S0".utf8)) == nil)
        await server.stop()
    }

    @Test("a site-local manifest plans one task per site; bad site settings are named")
    func sitePlanAndValidation() async throws {
        let ws = try TestSupport.workspaceCopy()
        let sites = try Self.splitBySite(ws)
        let manifest = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: one-site}
            spec:
              sites: {file: adtte.csv, names: [\(sites[0])]}
              kernel: cohort.summary
            """, named: "one-site", in: ws)
        let v = try await TestSupport.medgrid(["plan", manifest], in: ws)
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stdout.contains("site \(sites[0])"))
        let bad = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: bad-sites}
            spec:
              sites: {file: ../adtte.csv, names: []}
              kernel: cohort.summary
            """, named: "bad-sites", in: ws)
        let out = try await TestSupport.medgrid(["validate", bad], in: ws)
        #expect(out.status == 1)
        #expect(out.stderr.contains("spec.sites.file"))
        #expect(out.stderr.contains("spec.sites.names"))
    }
}

import Foundation
import Testing
import Crypto
import MedGridCore
import MedGridCoordinator
import MedGridImaging
import MedGridTesting
import MedGridTransport

/// Purge on instruction, over real certificates and sockets, with a real worker process and the real
/// command line: a dataset holding a known byte pattern is uploaded and used, then purged.
@Suite(.serialized)
struct PurgeTests {
    func connection(_ files: IssuedFiles, _ server: TestServer) -> [String] {
        ["--coordinator", server.url, "--cert", files.certificate.path, "--key", files.privateKey.path, "--ca", server.pki.caFile.path]
    }

    /// Every regular file under `folder` whose bytes contain `pattern`.
    func filesContaining(_ pattern: Data, under folder: URL) -> [String] {
        guard let e = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var hits: [String] = []
        for case let url as URL in e where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            if let data = try? Data(contentsOf: url), data.range(of: pattern) != nil { hits.append(url.path) }
        }
        return hits
    }

    /// Two uncompressed NIfTI cases of random float32 voxels (incompressible, so a stored copy keeps them
    /// byte for byte unless it is encrypted); returns the dataset folder and 256 bytes of case 1's voxels.
    func makeDataset(in ws: URL) throws -> (URL, Data) {
        let folder = ws.appendingPathComponent("Datasets/secret")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        for n in 1...2 {
            let voxels = (0..<(16 * 16 * 8)).map { _ in Float(Int16.random(in: -1000...1000, using: &generator)) + Float.random(in: 0..<1, using: &generator) }
            try NIfTI.write(Volume(size: [16, 16, 8], voxels: voxels), to: folder.appendingPathComponent("images/case_\(n).nii"))
        }
        try Data(#"{"name": "secret", "modality": {"0": "CT"}, "labels": {"0": "background"}, "training": [], "test": ["images/case_1.nii", "images/case_2.nii"]}"#.utf8)
            .write(to: folder.appendingPathComponent("dataset.json"))
        let bytes = try Data(contentsOf: folder.appendingPathComponent("images/case_1.nii"))
        return (folder, bytes.subdata(in: 352 + 1024 ..< 352 + 1024 + 256))
    }

    @Test("purge a dataset: no copy of its bytes is left in the coordinator's state, the worker's cache or the reports; a backup of the store taken before gives no plaintext; the certificate verifies, and fails after a one-byte change; the session is audited")
    func purgeDataset() async throws {
        let ws = try TestSupport.workspaceCopy()
        let (dataset, pattern) = try makeDataset(in: ws)
        let root = try DatasetInventory.scan(dataset).root
        let pki = try TestPKI()
        let coord = ws.appendingPathComponent("coord")
        let server = try await TestServer(stateDirectory: coord, pki: pki, leaseTTL: 4)
        let alice = try pki.issue(.user, "alice"), admin = try pki.issue(.admin, "steward")
        let workerFiles = try pki.issue(.worker, "w1")
        let worker = try TestSupport.startMedgrid([
            "worker", "--coordinator", server.url, "--cert", workerFiles.certificate.path, "--key", workerFiles.privateKey.path,
            "--ca", pki.caFile.path, "--slots", "1", "--state-dir", "wstate", "--log-level", "error",
        ], in: ws)

        let manifest = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: secret-stats}
            spec:
              dataset: ../Datasets/secret
              kernel: imaging.stats
            """, named: "secret-stats", in: ws)
        let submitted = try await TestSupport.medgrid(["submit", manifest, "--json"] + connection(alice, server), in: ws)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submitted.stdout.utf8))["job"]?.stringValue)
        #expect(try await TestSupport.eventually(120) { await server.coordinator.jobStatus(job) == .succeeded })
        let report = try await TestSupport.medgrid(["report", job, "--format", "json", "--out", "reports/secret-stats"] + connection(alice, server), in: ws)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(FileManager.default.fileExists(atPath: ws.appendingPathComponent("reports/secret-stats/report.json").path))

        // Before the purge: the search finds the plain bytes where they are plain (the dataset folder), while
        // the coordinator's copy and the worker's cached copy are sealed at rest under the data key.
        #expect(!filesContaining(pattern, under: dataset).isEmpty, "the search must find a plain copy")
        #expect(filesContaining(pattern, under: coord).isEmpty, "the coordinator's copies must be sealed at rest")
        #expect(filesContaining(pattern, under: ws.appendingPathComponent("wstate")).isEmpty, "the worker's cached copies must be sealed")
        let cached = try #require(FileManager.default.enumerator(at: ws.appendingPathComponent("wstate/cache"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "sealed" })
        #expect(cached.count == 2, "the two images the tasks read: \(cached)")

        // The worker goes away (disconnected): it is not told about the purge until it comes back.
        worker.kill(signal: SIGKILL)
        _ = try await worker.finished()
        #expect(try server.coordinator.store.read { try $0.projectBytes("user-alice") } > 0)

        // A backup of the state directory (its secrets/ kept apart, as the README says) before the purge.
        let backup = ws.appendingPathComponent("backup")
        try FileManager.default.copyItem(at: coord, to: backup)
        try FileManager.default.removeItem(at: backup.appendingPathComponent("secrets"))

        // A user may not purge (403, audited); the admin may.
        let refused = try await TestSupport.medgrid(["purge", "dataset", root] + connection(alice, server), in: ws)
        #expect(refused.status == 1 && refused.stderr.contains("403"), "\(refused.stderr)")
        let purged = try await TestSupport.medgrid(["purge", "dataset", String(root.prefix(12)), "--out", "cert.json", "--reports", "reports"] + connection(admin, server), in: ws)
        #expect(purged.status == 0, "\(purged.stdout)\(purged.stderr)")
        #expect(purged.stdout.contains("deleted report folder reports/secret-stats"), "\(purged.stdout)")

        // The away worker's cache still holds its sealed copies, which nobody can open now: the data key is
        // destroyed. When it registers again it is told to delete them.
        #expect(cached.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
        #expect(try server.coordinator.keys.datasetKeyID(project: "user-alice", root: root) == nil)
        let back = try TestSupport.startMedgrid([
            "worker", "--coordinator", server.url, "--cert", workerFiles.certificate.path, "--key", workerFiles.privateKey.path,
            "--ca", pki.caFile.path, "--slots", "1", "--state-dir", "wstate", "--log-level", "error",
        ], in: ws)
        defer { back.kill(signal: SIGKILL) }
        #expect(try await TestSupport.eventually(60) { cached.allSatisfy { !FileManager.default.fileExists(atPath: $0.path) } },
                "the worker must delete the purged dataset's cached copies once it is back")
        for folder in ["coord", "wstate", "reports", "backup"] {
            #expect(filesContaining(pattern, under: ws.appendingPathComponent(folder)).isEmpty, "a copy of the purged bytes is left under \(folder)")
        }
        // The backup's wrapped data key no longer opens with the coordinator's (rotated) key: the backup's
        // sealed files stay unreadable even to someone holding both.
        let old = try #require(try Store(stateDirectory: backup).read { try $0.liveDatasetKey(project: "user-alice", root: root) })
        #expect(server.coordinator.keys.unwrapForInspection(try #require(old.wrapped), keyID: old.keyID) == nil)
        let sealedCopy = try #require(FileManager.default.enumerator(at: backup.appendingPathComponent("blobs/datasets"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.first { $0.pathExtension == "sealed" })
        #expect(throws: DataPlaneError.self) {
            _ = try BlobSeal.Reader(url: sealedCopy, key: .init(size: .bits256), context: BlobSeal.context(sha256: sealedCopy.deletingPathExtension().deletingPathExtension().lastPathComponent)).next()
        }
        // The job and its report are gone, the quota is given back, the dataset must be offered again.
        let status = try await TestSupport.medgrid(["status", job] + connection(admin, server), in: ws)
        #expect(status.status == 1)
        #expect(try server.coordinator.store.read { try $0.projectBytes("user-alice") } == 0)
        #expect(try server.coordinator.keys.datasetKeyID(project: "user-alice", root: root) == nil)

        // The certificate verifies against the coordinator's key, and fails after any one-byte change.
        let fingerprint = server.coordinator.keys.signingFingerprint
        let verified = try await TestSupport.medgrid(["purge", "verify", "cert.json", "--fingerprint", fingerprint], in: ws)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let certificate = try JSONValue(parsing: Data(contentsOf: ws.appendingPathComponent("cert.json")))["certificate"]
        #expect(certificate?["target"]?["datasetRoot"]?.stringValue == root)
        #expect(certificate?["instructedBy"]?["subject"]?.stringValue == "CN=steward")
        #expect(certificate?["destroyed"]?["jobs"]?.arrayValue == [.string(job)])
        #expect(certificate?["destroyed"]?["files"]?.arrayValue?.count == 3)
        #expect(try !String(contentsOf: ws.appendingPathComponent("cert.json"), encoding: .utf8).contains("case_1"), "file paths can carry names: the certificate lists hashes")
        var bytes = try Data(contentsOf: ws.appendingPathComponent("cert.json"))
        for offset in [10, bytes.count / 2, bytes.count - 2] {
            bytes[offset] ^= 0x01
            try bytes.write(to: ws.appendingPathComponent("changed.json"))
            let changed = try await TestSupport.medgrid(["purge", "verify", "changed.json"], in: ws)
            #expect(changed.status == 1, "a change at byte \(offset) must fail verification: \(changed.stdout)")
            bytes[offset] ^= 0x01
        }
        let otherKey = try await TestSupport.medgrid(["purge", "verify", "cert.json", "--fingerprint", String(repeating: "0", count: 64)], in: ws)
        #expect(otherKey.status == 1 && otherKey.stderr.contains("not by the coordinator key"))
        await server.stop()

        // The audit trail of the session, in order; editing one row breaks the chain at that row.
        let listed = try await TestSupport.medgrid(["audit", "--json", "--state-dir", "coord"], in: ws)
        let records = try JSONDecoder().decode([AuditRecord].self, from: Data(listed.stdout.utf8))
        let actions = records.map { "\($0.subject) \($0.action) \($0.outcome)" }
        for expected in ["CN=alice offer-dataset ok", "CN=alice submit ok", "CN=w1 download ok", "CN=alice read-report ok", "CN=alice purge refused", "CN=steward purge ok"] {
            #expect(actions.contains(expected), "missing \(expected) in \(actions)")
        }
        let order = ["offer-dataset", "submit", "download", "read-report", "purge"].map { a in records.firstIndex { $0.action == a } ?? -1 }
        #expect(order == order.sorted() && !order.contains(-1), "\(actions)")
        let download = try #require(records.first { $0.action == "download" })
        let edit = try await TestSupport.run("/usr/bin/env", [
            "python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DROP TRIGGER audit_append_only_update'); c.execute(\"UPDATE audit SET subject='CN=nobody' WHERE seq=?\", (int(sys.argv[2]),)); c.commit()",
            coord.appendingPathComponent("medgrid.sqlite").path, String(download.seq),
        ])
        #expect(edit.status == 0, "\(edit.stderr)")
        let broken = try await TestSupport.medgrid(["audit", "verify", "--state-dir", "coord"], in: ws)
        #expect(broken.status == 1 && broken.stderr.contains("record \(download.seq)"), "\(broken.stdout)\(broken.stderr)")
    }

    @Test("a local purge (the coordinator host's --state-dir) of a benchmarked dataset keeps the leaderboard's rows, marked purged; a job purge removes one job and its report folder")
    func localPurgeKeepsLeaderboardHistory() async throws {
        let ws = try TestSupport.workspaceCopy()
        #expect(try await TestSupport.medgrid(["run", "Jobs/phantom-benchmark.yaml", "--state-dir", "s", "--out", "reports/bench"], in: ws).status == 0)
        #expect(try await TestSupport.medgrid(["leaderboard", "phantom", "--add", "reports/bench", "--state-dir", "s"], in: ws).status == 0)
        let before = try await TestSupport.medgrid(["leaderboard", "phantom", "--history", "--state-dir", "s"], in: ws)
        #expect(before.status == 0 && !before.stdout.contains("purged"))
        #expect(try await TestSupport.medgrid(["run", "Jobs/cohort-summary.yaml", "--state-dir", "s", "--out", "reports/cohort"], in: ws).status == 0)
        let jobs = try Store(stateDirectory: ws.appendingPathComponent("s")).read { try $0.jobs() }
        let cohortJob = try #require(jobs.first { $0.name.contains("cohort") }?.id)

        let purged = try await TestSupport.medgrid(["purge", "dataset", ws.appendingPathComponent("Datasets/phantom").path, "--state-dir", "s", "--out", "cert.json", "--reports", "reports"], in: ws)
        #expect(purged.status == 0, "\(purged.stdout)\(purged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.appendingPathComponent("reports/bench").path))
        #expect(FileManager.default.fileExists(atPath: ws.appendingPathComponent("reports/cohort/report.json").path), "another dataset's report stays")
        let after = try await TestSupport.medgrid(["leaderboard", "phantom", "--history", "--state-dir", "s"], in: ws)
        #expect(after.status == 0 && after.stdout.contains("v1: ") && after.stdout.contains("[purged"), "\(after.stdout)\(after.stderr)")
        let json = try await TestSupport.medgrid(["leaderboard", "phantom", "--json", "--state-dir", "s"], in: ws)
        #expect(try JSONValue(parsing: Data(json.stdout.utf8))["purged"]?.boolValue == true)
        let cert = try JSONValue(parsing: Data(contentsOf: ws.appendingPathComponent("cert.json")))
        #expect(cert["certificate"]?["keptMarkedPurged"]?["leaderboardVersions"]?.arrayValue?.count == 1)
        let verify = try await TestSupport.medgrid(["purge", "verify", "cert.json", "--state-dir", "s"], in: ws)
        #expect(verify.status == 0 && verify.stdout.contains("the coordinator's"), "\(verify.stdout)\(verify.stderr)")

        let job = try await TestSupport.medgrid(["purge", "job", cohortJob, "--state-dir", "s", "--out", "job-cert.json", "--reports", "reports"], in: ws)
        #expect(job.status == 0, "\(job.stdout)\(job.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.appendingPathComponent("reports/cohort").path))
        #expect(try Store(stateDirectory: ws.appendingPathComponent("s")).read { try $0.job(cohortJob) } == nil)
        let again = try await TestSupport.medgrid(["purge", "job", cohortJob, "--state-dir", "s"], in: ws)
        #expect(again.status == 1 && again.stderr.contains("no job"))
        let audit = try await TestSupport.medgrid(["audit", "--state-dir", "s"], in: ws)
        #expect(audit.stdout.components(separatedBy: " purge ").count == 3, "\(audit.stdout)")
    }
}

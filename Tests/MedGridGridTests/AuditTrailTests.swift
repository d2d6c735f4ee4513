import Foundation
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridTesting
import MedGridTransport

/// The audit trail over a scripted session with real certificates, sockets and the real command line.
@Suite(.serialized)
struct AuditTrailTests {
    func connection(_ files: IssuedFiles, _ server: TestServer) -> [String] {
        ["--coordinator", server.url, "--cert", files.certificate.path, "--key", files.privateKey.path, "--ca", server.pki.caFile.path]
    }

    /// Runs python3's sqlite3 on the store, as someone with the file would.
    func sqlite(_ database: URL, _ sql: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", database.path, sql]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    @Test("a session of project changes, submit, a refusal and a cancel is recorded in order with who, project and outcome; an edited or removed row breaks the chain at that row")
    func scriptedSession() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki)
        let alice = try pki.issue(.user, "alice"), bob = try pki.issue(.user, "bob"), root = try pki.issue(.admin, "root")
        #expect(try await TestSupport.medgrid(["project", "create", "trial-9"] + connection(root, server), in: ws).status == 0)
        #expect(try await TestSupport.medgrid(["project", "add-member", "trial-9", "alice"] + connection(root, server), in: ws).status == 0)
        let manifest = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: audited}
            spec:
              dataset: ../Datasets/phantom
              project: trial-9
              kernel: debug.sleep
              params: {seconds: 30}
            """, named: "audited", in: ws)
        let submitted = try await TestSupport.medgrid(["submit", manifest, "--json"] + connection(alice, server), in: ws)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submitted.stdout.utf8))["job"]?.stringValue)
        #expect(try await TestSupport.medgrid(["status", job] + connection(bob, server), in: ws).status == 1)
        #expect(try await TestSupport.medgrid(["cancel", job] + connection(alice, server), in: ws).status == 0)
        await server.stop()

        let state = ["--state-dir", "coord"]
        let listed = try await TestSupport.medgrid(["audit", "--json"] + state, in: ws)
        #expect(listed.status == 0, "\(listed.stderr)")
        let records = try JSONDecoder().decode([AuditRecord].self, from: Data(listed.stdout.utf8))
        let summary = records.map { "\($0.subject) \($0.role) \($0.project) \($0.action) \($0.outcome)" }
        #expect(summary == [
            "CN=root admin trial-9 project-create ok",
            "CN=root admin trial-9 project-add-member ok",
            "CN=alice user trial-9 offer-dataset ok",
            "CN=alice user trial-9 submit ok",
            "CN=bob user trial-9 read the status of refused",
            "CN=alice user trial-9 cancel ok",
        ], "\(summary)")
        #expect(records.allSatisfy { !$0.serial.isEmpty && $0.sha256.count == 64 })
        #expect(records[3].object == "job \(job)")
        // Nothing in the trail is patient data: names of certificates, projects, jobs and hashes only.
        #expect(!listed.stdout.contains("phantom_0"))
        let ofProject = try await TestSupport.medgrid(["audit", "--project", "trial-9"] + state, in: ws)
        #expect(ofProject.stdout.split(separator: "\n").count == 6)
        let since = try await TestSupport.medgrid(["audit", "--since", "2999-01-01"] + state, in: ws)
        #expect(since.stdout.contains("no audit records"))
        let verified = try await TestSupport.medgrid(["audit", "verify"] + state, in: ws)
        #expect(verified.status == 0 && verified.stdout.hasPrefix("ok: 6 audit records, chain intact"), "\(verified.stdout)\(verified.stderr)")

        // Over the API: an admin reads the same records (and the reading is recorded); a user is refused.
        let again = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki)
        let remote = try await TestSupport.medgrid(["audit", "--json"] + connection(root, again), in: ws)
        #expect(remote.status == 0, "\(remote.stderr)")
        #expect(try JSONDecoder().decode([AuditRecord].self, from: Data(remote.stdout.utf8)) == records)
        let usersRead = try await TestSupport.medgrid(["audit"] + connection(alice, again), in: ws)
        #expect(usersRead.status == 1 && usersRead.stderr.contains("403"), "\(usersRead.stderr)")
        let remoteVerify = try await TestSupport.medgrid(["audit", "verify"] + connection(root, again), in: ws)
        #expect(remoteVerify.status == 0 && remoteVerify.stdout.hasPrefix("ok: 8 audit records"), "\(remoteVerify.stdout)\(remoteVerify.stderr)")
        await again.stop()
        let after = try JSONDecoder().decode([AuditRecord].self, from: Data(try await TestSupport.medgrid(["audit", "--json"] + state, in: ws).stdout.utf8))
        #expect(after.dropFirst(6).map { "\($0.subject) \($0.action) \($0.outcome)" } == [
            "CN=root read-audit ok", "CN=alice read the audit trail refused", "CN=root read-audit ok",
        ])

        // The store refuses edits; someone who drops the guard and edits record 5 is caught at record 5.
        let database = ws.appendingPathComponent("coord/medgrid.sqlite")
        let copy = ws.appendingPathComponent("copy.sqlite")
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: database.path + suffix) {
            try FileManager.default.copyItem(atPath: database.path + suffix, toPath: copy.path + suffix)
        }
        try sqlite(database, "DROP TRIGGER audit_append_only_update; UPDATE audit SET subject = 'CN=carol' WHERE seq = 5;")
        let edited = try await TestSupport.medgrid(["audit", "verify"] + state, in: ws)
        #expect(edited.status == 1 && edited.stderr.contains("audit record 5: its content was changed"), "\(edited.stderr)")
        // Removing a record is caught at the record after it.
        try FileManager.default.removeItem(at: database)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database.path + suffix) }
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: copy.path + suffix) {
            try FileManager.default.copyItem(atPath: copy.path + suffix, toPath: database.path + suffix)
        }
        try sqlite(database, "DROP TRIGGER audit_append_only_delete; DELETE FROM audit WHERE seq = 3;")
        let removed = try await TestSupport.medgrid(["audit", "verify"] + state, in: ws)
        #expect(removed.status == 1 && removed.stderr.contains("audit record 4: expected record 3 here"), "\(removed.stderr)")
    }
}

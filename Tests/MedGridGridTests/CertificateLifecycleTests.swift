import Foundation
import MedGridCore
import MedGridTesting
import MedGridTransport
import MedGridWorker
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Certificates over their life, with real `medgrid` processes: labels, the validity caps, revocation picked up by a
/// running coordinator, and a worker whose certificate has expired.
struct CertificateLifecycleTests {
    /// Polls `condition` every 200 ms until it holds or `seconds` pass.
    func eventually(_ seconds: Double = 60, _ condition: () async throws -> Bool) async throws -> Bool {
        try await TestSupport.eventually(seconds, condition)
    }

    func listeningPort(_ process: TestSupport.RunningProcess) async throws -> Int {
        try await process.listeningPort()
    }

    /// One request on a new connection with `files`' certificate: whether the coordinator answered /healthz.
    func healthy(_ url: String, _ files: IssuedFiles, ca: URL) async -> Bool {
        guard let tls = try? TLSFiles.clientConfiguration(certificate: files.certificate, privateKey: files.privateKey, trustRoot: ca) else { return false }
        let client = CoordinatorClient(baseURL: url, tls: tls)
        let answered = (try? await client.call(.GET, "/healthz", timeout: 10, as: [String: String].self)) != nil
        await client.shutdown()
        return answered
    }

    // MARK: Labels and validity

    @Test("tls cert create --worker NAME --label site=A signs the label into the certificate: tls cert info and PeerIdentity show it")
    func labelledWorkerCertificate() async throws {
        let dir = try TestSupport.temporaryDirectory("medgrid-labels")
        #expect(try await TestSupport.medgrid(["tls", "ca", "create", "--out", dir.path]).status == 0)
        let created = try await TestSupport.medgrid(["tls", "cert", "create", "--worker", "site-a-1", "--label", "site=A", "--label", "zone=eu-1", "--out", dir.path])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("labels site=A,zone=eu-1"))
        let certificate = dir.appendingPathComponent("worker-site-a-1.pem")
        let info = try await TestSupport.medgrid(["tls", "cert", "info", certificate.path])
        #expect(info.status == 0)
        #expect(info.stdout.contains("Labels:       site=A, zone=eu-1"), "\(info.stdout)")
        let der = try PEMDocumentBytes.der(certificate)
        let identity = try CertificateIdentity.identity(fromDER: der)
        #expect(identity.labels == ["site": "A", "zone": "eu-1"])
        #expect(info.stdout.contains(identity.serial.chunked()), "cert info shows the same serial")

        let onUser = try await TestSupport.medgrid(["tls", "cert", "create", "--user", "carol", "--label", "site=A", "--out", dir.path])
        #expect(onUser.status != 0)
        #expect(onUser.stderr.contains("--label goes with --worker"))
        let bad = try await TestSupport.medgrid(["tls", "cert", "create", "--worker", "w2", "--label", "site=A B", "--out", dir.path])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("label site=\"A B\""), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("worker-w2.pem").path))
    }

    @Test("A user or admin certificate over 397 days (a worker's over 825) is refused with a clear error and nothing written")
    func validityCaps() async throws {
        let dir = try TestSupport.temporaryDirectory("medgrid-caps")
        #expect(try await TestSupport.medgrid(["tls", "ca", "create", "--out", dir.path]).status == 0)
        for extra in [["--user", "longlived"], ["--user", "boss", "--admin"]] {
            let refused = try await TestSupport.medgrid(["tls", "cert", "create"] + extra + ["--days", "398", "--out", dir.path])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("at most 397 days"), "\(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("user-longlived.pem").path))
        let old = try await TestSupport.medgrid(["tls", "cert", "create", "--user", "longlived", "--days", "3650", "--out", dir.path])
        #expect(old.status == 1 && old.stderr.contains("397"))
        #expect(try await TestSupport.medgrid(["tls", "cert", "create", "--user", "year", "--days", "397", "--out", dir.path]).status == 0)
        let worker = try await TestSupport.medgrid(["tls", "cert", "create", "--worker", "w", "--days", "826", "--out", dir.path])
        #expect(worker.status == 1 && worker.stderr.contains("at most 825 days"))
        #expect(try await TestSupport.medgrid(["tls", "cert", "create", "--worker", "w", "--days", "825", "--out", dir.path]).status == 0)
        let defaulted = try await TestSupport.medgrid(["tls", "cert", "create", "--user", "month", "--out", dir.path])
        #expect(defaulted.stdout.contains("valid 30 days"))
    }

    // MARK: Revocation

    @Test("tls revoke by file or serial writes revoked.json beside ca.pem, once; a CA certificate cannot be revoked")
    func revokeCommand() async throws {
        let pki = try TestPKI()
        let bob = try pki.issue(.user, "bob")
        let serial = try #require(try CertificateSummary.inspect(pemFile: bob.certificate).first)
        let byFile = try await TestSupport.medgrid(["tls", "revoke", bob.certificate.path, "--out", pki.directory.path, "--reason", "laptop lost"])
        #expect(byFile.status == 0, "\(byFile.stderr)")
        #expect(byFile.stdout.contains("revoked CN=bob,OU=user,O=MedGrid (serial \(serial.serialHex))"))
        let file = pki.directory.appendingPathComponent("revoked.json")
        let list = try DenyList.read(file)
        #expect(list.revoked.count == 1)
        #expect(list.revoked.first?.subject == "CN=bob,OU=user,O=MedGrid")
        #expect(list.revoked.first?.reason == "laptop lost")
        let mode = try #require(FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) & 0o777
        #expect(mode == 0o644)

        let again = try await TestSupport.medgrid(["tls", "revoke", serial.serialNumber.uppercased(), "--ca-dir", pki.directory.path])
        #expect(again.status == 0)
        #expect(again.stdout.contains("already revoked"))
        #expect(try DenyList.read(file).revoked.count == 1)

        let elsewhere = pki.directory.appendingPathComponent("lists/other.json")
        #expect(try await TestSupport.medgrid(["tls", "revoke", "0A:0B", "--deny-list", elsewhere.path]).status == 0)
        #expect(try DenyList.read(elsewhere).revoked.map(\.serial) == ["0a0b"])

        let ca = try await TestSupport.medgrid(["tls", "revoke", pki.caFile.path, "--out", pki.directory.path])
        #expect(ca.status == 1 && ca.stderr.contains("CA certificate"))
        let missing = try await TestSupport.medgrid(["tls", "revoke", "/nonexistent/user-x.pem"])
        #expect(missing.status == 1 && missing.stderr.contains("no such certificate file"))
        let junk = try await TestSupport.medgrid(["tls", "revoke", "not-a-serial"])
        #expect(junk.status == 1 && junk.stderr.contains("not a certificate serial number"))
    }

    @Test("A revoked user is refused by a running coordinator after reload (SIGHUP, or the file changing), while alice still works")
    func revokedUserRefused() async throws {
        let pki = try TestPKI()
        let work = try TestSupport.temporaryDirectory("medgrid-revoke")
        let coordinatorFiles = try pki.issue(.coordinator, "coordinator")
        let alice = try pki.issue(.user, "alice")
        let bob = try pki.issue(.user, "bob")
        let carol = try pki.issue(.user, "carol")
        let process = try TestSupport.startMedgrid([
            "coordinator", "--listen", "127.0.0.1:0", "--state-dir", work.appendingPathComponent("state").path,
            "--cert", coordinatorFiles.certificate.path, "--key", coordinatorFiles.privateKey.path, "--ca", pki.caFile.path,
            "--log-level", "info",
        ])
        defer {
            if process.process.isRunning {
                process.kill(signal: SIGTERM)
                _ = process.finish()
            }
        }
        let url = "https://127.0.0.1:\(try await listeningPort(process))"
        #expect(try await eventually { await healthy(url, alice, ca: pki.caFile) })
        #expect(await healthy(url, bob, ca: pki.caFile), "bob works before he is revoked")
        #expect(await healthy(url, carol, ca: pki.caFile))
        // A connection bob opened before the revocation, kept alive.
        let bobsOpenConnection = CoordinatorClient(baseURL: url, tls: try TLSFiles.clientConfiguration(certificate: bob.certificate, privateKey: bob.privateKey, trustRoot: pki.caFile))
        defer { Task { await bobsOpenConnection.shutdown() } }
        let _: [String: String] = try await bobsOpenConnection.call(.GET, "/healthz")

        let revoke = try await TestSupport.medgrid(["tls", "revoke", bob.certificate.path, "--out", pki.directory.path, "--reason", "left the trial"])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        process.kill(signal: SIGHUP)
        // Probe only once the reload is logged: a handshake made just before it would pass, and its
        // request would then be refused by the per-request check instead (also right, but not the line read below).
        #expect(try await eventually { process.stderrSoFar.contains("reloaded the deny-list") }, "the coordinator logs the reload")
        #expect(try await eventually { await !healthy(url, bob, ca: pki.caFile) }, "bob is refused after the reload")
        #expect(await healthy(url, alice, ca: pki.caFile), "alice still works")
        #expect(process.process.isRunning, "no restart")
        let bobSerial = try #require(try CertificateSummary.inspect(pemFile: bob.certificate).first).serialHex
        let log = process.stderrSoFar
        let refusal = try #require(log.split(separator: "\n").first { $0.contains("refused a TLS client") && $0.contains("revoked") }, "\(log)")
        #expect(refusal.contains("CN=bob"))
        #expect(refusal.contains(bobSerial))
        do {
            let _: [String: String] = try await bobsOpenConnection.call(.GET, "/healthz")
            Issue.record("bob's connection opened before the revocation must be refused too")
        } catch let error as MedGridError {
            #expect(error.code == .permissionDenied || error.code == .unavailable, "\(error)")
        }

        // Without a signal: the coordinator notices the deny-list file changed.
        #expect(try await TestSupport.medgrid(["tls", "revoke", carol.certificate.path, "--out", pki.directory.path]).status == 0)
        #expect(try await eventually { await !healthy(url, carol, ca: pki.caFile) }, "carol is refused once the file is reread")
        #expect(await healthy(url, alice, ca: pki.caFile))
        #expect(process.stderrSoFar.contains("reloaded the deny-list"))

        process.kill(signal: SIGTERM)
        #expect(process.finish().status == 0)
    }

    // MARK: Expiry

    @Test("A worker whose certificate expired exits 78 at start with a plain message naming the renewal command")
    func expiredWorkerAtStart() async throws {
        let pki = try TestPKI()
        let work = try TestSupport.temporaryDirectory("medgrid-expired")
        let old = try pki.issue(.worker, "old-node", validityDays: 1, now: Date().addingTimeInterval(-10 * 86_400))
        let out = try await TestSupport.medgrid([
            "worker", "--coordinator", "https://127.0.0.1:9", "--cert", old.certificate.path, "--key", old.privateKey.path,
            "--ca", pki.caFile.path, "--state-dir", work.appendingPathComponent("w").path,
        ], timeout: 60)
        #expect(out.status == 78, "\(out.stderr)")
        #expect(out.stderr.contains("worker certificate CN=old-node expired on "))
        #expect(out.stderr.contains("renew it with medgrid tls cert create --worker old-node --overwrite"))
        #expect(!out.stderr.contains("retrying"))
    }

    @Test("A worker whose certificate expires while it runs exits 78 instead of retrying forever")
    func expiredWorkerWhileRunning() async throws {
        let pki = try TestPKI()
        let work = try TestSupport.temporaryDirectory("medgrid-expiring")
        // Valid for about 25 more seconds (issued one day ago, for one day).
        let lifetime: TimeInterval = 25
        let expiring = try pki.issue(.worker, "brief", validityDays: 1, now: Date().addingTimeInterval(-86_400 + lifetime))
        let started = Date()
        let process = try TestSupport.startMedgrid([
            "worker", "--coordinator", "https://127.0.0.1:9", "--cert", expiring.certificate.path, "--key", expiring.privateKey.path,
            "--ca", pki.caFile.path, "--state-dir", work.appendingPathComponent("w").path,
        ])
        defer {
            if process.process.isRunning {
                process.kill(signal: SIGKILL)
                _ = process.finish()
            }
        }
        #expect(try await eventually(lifetime + 90) { !process.process.isRunning })
        let out = process.finish()
        #expect(out.status == 78, "\(out.stderr)")
        #expect(out.stderr.contains("worker starting"), "it ran before its certificate expired")
        #expect(out.stderr.contains("worker certificate CN=brief expired on "))
        #expect(Date().timeIntervalSince(started) >= lifetime - 10, "it stopped at expiry, not at start")
    }

    @Test("SIGHUP makes a running worker use its renewed certificate, so it keeps running past the old one's expiry")
    func workerRenewal() async throws {
        let pki = try TestPKI()
        let work = try TestSupport.temporaryDirectory("medgrid-renew")
        let lifetime: TimeInterval = 40
        let expiring = try pki.issue(.worker, "renewed", validityDays: 1, now: Date().addingTimeInterval(-86_400 + lifetime))
        let oldExpiry = Date().addingTimeInterval(lifetime)
        let process = try TestSupport.startMedgrid([
            "worker", "--coordinator", "https://127.0.0.1:9", "--cert", expiring.certificate.path, "--key", expiring.privateKey.path,
            "--ca", pki.caFile.path, "--state-dir", work.appendingPathComponent("w").path,
        ])
        defer {
            if process.process.isRunning {
                process.kill(signal: SIGKILL)
                _ = process.finish()
            }
        }
        #expect(try await eventually(lifetime) { process.stderrSoFar.contains("worker starting") || !process.process.isRunning })
        _ = try pki.issue(.worker, "renewed")  // renewed in place: 30 days
        // One SIGHUP is enough: the worker traps it first thing, so one that arrives while its services
        // are still starting is kept and acted on.
        process.kill(signal: SIGHUP)
        #expect(try await eventually(lifetime) {
            process.stderrSoFar.contains("reloaded the worker certificate") || !process.process.isRunning
        }, "\(process.stderrSoFar)")
        // Past the old certificate's end (and the watcher's next wake-up): still running.
        while Date() < oldExpiry.addingTimeInterval(5), process.process.isRunning {
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(process.process.isRunning, "\(process.stderrSoFar)")
        #expect(!process.stderrSoFar.contains("expired on"))
    }
}

/// The DER bytes of a PEM certificate file.
enum PEMDocumentBytes {
    static func der(_ url: URL) throws -> [UInt8] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let body = text.components(separatedBy: "\n").filter { !$0.hasPrefix("-----") && !$0.isEmpty }.joined()
        return [UInt8](try #require(Data(base64Encoded: body)))
    }
}

extension String {
    /// `4a1f…` as `4a:1f:…`.
    func chunked() -> String {
        var parts: [String] = []
        var rest = Substring(self)
        while !rest.isEmpty {
            parts.append(String(rest.prefix(2)))
            rest = rest.dropFirst(2)
        }
        return parts.joined(separator: ":")
    }
}

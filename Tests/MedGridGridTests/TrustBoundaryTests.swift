import Foundation
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridTesting
import MedGridTransport
import MedGridWorker
import NIOHTTP1

/// Attacks across the trust boundary, each over real sockets with real certificates (and the real
/// `medgrid` command line where a person would use it), refused.
@Suite(.serialized)
struct TrustBoundaryTests {
    static let slowManifest = """
        apiVersion: medgrid/v1
        kind: Job
        metadata: {name: alices-job}
        spec:
          dataset: ../Datasets/phantom
          kernel: debug.sleep
          params: {seconds: 30}
        """

    func connection(_ files: IssuedFiles, _ server: TestServer) -> [String] {
        ["--coordinator", server.url, "--cert", files.certificate.path, "--key", files.privateKey.path, "--ca", server.pki.caFile.path]
    }

    func client(_ files: IssuedFiles, _ server: TestServer) throws -> CoordinatorClient {
        CoordinatorClient(baseURL: server.url, tls: try TLSFiles.clientConfiguration(certificate: files.certificate, privateKey: files.privateKey, trustRoot: server.pki.caFile))
    }

    @Test("bob on alice's job: status, report, cancel and events answer 404 as for a job that does not exist; the refusal is audited; an admin sees it")
    func otherUsersJob() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki)
        let alice = try pki.issue(.user, "alice"), bob = try pki.issue(.user, "bob"), root = try pki.issue(.admin, "root")
        let manifest = try writeManifest(Self.slowManifest, named: "alices-job", in: ws)
        let submitted = try await TestSupport.medgrid(["submit", manifest, "--json"] + connection(alice, server), in: ws)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submitted.stdout.utf8))["job"]?.stringValue)
        #expect(try server.coordinator.store.read { try $0.job(job) }?.project == "user-alice")

        // Bob, with the real command line: every answer is the one for a job that does not exist.
        for command in [["status", job], ["report", job], ["cancel", job]] {
            let out = try await TestSupport.medgrid(command + connection(bob, server), in: ws)
            #expect(out.status == 1, "\(command): \(out.stdout)")
            #expect(out.stderr.contains("404") && out.stderr.contains("no job \(job)"), "\(command): \(out.stderr)")
            let missing = try await TestSupport.medgrid([command[0], "nope-1"] + connection(bob, server), in: ws)
            #expect(missing.stderr.replacingOccurrences(of: "nope-1", with: job) == out.stderr, "a refused job must read exactly like a missing one")
        }
        let bobs = try client(bob, server)
        let events = await #expect(throws: MedGridError.self) { _ = try await bobs.raw(.GET, "/v1/jobs/\(job)/events") }
        #expect(events?.code == .notFound)
        let list: API.JobList = try await bobs.call(.GET, "/v1/jobs")
        #expect(list.jobs.isEmpty, "bob's job list shows alice's job")
        #expect(await server.coordinator.jobStatus(job) == .running, "bob's cancel went through")

        // The refusals are audit events naming bob's certificate; the metric counts them.
        let audit = try server.coordinator.store.read { try $0.events(of: job) }.filter { $0.kind == "access-refused" }
        #expect(audit.count == 4, "\(audit)")
        #expect(audit.allSatisfy { $0.detail.contains("CN=bob (user, serial ") })
        let metrics = String(decoding: try await bobs.raw(.GET, "/metrics"), as: UTF8.self)
        #expect(metrics.contains("medgrid_access_refused_total 4"), "\(metrics.split(separator: "\n").filter { $0.contains("refused") })")

        // Alice and an admin see it.
        let alices = try await TestSupport.medgrid(["status", job, "--json"] + connection(alice, server), in: ws)
        #expect(alices.status == 0, "\(alices.stderr)")
        let admins = try await TestSupport.medgrid(["status", job, "--json"] + connection(root, server), in: ws)
        #expect(admins.status == 0, "\(admins.stderr)")
        let cancelled = try await TestSupport.medgrid(["cancel", job] + connection(alice, server), in: ws)
        #expect(cancelled.status == 0, "\(cancelled.stderr)")
        await bobs.shutdown()
        await server.stop()
    }

    @Test("projects: an admin creates one and adds members; members see its jobs, a removed member no longer does; users cannot manage projects")
    func projects() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki)
        let alice = try pki.issue(.user, "alice"), bob = try pki.issue(.user, "bob"), root = try pki.issue(.admin, "root")
        let admin = connection(root, server)
        #expect(try await TestSupport.medgrid(["project", "create", "trial-042"] + admin, in: ws).status == 0)
        let refused = try await TestSupport.medgrid(["project", "create", "mine"] + connection(alice, server), in: ws)
        #expect(refused.status == 1 && refused.stderr.contains("403"), "\(refused.stderr)")
        let bad = try await TestSupport.medgrid(["project", "create", "Bad_Name"] + admin, in: ws)
        #expect(bad.status == 1 && bad.stderr.contains("a-z, 0-9"), "\(bad.stderr)")
        #expect(try await TestSupport.medgrid(["project", "add-member", "trial-042", "alice"] + admin, in: ws).status == 0)

        // Alice submits to the project named in her manifest; bob, not a member, cannot submit there either.
        let manifest = try writeManifest(Self.slowManifest + "\n  project: trial-042\n", named: "in-project", in: ws)
        let submitted = try await TestSupport.medgrid(["submit", manifest, "--json"] + connection(alice, server), in: ws)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submitted.stdout.utf8))["job"]?.stringValue)
        #expect(try server.coordinator.store.read { try $0.job(job) }?.project == "trial-042")
        let intruder = try await TestSupport.medgrid(["submit", manifest] + connection(bob, server), in: ws)
        #expect(intruder.status == 1 && intruder.stderr.contains("no project trial-042"), "\(intruder.stderr)")

        #expect(try await TestSupport.medgrid(["status", job] + connection(bob, server), in: ws).status == 1)
        #expect(try await TestSupport.medgrid(["project", "add-member", "trial-042", "bob"] + admin, in: ws).status == 0)
        #expect(try await TestSupport.medgrid(["status", job] + connection(bob, server), in: ws).status == 0)
        let listed = try await TestSupport.medgrid(["project", "list", "--json"] + connection(bob, server), in: ws)
        let projects = try JSONValue(parsing: Data(listed.stdout.utf8))["projects"]?.arrayValue ?? []
        #expect(projects.compactMap { $0["name"]?.stringValue } == ["trial-042", "user-bob"], "\(listed.stdout)")
        #expect(try await TestSupport.medgrid(["project", "remove-member", "trial-042", "bob"] + admin, in: ws).status == 0)
        #expect(try await TestSupport.medgrid(["status", job] + connection(bob, server), in: ws).status == 1)
        #expect(try await TestSupport.medgrid(["cancel", job] + connection(alice, server), in: ws).status == 0)
        await server.stop()
    }

    @Test("datasets are de-duplicated within a project only: bob is asked for every file alice uploaded, and a claimed upload with other bytes is refused")
    func perProjectBlobs() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki)
        let alice = try pki.issue(.user, "alice"), bob = try pki.issue(.user, "bob")
        let manifest = try writeManifest(Self.slowManifest, named: "alices-job", in: ws)
        let submitted = try await TestSupport.medgrid(["submit", manifest, "--json"] + connection(alice, server), in: ws)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let inventory = try DatasetInventory.scan(ws.appendingPathComponent("Datasets/phantom"))

        let bobs = try client(bob, server)
        let needs: API.DatasetNeeds = try await bobs.call(.POST, "/v1/datasets", body: API.DatasetOffer(inventory: inventory))
        #expect(Set(needs.missing) == Set(inventory.files.map(\.sha256)), "the reply reveals what alice's project holds")
        // Bob claims one of alice's files without having its bytes: refused, and nothing is recorded for him.
        let target = try #require(inventory.files.first { $0.path.hasSuffix(".nii.gz") })
        let fake = ws.appendingPathComponent("fake.bin")
        try Data("not the file".utf8).write(to: fake)
        let e = await #expect(throws: MedGridError.self) { try await bobs.upload(fileAt: fake, sha256: target.sha256, dataset: inventory.root) }
        #expect(e?.code == .conflict && e?.message.contains("refused") == true, "\(e?.message ?? "")")
        let again: API.DatasetNeeds = try await bobs.call(.POST, "/v1/datasets", body: API.DatasetOffer(inventory: inventory))
        #expect(again.missing.contains(target.sha256))
        // Nor can he submit a job over alice's files.
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        let e2 = await #expect(throws: MedGridError.self) {
            let _: API.Submitted = try await bobs.call(.POST, "/v1/jobs", body: API.SubmitJob(manifest: text, fileName: "alices-job.yaml", inventory: inventory))
        }
        #expect(e2?.code == .conflict && e2?.message.contains("have not been uploaded to project user-bob") == true, "\(e2?.message ?? "")")
        await bobs.shutdown()
        await server.stop()
    }

    @Test("a worker cannot forge results: another worker's lease, a pending task and an unknown task are refused and counted; an unleased blob fetch is refused")
    func forgedResultsAndBlobs() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki, leaseTTL: 30)
        let alice = try pki.issue(.user, "alice")
        let manifest = try writeManifest(Self.slowManifest, named: "alices-job", in: ws)
        let submitted = try await TestSupport.medgrid(["submit", manifest, "--json"] + connection(alice, server), in: ws)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let job = try #require(try JSONValue(parsing: Data(submitted.stdout.utf8))["job"]?.stringValue)

        let honest = try server.client(.worker, "honest"), mallory = try server.client(.worker, "mallory")
        let _: WorkerProtocol.Registered = try await honest.call(.POST, "/v1/workers/register", body: WorkerProtocol.Register(worker: "honest", labels: [:], slots: 1))
        let _: WorkerProtocol.Registered = try await mallory.call(.POST, "/v1/workers/register", body: WorkerProtocol.Register(worker: "mallory", labels: [:], slots: 1))
        let grant: WorkerProtocol.LeaseGrant = try await honest.call(.POST, "/v1/workers/lease", body: WorkerProtocol.LeaseRequest(worker: "honest", maxTasks: 1, waitSeconds: 0))
        let assignment = try #require(grant.tasks.first)
        let input = try #require(assignment.inputs.first { !$0.sha256.isEmpty })

        // Blobs: only the leaseholder may fetch what its task reads.
        let cache = try BlobCache(directory: ws.appendingPathComponent("mallory-cache"), maxBytes: 1 << 30)
        let e1 = await #expect(throws: MedGridError.self) { _ = try await mallory.download(sha256: input.sha256, fileName: "x", into: cache) }
        #expect(e1?.code == .notFound, "\(e1?.message ?? "")")
        let honestCache = try BlobCache(directory: ws.appendingPathComponent("honest-cache"), maxBytes: 1 << 30)
        _ = try await honest.download(sha256: input.sha256, fileName: "x", into: honestCache)

        // Results: mallory posts successes under honest's lease, for a pending task, and for a made-up job.
        let output: JSONValue = ["forged": true]
        let forged = [
            TaskResult(task: assignment.task, lease: assignment.lease, attempt: assignment.attempt, output: output, failure: nil, seconds: 0),
            TaskResult(task: TaskRef(job: job, index: 5), lease: assignment.lease, attempt: 1, output: output, failure: nil, seconds: 0),
            TaskResult(task: TaskRef(job: "other-9", index: 0), lease: "x", attempt: 1, output: output, failure: nil, seconds: 0),
        ]
        let ack: WorkerProtocol.ResultAck = try await mallory.call(.POST, "/v1/workers/results", body: WorkerProtocol.ResultBatch(worker: "mallory", results: forged))
        #expect(ack.refused?.count == 3)
        #expect(try server.coordinator.store.read { try $0.outputs(of: job) }.isEmpty, "a forged result was recorded")
        let phases = try await server.coordinator.progress(of: job)
        #expect(phases[.succeeded, default: 0] == 0 && phases[.leased] == 1)
        let metrics = String(decoding: try await mallory.raw(.GET, "/metrics"), as: UTF8.self)
        #expect(metrics.contains("medgrid_results_refused_total 3"), "\(metrics.split(separator: "\n").filter { $0.contains("refused") })")
        let refusals = try server.coordinator.store.read { try $0.events(of: job) }.filter { $0.kind == "result-refused" }
        #expect(refusals.count == 2 && refusals.allSatisfy { $0.detail.contains("mallory") })

        // The leaseholder's own result counts.
        let real = TaskResult(task: assignment.task, lease: assignment.lease, attempt: assignment.attempt, output: ["ok": true], failure: nil, seconds: 0)
        let ok: WorkerProtocol.ResultAck = try await honest.call(.POST, "/v1/workers/results", body: WorkerProtocol.ResultBatch(worker: "honest", results: [real]))
        #expect(ok.refused == nil)
        #expect(try server.coordinator.store.read { try $0.outputs(of: job) }.count == 1)
        _ = try await server.coordinator.cancel(job: job)
        for c in [honest, mallory] { await c.shutdown() }
        await server.stop()
    }

    @Test("a worker that claims --label site=A without that label in its certificate gets no site task; one whose certificate says site=A does")
    func siteLabelFromCertificate() async throws {
        let ws = try TestSupport.workspaceCopy()
        let sites = try SiteCohortTests.splitBySite(ws)
        let site = sites[0]
        let manifest = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: one-site}
            spec:
              sites: {file: adtte.csv, label: site, names: [\(site)]}
              kernel: cohort.summary
              params: {paramcd: OS}
            """, named: "one-site", in: ws)
        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: try TestPKI(), leaseTTL: 15)
        let alice = try server.pki.issue(.user, "alice")
        func startWorker(_ name: String, certified: [String: String]) throws -> TestSupport.RunningProcess {
            let f = try server.pki.issue(.worker, name, labels: certified)
            return try TestSupport.startMedgrid([
                "worker", "--coordinator", server.url, "--cert", f.certificate.path, "--key", f.privateKey.path,
                "--ca", server.pki.caFile.path, "--slots", "1", "--state-dir", "wstate-\(name)", "--log-level", "error",
                "--label", "site=\(site)", "--site-data", ws.appendingPathComponent("sites/\(site)").path,
            ], in: ws)
        }
        var workers = [try startWorker("impostor", certified: [:])]
        defer { for w in workers { w.kill(signal: SIGKILL); _ = w.finish() } }
        let out = try await TestSupport.medgrid(["submit", manifest, "--json"] + connection(alice, server), in: ws)
        #expect(out.status == 0, "\(out.stderr)")
        let job = try #require(try JSONValue(parsing: Data(out.stdout.utf8))["job"]?.stringValue)

        // The impostor registers (its claim dropped and audited) but the site's task waits for a certified worker.
        // (Polled, not slept: on a busy machine the impostor may take a while to register, or miss a heartbeat.)
        var waiting = try await server.coordinator.statusReply(job)
        #expect(try await TestSupport.eventually(60) {
            waiting = try await server.coordinator.statusReply(job)
            return await server.coordinator.connectedWorkers.contains("impostor") && waiting.pendingReasons.keys.contains { $0.contains("site=\(site)") }
        }, "\(waiting.pendingReasons)")
        #expect(waiting.tasks["pending"] == 1, "\(waiting.tasks)")
        let workerList = await server.coordinator.workerList()
        #expect(workerList.workers.first { $0.name == "impostor" }?.labels["site"] == nil)
        let refusals = try server.coordinator.store.read { try $0.gridEvents() }.filter { $0.kind == "access-refused" }
        #expect(refusals.contains { $0.detail.contains("CN=impostor") && $0.detail.contains("site=\(site)") }, "\(refusals)")

        // A worker whose certificate carries the site runs it.
        workers.append(try startWorker("certified", certified: ["site": site]))
        let end = Date().addingTimeInterval(120)
        while await server.coordinator.jobStatus(job)?.isTerminal != true, Date() < end { try await Task.sleep(for: .milliseconds(100)) }
        #expect(await server.coordinator.jobStatus(job) == .succeeded)
        let succeeded = try server.coordinator.store.read { try $0.events(of: job) }.filter { $0.kind == "succeeded" }
        #expect(succeeded.count == 1 && succeeded.allSatisfy { $0.detail.contains("certified") })
        await server.stop()
    }

    @Test("project commands on a local state directory: create, members, list; bad names and unknown projects are clear errors")
    func localProjects() async throws {
        let ws = try TestSupport.temporaryDirectory()
        let state = ["--state-dir", ws.appendingPathComponent("st").path]
        #expect(try await TestSupport.medgrid(["project", "create", "trial-7"] + state).status == 0)
        let again = try await TestSupport.medgrid(["project", "create", "trial-7"] + state)
        #expect(again.status == 1 && again.stderr.contains("exists already"), "\(again.stderr)")
        let personal = try await TestSupport.medgrid(["project", "create", "user-eve"] + state)
        #expect(personal.status == 1 && personal.stderr.contains("personal projects"), "\(personal.stderr)")
        let added = try await TestSupport.medgrid(["project", "add-member", "trial-7", "alice"] + state)
        #expect(added.status == 0 && added.stdout.contains("alice: added"), "\(added.stdout)")
        let twice = try await TestSupport.medgrid(["project", "add-member", "trial-7", "alice"] + state)
        #expect(twice.stdout.contains("already a member"), "\(twice.stdout)")
        let unknown = try await TestSupport.medgrid(["project", "add-member", "nope", "alice"] + state)
        #expect(unknown.status == 1 && unknown.stderr.contains("no project nope"), "\(unknown.stderr)")
        let listed = try await TestSupport.medgrid(["project", "list", "--json"] + state)
        let projects = try JSONValue(parsing: Data(listed.stdout.utf8))["projects"]?.arrayValue ?? []
        #expect(projects.count == 1 && projects.first?["members"]?.arrayValue?.compactMap(\.stringValue) == ["alice"], "\(listed.stdout)")
        #expect(try await TestSupport.medgrid(["project", "remove-member", "trial-7", "alice"] + state).stdout.contains("removed"))
    }

    @Test("leaderboards and dataset registrations belong to a project: bob cannot read trial-a's leaderboard (404, audited), alice can; a job checks its own project's registration only")
    func leaderboardsAndRegistrationsBelongToAProject() async throws {
        let ws = try TestSupport.workspaceCopy()
        let pki = try TestPKI()
        let state = ["--state-dir", "coord"]
        let run = try await TestSupport.medgrid(["run", "Jobs/phantom-benchmark.yaml", "--out", "out"] + state, in: ws)
        #expect(run.status == 0, "\(run.stderr)")
        let typo = try await TestSupport.medgrid(["leaderboard", "phantom", "--add", "out", "--project", "trail-a"] + state, in: ws)
        #expect(typo.status == 1 && typo.stderr.contains("no project trail-a"), "\(typo.stderr)")
        // Two projects, each with its own leaderboard called phantom and its own history.
        for project in ["trial-a", "trial-b"] {
            #expect(try await TestSupport.medgrid(["project", "create", project] + state, in: ws).status == 0)
            let add = try await TestSupport.medgrid(["leaderboard", "phantom", "--add", "out", "--project", project] + state, in: ws)
            #expect(add.status == 0, "\(add.stderr)")
            #expect(add.stderr.contains("published phantom version 1 in project \(project)"), "\(add.stderr)")
        }
        let listed = try await TestSupport.medgrid(["leaderboard"] + state, in: ws)
        #expect(listed.stdout.contains("phantom  version 1  project trial-a") && listed.stdout.contains("phantom  version 1  project trial-b"), "\(listed.stdout)")
        let ambiguous = try await TestSupport.medgrid(["leaderboard", "phantom"] + state, in: ws)
        #expect(ambiguous.status == 1 && ambiguous.stderr.contains("name one with --project"), "\(ambiguous.stderr)")

        let server = try await TestServer(stateDirectory: ws.appendingPathComponent("coord"), pki: pki)
        let alice = try pki.issue(.user, "alice"), bob = try pki.issue(.user, "bob"), root = try pki.issue(.admin, "root")
        #expect(try await TestSupport.medgrid(["project", "add-member", "trial-a", "alice"] + connection(root, server), in: ws).status == 0)

        // Alice, a member of trial-a, reads its leaderboard from her machine; trial-b's is not listed for her.
        let alicesList = try await TestSupport.medgrid(["leaderboard"] + connection(alice, server), in: ws)
        #expect(alicesList.status == 0 && alicesList.stdout.contains("project trial-a") && !alicesList.stdout.contains("trial-b"), "\(alicesList.stdout)")
        let alicesView = try await TestSupport.medgrid(["leaderboard", "phantom", "--json"] + connection(alice, server), in: ws)
        #expect(alicesView.status == 0, "\(alicesView.stderr)")
        let local = try await TestSupport.medgrid(["leaderboard", "phantom", "--project", "trial-a", "--json"] + state, in: ws)
        #expect(alicesView.stdout == local.stdout, "the coordinator serves the published version as stored")

        // Bob is in neither project: the leaderboard reads exactly like one that does not exist, and is audited.
        let bobsList = try await TestSupport.medgrid(["leaderboard"] + connection(bob, server), in: ws)
        #expect(bobsList.status == 0 && !bobsList.stdout.contains("phantom"), "\(bobsList.stdout)")
        let refused = try await TestSupport.medgrid(["leaderboard", "phantom", "--project", "trial-a"] + connection(bob, server), in: ws)
        #expect(refused.status == 1 && refused.stderr.contains("404") && refused.stderr.contains("no leaderboard phantom in project trial-a"), "\(refused.stderr)")
        let missing = try await TestSupport.medgrid(["leaderboard", "nothing", "--project", "trial-a"] + connection(bob, server), in: ws)
        #expect(missing.stderr.replacingOccurrences(of: "nothing", with: "phantom") == refused.stderr, "a refused leaderboard must read exactly like a missing one")
        let audit = try server.coordinator.store.read { try $0.gridEvents() }.filter { $0.kind == "access-refused" }
        #expect(audit.contains { $0.detail.contains("CN=bob (user, serial ") && $0.detail.contains("leaderboard phantom of project trial-a") }, "\(audit)")
        // Publishing is done where the store is.
        let remoteAdd = try await TestSupport.medgrid(["leaderboard", "phantom", "--add", "out"] + connection(alice, server), in: ws)
        #expect(remoteAdd.status != 0 && remoteAdd.stderr.contains("--state-dir"), "\(remoteAdd.stderr)")
        await server.stop()

        // A dataset registered by trial-a is checked for trial-a's jobs, not for a job in another project.
        #expect(try await TestSupport.medgrid(["dataset", "add", "Datasets/phantom", "--project", "trial-a"] + state, in: ws).status == 0)
        // A file added to the folder changes the dataset (and leaves every case readable).
        try Data("notes\n".utf8).write(to: ws.appendingPathComponent("Datasets/phantom/NOTES.txt"))
        let quickstart = try String(contentsOf: ws.appendingPathComponent("Jobs/quickstart.yaml"), encoding: .utf8)
        let inTrialA = try writeManifest(quickstart.replacingOccurrences(of: "  seed: 7", with: "  seed: 7\n  project: trial-a"), named: "quickstart-a", in: ws)
        let checked = try await TestSupport.medgrid(["run", inTrialA, "--out", "qa"] + state, in: ws)
        #expect(checked.status == 1 && checked.stderr.contains("changed since project trial-a registered it"), "\(checked.stderr)")
        let elsewhere = try await TestSupport.medgrid(["run", "Jobs/quickstart.yaml", "--out", "qb"] + state, in: ws)
        #expect(elsewhere.status == 0, "a job of another project is not held to trial-a's registration: \(elsewhere.stderr)")
        let verify = try await TestSupport.medgrid(["dataset", "verify", "Datasets/phantom"] + state, in: ws)
        #expect(verify.status == 1 && verify.stderr.contains("registered in project trial-a: pass --project"), "\(verify.stderr)")
        let verifyA = try await TestSupport.medgrid(["dataset", "verify", "Datasets/phantom", "--project", "trial-a"] + state, in: ws)
        #expect(verifyA.status == 1 && verifyA.stderr.contains("NOTES.txt"), "\(verifyA.stderr)")
    }

}

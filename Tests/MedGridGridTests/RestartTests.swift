import Foundation
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridReports
import MedGridTesting

/// Nothing is lost when the coordinator dies: SIGKILL mid-job, start again on the same state
/// directory, and the job completes with the same report as a run that was never interrupted.
struct RestartTests {
    @Test("SIGKILL of the coordinator mid-job, then a restart on the same state directory, gives the same report")
    func killAndResume() async throws {
        let ws = try TestSupport.workspaceCopy()
        let dataset = try await synthPhantom(in: ws, name: "twelve", cases: 12)
        let manifest = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Job
            metadata:
              name: slow
            spec:
              dataset: \(dataset)
              steps:
                - name: wait
                  kernel: debug.sleep
                  params: {seconds: 1.0}
                - name: stats
                  kernel: imaging.stats
                  params: {mask: label, percentiles: [50]}
              shard: {casesPerTask: 1}
            """, named: "slow", in: ws)
        let args = ["run", manifest, "--workers", "1", "--slots", "2", "--lease-ttl", "5", "--state-dir", "state"]

        // A clean run for reference.
        let clean = try await TestSupport.medgrid(args.map { $0 == "state" ? "clean-state" : $0 } + ["--out", "clean"], in: ws)
        #expect(clean.status == 0, "\(clean.stderr)")

        // Start, wait until some tasks are done, kill -9.
        let first = try TestSupport.startMedgrid(args + ["--out", "resumed"], in: ws)
        let stateDir = ws.appendingPathComponent("state")
        var done = 0
        var watched: Store?
        // Generous: on a loaded 2-core machine the run's start (and the parallel tests) can take minutes.
        let deadline = Date().addingTimeInterval(240)
        while done < 3 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            // The store is opened once it exists (not on every poll, which is slow on a busy machine).
            if watched == nil, FileManager.default.fileExists(atPath: stateDir.appendingPathComponent("medgrid.sqlite").path) {
                watched = try? Store(stateDirectory: stateDir)
            }
            if let store = watched, let jobs = try? store.read({ try $0.jobs() }), let job = jobs.first,
               let counts = try? store.read({ try $0.phaseCounts(of: job.id) }) {
                done = counts[.succeeded] ?? 0
            }
        }
        watched = nil
        #expect(done >= 3 && done < 12, "killed with \(done) of 12 tasks done")
        first.kill(signal: SIGKILL)
        let killed = first.finish()
        #expect(killed.status != 0)

        // Start again: the unfinished job is resumed, not started over.
        let second = try await TestSupport.medgrid(args + ["--out", "resumed"], in: ws)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("slow-1: succeeded"), "\(second.stdout)")
        let resumed = try reportBytes(ws.appendingPathComponent("resumed")), reference = try reportBytes(ws.appendingPathComponent("clean"))
        let differences = JSONDifference.differences(try JSONValue(parsing: reference), try JSONValue(parsing: resumed))
        #expect(resumed == reference, "\(differences)")

        let store = try Store(stateDirectory: stateDir)
        let jobs = try store.read { try $0.jobs() }
        #expect(jobs.map(\.id) == ["slow-1"])
        let succeededEvents = try store.read { try $0.events(of: "slow-1", limit: 10_000) }.filter { $0.kind == "succeeded" }
        #expect(Set(succeededEvents.compactMap(\.task)).count == 12)
    }
}

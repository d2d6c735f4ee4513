import Foundation
import Testing
import MedGridCore
import MedGridCohort
import MedGridKernels
import MedGridTesting

/// No patient identifier in any log line: case IDs (which in real datasets are often patient or accession
/// numbers) and subject IDs never reach the logs, at any level.
struct PrivacyTests {
    @Test("a run with failures logs at trace level without a single case or subject identifier")
    func noIdentifiersInLogs() async throws {
        let ws = try TestSupport.workspaceCopy()
        let log = InMemoryLogHandler.Recorder()
        let loader = ManifestLoader(catalog: KernelRegistry.standard)
        let imaging = try loader.load(text: """
            apiVersion: medgrid/v1
            kind: Job
            metadata: {name: private}
            spec:
              dataset: ../Datasets/phantom
              steps:
                - {name: fail, kernel: debug.fail, params: {cases: [phantom_003], message: "failed on this case"}}
                - {name: stats, kernel: imaging.stats}
              retries: {kernelError: 1, backoffSeconds: 0}
            """, file: "private.yaml", baseDirectory: ws.appendingPathComponent("Jobs"))
        let cohort = try loader.load(contentsOf: ws.appendingPathComponent("Jobs/cohort-summary.yaml"))
        let cluster = try InProcessCluster(stateDirectory: ws.appendingPathComponent("st"), logger: log.logger(label: "medgrid"))
        _ = try await cluster.run(imaging, workers: 2, slots: 1)
        _ = try await cluster.run(cohort, workers: 1, slots: 2)
        #expect(log.lines.count > 10, "the run logged")
        let table = try CSV.read(contentsOf: ws.appendingPathComponent("Datasets/trial/cohort.csv"))
        let subjects = Set(table.subjectOrder())
        for line in log.lines {
            #expect(!line.contains("phantom_0"), "case ID in a log line: \(line)")
            #expect(!subjects.contains { line.contains($0) }, "subject ID in a log line: \(line)")
        }
    }
}

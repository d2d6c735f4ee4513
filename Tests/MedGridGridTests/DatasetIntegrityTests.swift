import Foundation
import Testing
import MedGridCore
import MedGridKernels
import MedGridCoordinator
import MedGridTesting

/// Changing one byte of a dataset file is caught by `medgrid dataset verify` and by a job that reads it.
struct DatasetIntegrityTests {
    func flipByte(_ url: URL, at offset: Int) throws {
        var data = try Data(contentsOf: url)
        data[offset] ^= 0x01
        try data.write(to: url)
    }

    @Test("dataset add, verify, one flipped byte: verify and a new job both name the file")
    func verifyCatchesChange() async throws {
        let ws = try TestSupport.workspaceCopy()
        let added = try await TestSupport.medgrid(["dataset", "add", "Datasets/phantom", "--state-dir", "st"], in: ws)
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("merkle root: "))
        let ok = try await TestSupport.medgrid(["dataset", "verify", "Datasets/phantom", "--state-dir", "st"], in: ws)
        #expect(ok.status == 0)
        #expect(ok.stdout.hasPrefix("ok: 13 files match"))

        try flipByte(ws.appendingPathComponent("Datasets/phantom/imagesTr/phantom_003.nii.gz"), at: 200)
        let bad = try await TestSupport.medgrid(["dataset", "verify", "Datasets/phantom", "--state-dir", "st"], in: ws)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("imagesTr/phantom_003.nii.gz: content changed"), "\(bad.stderr)")

        let run = try await TestSupport.medgrid(["run", "Jobs/quickstart.yaml", "--state-dir", "st"], in: ws)
        #expect(run.status == 1)
        #expect(run.stderr.contains("registered it with medgrid dataset add"), "\(run.stderr)")
        #expect(run.stderr.contains("imagesTr/phantom_003.nii.gz"))
    }

    @Test("a file changed after the job was planned fails its task with an integrity error, never used")
    func workerCatchesChange() async throws {
        let ws = try TestSupport.workspaceCopy()
        let manifest = try ManifestLoader(catalog: KernelRegistry.standard).load(contentsOf: ws.appendingPathComponent("Jobs/quickstart.yaml"))
        let cluster = try InProcessCluster(stateDirectory: ws.appendingPathComponent("st"))
        let job = try await cluster.coordinator.submit(manifest)
        try flipByte(ws.appendingPathComponent("Datasets/phantom/labelsTr/phantom_004.nii.gz"), at: 100)
        let (_, text) = try await cluster.runSubmitted(job, workers: 1, slots: 2)
        let report = try JSONValue(parsing: Data(text.utf8))
        #expect(report["status"]?.stringValue == "partiallyFailed")
        let failure = try #require(report["failures"]?.arrayValue?.first)
        #expect(failure["kind"]?.stringValue == "integrity")
        #expect(failure["message"]?.stringValue?.contains("labelsTr/phantom_004.nii.gz: content changed") == true)
        #expect(report["failures"]?.arrayValue?.count == 1)
    }
}

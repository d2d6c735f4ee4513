import Foundation
import Testing
import MedGridCore
import MedGridTesting

/// The command line as a user meets it: help, kernel list and run, plan, status, report, bad input.
struct CommandLineTests {
    @Test("every command has help text", arguments: [
        ["--help"], ["run", "--help"], ["validate", "--help"], ["plan", "--help"], ["status", "--help"], ["report", "--help"],
        ["cancel", "--help"], ["dataset", "--help"], ["dataset", "add", "--help"], ["dataset", "verify", "--help"],
        ["dataset", "info", "--help"], ["dataset", "synth", "phantom", "--help"], ["dataset", "synth", "cohort", "--help"],
        ["kernel", "list", "--help"], ["kernel", "run", "--help"], ["submit", "--help"], ["workers", "--help"],
        ["tls", "--help"], ["tls", "ca", "create", "--help"], ["tls", "cert", "create", "--help"], ["tls", "cert", "info", "--help"],
        ["coordinator", "--help"], ["worker", "--help"], ["rank", "--help"], ["verify", "--help"], ["leaderboard", "--help"],
        ["tls", "revoke", "--help"], ["project", "--help"], ["project", "create", "--help"], ["project", "add-member", "--help"],
        ["project", "remove-member", "--help"], ["project", "list", "--help"], ["audit", "--help"], ["audit", "verify", "--help"],
    ])
    func help(_ args: [String]) async throws {
        let out = try await TestSupport.medgrid(args)
        #expect(out.status == 0)
        #expect(out.stdout.contains("USAGE: medgrid"), "\(out.stdout)")
    }

    @Test("kernel list shows every kernel with version and parameters")
    func kernelList() async throws {
        let out = try await TestSupport.medgrid(["kernel", "list"])
        #expect(out.status == 0)
        for name in ["imaging.stats 1.0.0", "imaging.clip 1.0.0", "cohort.summary 1.0.0", "debug.noop 1.0.0"] {
            #expect(out.stdout.contains(name))
        }
        #expect(out.stdout.contains("--param percentiles=<list of numbers> (default [5,25,50,75,95])"))
        let json = try JSONValue(parsing: Data(try await TestSupport.medgrid(["kernel", "list", "--json"]).stdout.utf8))
        let names = json.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(["imaging.stats", "imaging.clip", "imaging.threshold", "cohort.summary", "debug.noop", "debug.rounds"]).isSubset(of: names))
    }

    @Test("kernel run prints a JSON result naming every setting, and writes volumes")
    func kernelRun() async throws {
        let ws = try TestSupport.workspaceCopy()
        let img = "Datasets/phantom/imagesTr/phantom_001.nii.gz", lab = "Datasets/phantom/labelsTr/phantom_001.nii.gz"
        let out = try await TestSupport.medgrid(["kernel", "run", "imaging.stats", "--input", img, "--input", lab, "--param", "mask=label", "--param", "percentiles=[50]"], in: ws)
        #expect(out.status == 0, "\(out.stderr)")
        let json = try JSONValue(parsing: Data(out.stdout.utf8))
        #expect(json["kernel"]?.stringValue == "imaging.stats")
        #expect(json["params"]?["mask"]?.stringValue == "label")
        #expect(json["result"]?["voxelCount"]?.intValue == 925)
        let clip = try await TestSupport.medgrid(["kernel", "run", "imaging.clip", "--input", img, "--param", "lower=-100", "--param", "upper=100", "--output", "clipped.nii.gz"], in: ws)
        #expect(clip.status == 0, "\(clip.stderr)")
        let back = try await TestSupport.medgrid(["kernel", "run", "imaging.stats", "--input", "clipped.nii.gz"], in: ws)
        let stats = try JSONValue(parsing: Data(back.stdout.utf8))
        #expect(stats["result"]?["min"]?.doubleValue == -100)
        #expect(stats["result"]?["max"]?.doubleValue == 100)
        let cohort = try await TestSupport.medgrid(["kernel", "run", "cohort.summary", "--input", "Datasets/trial/cohort.csv", "--param", "paramcd=OS"], in: ws)
        #expect(cohort.status == 0, "\(cohort.stderr)")
        #expect(try JSONValue(parsing: Data(cohort.stdout.utf8))["result"]?["armTotals"]?.arrayValue?.count == 2)
    }

    @Test("bad input to kernel run gives a clear error and exit 1", arguments: [
        (["kernel", "run", "imaging.stat", "--input", "x"], "did you mean imaging.stats?"),
        (["kernel", "run", "imaging.stats", "--input", "Datasets/trial/cohort.csv"], "cohort.csv"),
        (["kernel", "run", "imaging.stats", "--input", "missing.nii"], "missing.nii"),
        (["kernel", "run", "imaging.stats", "--input", "Datasets/phantom/imagesTr/phantom_001.nii.gz", "--param", "percentiles=[150]"], "percentiles"),
        (["kernel", "run", "imaging.clip", "--input", "Datasets/phantom/imagesTr/phantom_001.nii.gz", "--param", "lower=0", "--param", "upper=1"], "--output"),
        (["kernel", "run", "cohort.summary", "--input", "Datasets/phantom/dataset.json"], "dataset.json"),
    ])
    func kernelRunBadInput(_ args: [String], _ fragment: String) async throws {
        let ws = try TestSupport.workspaceCopy()
        let out = try await TestSupport.medgrid(args, in: ws)
        #expect(out.status == 1, "\(out.stderr)")
        #expect(out.stderr.contains(fragment), "\(out.stderr)")
    }

    @Test("plan is deterministic; status and report read the state after a run")
    func planStatusReport() async throws {
        let ws = try TestSupport.workspaceCopy()
        let a = try await TestSupport.medgrid(["plan", "Jobs/quickstart.yaml"], in: ws)
        let b = try await TestSupport.medgrid(["plan", "Jobs/quickstart.yaml"], in: ws)
        #expect(a.status == 0)
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.contains("3 tasks"))
        let run = try await TestSupport.medgrid(["run", "Jobs/quickstart.yaml", "--workers", "2", "--state-dir", "st"], in: ws)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("quickstart-1: succeeded"))
        #expect(run.stderr.contains("3/3 tasks"), "plain progress lines when not a terminal: \(run.stderr)")
        let list = try await TestSupport.medgrid(["status", "--state-dir", "st"], in: ws)
        #expect(list.stdout.contains("quickstart-1  succeeded  3/3 done"))
        let one = try await TestSupport.medgrid(["status", "quickstart-1", "--state-dir", "st", "--json"], in: ws)
        #expect(try JSONValue(parsing: Data(one.stdout.utf8))["tasks"]?["succeeded"]?.intValue == 3)
        let report = try await TestSupport.medgrid(["report", "quickstart-1", "--state-dir", "st", "--format", "json"], in: ws)
        #expect(Data(report.stdout.utf8) == (try Data(contentsOf: ws.appendingPathComponent("reports/quickstart/report.json"))))
        let missing = try await TestSupport.medgrid(["status", "nope-1", "--state-dir", "st"], in: ws)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no job nope-1"))
        let perms = try FileManager.default.attributesOfItem(atPath: ws.appendingPathComponent("st/medgrid.sqlite").path)[.posixPermissions] as? Int
        #expect(perms == 0o600)
    }
}

/// Imaging kernels take DICOM too: a folder with one series or a single file.
struct DICOMInputTests {
    @Test("kernel run reads a DICOM series folder and a DICOM file, with the values SimpleITK and pydicom give")
    func dicomInputs() async throws {
        let root = TestSupport.repositoryRoot().appendingPathComponent("Tests/MedGridImagingTests/Reference/dicom")
        let expected = try JSONValue(parsing: Data(contentsOf: root.appendingPathComponent("expected.json")))
        let series = try #require(expected["series"]?["ct_oblique"]?["values"])
        let out = try await TestSupport.medgrid(["kernel", "run", "imaging.stats", "--input", root.appendingPathComponent("synthetic/ct_oblique").path])
        #expect(out.status == 0, "\(out.stderr)")
        let result = try JSONValue(parsing: Data(out.stdout.utf8))["result"]
        let count = (series["count"]?.intValue ?? 0) - (series["nanCount"]?.intValue ?? 0)  // padding voxels are excluded
        #expect(result?["voxelCount"]?.intValue == count)
        let mean = (series["sum"]?.doubleValue ?? 0) / Double(count)
        #expect(abs((result?["mean"]?.doubleValue ?? 0) - mean) <= 1e-9 * abs(mean))
        let file = try await TestSupport.medgrid(["kernel", "run", "imaging.otsu", "--input", root.appendingPathComponent("files/CT_small.dcm").path, "--output", FileManager.default.temporaryDirectory.appendingPathComponent("otsu-\(UUID().uuidString).nii.gz").path])
        #expect(file.status == 0, "\(file.stderr)")
        let jpeg = try await TestSupport.medgrid(["kernel", "run", "imaging.stats", "--input", TestSupport.repositoryRoot().appendingPathComponent("README.md").path])
        #expect(jpeg.status == 1)
    }
}

import Foundation
import Testing
import MedGridCore
@testable import MedGridImaging
import MedGridTesting

/// `medgrid dicom deidentify` and `medgrid dataset add --deidentify`, run as processes on the pydicom test
/// files the DICOM reader's reference set holds.
struct DeidentificationProcessTests {
    static let reference = TestSupport.repositoryRoot().appendingPathComponent("Tests/MedGridImagingTests/Reference/dicom")

    /// One file per transfer syntax and kind (CT, MR, RT dose, multi-frame, enhanced, nested private
    /// sequences), plus a six-slice series folder. Files that share a SOP Instance UID are left out.
    static let inputs = [
        "files/CT_small.dcm", "files/MR_small_implicit.dcm", "files/rtdose_expb.dcm", "files/image_dfl.dcm",
        "files/nested_priv_SQ.dcm", "synthetic/enhanced_ct.dcm", "synthetic/mf_signed12_rle.dcm", "synthetic/ct_oblique",
    ].map { reference.appendingPathComponent($0).path }

    /// A python3 that has pydicom (MEDGRID_PYTHON, else /usr/bin/python3), or nil.
    static func pythonWithPydicom() async throws -> String? {
        let python = ProcessInfo.processInfo.environment["MEDGRID_PYTHON"] ?? "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        return try await TestSupport.run(python, ["-c", "import pydicom"]).status == 0 ? python : nil
    }

    static func mode(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
    }

    static func writeKey(_ text: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent("key-\(text.prefix(4))")
        try Data((text + "\n").utf8).write(to: url)
        return url.path
    }

    /// The de-identified files under `dir`, relative path → bytes (the hidden .deidentify folder excluded).
    static func outputs(_ dir: URL) throws -> [String: Data] {
        var out = [String: Data]()
        for rel in try DatasetInventory.listFiles(in: dir) { out[rel] = try Data(contentsOf: dir.appendingPathComponent(rel)) }
        return out
    }

    @Test("same key gives byte-identical output, another key other UIDs; summary 0600 in a 0700 folder; the pydicom reference check passes")
    func deidentifyReferenceFiles() async throws {
        let t = try TestSupport.temporaryDirectory("medgrid-deid")
        let keyA = try Self.writeKey("a first key, long enough to use", in: t), keyB = try Self.writeKey("b second key, long enough to use", in: t)
        for (name, key) in [("a", keyA), ("b", keyA), ("c", keyB)] {
            let out = try await TestSupport.medgrid(["dicom", "deidentify"] + Self.inputs + ["--out", t.appendingPathComponent(name).path, "--key", key, "--json"])
            #expect(out.status == 0, "\(out.stderr)")
            let summary = try JSONValue(parsing: Data(out.stdout.utf8))
            #expect(summary["files"]?.arrayValue?.count == 13, "7 files and a 6-slice series")
            #expect(summary["codes"]?.arrayValue?.first?.stringValue == "113100")
        }
        let a = try Self.outputs(t.appendingPathComponent("a")), b = try Self.outputs(t.appendingPathComponent("b")), c = try Self.outputs(t.appendingPathComponent("c"))
        #expect(a.count == 13)
        #expect(a == b, "the same key must give the same files, byte for byte")
        #expect(Set(a.keys).isDisjoint(with: c.keys), "another key must give other UIDs, hence other names")
        // The ct_oblique slices share one series folder.
        // The ct_oblique slices share one series folder; nested_priv_SQ has no series and sits at the top.
        #expect(Set(a.keys.map { ($0 as NSString).deletingLastPathComponent }).count == 8)
        let summaryURL = t.appendingPathComponent("a/.deidentify/summary.json")
        #expect(Self.mode(summaryURL) == 0o600)
        #expect(Self.mode(t.appendingPathComponent("a/.deidentify")) == 0o700)
        #expect(!FileManager.default.fileExists(atPath: t.appendingPathComponent("a/.deidentify/key").path), "no key is made when --key is given")
        let summary = try JSONValue(parsing: Data(contentsOf: summaryURL))
        let ct = try #require(summary["files"]?.arrayValue?.first { $0["input"]?.stringValue?.hasSuffix("CT_small.dcm") == true })
        #expect(ct["actions"]?.arrayValue?.contains { $0["keyword"]?.stringValue == "PatientName" && $0["action"]?.stringValue == "Z" } == true)
        #expect(ct["uids"]?.objectValue?.values.allSatisfy { $0.stringValue?.hasPrefix("2.25.") == true } == true)

        // No key given: one is made (0600) and used again by the next run into the same folder.
        let d = t.appendingPathComponent("d")
        for _ in 0..<2 {
            let out = try await TestSupport.medgrid(["dicom", "deidentify", Self.inputs[0], "--out", d.path])
            #expect(out.status == 0, "\(out.stderr)")
        }
        #expect(Self.mode(d.appendingPathComponent(".deidentify/key")) == 0o600)
        #expect(try Self.outputs(d).count == 1, "the second run must write the same file name (same generated key)")

        guard let python = try await Self.pythonWithPydicom() else {
            print("skipping the pydicom reference check: no python3 with pydicom (apt-get install python3-pydicom, or set MEDGRID_PYTHON)")
            return
        }
        let script = TestSupport.repositoryRoot().appendingPathComponent("Datasets/reference-scripts/deidentify_check.py").path
        let table = TestSupport.repositoryRoot().appendingPathComponent("Sources/MedGridImaging/DICOM/BasicProfileTable.swift").path
        let check = try await TestSupport.run(python, [script, "--table", table, "--run", t.appendingPathComponent("a").path, "--same-key", t.appendingPathComponent("b").path,
                                                       "--other-key", t.appendingPathComponent("c").path, "--json"])
        #expect(check.status == 0, "pydicom check: \(check.stdout.prefix(4000)) \(check.stderr.suffix(2000))")
        let data = Data(check.stdout.utf8)
        let result = try JSONValue(parsing: data)
        #expect(result["files"]?.intValue == 13)
        #expect((result["checked_elements"]?.intValue ?? 0) > 100)
        #expect(result["failures"]?.arrayValue?.isEmpty == true)
    }

    @Test("a bad file or burned-in annotation stops the run before anything is written; --allow-burned-in lets it through")
    func refusals() async throws {
        let t = try TestSupport.temporaryDirectory("medgrid-deid-bad")
        let truncated = try await TestSupport.medgrid(["dicom", "deidentify", Self.inputs[0], Self.reference.appendingPathComponent("files/MR_truncated.dcm").path, "--out", t.appendingPathComponent("x").path])
        #expect(truncated.status == 1)
        #expect(truncated.stderr.contains("MR_truncated.dcm") && truncated.stderr.contains("byte"), "\(truncated.stderr)")
        #expect(!FileManager.default.fileExists(atPath: t.appendingPathComponent("x").path), "nothing may be written")

        // CT_small flagged BurnedInAnnotation=YES.
        let ct = try DICOM.read(contentsOf: URL(fileURLWithPath: Self.inputs[0]))
        var elements = ct.dataset.elements
        let tag = DICOMTag(0x0028, 0x0301)
        elements[tag] = DICOMElement(tag: tag, vr: "CS", offset: 0, content: .bytes(ArraySlice(Array("YES ".utf8))), bigEndian: false)
        let burned = t.appendingPathComponent("burned.dcm")
        try Data(DICOMWriter.file(meta: Array(ct.meta.elements.values), dataset: DICOMDataset(elements: elements, path: nil), encoding: .explicitLittle)).write(to: burned)
        let refused = try await TestSupport.medgrid(["dicom", "deidentify", burned.path, "--out", t.appendingPathComponent("y").path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("burned.dcm") && refused.stderr.contains("--allow-burned-in"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: t.appendingPathComponent("y").path))
        let allowed = try await TestSupport.medgrid(["dicom", "deidentify", burned.path, "--out", t.appendingPathComponent("y").path, "--allow-burned-in", "--json"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(try JSONValue(parsing: Data(allowed.stdout.utf8))["options"]?.arrayValue?.contains(.string("allow-burned-in")) == true)
        let bad = try await TestSupport.medgrid(["dicom", "deidentify", burned.path, "--out", t.appendingPathComponent("z").path, "--keep-dates", "--shift-dates", "3"])
        #expect(bad.status != 0 && bad.stderr.contains("exclude each other"))
        let profile = try await TestSupport.medgrid(["dicom", "deidentify", burned.path, "--out", t.appendingPathComponent("z").path, "--profile", "clean"])
        #expect(profile.status != 0 && profile.stderr.contains("basic"))
    }

    @Test("a job over the de-identified series gives the same HU statistics as over the original; dataset add --deidentify registers only the copy")
    func sameStatisticsAfterDeidentification() async throws {
        let ws = try TestSupport.workspaceCopy()
        let fm = FileManager.default
        let original = ws.appendingPathComponent("Datasets/ct-original"), deidentified = ws.appendingPathComponent("Datasets/ct-deidentified")
        try fm.createDirectory(at: original, withIntermediateDirectories: true)
        try fm.copyItem(at: Self.reference.appendingPathComponent("synthetic/ct_oblique"), to: ws.appendingPathComponent("series-ct"))
        let key = try Self.writeKey("a key for the series statistics test", in: ws)
        let add = try await TestSupport.medgrid(["dataset", "add", ws.appendingPathComponent("series-ct").path, "--deidentify", "--out", ws.appendingPathComponent("deid").path,
                                                 "--key", key, "--state-dir", "state"], in: ws)
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("registered \(ws.appendingPathComponent("deid").standardizedFileURL.path)"), "\(add.stdout)")
        let verify = try await TestSupport.medgrid(["dataset", "verify", ws.appendingPathComponent("deid").path, "--state-dir", "state"], in: ws)
        #expect(verify.status == 0 && verify.stdout.contains("6 files match"), "\(verify.stdout)\(verify.stderr)")
        let notOriginal = try await TestSupport.medgrid(["dataset", "verify", ws.appendingPathComponent("series-ct").path, "--state-dir", "state"], in: ws)
        #expect(notOriginal.status == 1 && notOriginal.stderr.contains("not registered"), "the identified folder must not be registered")

        // The series folder, read by the imaging.stats kernel as a process.
        let series = try #require(try fm.contentsOfDirectory(atPath: ws.appendingPathComponent("deid").path).first { !$0.hasPrefix(".") })
        var seriesStats = [JSONValue]()
        for folder in [ws.appendingPathComponent("series-ct"), ws.appendingPathComponent("deid/\(series)")] {
            let out = try await TestSupport.medgrid(["kernel", "run", "imaging.stats", "--input", folder.path, "--param", "percentiles=[5,50,95]"], in: ws)
            #expect(out.status == 0, "\(out.stderr)")
            seriesStats.append(try #require(try JSONValue(parsing: Data(out.stdout.utf8))["result"]))
        }
        #expect(seriesStats[0] == seriesStats[1], "HU statistics of the series must not change with de-identification")

        // A grid job (one DICOM file per case: CT, enhanced multi-frame CT, classic multi-frame RLE) over the
        // originals and over their de-identified copies, named alike so that the reports compare.
        let cases = ["ct": "files/CT_small.dcm", "enhanced": "synthetic/enhanced_ct.dcm", "multiframe": "synthetic/mf_signed12_rle.dcm"]
        let copies = ws.appendingPathComponent("deid-cases")
        let run = try await TestSupport.medgrid(["dicom", "deidentify"] + cases.values.sorted().map { Self.reference.appendingPathComponent($0).path }
                                                 + ["--out", copies.path, "--key", key, "--json"], in: ws)
        #expect(run.status == 0, "\(run.stderr)")
        let written = try #require(try JSONValue(parsing: Data(run.stdout.utf8))["files"]?.arrayValue)
        try fm.createDirectory(at: original, withIntermediateDirectories: true)
        try fm.createDirectory(at: deidentified, withIntermediateDirectories: true)
        for (name, relative) in cases {
            let source = Self.reference.appendingPathComponent(relative).path
            let output = try #require(written.first { $0["input"]?.stringValue == source }?["output"]?.stringValue)
            try fm.copyItem(atPath: source, toPath: original.appendingPathComponent("\(name).dcm").path)
            try fm.copyItem(atPath: output, toPath: deidentified.appendingPathComponent("\(name).dcm").path)
        }
        let datasetJSON = #"{"name": "ct", "modality": {"0": "CT"}, "labels": {"0": "background"}, "training": [], "test": ["ct.dcm", "enhanced.dcm", "multiframe.dcm"]}"#
        for dir in [original, deidentified] { try Data(datasetJSON.utf8).write(to: dir.appendingPathComponent("dataset.json")) }
        var results = [JSONValue]()
        for name in ["ct-original", "ct-deidentified"] {
            let path = try writeManifest("""
                apiVersion: medgrid/v1
                kind: Job
                metadata: {name: hu}
                spec:
                  dataset: ../Datasets/\(name)
                  steps:
                    - {name: hu, kernel: imaging.stats, params: {percentiles: [5, 50, 95]}}
                """, named: name, in: ws)
            let run = try await TestSupport.medgrid(["run", path, "--state-dir", "s-\(name)", "--out", "out-\(name)", "--workers", "1", "--slots", "1"], in: ws)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let report = try JSONValue(parsing: try reportBytes(ws.appendingPathComponent("out-\(name)")))
            let cases = try #require(report["cases"]?.arrayValue)
            #expect(cases.count == 3)
            results.append(.array(cases))
        }
        #expect(results[0] == results[1], "HU statistics must not change with de-identification")
        #expect(results[0].arrayValue?.allSatisfy { ($0["results"]?["hu"]?["voxelCount"]?.intValue ?? 0) > 0 } == true, "\(results[0])")
    }
}

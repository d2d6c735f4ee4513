import Foundation
import Testing
@testable import MedGridImaging

/// The reader against pydicom / SimpleITK reference values (Reference/dicom/README.md): geometry to 1e-6,
/// voxel values exact.
struct DICOMReaderTests {
    static let singleFiles = [
        "CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm",
        "MR_small_padded.dcm", "image_dfl.dcm", "rtdose.dcm", "rtdose_rle.dcm", "rtdose_expb.dcm",
    ]

    @Test("pydicom test files (explicit/implicit LE, big endian, RLE, deflated, multi-frame RT dose) match SimpleITK/pydicom",
          arguments: singleFiles)
    func pydicomFile(_ name: String) throws {
        let v = try DICOM.readSeries(at: DICOMReference.url("files/\(name)"))
        let e = try #require(DICOMReference.entry("files", name))
        DICOMReference.check(v, against: e, name)
    }

    static let syntheticFiles = [
        "mf_signed12.dcm", "mf_signed12_implicit.dcm", "mf_signed12_deflated.dcm", "mf_signed12_bigendian.dcm",
        "mf_signed12_rle.dcm", "enhanced_ct.dcm", "u12_highbit11.dcm", "u12_highbit15.dcm",
    ]

    @Test("synthetic multi-frame (12-bit signed, 5 transfer syntaxes), enhanced CT (per-frame position and rescale), 12-bit masking",
          arguments: syntheticFiles)
    func syntheticFile(_ name: String) throws {
        let v = try DICOM.readSeries(at: DICOMReference.url("synthetic/\(name)"))
        let e = try #require(DICOMReference.entry("files", "synthetic/\(name)"))
        DICOMReference.check(v, against: e, name)
    }

    @Test("oblique CT series with shuffled file names: SimpleITK ImageSeriesReader geometry, HU values, padding as NaN")
    func obliqueSeries() throws {
        let v = try DICOM.readSeries(at: DICOMReference.url("synthetic/ct_oblique"))
        let e = try #require(DICOMReference.entry("series", "ct_oblique"))
        DICOMReference.check(v, against: e, "ct_oblique")
        #expect(v.storedType == .float32)  // padding present: NaN needs a float type
        // The direction is orthonormal and right-handed (third column = row × column).
        let d = v.direction
        let det = d[0] * (d[4] * d[8] - d[5] * d[7]) - d[1] * (d[3] * d[8] - d[5] * d[6]) + d[2] * (d[3] * d[7] - d[4] * d[6])
        #expect(abs(det - 1) < 1e-9)
    }

    @Test("a folder with two series is refused with both UIDs listed; choosing one reads it")
    func twoSeries() throws {
        let folder = DICOMReference.url("synthetic/two_series")
        let e0 = try #require(DICOMReference.entry("series", "two_series_0"))
        let e1 = try #require(DICOMReference.entry("series", "two_series_1"))
        let uid0 = try #require(e0["seriesUID"] as? String), uid1 = try #require(e1["seriesUID"] as? String)
        let error = DICOMReference.imagingError { _ = try DICOM.readSeries(at: folder) }
        #expect(error?.description.contains(uid0) == true && error?.description.contains(uid1) == true)
        #expect(error?.description.contains("2 series") == true)
        DICOMReference.check(try DICOM.readSeries(at: folder, seriesUID: uid0), against: e0, "series 0")
        DICOMReference.check(try DICOM.readSeries(at: folder, seriesUID: uid1), against: e1, "series 1")
        let missing = DICOMReference.imagingError { _ = try DICOM.readSeries(at: folder, seriesUID: "1.2.3") }
        #expect(missing?.description.contains("no series 1.2.3") == true)
    }

    @Test("non-uniform slice spacing (a missing slice) is an error naming the gap")
    func nonUniform() {
        let error = DICOMReference.imagingError { _ = try DICOM.readSeries(at: DICOMReference.url("synthetic/nonuniform")) }
        #expect(error?.code == .unsupported)
        #expect(error?.description.contains("not uniform") == true)
        #expect(error?.description.contains("4.0 mm") == true)
    }

    @Test("stored type: the DICOM sample type without rescale; float32 with non-integer rescale or declared padding")
    func storedTypes() throws {
        #expect(try DICOM.readSeries(at: DICOMReference.url("files/MR_small.dcm")).storedType == .int16)
        #expect(try DICOM.readSeries(at: DICOMReference.url("files/rtdose.dcm")).storedType == .uint32)
        #expect(try DICOM.readSeries(at: DICOMReference.url("files/image_dfl.dcm")).storedType == .uint8)
        #expect(try DICOM.readSeries(at: DICOMReference.url("files/CT_small.dcm")).storedType == .float32)
        #expect(try DICOM.readSeries(at: DICOMReference.url("synthetic/mf_signed12.dcm")).storedType == .float32)
    }

    @Test("data set access: transfer syntax, text, numbers, nested undefined-length private sequences")
    func datasetAccess() throws {
        let ct = try DICOM.read(contentsOf: DICOMReference.url("files/CT_small.dcm"))
        #expect(ct.transferSyntaxUID == "1.2.840.10008.1.2.1")
        #expect(ct.transferSyntaxName == "Explicit VR Little Endian")
        #expect(ct.dataset.string(.modality) == "CT")
        #expect(ct.dataset.string(DICOMTag(0x0010, 0x0010)) == "CompressedSamples^CT1")
        #expect(ct.dataset.string(.seriesInstanceUID) == "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322")
        #expect(try ct.dataset.doubles(.imagePositionPatient) == [-158.135803, -179.035797, -75.699997])
        #expect(try ct.dataset.int(.rows) == 128)
        #expect(try ct.dataset.double(.rescaleIntercept) == -1024)

        let big = try DICOM.read(contentsOf: DICOMReference.url("files/MR_small_bigendian.dcm"))
        #expect(try big.dataset.int(.columns) == 64)
        #expect(try big.dataset.int(.bitsAllocated) == 16)

        let nested = try DICOM.read(contentsOf: DICOMReference.url("files/nested_priv_SQ.dcm"))
        #expect(nested.transferSyntaxUID == "1.2.840.10008.1.2")
        let outer = nested.dataset.items(DICOMTag(0x0001, 0x0001))
        try #require(outer.count == 1)
        #expect(outer[0].string(DICOMTag(0x0001, 0x0002)) == "Nested SQ")
        let inner = outer[0].items(DICOMTag(0x0001, 0x0001))
        try #require(inner.count == 1)
        #expect(inner[0].string(DICOMTag(0x0001, 0x0001)) == "Double Nested SQ")

        let deflated = try DICOM.read(contentsOf: DICOMReference.url("files/image_dfl.dcm"))
        #expect(deflated.isDeflated)
        #expect(deflated.dataset.string(.seriesInstanceUID) == "1.3.6.1.4.1.5962.1.3.0.0.977067310.6001.0")
        #expect(deflated.dataset[.pixelData]?.bytes?.count == 512 * 512)

        let enhanced = try DICOM.read(contentsOf: DICOMReference.url("synthetic/enhanced_ct.dcm"))
        let frames = enhanced.dataset.items(.perFrameFunctionalGroupsSequence)
        #expect(frames.count == 5)
        let slope = try frames[1].items(.pixelValueTransformationSequence).first?.double(.rescaleSlope)
        #expect(slope == 2.0)
    }
}

/// Folder handling with files copied to a temporary folder.
struct DICOMFolderTests {
    static func temporaryCopy(of relative: String, extra: (URL) throws -> Void) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("medgrid-dicom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let source = DICOMReference.url(relative)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        try extra(dir)
        return dir
    }

    @Test("non-DICOM files, hidden files and subfolders in a series folder are ignored")
    func ignoresOtherFiles() throws {
        let dir = try Self.temporaryCopy(of: "synthetic/ct_oblique") { dir in
            try Data("notes".utf8).write(to: dir.appendingPathComponent("README.txt"))
            try Data(repeating: 0, count: 200).write(to: dir.appendingPathComponent("zeros.bin"))
            try FileManager.default.copyItem(
                at: DICOMReference.url("files/MR_small.dcm"), to: dir.appendingPathComponent(".hidden.dcm"))
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: DICOMReference.url("files/MR_small.dcm"), to: dir.appendingPathComponent("sub/other.dcm"))
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let e = try #require(DICOMReference.entry("series", "ct_oblique"))
        DICOMReference.check(try DICOM.readSeries(at: dir), against: e, "ct_oblique with extra files")
    }

    @Test("two slices at one position (a duplicated file) is an error naming both")
    func duplicatePosition() throws {
        let dir = try Self.temporaryCopy(of: "synthetic/ct_oblique") { dir in
            try FileManager.default.copyItem(at: dir.appendingPathComponent("f0.dcm"), to: dir.appendingPathComponent("f0copy.dcm"))
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = DICOMReference.imagingError { _ = try DICOM.readSeries(at: dir) }
        #expect(error?.code == .unsupported)
        #expect(error?.description.contains("same position") == true)
        #expect(error?.description.contains("f0.dcm") == true && error?.description.contains("f0copy.dcm") == true)
    }
}

import Foundation
import Testing
@testable import MedGridImaging

/// A data set holding every attribute of the Basic profile table with an identifying value, written as a
/// real Part 10 file and read back, in explicit and in implicit VR (where the table's VR drives the dummies).
enum ProfileFixture {
    static let key = Array("fixture key for de-identification tests".utf8)
    static let studyDate = "20210315"

    /// An identifying value consistent with `vr`.
    static func value(for row: BasicProfileRow, index: Int) -> DICOMElement.Content {
        func text(_ s: String) -> DICOMElement.Content {
            let b = Array(s.utf8)
            return .bytes(ArraySlice(b.count % 2 == 0 ? b : b + [row.vr == "UI" ? 0 : 0x20]))
        }
        switch row.vr {
        case "DA": return text(studyDate)
        case "DT": return text("20210315101010")
        case "TM": return text("101010")
        case "PN": return text("DOE^JANE")
        case "AS": return text("045Y")
        case "DS": return text("12.5")
        case "IS": return text("42")
        case "UI": return text("1.2.826.0.1.3680043.99.\(index)")
        case "UR": return text("http://hospital.example/\(index)")
        case "CS", "AE": return text("SECRET")
        case "SQ":
            let inner = DICOMElement(tag: DICOMTag(0x0010, 0x0010), vr: "PN", offset: 0, content: text("DOE^JANE"), bigEndian: false)
            return .sequence([DICOMDataset(elements: [inner.tag: inner], path: nil)])
        case "US", "SS", "US or SS": return .bytes([0x34, 0x12])
        case "OB", "UN", "OW", "OB or OW": return .bytes([1, 2, 3, 4])
        default: return text("SECRET \(row.keyword)")
        }
    }

    static func element(_ tag: DICOMTag, _ vr: String, _ content: DICOMElement.Content) -> DICOMElement {
        DICOMElement(tag: tag, vr: vr, offset: 0, content: content, bigEndian: false)
    }

    /// A sequence outside the table, holding a name and a UID that must still be acted on.
    static let walkedSequence = DICOMTag(0x0028, 0x9145)
    /// The fixture's SOP Instance UID (the data set's, which the meta repeats, as PS3.10 requires).
    static let sopInstanceUID = "1.2.826.0.1.3680043.99.\(BasicProfile.rows.firstIndex { $0.group == 0x0008 && $0.element == 0x0018 }!)"
    static let privateTag = DICOMTag(0x0029, 0x1010)

    /// The Part 10 bytes of the fixture in explicit (true) or implicit VR little endian.
    static func fileBytes(explicitVR: Bool) -> [UInt8] {
        var elements = [DICOMTag: DICOMElement]()
        for (i, row) in BasicProfile.rows.enumerated() where row.group != 0x0002 {
            let tag = DICOMTag(row.group, row.element)
            elements[tag] = element(tag, String(row.vr.prefix(2)), value(for: row, index: i))
        }
        let name = element(DICOMTag(0x0010, 0x0010), "PN", .bytes(ArraySlice(Array("DOE^JOHN".utf8))))
        let uid = element(DICOMTag(0x0008, 0x1155), "UI", .bytes(ArraySlice(Array("1.2.826.0.1.3680043.99.9999".utf8) + [0])))
        let plain = element(DICOMTag(0x0028, 0x1052), "DS", .bytes(ArraySlice(Array("-1024 ".utf8))))
        elements[walkedSequence] = element(walkedSequence, "SQ", .sequence([DICOMDataset(elements: [name.tag: name, uid.tag: uid, plain.tag: plain], path: nil)]))
        elements[privateTag] = element(privateTag, "LO", .bytes(ArraySlice(Array("PRIVATE NAME".utf8))))
        elements[DICOMTag(0x0029, 0x0010)] = element(DICOMTag(0x0029, 0x0010), "LO", .bytes(ArraySlice(Array("VENDOR".utf8))))
        elements[DICOMTag(0x6000, 0x3000)] = element(DICOMTag(0x6000, 0x3000), "OW", .bytes([9, 9]))
        elements[DICOMTag(0x5000, 0x0005)] = element(DICOMTag(0x5000, 0x0005), "US", .bytes([1, 0]))
        elements[.sopClassUID] = element(.sopClassUID, "UI", .bytes(ArraySlice(Array("1.2.840.10008.5.1.4.1.1.2".utf8) + [0])))
        elements[.rows] = element(.rows, "US", .bytes([2, 0]))
        elements[.pixelData] = element(.pixelData, "OW", .bytes([10, 11, 12, 13, 14, 15, 16, 17]))
        let ts = explicitVR ? DICOMTransferSyntax.explicitLittle : DICOMTransferSyntax.implicitLittle
        let meta = [
            element(DICOMTag(0x0002, 0x0002), "UI", .bytes(ArraySlice(Array("1.2.840.10008.5.1.4.1.1.2".utf8) + [0]))),
            element(DICOMTag(0x0002, 0x0003), "UI", .bytes(ArraySlice(DeidentificationFixtureSupport.padded(sopInstanceUID)))),
            element(DICOMTag(0x0002, 0x0010), "UI", .bytes(ArraySlice(DeidentificationFixtureSupport.padded(ts)))),
            element(DICOMTag(0x0002, 0x0016), "AE", .bytes(ArraySlice(Array("HOSPITAL_PACS".utf8) + [0x20]))),
        ]
        return DICOMWriter.file(meta: meta, dataset: DICOMDataset(elements: elements, path: nil), encoding: explicitVR ? .explicitLittle : .init(explicitVR: false, bigEndian: false))
    }

    static func input(explicitVR: Bool) -> DICOMFile {
        try! DICOMParser.parseFile(fileBytes(explicitVR: explicitVR), path: explicitVR ? "fixture-explicit.dcm" : "fixture-implicit.dcm")
    }

    static func output(explicitVR: Bool, dates: DeidentificationOptions.Dates = .basic) -> (DICOMFile, DeidentifiedFile) {
        let d = try! DICOMDeidentifier.deidentify(input(explicitVR: explicitVR), options: DeidentificationOptions(key: key, dates: dates))
        return (try! DICOMParser.parseFile(d.bytes, path: "out.dcm"), d)
    }

    static let explicitOut = output(explicitVR: true)
    static let implicitOut = output(explicitVR: false)
    /// Parsed once: each of the 1306 row cases only looks up its tag (a parse per case kept both of the pool's
    /// threads busy for seconds, starving the in-process coordinators of tests running beside these).
    static let explicitIn = input(explicitVR: true)
    static let implicitIn = input(explicitVR: false)
}

enum DeidentificationFixtureSupport {
    static func padded(_ uid: String) -> [UInt8] {
        let b = Array(uid.utf8)
        return b.count % 2 == 0 ? b : b + [0]
    }
}

@Suite("DICOM de-identification (PS3.15 Annex E, Basic profile)")
struct DeidentificationTests {
    /// Checks the outcome of one table row in a de-identified file.
    static func check(_ row: BasicProfileRow, input: DICOMFile, output: DICOMFile, label: String) {
        let tag = DICOMTag(row.group, row.element)
        let before = row.group == 0x0002 ? input.meta[tag] : input.dataset[tag]
        let after = row.group == 0x0002 ? output.meta[tag] : output.dataset[tag]
        #expect(before != nil, "\(label) \(row.keyword) \(tag): the fixture lacks it")
        switch row.action {
        case .x:
            #expect(after == nil, "\(label) \(row.keyword) \(tag): X, but it survived")
        case .z:
            guard let after else { Issue.record("\(label) \(row.keyword) \(tag): Z, but it was removed"); return }
            switch after.content {
            case .bytes(let b): #expect(b.isEmpty, "\(label) \(row.keyword) \(tag): Z, but \(b.count) bytes remain")
            case .sequence(let items): #expect(items.isEmpty, "\(label) \(row.keyword) \(tag): Z, but \(items.count) items remain")
            case .fragments: Issue.record("\(label) \(row.keyword) \(tag): Z, but fragments remain")
            }
        case .d, .c:
            guard let after else { Issue.record("\(label) \(row.keyword) \(tag): D, but it was removed"); return }
            switch (before?.content, after.content) {
            case (.bytes(let a)?, .bytes(let b)):
                #expect(!b.isEmpty && Array(a) != Array(b), "\(label) \(row.keyword) \(tag): D, expected a non-empty dummy different from the original")
            case (.sequence?, .sequence(let items)):
                #expect(items.count == 1 && items[0].elements.isEmpty, "\(label) \(row.keyword) \(tag): D on a sequence, expected one empty item")
            default:
                Issue.record("\(label) \(row.keyword) \(tag): D changed the kind of value")
            }
        case .u:
            let old = row.group == 0x0002 ? input.meta.string(tag) : input.dataset.string(tag)
            let new = row.group == 0x0002 ? output.meta.string(tag) : output.dataset.string(tag)
            #expect(new == old.map { DICOMDeidentifier.remapUID($0, key: ProfileFixture.key) }, "\(label) \(row.keyword) \(tag): U, expected the keyed 2.25 UID")
        case .k:
            #expect(after?.bytes == before?.bytes, "\(label) \(row.keyword) \(tag): K, but the value changed")
        }
    }

    @Test("every row of the table gets its action, explicit VR", arguments: BasicProfile.rows)
    func everyRowExplicit(_ row: BasicProfileRow) {
        Self.check(row, input: ProfileFixture.explicitIn, output: ProfileFixture.explicitOut.0, label: "explicit")
    }

    @Test("every row of the table gets its action, implicit VR (dummies from the table's VR)", arguments: BasicProfile.rows)
    func everyRowImplicit(_ row: BasicProfileRow) {
        Self.check(row, input: ProfileFixture.implicitIn, output: ProfileFixture.implicitOut.0, label: "implicit")
    }

    @Test("private elements, curves and overlays are removed; sequences outside the table are walked; markers set")
    func privateSequencesMarkers() throws {
        for (out, d) in [ProfileFixture.explicitOut, ProfileFixture.implicitOut] {
            let ds = out.dataset
            #expect(ds.elements.keys.allSatisfy { $0.group % 2 == 0 }, "a private element survived")
            #expect(ds[DICOMTag(0x6000, 0x3000)] == nil && ds[DICOMTag(0x5000, 0x0005)] == nil)
            #expect(d.actions.contains { $0.path == "(0029,1010)" && $0.action == "P" })
            let item = try #require(ds.items(ProfileFixture.walkedSequence).first)
            #expect(item.string(DICOMTag(0x0010, 0x0010)) == "", "a name inside a sequence outside the table must be emptied")
            #expect(item.string(DICOMTag(0x0008, 0x1155)) == DICOMDeidentifier.remapUID("1.2.826.0.1.3680043.99.9999", key: ProfileFixture.key))
            #expect(try item.double(DICOMTag(0x0028, 0x1052)) == -1024, "an attribute outside the table is kept")
            #expect(d.actions.contains { $0.path == "(0028,9145)[0](0010,0010)" && $0.action == "Z" })
            #expect(ds.string(DICOMDeidentifier.patientIdentityRemoved) == "YES")
            #expect(ds.strings(DICOMDeidentifier.deidentificationMethod).contains { $0.contains("113100") })
            let codes = ds.items(DICOMDeidentifier.deidentificationMethodCodeSequence)
            #expect(codes.map { $0.string(DICOMDeidentifier.codeValue) } == ["113100"])
            #expect(codes.first?.string(DICOMDeidentifier.codingSchemeDesignator) == "DCM")
            #expect(ds.string(DICOMDeidentifier.longitudinalTemporalInformationModified) == "REMOVED")
            // The meta group is rebuilt: no source AE title, our implementation UID.
            #expect(out.meta[DICOMTag(0x0002, 0x0016)] == nil)
            #expect(out.meta.string(DICOMTag(0x0002, 0x0012)) == DICOMDeidentifier.implementationClassUID)
            #expect(out.meta.string(DICOMTag(0x0002, 0x0003)) == DICOMDeidentifier.remapUID(ProfileFixture.sopInstanceUID, key: ProfileFixture.key))
            #expect(out.meta.string(DICOMTag(0x0002, 0x0003)) == ds.string(.sopInstanceUID))
            #expect(ds[.pixelData]?.bytes.map(Array.init) == [10, 11, 12, 13, 14, 15, 16, 17], "pixel data must be copied byte for byte")
            #expect(ds.string(.sopClassUID) == "1.2.840.10008.5.1.4.1.1.2")
        }
    }

    @Test("UIDs: 2.25 form of a version-8 UUID, same for the same key, unrelated across keys")
    func uidRemapping() {
        let uid = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"
        let a = DICOMDeidentifier.remapUID(uid, key: Array("key one........".utf8))
        #expect(a == DICOMDeidentifier.remapUID(uid, key: Array("key one........".utf8)))
        #expect(a != DICOMDeidentifier.remapUID(uid, key: Array("key two........".utf8)))
        #expect(a != DICOMDeidentifier.remapUID(uid + "1", key: Array("key one........".utf8)))
        #expect(a.hasPrefix("2.25.") && a.count <= 44 && a.count <= 64)
        let digits = a.dropFirst(5)
        #expect(digits.allSatisfy(\.isNumber) && !digits.hasPrefix("0"))
        let value = UInt128(String(digits))!
        #expect((value >> 76) & 0xF == 8, "UUID version 8")
        #expect((value >> 62) & 0x3 == 2, "RFC 9562 variant")
    }

    @Test("--keep-dates keeps dates and times (113106); --shift-dates moves dates, keeps times (113107); birth date always follows the profile")
    func dateOptions() throws {
        let dateRows = BasicProfile.rows.filter { ["DA", "DT", "TM"].contains($0.vr) && $0.group != 0x0002 }
        #expect(dateRows.count > 100)
        let input = ProfileFixture.input(explicitVR: false)
        let (kept, keptFile) = ProfileFixture.output(explicitVR: false, dates: .keep)
        let (shifted, _) = ProfileFixture.output(explicitVR: false, dates: .shift(days: 30))
        let birth = DICOMTag(0x0010, 0x0030)
        for row in dateRows {
            let tag = DICOMTag(row.group, row.element)
            if tag == birth || tag == DICOMTag(0x0010, 0x0032) {
                #expect(kept.dataset[tag]?.bytes?.isEmpty ?? true, "\(row.keyword): birth date/time must follow the profile")
                #expect(shifted.dataset[tag]?.bytes?.isEmpty ?? true, "\(row.keyword): birth date/time must follow the profile")
                continue
            }
            #expect(kept.dataset.string(tag) == input.dataset.string(tag), "\(row.keyword): --keep-dates")
            let expected = switch row.vr {
            case "DA": "20210414"
            case "DT": "20210414101010"
            default: "101010"
            }
            #expect(shifted.dataset.string(tag) == expected, "\(row.keyword): --shift-dates 30")
        }
        #expect(keptFile.actions.contains { $0.action == "K" })
        #expect(kept.dataset.items(DICOMDeidentifier.deidentificationMethodCodeSequence).map { $0.string(DICOMDeidentifier.codeValue) } == ["113100", "113106"])
        #expect(shifted.dataset.items(DICOMDeidentifier.deidentificationMethodCodeSequence).map { $0.string(DICOMDeidentifier.codeValue) } == ["113100", "113107"])
        #expect(shifted.dataset.string(DICOMDeidentifier.longitudinalTemporalInformationModified) == "MODIFIED")
        #expect(kept.dataset.string(DICOMDeidentifier.longitudinalTemporalInformationModified) == "UNMODIFIED")
    }

    @Test("date arithmetic over month, leap-year and century boundaries", arguments: [
        ("20200228", 1, "20200229"), ("20200228", 2, "20200301"), ("21000228", 1, "21000301"), ("20000228", 1, "20000229"),
        ("20211231", 1, "20220101"), ("20220101", -1, "20211231"), ("19700101", -365, "19690101"),
        ("20210315101010.5+0100", 30, "20210414101010.5+0100"), ("2021", 1, nil), ("20210230", 1, nil), ("00010101", -1, nil),
    ] as [(String, Int, String?)])
    func dateShift(_ value: String, _ days: Int, _ expected: String?) {
        #expect(DICOMDates.shift(value, days: days) == expected)
    }

    @Test("BurnedInAnnotation=YES is refused unless allowed; the pixels are not touched either way")
    func burnedIn() throws {
        var elements = ProfileFixture.input(explicitVR: true).dataset.elements
        let tag = DICOMDeidentifier.burnedInAnnotation
        elements[tag] = ProfileFixture.element(tag, "CS", .bytes(ArraySlice(Array("YES ".utf8))))
        let meta = ProfileFixture.input(explicitVR: true).meta
        let file = DICOMFile(path: "burned.dcm", transferSyntaxUID: DICOMTransferSyntax.explicitLittle, meta: meta, dataset: DICOMDataset(elements: elements, path: "burned.dcm"))
        let error = DICOMReference.imagingError { _ = try DICOMDeidentifier.deidentify(file, options: DeidentificationOptions(key: ProfileFixture.key)) }
        #expect(error?.code == .unsupported)
        #expect(error?.description.contains("burned.dcm") == true && error?.description.contains("(0028,0301)") == true)
        let allowed = try DICOMDeidentifier.deidentify(file, options: DeidentificationOptions(key: ProfileFixture.key, allowBurnedIn: true))
        #expect(allowed.burnedInAnnotation)
        let out = try DICOMParser.parseFile(allowed.bytes, path: "out.dcm")
        #expect(out.dataset[.pixelData]?.bytes.map(Array.init) == [10, 11, 12, 13, 14, 15, 16, 17])
    }

    /// The pydicom test files of the reader's reference set: CT, MR (explicit, implicit, big endian, RLE),
    /// RT dose, deflated, nested private sequences, enhanced multi-frame.
    static let referenceFiles = [
        "files/CT_small.dcm", "files/MR_small.dcm", "files/MR_small_implicit.dcm", "files/MR_small_bigendian.dcm",
        "files/MR_small_RLE.dcm", "files/rtdose.dcm", "files/rtdose_expb.dcm", "files/image_dfl.dcm",
        "files/nested_priv_SQ.dcm", "synthetic/enhanced_ct.dcm", "synthetic/mf_signed12_deflated.dcm", "synthetic/ct_oblique/f0.dcm",
    ]

    @Test("reference files: pixel data byte for byte, same voxels, no identifying value left, deterministic", arguments: referenceFiles)
    func referenceFile(_ name: String) throws {
        let url = DICOMReference.url(name)
        let input = try DICOM.read(contentsOf: url)
        let options = DeidentificationOptions(key: ProfileFixture.key)
        let d = try DICOMDeidentifier.deidentify(input, options: options)
        #expect(try DICOMDeidentifier.deidentify(input, options: options).bytes == d.bytes, "the same key must give the same bytes")
        let output = try DICOMParser.parseFile(d.bytes, path: name)
        switch (input.dataset[.pixelData]?.content, output.dataset[.pixelData]?.content) {
        case (.bytes(let a)?, .bytes(let b)?): #expect(Array(a) == Array(b), "\(name): pixel data changed")
        case (.fragments(let a)?, .fragments(let b)?): #expect(a.map(Array.init) == b.map(Array.init), "\(name): pixel fragments changed")
        case (nil, nil): break
        default: Issue.record("\(name): pixel data changed form")
        }
        for tag in [DICOMTag(0x0010, 0x0010), DICOMTag(0x0010, 0x0020), DICOMTag(0x0010, 0x0030), DICOMTag(0x0008, 0x0080), DICOMTag(0x0008, 0x0090)] {
            if let value = input.dataset.string(tag), !value.isEmpty {
                #expect(output.dataset.string(tag).map { $0.isEmpty || $0 == "ANONYMOUS" } ?? true, "\(name): \(tag) survived")
            }
        }
        #expect(output.dataset.elements.keys.allSatisfy { $0.group % 2 == 0 }, "\(name): a private element survived")
        if input.dataset[.pixelData] != nil, (try? DICOM.volume(from: [input])) != nil {
            let before = try DICOM.volume(from: [input]), after = try DICOM.volume(from: [output])
            #expect(before.voxels.elementsEqual(after.voxels) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(name): voxels differ")
            #expect(before.size == after.size && before.spacing == after.spacing && before.origin == after.origin && before.direction == after.direction)
        }
    }
}

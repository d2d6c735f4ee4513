import Foundation
import Testing
@testable import MedGridImaging

/// Corrupt, truncated, hostile and unsupported inputs: every read either succeeds or throws an
/// ``ImagingError`` naming the file (and, for structural problems, the byte offset) — never a crash or
/// a header-sized allocation.
struct DICOMRobustnessTests {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: DICOMReference.url(relative)))
    }

    /// Parses and builds a volume; returns whether it succeeded. Any non-ImagingError is a test failure.
    static func attempt(_ bytes: [UInt8], _ label: String) -> Bool {
        do {
            let file = try DICOM.parse(bytes, path: label)
            _ = try DICOM.volume(from: [file])
            return true
        } catch let e as ImagingError {
            #expect(e.path == label, "error should name the file: \(e)")
            #expect(!e.message.isEmpty)
            return false
        } catch {
            Issue.record("\(label): non-ImagingError \(error)")
            return false
        }
    }

    /// Every reference file: pydicom's test files and the synthetic ones (one slice of each series folder).
    static let fuzzed: [String] = {
        let names = ["files", "synthetic"].flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: DICOMReference.url(folder).path)) ?? [])
                .filter { $0.hasSuffix(".dcm") }.map { "\(folder)/\($0)" }
        }
        return names.sorted() + ["synthetic/ct_oblique/f0.dcm", "synthetic/two_series/s1_0.dcm"]
    }()

    @Test("seeded mutations (300 per file) and truncations at 150 offsets: read succeeds or throws ImagingError",
          arguments: fuzzed)
    func fuzz(_ name: String) throws {
        let original = try Self.bytes(name)
        var rng = Rng(state: 0xD1C0_0000 &+ UInt64(name.utf8.count))
        var outcomes = [0, 0]
        for _ in 0..<(ProcessInfo.processInfo.environment["DICOM_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 300) {
            var b = original
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                // Mostly the header region (lengths, VRs, dimensions), sometimes anywhere.
                let span = rng.next() % 4 == 0 ? b.count : min(b.count, 1500)
                let at = Int(rng.next() % UInt64(span))
                b[at] = rng.next() % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: rng.next())
            }
            outcomes[Self.attempt(b, "mutated-\(name)") ? 0 : 1] += 1
        }
        for k in 0..<150 {
            let cut = k * original.count / 150
            outcomes[Self.attempt(Array(original[..<cut]), "truncated-\(name)") ? 0 : 1] += 1
        }
        #expect(Self.fuzzed.count >= 25)
        #expect(outcomes[0] + outcomes[1] >= 450)
        #expect(outcomes[1] > 0)  // the corruptions are noticed at least sometimes
    }

    @Test("unsupported compressed transfer syntaxes name the UID and the syntax", arguments: [
        ("files/JPEG2000.dcm", "1.2.840.10008.1.2.4.91", "JPEG 2000"),
        ("files/JPEG-lossy.dcm", "1.2.840.10008.1.2.4.51", "JPEG Extended"),
        ("files/MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
    ])
    func compressed(_ name: String, _ uid: String, _ syntax: String) throws {
        let file = try DICOM.read(contentsOf: DICOMReference.url(name))  // metadata is still readable
        #expect(file.transferSyntaxUID == uid)
        let error = DICOMReference.imagingError { _ = try DICOM.readSeries(at: DICOMReference.url(name)) }
        #expect(error?.code == .unsupported)
        #expect(error?.description.contains(uid) == true && error?.description.contains(syntax) == true)
    }

    @Test("colour and 1-bit images are refused with a clear error")
    func unsupportedPixels() {
        let rgb = DICOMReference.imagingError { _ = try DICOM.readSeries(at: DICOMReference.url("files/SC_rgb_rle.dcm")) }
        #expect(rgb?.code == .unsupported)
        #expect(rgb?.description.contains("3 samples per pixel") == true)
        let seg = DICOMReference.imagingError { _ = try DICOM.readSeries(at: DICOMReference.url("files/liver_1frame.dcm")) }
        #expect(seg?.description.contains("BitsAllocated is 1") == true)
    }

    @Test("pydicom's truncated MR file: the Pixel Data element's declared length runs past the end of the file")
    func truncatedPixelData() {
        let e = DICOMReference.imagingError { _ = try DICOM.readSeries(at: DICOMReference.url("files/MR_truncated.dcm")) }
        #expect(e?.code == .truncated)
        #expect(e?.byteOffset == 9630 - 8130 - 12)  // the element header: tag, VR, reserved, length
        #expect(e?.description.contains("(7FE0,0010) OW declares a 8192-byte value") == true)
        #expect(e?.description.contains("only 8130 bytes remain") == true)
    }

    /// Overwrites the value bytes of `tag` (a US element) with `value`, little endian.
    static func patchUS(_ b: inout [UInt8], _ tag: DICOMTag, _ value: UInt16) throws {
        let file = try DICOM.parse(b)
        let at = try #require(file.dataset[tag]?.valueOffset)
        b[at] = UInt8(value & 0xFF)
        b[at + 1] = UInt8(value >> 8)
    }

    @Test("lying headers: huge dimensions, zero rows, pixel data too short, element length past the end, bad preamble")
    func lyingHeaders() throws {
        let original = try Self.bytes("files/MR_small.dcm")

        var huge = original
        try Self.patchUS(&huge, .rows, 65535)
        try Self.patchUS(&huge, .columns, 65535)
        let tooLarge = DICOMReference.imagingError { _ = try DICOM.volume(from: [try DICOM.parse(huge, path: "huge.dcm")]) }
        #expect(tooLarge?.code == .tooLarge)
        #expect(tooLarge?.byteOffset != nil && tooLarge?.path == "huge.dcm")

        var zero = original
        try Self.patchUS(&zero, .rows, 0)
        #expect(DICOMReference.imagingError { _ = try DICOM.volume(from: [try DICOM.parse(zero)]) }?.code == .malformedHeader)

        var short = original
        try Self.patchUS(&short, .rows, 128)
        let truncated = DICOMReference.imagingError { _ = try DICOM.volume(from: [try DICOM.parse(short)]) }
        #expect(truncated?.code == .truncated)
        #expect(truncated?.description.contains("need 16384") == true)

        // PatientName's 2-byte length set to 0xFFFE: the value would run past the end of the file.
        var lying = original
        let file = try DICOM.parse(lying)
        let name = try #require(file.dataset[DICOMTag(0x0010, 0x0010)])
        lying.removeSubrange((name.offset + 8)...)  // keep the header, cut the rest
        lying[name.offset + 6] = 0xFE
        lying[name.offset + 7] = 0xFF
        let past = DICOMReference.imagingError { _ = try DICOM.parse(lying, path: "lying.dcm") }
        #expect(past?.code == .truncated)
        #expect(past?.byteOffset == name.offset)
        #expect(past?.description.contains("(0010,0010)") == true)

        // NumberOfFrames "3" rewritten as "2000000000" (within the voxel limit for 7 × 9 pixels only if
        // nothing is allocated per frame before the pixel data is checked).
        var frames = try Self.bytes("synthetic/mf_signed12.dcm")
        let mf = try DICOM.parse(frames)
        let nf = try #require(mf.dataset[.numberOfFrames])
        frames.replaceSubrange(nf.offset..<(nf.offset + 10), with: [0x28, 0x00, 0x08, 0x00, 0x49, 0x53, 0x0A, 0x00] + Array("2000000000".utf8))
        let manyFrames = DICOMReference.imagingError { _ = try DICOM.volume(from: [try DICOM.parse(frames, path: "frames.dcm")]) }
        #expect(manyFrames?.code == .tooLarge)  // 7 × 9 × 2e9 exceeds 2^31 voxels
        frames = try Self.bytes("synthetic/mf_signed12.dcm")
        frames.replaceSubrange(nf.offset..<(nf.offset + 10), with: [0x28, 0x00, 0x08, 0x00, 0x49, 0x53, 0x0A, 0x00] + Array("  30000000".utf8))
        let shortData = DICOMReference.imagingError { _ = try DICOM.volume(from: [try DICOM.parse(frames, path: "frames.dcm")]) }
        #expect(shortData?.code == .truncated)
        #expect(shortData?.description.contains("30000000 frames") == true)

        var notDICOM = original
        notDICOM[129] = 0x58
        #expect(DICOMReference.imagingError { _ = try DICOM.parse(notDICOM) }?.byteOffset == 128)
        #expect(DICOMReference.imagingError { _ = try DICOM.parse(Array(original[..<100])) }?.code == .truncated)
    }

    /// MR_small with `levels` nested undefined-length private sequences inserted before the data set.
    static func nested(_ levels: Int) throws -> [UInt8] {
        var b = try Self.bytes("files/MR_small.dcm")
        let file = try DICOM.parse(b)
        let offsets = file.dataset.elements.values.map { $0.offset }
        let start = try #require(offsets.min())
        var open = [UInt8](), close = [UInt8]()
        for _ in 0..<levels {
            open += [0x09, 0x00, 0x01, 0x10, 0x53, 0x51, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]  // (0009,1001) SQ, undefined
            open += [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]  // item, undefined length
            close += [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]  // item + sequence delimiters
        }
        b.insert(contentsOf: open + close, at: start)
        return b
    }

    @Test("nested undefined-length sequences: 20 levels parse, 40 levels are refused (stack safety)")
    func nestingDepth() throws {
        let file = try DICOM.parse(try Self.nested(20))
        var item = file.dataset
        var depth = 0
        while let next = item.items(DICOMTag(0x0009, 0x1001)).first {
            item = next
            depth += 1
        }
        #expect(depth == 20)
        #expect(try DICOM.volume(from: [file]).voxels.count == 64 * 64)
        let deep = DICOMReference.imagingError { _ = try DICOM.parse(try Self.nested(40)) }
        #expect(deep?.description.contains("nested more than 32 levels") == true)
    }

    @Test("a deflate stream claiming far more output than fits is cut off, and a corrupt one is a compression error")
    func inflateLimits() throws {
        // Fixed-Huffman block: literal 'a' then (length 258, distance 1) repeated — a tiny zip bomb.
        // Build it bit by bit: BFINAL=1, BTYPE=01.
        var bits = [Int]()
        func put(_ value: Int, _ count: Int) { for i in 0..<count { bits.append((value >> i) & 1) } }
        func putCode(_ code: Int, _ length: Int) { for i in stride(from: length - 1, through: 0, by: -1) { bits.append((code >> i) & 1) } }
        put(1, 1); put(1, 2)
        putCode(0x30 + 97, 8)  // literal 'a'
        for _ in 0..<2000 {
            putCode(0b1100_0101, 8)  // length symbol 285 (258): codes 280-287 are 8-bit 11000000 + (sym-280)
            putCode(0, 5)  // distance symbol 0 (distance 1)
        }
        putCode(0, 7)  // end of block (256)
        var stream = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
        for (i, bit) in bits.enumerated() where bit == 1 { stream[i / 8] |= UInt8(1 << (i % 8)) }
        let full = try Inflate.inflate(stream, from: 0, limit: 1 << 20)
        #expect(full.count == 1 + 2000 * 258)
        #expect(full.allSatisfy { $0 == 97 })
        let limited = DICOMReference.imagingError { _ = try Inflate.inflate(stream, from: 0, limit: 10_000) }
        #expect(limited?.code == .tooLarge)
        let corrupt = DICOMReference.imagingError { _ = try Inflate.inflate([0x07, 0xFF, 0xFF], from: 0, limit: 100) }
        #expect(corrupt?.code == .compression)
        // A deflated file cut in the middle of its stream: a compression error naming where the stream starts.
        let deflated = try Self.bytes("synthetic/mf_signed12_deflated.dcm")
        let cut = DICOMReference.imagingError { _ = try DICOM.parse(Array(deflated[..<(deflated.count - 40)]), path: "cut.dcm") }
        #expect(cut?.code == .compression)
        #expect(cut?.path == "cut.dcm")
        #expect(cut?.description.contains("deflated data set starting at byte") == true)
    }
}

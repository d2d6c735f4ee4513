import Foundation
import Testing
@testable import MedGridImaging

/// Pixel-level rules of PS3.3 C.7.6.3 / PS3.5 Annex G, checked on hand-built samples whose expected values
/// follow directly from the standard's definitions.
struct DICOMPixelTests {
    static func format(bitsAllocated: Int, bitsStored: Int, highBit: Int, signed: Bool, padding: ClosedRange<Int64>? = nil) throws -> DICOMPixelFormat {
        let file = try DICOM.read(contentsOf: DICOMReference.url("files/MR_small.dcm"))
        var f = try DICOMPixelFormat(file.dataset, path: file.path)
        f.rows = 1
        f.columns = 4
        f.frames = 1
        f.bitsAllocated = bitsAllocated
        f.bitsStored = bitsStored
        f.highBit = highBit
        f.signed = signed
        f.padding = padding
        return f
    }

    static func convert(_ bytes: [UInt8], _ f: DICOMPixelFormat, bigEndian: Bool = false, rescale: DICOMRescale = DICOMRescale()) -> [Float] {
        var out = [Float](repeating: 0, count: f.pixelsPerFrame)
        out.withUnsafeMutableBufferPointer { DICOMPixels.convert(bytes[...], bigEndian: bigEndian, format: f, rescale: rescale, into: $0) }
        return out
    }

    @Test("BitsStored masking, HighBit ignored, sign extension, padding range and rescale")
    func storedValueRules() throws {
        // Unsigned 12 of 16 bits, garbage in the top 4 bits (e.g. overlay bits): masked away.
        let u12 = try Self.format(bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: false)
        #expect(Self.convert([0x23, 0xF1, 0xFF, 0x0F, 0x00, 0x00, 0x01, 0x80], u12) == [0x123, 4095, 0, 1])
        // Signed 12 of 16: 0x0800 is -2048, 0x0FFF is -1, 0x07FF is 2047.
        let s12 = try Self.format(bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: true)
        #expect(Self.convert([0x00, 0x08, 0xFF, 0x0F, 0xFF, 0x07, 0x05, 0x00], s12) == [-2048, -1, 2047, 5])
        // HighBit 15 with BitsStored 12: ignored, the low 12 bits are read (as pydicom and SimpleITK do;
        // see synthetic/u12_highbit15.dcm in the reference data).
        let high = try Self.format(bitsAllocated: 16, bitsStored: 12, highBit: 15, signed: true)
        #expect(Self.convert([0xF0, 0xFF, 0x10, 0x00, 0x00, 0x80, 0xF0, 0x7F], high) == [-16, 16, 0, -16])
        // Big endian 16-bit signed.
        let s16 = try Self.format(bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: true)
        #expect(Self.convert([0xFF, 0xFE, 0x01, 0x00, 0x80, 0x00, 0x7F, 0xFF], s16, bigEndian: true) == [-2, 256, -32768, 32767])
        // Padding range [-2000, -1990] (PixelPaddingValue / PixelPaddingRangeLimit) is NaN; the rest rescaled.
        let padded = try Self.format(bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: true, padding: -2000 ... -1990)
        let values: [Int16] = [-2000, -1995, -1989, 100]
        let raw = values.flatMap { v in [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
        let out = Self.convert(raw, padded, rescale: DICOMRescale(slope: 2, intercept: -1024))
        #expect(out[0].isNaN && out[1].isNaN)
        #expect(out[2] == -1989 * 2 - 1024 && out[3] == 100 * 2 - 1024)
        // 32-bit unsigned, full range; 8-bit signed.
        let u32 = try Self.format(bitsAllocated: 32, bitsStored: 32, highBit: 31, signed: false)
        var f4 = u32
        f4.columns = 1
        #expect(Self.convert([0xFF, 0xFF, 0xFF, 0xFF], f4) == [Float(UInt32.max)])
        let s8 = try Self.format(bitsAllocated: 8, bitsStored: 8, highBit: 7, signed: true)
        #expect(Self.convert([0x80, 0xFF, 0x00, 0x7F], s8) == [-128, -1, 0, 127])
    }

    @Test("RLE: PackBits literal / replicate / no-op runs and byte planes most significant first")
    func rleSegments() throws {
        var f = try Self.format(bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: false)
        f.columns = 4
        // Segment 1 (high bytes): replicate 0x12 four times (control -3). Segment 2 (low bytes): no-op (-128),
        // literal of 4 bytes (control 3).
        var frame = [UInt8](repeating: 0, count: 64)
        frame[0] = 2
        frame[4] = 64
        frame[8] = 66
        frame += [0xFD, 0x12]
        frame += [0x80, 0x03, 0x01, 0x02, 0x03, 0x04]
        let decoded = try RLE.decodeFrame(frame, format: f, path: "rle", frame: 0)
        #expect(decoded == [0x01, 0x12, 0x02, 0x12, 0x03, 0x12, 0x04, 0x12])
        // A segment that decodes to too few bytes is an error, not a short frame.
        let short = DICOMReference.imagingError { _ = try RLE.decodeFrame(Array(frame.dropLast(2)), format: f, path: "rle", frame: 0) }
        #expect(short?.code == .compression)
    }

    @Test("encapsulated frames: one fragment per frame, or split by the basic offset table")
    func fragmentsToFrames() throws {
        let a: [UInt8] = [1, 2], b: [UInt8] = [3, 4, 5, 6], c: [UInt8] = [7, 8]
        // Offset table: frame 0 at 0 (fragments a, b), frame 1 at (8 + 2) + (8 + 4) = 22 (fragment c).
        let table: [UInt8] = [0, 0, 0, 0, 22, 0, 0, 0]
        let frames = try DICOMPixels.framesOfFragments([table[...], a[...], b[...], c[...]], frames: 2, path: "x", offset: 0)
        #expect(frames == [[1, 2, 3, 4, 5, 6], [7, 8]])
        let single = try DICOMPixels.framesOfFragments([[][...], a[...], b[...]], frames: 1, path: "x", offset: 0)
        #expect(single == [[1, 2, 3, 4, 5, 6]])
        let bad = DICOMReference.imagingError { _ = try DICOMPixels.framesOfFragments([[][...], a[...], b[...], c[...]], frames: 2, path: "x", offset: 0) }
        #expect(bad?.code == .malformedHeader)
    }

    @Test("inflate: a stored block, and a stored block whose length complement is wrong")
    func inflateStored() throws {
        let stored: [UInt8] = [0x01, 0x03, 0x00, 0xFC, 0xFF, 0x61, 0x62, 0x63]
        #expect(try Inflate.inflate(stored, from: 0, limit: 100) == [0x61, 0x62, 0x63])
        var broken = stored
        broken[3] = 0x00
        #expect(DICOMReference.imagingError { _ = try Inflate.inflate(broken, from: 0, limit: 100) }?.code == .compression)
        let cut = DICOMReference.imagingError { _ = try Inflate.inflate(Array(stored.dropLast()), from: 0, limit: 100) }
        #expect(cut?.code == .compression)
    }
}

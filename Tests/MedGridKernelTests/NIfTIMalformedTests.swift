import Foundation
import Testing
@testable import MedGridImaging

/// Malformed NIfTI files: each must fail with an ``ImagingError`` that names the file and, where a header
/// field is at fault, its byte offset, without allocating what a lying header declares.
@Suite("NIfTI malformed input")
struct NIfTIMalformedTests {
    /// A valid little-endian NIfTI-1 file: 352-byte header + 4x3x2 int16 voxels (48 bytes), 400 bytes in all.
    static func validFile() throws -> Data {
        let volume = Volume(
            size: [4, 3, 2], spacing: [1, 1, 2], voxels: (0..<24).map { Float($0 * 10 - 100) }, storedType: .int16)
        return try NIfTI.encode(volume, storedType: .int16)
    }

    static func putInt16(_ value: Int16, at offset: Int, in data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange(offset..<offset + 2, with: $0) }
    }

    static func putInt32(_ value: Int32, at offset: Int, in data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange(offset..<offset + 4, with: $0) }
    }

    static func putFloat32(_ value: Float, at offset: Int, in data: inout Data) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.replaceSubrange(offset..<offset + 4, with: $0) }
    }

    /// Writes `bytes` to a file in a fresh folder, reads it with `NIfTI.read`, and returns the error it must throw.
    /// Also checks the error names the file (in `path` and in the description).
    static func readError(
        _ bytes: Data, name: String = "bad.nii", sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ImagingError {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = try dir.write(bytes, to: name)
        let error = try #require(throws: ImagingError.self, sourceLocation: sourceLocation) {
            try NIfTI.read(contentsOf: url)
        }
        #expect(error.path == url.relativePath, sourceLocation: sourceLocation)
        #expect(error.description.contains(url.relativePath), "\(error)", sourceLocation: sourceLocation)
        return error
    }

    // MARK: - Header

    @Test("a header cut short is reported as truncated at the file's end", arguments: [0, 1, 3, 4, 40, 200, 347])
    func truncatedHeader(length: Int) throws {
        let error = try Self.readError(try Self.validFile().prefix(length))
        #expect(error.code == .truncated)
        #expect(error.byteOffset == length)  // exact
    }

    @Test("a header that ends before vox_offset is reported at the vox_offset field", arguments: [348, 351])
    func fileEndsBeforeVoxOffset(length: Int) throws {
        let error = try Self.readError(try Self.validFile().prefix(length))
        #expect(error.code == .truncated)
        #expect(error.byteOffset == 108)  // exact: vox_offset
    }

    @Test("voxel data shorter than declared is truncated, reported where the data ends", arguments: [352, 353, 390, 399])
    func shortVoxelData(length: Int) throws {
        let error = try Self.readError(try Self.validFile().prefix(length))
        #expect(error.code == .truncated)
        #expect(error.byteOffset == length)  // exact
        #expect(error.message.contains("4x3x2 int16"))
    }

    @Test("a wrong sizeof_hdr is refused at byte 0", arguments: [Int32(0), 349, 541, -348])
    func wrongSizeofHdr(value: Int32) throws {
        var bytes = try Self.validFile()
        Self.putInt32(value, at: 0, in: &bytes)
        let error = try Self.readError(bytes)
        #expect(error.code == .malformedHeader)
        #expect(error.byteOffset == 0)  // exact
        #expect(error.message.contains("sizeof_hdr is \(value)"))
    }

    @Test("dim[0] outside 1...7 is refused at the dim field", arguments: [Int16(0), 8, -1])
    func badDimCount(dim0: Int16) throws {
        var bytes = try Self.validFile()
        Self.putInt16(dim0, at: 40, in: &bytes)
        let error = try Self.readError(bytes)
        #expect(error.code == .malformedHeader)
        #expect(error.byteOffset == 40)  // exact
        #expect(error.message.contains("dim[0] is \(dim0)"))
    }

    @Test("a zero or negative used dimension is refused at its own field", arguments: [1, 2, 3], [Int16(0), -5])
    func nonPositiveDimension(axis: Int, value: Int16) throws {
        var bytes = try Self.validFile()
        Self.putInt16(value, at: 40 + 2 * axis, in: &bytes)
        let error = try Self.readError(bytes)
        #expect(error.code == .malformedHeader)
        #expect(error.byteOffset == 40 + 2 * axis)  // exact
        #expect(error.message.contains("dim[\(axis)] is \(value)"))
    }

    @Test("a 4-D series is refused as unsupported, a 4-D header with one volume is read")
    func fourDimensional() throws {
        var bytes = try Self.validFile()
        Self.putInt16(4, at: 40, in: &bytes)
        Self.putInt16(1, at: 48, in: &bytes)  // dim[4] = 1: still one volume
        let single = try NIfTI.decode(bytes)
        #expect(single.voxelCount == 24)  // exact

        Self.putInt16(3, at: 48, in: &bytes)  // dim[4] = 3: a series
        let error = try Self.readError(bytes)
        #expect(error.code == .unsupported)
        #expect(error.byteOffset == 48)  // exact: dim[4]
    }

    @Test("an unsupported datatype is named", arguments: [
        (Int16(1024), "int64"), (128, "rgb24"), (32, "complex64"), (1, "binary"), (0, "unknown"), (3, "not a NIfTI datatype"),
    ])
    func unsupportedDatatype(code: Int16, name: String) throws {
        var bytes = try Self.validFile()
        Self.putInt16(code, at: 70, in: &bytes)
        let error = try Self.readError(bytes)
        #expect(error.code == .unsupported)
        #expect(error.byteOffset == 70)  // exact: datatype
        #expect(error.message.contains("datatype code \(code) (\(name))"), "\(error.message)")
    }

    @Test("vox_offset inside the header is refused at byte 108", arguments: [Float(0), 20, 348, 351])
    func voxOffsetInsideHeader(offset: Float) throws {
        var bytes = try Self.validFile()
        Self.putFloat32(offset, at: 108, in: &bytes)
        let error = try Self.readError(bytes)
        #expect(error.code == .malformedHeader)
        #expect(error.byteOffset == 108)  // exact
        #expect(error.message.contains("inside the 348-byte header"), "\(error.message)")
    }

    @Test("a fractional or non-finite vox_offset is refused", arguments: [Float(352.5), Float.nan, Float.infinity])
    func voxOffsetNotWhole(offset: Float) throws {
        var bytes = try Self.validFile()
        Self.putFloat32(offset, at: 108, in: &bytes)
        let error = try Self.readError(bytes)
        #expect(error.code == .malformedHeader)
        #expect(error.byteOffset == 108)  // exact
    }

    @Test("a two-file .hdr/.img magic is unsupported; a garbage magic is malformed")
    func badMagic() throws {
        var bytes = try Self.validFile()
        bytes[345] = UInt8(ascii: "i")  // "ni1\0"
        let pair = try Self.readError(bytes)
        #expect(pair.code == .unsupported)
        #expect(pair.byteOffset == 344)  // exact: magic

        bytes[344] = UInt8(ascii: "X")
        let garbage = try Self.readError(bytes)
        #expect(garbage.code == .malformedHeader)
        #expect(garbage.byteOffset == 344)  // exact
    }

    @Test("a non-finite spacing is refused at its pixdim field", arguments: [1, 2, 3])
    func nonFiniteSpacing(axis: Int) throws {
        var bytes = try Self.validFile()
        Self.putFloat32(.nan, at: 76 + 4 * axis, in: &bytes)
        let error = try Self.readError(bytes)
        #expect(error.code == .malformedHeader)
        #expect(error.byteOffset == 76 + 4 * axis)  // exact
    }

    // MARK: - Absurd sizes

    /// A little-endian NIfTI-2 header (540 bytes + 4 extension bytes) without orientation.
    static func nifti2(dims: [Int64], datatype: Int16 = 4, bitpix: Int16 = 16, voxOffset: Int64 = 544) -> Data {
        var d = Data(count: 544)
        func i16(_ v: Int16, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { d.replaceSubrange(o..<o + 2, with: $0) } }
        func i32(_ v: Int32, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { d.replaceSubrange(o..<o + 4, with: $0) } }
        func i64(_ v: Int64, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { d.replaceSubrange(o..<o + 8, with: $0) } }
        func f64(_ v: Double, _ o: Int) { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.replaceSubrange(o..<o + 8, with: $0) } }
        i32(540, 0)
        d.replaceSubrange(4..<12, with: [0x6E, 0x2B, 0x32, 0x00, 0x0D, 0x0A, 0x1A, 0x0A])  // "n+2\0\r\n\032\n"
        i16(datatype, 12)
        i16(bitpix, 14)
        for (i, v) in dims.enumerated() { i64(v, 16 + 8 * i) }
        for (i, v) in [1.0, 1, 1, 1, 1, 1, 1, 1].enumerated() { f64(v, 104 + 8 * i) }
        i64(voxOffset, 168)
        f64(1, 176)  // scl_slope
        return d
    }

    @Test("a NIfTI-2 file with real data decodes (checks the NIfTI-2 layout used below)")
    func nifti2Decodes() throws {
        var file = Self.nifti2(dims: [3, 3, 2, 2, 1, 1, 1, 1])
        let values: [Int16] = [-5, 0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 32767]
        for v in values { withUnsafeBytes(of: v.littleEndian) { file.append(contentsOf: $0) } }
        let volume = try NIfTI.decode(file)
        #expect(volume.size == SIMD3(3, 2, 2))  // exact
        #expect(volume.voxels == values.map { Float($0) })  // exact
        #expect(volume.direction == [1, 0, 0, 0, 1, 0, 0, 0, 1])  // exact: no orientation
    }

    static let absurd: [(name: String, data: Data, code: ImagingError.Code, offset: Int)] = {
        typealias T = NIfTIMalformedTests
        var v1 = (try? T.validFile()) ?? Data()
        for axis in 1...3 { T.putInt16(32767, at: 40 + 2 * axis, in: &v1) }  // 32767^3 > 2^31 voxels
        var v1Fits = (try? T.validFile()) ?? Data()
        for axis in 1...3 { T.putInt16(1000, at: 40 + 2 * axis, in: &v1Fits) }  // 10^9 voxels: allowed, but absent
        return [
            ("NIfTI-2 100000^3", T.nifti2(dims: [3, 100_000, 100_000, 100_000, 1, 1, 1, 1]), .tooLarge, 16),
            ("NIfTI-2 Int64.max x 2", T.nifti2(dims: [3, .max, 2, 1, 1, 1, 1, 1]), .tooLarge, 16),
            ("NIfTI-2 vox_offset 2^62", T.nifti2(dims: [3, 2, 2, 2, 1, 1, 1, 1], voxOffset: 1 << 62), .malformedHeader, 168),
            ("NIfTI-1 32767^3", v1, .tooLarge, 40),
            ("NIfTI-1 1000^3 with 48 bytes of data", v1Fits, .truncated, 400),
        ]
    }()

    @Test("absurd dimensions fail fast, before any voxel-sized allocation", arguments: 0..<5)
    func absurdDimensions(index: Int) throws {
        let (name, data, code, offset) = Self.absurd[index]
        for compressed in [false, true] {
            let bytes = try compressed ? Gzip.compress(data) : data
            let clock = ContinuousClock()
            let start = clock.now
            let error = try Self.readError(bytes, name: compressed ? "absurd.nii.gz" : "absurd.nii")
            let elapsed = clock.now - start
            #expect(error.code == code, "\(name) gz=\(compressed): \(error)")
            #expect(error.byteOffset == offset, "\(name) gz=\(compressed): \(error)")  // exact
            // tolerance: 2 s wall clock; decoding a few hundred bytes takes microseconds, while touching the
            // gigabytes such a header declares would take far longer (or fail to allocate at all).
            #expect(elapsed < .seconds(2), "\(name) gz=\(compressed) took \(elapsed)")
        }
    }

    // MARK: - gzip

    @Test("a truncated .nii.gz is a compression error", arguments: [1, 4, 8, 5000])
    func truncatedGzip(cut: Int) throws {
        let gz = try Reference.data("stats/ct_int16_scaled.nii.gz")
        let error = try Self.readError(gz.prefix(gz.count - cut), name: "cut.nii.gz")
        #expect(error.code == .compression, "\(error)")
        #expect(error.byteOffset != nil)
    }

    @Test("a .nii.gz cut inside its gzip header fails cleanly")
    func gzipCutInHeader() throws {
        let gz = try Reference.data("stats/ct_int16_scaled.nii.gz")
        for length in [2, 5, 10, 30] {
            let error = try Self.readError(gz.prefix(length), name: "tiny.nii.gz")
            #expect([ImagingError.Code.compression, .truncated].contains(error.code), "\(length) bytes: \(error)")
        }
    }

    @Test("a gzip stream with a corrupted CRC-32 is refused")
    func corruptCRC() throws {
        var gz = try Reference.data("stats/mask_uint8.nii.gz")
        gz[gz.count - 8] ^= 0xFF
        let error = try Self.readError(gz, name: "crc.nii.gz")
        #expect(error.code == .compression)
    }

    @Test("a gzip bomb is stopped at the declared size plus the 1 MiB slack")
    func gzipBomb() throws {
        var bomb = try Self.validFile()
        bomb.append(Data(count: 16 << 20))  // 16 MiB of zeros after the 48 declared bytes
        let gz = try Gzip.compress(bomb)
        #expect(gz.count < 1 << 20)  // the bomb is small on disk
        let error = try Self.readError(gz, name: "bomb.nii.gz")
        #expect(error.code == .tooLarge)
        #expect(error.message.contains("zip bomb"))
    }

    @Test("trailing bytes within the slack are tolerated")
    func trailingSlackAccepted() throws {
        var file = try Self.validFile()
        file.append(Data(count: 512 << 10))
        let volume = try NIfTI.decode(try Gzip.compress(file))
        #expect(volume.voxelCount == 24)  // exact
    }

    @Test("Gzip.decompress honours its limit and Gzip.decompressPrefix stops early")
    func gzipLimit() throws {
        let plain = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let gz = try Gzip.compress(plain)
        let error = #expect(throws: ImagingError.self) { try Gzip.decompress(gz, limit: 1 << 20) }
        #expect(error?.code == .tooLarge)
        #expect(try Gzip.decompress(gz, limit: plain.count) == plain)  // exact
        #expect(try Gzip.decompressPrefix(gz, count: 540) == plain.prefix(540))  // exact
        let notGzip = #expect(throws: ImagingError.self) { try Gzip.decompress(plain, limit: 10) }
        #expect(notGzip?.code == .compression)
        #expect(notGzip?.byteOffset == 0)  // exact
    }

    // MARK: - Fuzz

    /// Applies one random mutation: flip bits, overwrite with an interesting value, truncate, insert or delete.
    static func mutate(_ input: Data, _ rng: inout TestRandom) -> Data {
        var d = input
        // Most mutations hit the header, where the parsing happens; a few hit anywhere.
        func position() -> Int { rng.below(4) == 0 ? rng.below(max(d.count, 1)) : rng.below(min(d.count, 360)) }
        switch rng.below(6) {
        case 0:  // flip one to eight bits in one byte
            guard !d.isEmpty else { return d }
            let p = position()
            d[p] ^= UInt8(1 << rng.below(8)) | (rng.below(2) == 0 ? 0 : rng.byte())
        case 1:  // overwrite 1, 2 or 4 bytes with an interesting value
            guard d.count >= 4 else { return d }
            let interesting: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]
            let p = min(position(), d.count - 4)
            for k in 0..<[1, 2, 4][rng.below(3)] { d[p + k] = interesting[rng.below(interesting.count)] }
        case 2:  // random bytes over a short run
            guard !d.isEmpty else { return d }
            let p = position()
            for k in p..<min(d.count, p + 1 + rng.below(8)) { d[k] = rng.byte() }
        case 3:  // truncate
            d = d.prefix(rng.below(d.count + 1))
        case 4:  // insert 1...16 random bytes
            let p = rng.below(d.count + 1)
            d.insert(contentsOf: (0..<(1 + rng.below(16))).map { _ in rng.byte() }, at: p)
        default:  // delete a short run
            guard !d.isEmpty else { return d }
            let p = position()
            d.removeSubrange(p..<min(d.count, p + 1 + rng.below(16)))
        }
        return d
    }

    static func fuzz(_ original: Data, seed: UInt64, count: Int) -> (decoded: Int, refused: Int) {
        var rng = TestRandom(seed: seed)
        var decoded = 0, refused = 0
        for round in 0..<count {
            var sample = original
            for _ in 0..<(1 + rng.below(3)) { sample = mutate(sample, &rng) }
            do {
                let volume = try NIfTI.decode(sample, path: "fuzz-\(round)")
                #expect(volume.voxels.count == volume.size.x * volume.size.y * volume.size.z, "round \(round)")  // exact
                #expect(volume.size.x > 0 && volume.size.y > 0 && volume.size.z > 0, "round \(round)")  // exact
                #expect((0..<3).allSatisfy { volume.spacing[$0].isFinite && volume.spacing[$0] > 0 }, "round \(round)")  // exact: finite and positive
                #expect(volume.direction.count == 9, "round \(round)")  // exact
                decoded += 1
            } catch let error as ImagingError {
                #expect(error.path == "fuzz-\(round)", "round \(round): \(error)")
                refused += 1
            } catch {
                Issue.record("round \(round): threw \(type(of: error)), not ImagingError: \(error)")
            }
        }
        return (decoded, refused)
    }

    @Test("300 seeded mutations of uncompressed fixtures either decode consistently or throw ImagingError",
          arguments: ["stats/mr_float32_be.nii", "stats/ct_int16_scaled.nii.gz"])
    func fuzzUncompressed(fixture: String) throws {
        var original = try Reference.data(fixture)
        if Gzip.isGzip(original) { original = try Gzip.decompress(original, limit: 1 << 24) }
        #expect(!Gzip.isGzip(original))
        let (decoded, refused) = Self.fuzz(original, seed: 0x4D45_4447_5249_4401, count: 300)
        #expect(decoded + refused == 300)  // exact
        // Both outcomes occur, so the mutations really exercise the parser (fixed seed: deterministic).
        #expect(decoded > 0)  // exact count
        #expect(refused > 0)  // exact count
    }

    @Test("100 seeded mutations of a .nii.gz either decode consistently or throw ImagingError")
    func fuzzCompressed() throws {
        let original = try Reference.data("stats/mask_uint8.nii.gz")
        let (decoded, refused) = Self.fuzz(original, seed: 0x677A_6970, count: 100)
        #expect(decoded + refused == 100)  // exact
        #expect(refused > 0)  // exact count
    }
}

import Foundation
import Testing
@testable import MedGridImaging

/// Reading the reference NIfTI fixtures (made with nibabel / SimpleITK, see Reference/stats/README.md) and
/// writing and re-reading every voxel type.
@Suite("NIfTI against the reference fixtures")
struct NIfTIReferenceTests {
    static let percentiles: [Double] = [5, 25, 50, 75, 95, 97.5]
    static let volumeFiles = ["ct_int16_scaled.nii.gz", "mask_uint8.nii.gz", "mr_float32_be.nii"]
    static let statisticsCases = ["ct_whole", "ct_in_mask", "ct_label_2", "mr_whole"]

    static func expected() throws -> RefJSON { try Reference.json("stats/expected.json") }

    static func read(_ name: String) throws -> Volume {
        try NIfTI.read(contentsOf: Reference.url("stats/\(name)"))
    }

    // MARK: - Geometry

    @Test("each fixture's size, spacing, origin, direction and stored type match SimpleITK", arguments: NIfTIReferenceTests.volumeFiles)
    func geometryMatchesReference(file: String) throws {
        let expected = try #require(try Self.expected()["volumes"]?[file])
        let volume = try Self.read(file)

        let sizeList = expected["size"]?.array?.compactMap { $0.int }
        let size = try #require(sizeList)
        #expect([volume.size.x, volume.size.y, volume.size.z] == size)  // exact
        #expect(volume.voxels.count == size.reduce(1, *))  // exact
        #expect(volume.storedType.description == expected["storedType"]?.string)

        let spacing = try #require(expected["spacing"]?.doubles)
        let origin = try #require(expected["origin"]?.doubles)
        let direction = try #require(expected["direction"]?.doubles)
        try #require(spacing.count == 3 && origin.count == 3 && direction.count == 9)
        for i in 0..<3 {
            // tolerance: absolute 1e-5 (mm)
            #expect(isClose(volume.spacing[i], spacing[i], absolute: 1e-5), "spacing[\(i)] \(volume.spacing[i]) vs \(spacing[i])")
            #expect(isClose(volume.origin[i], origin[i], absolute: 1e-5), "origin[\(i)] \(volume.origin[i]) vs \(origin[i])")
        }
        #expect(volume.direction.count == 9)  // exact
        for i in 0..<9 {
            // tolerance: absolute 1e-5 (direction cosines)
            #expect(isClose(volume.direction[i], direction[i], absolute: 1e-5), "direction[\(i)] \(volume.direction[i]) vs \(direction[i])")
        }
    }

    @Test("the mask fixture holds only labels 0, 1 and 2 (scl_slope 0 means no scaling)")
    func maskValuesAreUnscaled() throws {
        let mask = try Self.read("mask_uint8.nii.gz")
        #expect(Set(mask.voxels) == [0, 1, 2])  // exact
    }

    // MARK: - Statistics

    @Test("IntensityStatistics matches numpy for each reference case", arguments: NIfTIReferenceTests.statisticsCases)
    func statisticsMatchReference(name: String) throws {
        let cases = try #require(try Self.expected()["statistics"]?.array)
        let expected = try #require(cases.first { $0["name"]?.string == name })
        let image = try Self.read(try #require(expected["image"]?.string))
        let mask = try expected["mask"]?.string.map { try Self.read($0) }
        let label = expected["label"]?.int
        #expect(expected["label"]?.isNull == true || label != nil)

        let stats = try IntensityStatistics.compute(image: image, mask: mask, label: label, percentiles: Self.percentiles)

        #expect(stats.voxelCount == expected["voxelCount"]?.int)  // exact
        // tolerance: relative 1e-9 for every real-valued statistic (README: numpy sums pairwise, MedGrid in voxel order)
        let fields: [(String, Double?)] = [
            ("volumeMM3", stats.volumeMM3), ("mean", stats.mean), ("std", stats.std), ("min", stats.min), ("max", stats.max),
        ]
        for (key, actual) in fields {
            let want = try #require(expected[key]?.double, "expected.json has no \(key)")
            let got = try #require(actual, "\(key) is nil")
            #expect(isClose(got, want, relative: 1e-9), "\(name).\(key): \(got) vs \(want)")
        }
        let wantPercentiles = try #require(expected["percentiles"]?.object)
        #expect(Set(stats.percentiles.keys) == Set(wantPercentiles.keys))
        for (key, want) in wantPercentiles {
            let w = try #require(want.double)
            let got = try #require(stats.percentiles[key], "missing percentile \(key)")
            // tolerance: relative 1e-9
            #expect(isClose(got, w, relative: 1e-9), "\(name).\(key): \(got) vs \(w)")
        }
    }

    @Test("percentile keys use the shortest form of p")
    func percentileKeys() {
        #expect(IntensityStatistics.key(forPercentile: 5) == "p5")
        #expect(IntensityStatistics.key(forPercentile: 50) == "p50")
        #expect(IntensityStatistics.key(forPercentile: 97.5) == "p97.5")
        #expect(IntensityStatistics.key(forPercentile: 0) == "p0")
    }

    @Test("an empty mask gives zero voxels and nil statistics")
    func emptySelection() throws {
        let image = try Self.read("ct_int16_scaled.nii.gz")
        let stats = try IntensityStatistics.compute(
            image: image, mask: try Self.read("mask_uint8.nii.gz"), label: 7, percentiles: Self.percentiles)
        #expect(stats.voxelCount == 0)  // exact
        #expect(stats.volumeMM3 == 0)  // exact
        #expect(stats.mean == nil && stats.std == nil && stats.min == nil && stats.max == nil)
        #expect(stats.percentiles.isEmpty)
    }

    // MARK: - Big-endian fixture

    @Test("the big-endian fixture really is big-endian and decodes to the same voxels as a little-endian copy")
    func bigEndianMatchesLittleEndianCopy() throws {
        let raw = try Reference.data("stats/mr_float32_be.nii")
        #expect(Array(raw.prefix(4)) == [0x00, 0x00, 0x01, 0x5C])  // sizeof_hdr 348 stored big-endian
        let be = try NIfTI.decode(raw, path: "mr_float32_be.nii")
        #expect(be.storedType == .float32)

        let le = try NIfTI.decode(try NIfTI.encode(be, storedType: .float32))
        #expect(le.size == be.size)  // exact
        #expect(le.voxels.count == be.voxels.count)  // exact
        #expect(zip(le.voxels, be.voxels).allSatisfy { sameFloat($0, $1) })  // exact, bit for bit

        // The big-endian values match the reference statistics (checked in detail above); spot-check the extremes.
        let expected = try #require(try Self.expected()["statistics"]?.array?.first { $0["name"]?.string == "mr_whole" })
        let finite = be.voxels.filter { !$0.isNaN }
        // tolerance: exact (min and max are float32 values widened to double by numpy)
        #expect(Double(finite.min()!) == expected["min"]?.double)
        #expect(Double(finite.max()!) == expected["max"]?.double)
    }

    // MARK: - Round trip

    /// Values that fit `type` exactly and are exactly representable as Float, including its extremes.
    static func samples(for type: VoxelType) -> [Float] {
        switch type {
        case .uint8: return [0, 1, 2, 100, 127, 128, 200, 254, 255]
        case .int8: return [-128, -127, -1, 0, 1, 64, 126, 127]
        case .int16: return [-32768, -32767, -1024, -1, 0, 1, 1000, 32766, 32767]
        case .uint16: return [0, 1, 255, 256, 32768, 65534, 65535]
        case .int32: return [-2_147_483_648, -16_777_216, -1, 0, 1, 16_777_216, 2_147_483_520]
        case .uint32: return [0, 1, 65536, 16_777_216, 2_147_483_648, 4_294_967_040]
        case .float32, .float64:
            return [
                -Float.greatestFiniteMagnitude, -1.5, -0.0, 0, Float.leastNonzeroMagnitude, 0.1, 3.1415927, 1e30,
                Float.greatestFiniteMagnitude, Float.infinity, -Float.infinity, Float.nan,
            ]
        }
    }

    /// A proper rotation (30° about z, then 10° about x) as an LPS direction, row-major.
    static let rotated: [Double] = {
        let (cz, sz) = (cos(Double.pi / 6), sin(Double.pi / 6))
        let (cx, sx) = (cos(Double.pi / 18), sin(Double.pi / 18))
        let rz: [Double] = [cz, -sz, 0, sz, cz, 0, 0, 0, 1]
        let rx: [Double] = [1, 0, 0, 0, cx, -sx, 0, sx, cx]
        return (0..<9).map { k in
            let (r, c) = (k / 3, k % 3)
            return (0..<3).reduce(0.0) { $0 + rx[r * 3 + $1] * rz[$1 * 3 + c] }
        }
    }()

    /// The rotation with its third column negated: an improper direction (determinant -1).
    static let improper: [Double] = rotated.enumerated().map { $0.offset % 3 == 2 ? -$0.element : $0.element }

    static func sampleVolume(_ type: VoxelType, direction: [Double] = rotated) -> Volume {
        let size = SIMD3(5, 4, 3)
        let values = samples(for: type)
        return Volume(
            size: size, spacing: [0.7, 1.3, 2.9], origin: [-12.3, 45.6, 7.8], direction: direction,
            voxels: (0..<60).map { values[$0 % values.count] }, storedType: type
        )
    }

    /// Geometry preserved to float32 precision (the header stores float32).
    static func expectSameGeometry(_ back: Volume, _ original: Volume, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(back.size == original.size, sourceLocation: sourceLocation)  // exact
        for i in 0..<3 {
            // tolerance: one float32 ulp of the original value
            let sp = Double(Float(original.spacing[i]).ulp), og = Double(Float(original.origin[i]).ulp)
            #expect(isClose(back.spacing[i], original.spacing[i], absolute: sp), "spacing[\(i)]", sourceLocation: sourceLocation)
            #expect(isClose(back.origin[i], original.origin[i], absolute: og), "origin[\(i)]", sourceLocation: sourceLocation)
        }
        for i in 0..<9 {
            // tolerance: absolute 1e-6 (float32 sform columns, renormalised)
            #expect(
                isClose(back.direction[i], original.direction[i], absolute: 1e-6),
                "direction[\(i)] \(back.direction[i]) vs \(original.direction[i])", sourceLocation: sourceLocation)
        }
    }

    @Test("write then read preserves values, stored type and geometry", arguments: VoxelType.allCases, [false, true])
    func roundTrip(type: VoxelType, compressed: Bool) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let original = Self.sampleVolume(type)
        let url = dir.file("roundtrip.\(compressed ? "nii.gz" : "nii")")
        try NIfTI.write(original, to: url, storedType: type)

        let bytes = try Data(contentsOf: url)
        #expect(Gzip.isGzip(bytes) == compressed)
        let plain = try compressed ? Gzip.decompress(bytes, limit: 1 << 20) : bytes
        let encoded = try NIfTI.encode(original, storedType: type)
        #expect(plain == encoded)  // exact: the .gz holds exactly the .nii bytes
        #expect(plain.count == 352 + 60 * type.byteCount)  // exact

        let back = try NIfTI.read(contentsOf: url)
        #expect(back.storedType == type)
        #expect(back.voxels.count == original.voxels.count)  // exact
        for (i, (a, b)) in zip(back.voxels, original.voxels).enumerated() {
            #expect(sameFloat(a, b), "voxel \(i): \(a) vs \(b)")  // exact, bit for bit (NaN as NaN)
        }
        Self.expectSameGeometry(back, original)
    }

    @Test("an improper direction (determinant -1) survives a round trip", arguments: [false, true])
    func improperDirectionRoundTrip(compressed: Bool) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let original = Self.sampleVolume(.int16, direction: Self.improper)
        let url = dir.file("improper.\(compressed ? "nii.gz" : "nii")")
        try NIfTI.write(original, to: url, storedType: .int16)
        Self.expectSameGeometry(try NIfTI.read(contentsOf: url), original)
    }

    @Test("the qform written alongside the sform describes the same geometry", arguments: [false, true])
    func qformAgreesWithSform(improper: Bool) throws {
        let original = Self.sampleVolume(.float32, direction: improper ? Self.improper : Self.rotated)
        var bytes = try NIfTI.encode(original)
        #expect(bytes[254] == 1 && bytes[252] == 1)  // sform_code and qform_code both 1
        bytes[254] = 0  // sform_code 0: the reader must fall back to the quaternion
        let fromQform = try NIfTI.decode(bytes)
        for i in 0..<9 {
            // tolerance: absolute 1e-5 (float32 quaternion)
            #expect(isClose(fromQform.direction[i], original.direction[i], absolute: 1e-5), "direction[\(i)]")
        }
        for i in 0..<3 {
            // tolerance: absolute 1e-4 mm (float32 qoffset)
            #expect(isClose(fromQform.origin[i], original.origin[i], absolute: 1e-4), "origin[\(i)]")
        }
        bytes[252] = 0  // neither form: identity direction and zero origin, as SimpleITK reports
        let bare = try NIfTI.decode(bytes)
        #expect(bare.direction == [1, 0, 0, 0, 1, 0, 0, 0, 1])  // exact
        #expect(bare.origin == [0, 0, 0])  // exact
    }

    @Test("scaled int16 storage (slope 0.5, intercept -1024) returns real units")
    func scaledRoundTrip() throws {
        let values: [Float] = [-1024, -1023.5, -1000, 0, 40.5, 700, 15359.5]
        let original = Volume(size: [7, 1, 1], voxels: values, storedType: .int16)
        let bytes = try NIfTI.encode(original, storedType: .int16, scaleSlope: 0.5, scaleIntercept: -1024)
        let stored = (0..<7).map { i in
            bytes.withUnsafeBytes { Int16(littleEndian: $0.loadUnaligned(fromByteOffset: 352 + 2 * i, as: Int16.self)) }
        }
        #expect(stored == [0, 1, 48, 2048, 2129, 3448, 32767])  // exact: (value + 1024) / 0.5
        let back = try NIfTI.decode(bytes)
        #expect(back.voxels == values)  // exact: every value is a multiple of 0.5
    }

    @Test("values that do not fit the stored type are refused, not clamped")
    func outOfRangeValuesThrow() throws {
        let cases: [(Float, VoxelType)] = [(256, .uint8), (-1, .uint8), (-129, .int8), (40000, .int16), (.nan, .int16), (-1, .uint32)]
        for (value, type) in cases {
            let volume = Volume(size: [2, 1, 1], voxels: [0, value])
            let error = #expect(throws: ImagingError.self, "\(value) as \(type)") {
                try NIfTI.encode(volume, storedType: type)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("voxel (1, 0, 0)") == true)
        }
    }

    @Test("gzip output is deterministic: zero timestamp and OS byte 255")
    func gzipIsDeterministic() throws {
        let plain = try NIfTI.encode(Self.sampleVolume(.int16), storedType: .int16)
        let a = try Gzip.compress(plain), b = try Gzip.compress(plain)
        #expect(a == b)  // exact, byte for byte
        #expect(Array(a[4..<8]) == [0, 0, 0, 0])  // MTIME
        #expect(a[9] == 0xFF)  // OS
        #expect(try Gzip.decompress(a, limit: plain.count) == plain)  // exact
    }
}

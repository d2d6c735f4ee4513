import Foundation
import MedGridCore
import Testing

@testable import MedGridImaging

/// Loads the committed reference volumes and expected outputs of Reference/segmentation.
enum SegmentationFixtures {
    static let folder = Bundle.module.url(forResource: "Reference", withExtension: nil)!
        .appendingPathComponent("segmentation")

    static func cases() throws -> JSONValue {
        try JSONValue(parsing: Data(contentsOf: folder.appendingPathComponent("cases.json")))
    }

    static func entries(_ key: String) throws -> [JSONValue] {
        try #require(try cases()[key]?.arrayValue)
    }

    /// A `.f32` volume with its JSON sidecar (size, spacing, origin).
    static func volume(_ name: String) throws -> Volume {
        let meta = try JSONValue(parsing: Data(contentsOf: folder.appendingPathComponent(name + ".json")))
        let size = try #require(meta["size"]?.arrayValue).compactMap(\.intValue)
        let spacing = try #require(meta["spacing"]?.arrayValue).compactMap(\.doubleValue)
        let origin = try #require(meta["origin"]?.arrayValue).compactMap(\.doubleValue)
        let data = try Data(contentsOf: folder.appendingPathComponent(name + ".f32"))
        let voxels = data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return Volume(
            size: SIMD3(size[0], size[1], size[2]), spacing: SIMD3(spacing[0], spacing[1], spacing[2]),
            origin: SIMD3(origin[0], origin[1], origin[2]), voxels: voxels)
    }

    /// An expected `.i16` mask / label map, as Float values.
    static func expected(_ file: String) throws -> [Float] {
        let data = try Data(contentsOf: folder.appendingPathComponent(file))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 2)).map { Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
        }
    }

    static func seeds(_ entry: JSONValue) throws -> [SIMD3<Int>] {
        try #require(entry["seeds"]?.arrayValue).map { seed in
            let v = seed.arrayValue?.compactMap(\.intValue) ?? []
            return SIMD3(v[0], v[1], v[2])
        }
    }

    /// Number of voxels where two label arrays differ.
    static func mismatches(_ a: [Float], _ b: [Float]) -> Int {
        guard a.count == b.count else { return max(a.count, b.count) }
        var n = 0
        for i in a.indices where a[i] != b[i] { n += 1 }
        return n
    }

    static func relativeError(_ a: Double, _ b: Double) -> Double {
        abs(a - b) / max(abs(b), 1e-300)
    }

    /// Geometry of `result` equals that of `input`.
    static func sameGeometry(_ result: Volume, _ input: Volume) -> Bool {
        result.size == input.size && result.spacing == input.spacing && result.origin == input.origin
            && result.direction == input.direction
    }
}

struct SegmentationFixturesTests {
    @Test func referenceVolumesLoadWithTheirGeometry() throws {
        let blobs = try SegmentationFixtures.volume("blobs")
        #expect(blobs.size == SIMD3(32, 24, 16))
        #expect(blobs.spacing == SIMD3(0.8, 0.9, 2.5))
        #expect(blobs.origin == SIMD3(-12.0, 7.5, 30.0))
        let expected = try SegmentationFixtures.expected("threshold_0.i16")
        #expect(expected.count == blobs.voxelCount)
    }

    @Test func fixedThresholdMatchesSimpleITKBinaryThreshold() throws {
        for entry in try SegmentationFixtures.entries("threshold") {
            let image = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let lower = Float(try #require(entry["lower"]?.doubleValue))
            let upper = Float(try #require(entry["upper"]?.doubleValue))
            let mask = try IntensityThreshold.mask(image, lower: lower, upper: upper)
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(mask.voxels, expected) == 0)
            #expect(SegmentationFixtures.sameGeometry(mask, image))
            #expect(mask.storedType == .uint8)
        }
    }

    @Test func fixedThresholdRejectsReversedBounds() throws {
        let image = Volume(size: [2, 2, 2], filledWith: 1)
        #expect(throws: MedGridError.self) { try IntensityThreshold.mask(image, lower: 2, upper: 1) }
        #expect(throws: MedGridError.self) { try IntensityThreshold.mask(image, lower: .nan, upper: 1) }
    }
}

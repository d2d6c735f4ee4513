import Foundation
import Testing

@testable import MedGridImaging

/// Loads the files of Reference/surface (written by reference-scripts/surface_reference.py).
enum SurfaceReference {
    static let folder = Bundle.module.url(forResource: "Reference", withExtension: nil)!
        .appendingPathComponent("surface")

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func geometry(_ name: String) throws -> (size: SIMD3<Int>, spacing: SIMD3<Double>, type: String) {
        let meta = try json("\(name).json")
        let size = try #require(meta["size"] as? [Int])
        let spacing = try #require(meta["spacing"] as? [Double])
        let type = try #require(meta["type"] as? String)
        return (SIMD3(size[0], size[1], size[2]), SIMD3(spacing[0], spacing[1], spacing[2]), type)
    }

    /// A `.u8` mask or label map as a Volume (values as Float).
    static func volume(_ name: String) throws -> Volume {
        let g = try geometry(name)
        let bytes = try Data(contentsOf: folder.appendingPathComponent("\(name).u8"))
        #expect(bytes.count == g.size.x * g.size.y * g.size.z)
        return Volume(size: g.size, spacing: g.spacing, voxels: bytes.map { Float($0) }, storedType: .uint8)
    }

    static func doubles(_ name: String) throws -> [Double] {
        let g = try geometry(name)
        let data = try Data(contentsOf: folder.appendingPathComponent("\(name).\(g.type)"))
        switch g.type {
        case "f64":
            return data.withUnsafeBytes { raw in
                (0..<(data.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
            }
        default:
            return data.withUnsafeBytes { raw in
                (0..<(data.count / 4)).map { Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))) }
            }
        }
    }
}

/// A deterministic pseudo-random mask (xorshift), `fraction` of voxels foreground.
func randomMask(size: SIMD3<Int>, seed: UInt64, fraction: Double) -> [Bool] {
    var s = seed | 1
    return (0..<(size.x * size.y * size.z)).map { _ in
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return Double(s % 1_000_000) / 1_000_000 < fraction
    }
}

@Suite struct DistanceTransformTests {
    static let edtCases = ["edt_blob", "edt_points"]

    /// Matches scipy.ndimage.distance_transform_edt(mask == 0, sampling=spacing) to 1e-9 mm.
    @Test(arguments: edtCases)
    func matchesScipy(_ name: String) throws {
        let mask = try SurfaceReference.volume(name)
        let expected = try SurfaceReference.doubles("\(name)_scipy_edt")
        let got = try DistanceTransform.euclidean(toForegroundOf: mask)
        #expect(got.count == expected.count)
        var worst = 0.0
        for i in 0..<got.count { worst = max(worst, abs(got[i] - expected[i])) }
        #expect(worst <= 1e-9, "max |Δ| = \(worst) mm")
        let squared = try DistanceTransform.squaredEuclidean(toForegroundOf: mask)
        var worstSq = 0.0
        for i in 0..<got.count { worstSq = max(worstSq, abs(squared[i].squareRoot() - expected[i])) }
        #expect(worstSq <= 1e-9)
    }

    /// Matches SimpleITK SignedMaurerDistanceMap to 1e-5 relative (SimpleITK computes and returns float32;
    /// its own error reaches ~3e-6 relative here).
    @Test(arguments: edtCases)
    func signedMatchesSimpleITK(_ name: String) throws {
        let mask = try SurfaceReference.volume(name)
        let expected = try SurfaceReference.doubles("\(name)_sitk_signed")
        let got = try DistanceTransform.signedEuclidean(mask)
        var worst = 0.0
        for i in 0..<got.count { worst = max(worst, abs(got[i] - expected[i]) / max(1, abs(expected[i]))) }
        #expect(worst <= 1e-5, "max relative |Δ| = \(worst)")
        let insideNegative = zip(got, mask.voxels).allSatisfy { d, v in v > 0 ? d <= 0 : d > 0 }
        #expect(insideNegative)
    }

    /// Against brute force over all foreground voxels, anisotropic spacing, to 1e-12 mm².
    @Test func matchesBruteForce() throws {
        let size = SIMD3(13, 9, 7), spacing = SIMD3(0.7, 1.3, 2.9)
        let mask = randomMask(size: size, seed: 42, fraction: 0.04)
        let got = try DistanceTransform.squaredEuclidean(toForegroundOf: mask, size: size, spacing: spacing)
        var features: [SIMD3<Double>] = []
        for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x where mask[x + size.x * (y + size.y * z)] {
            features.append(SIMD3(Double(x), Double(y), Double(z)) * spacing)
        } } }
        try #require(!features.isEmpty)
        var worst = 0.0
        for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x {
            let p = SIMD3(Double(x), Double(y), Double(z)) * spacing
            let best = features.map { f -> Double in let d = f - p; return (d * d).sum() }.min()!
            worst = max(worst, abs(best - got[x + size.x * (y + size.y * z)]))
        } } }
        #expect(worst <= 1e-12)
    }

    /// The result is bitwise identical whatever the number of work chunks.
    @Test func independentOfParallelism() {
        let size = SIMD3(37, 29, 23), spacing = SIMD3(0.8, 0.8, 2.5)
        let mask = randomMask(size: size, seed: 7, fraction: 0.01)
        let runs = [1, 3, 7, 64].map { p in
            DistanceTransform.squaredEuclidean(foreground: mask, size: size, spacing: spacing, parallelism: p) { $0 }
        }
        for r in runs.dropFirst() { #expect(r.map(\.bitPattern) == runs[0].map(\.bitPattern)) }
        #expect(runs[0].contains { $0 > 0 && $0.isFinite })
    }

    @Test func noForegroundIsInfinite() throws {
        let v = Volume(size: [4, 3, 2], spacing: [1, 1, 1], filledWith: 0)
        let d = try DistanceTransform.euclidean(toForegroundOf: v)
        #expect(d.allSatisfy { $0 == .infinity })
        let one = try DistanceTransform.euclidean(toForegroundOf: [true], size: [1, 1, 1], spacing: [1, 1, 1])
        #expect(one == [0])
    }

    @Test func rejectsBadGeometry() {
        #expect(throws: (any Error).self) {
            try DistanceTransform.euclidean(toForegroundOf: [true, false], size: [3, 1, 1], spacing: [1, 1, 1])
        }
        #expect(throws: (any Error).self) {
            try DistanceTransform.euclidean(toForegroundOf: [true], size: [1, 1, 1], spacing: [1, 0, 1])
        }
        var v = Volume(size: [2, 2, 2], filledWith: 1)
        v.spacing = [1, .nan, 1]
        #expect(throws: (any Error).self) { try DistanceTransform.signedEuclidean(v) }
    }

    @Test func distanceMapVolumeKeepsGeometry() throws {
        var v = Volume(size: [5, 1, 1], spacing: [0.5, 1, 1], origin: [1, 2, 3], filledWith: 0)
        v.voxels[0] = 1
        let m = try DistanceTransform.distanceMap(toForegroundOf: v)
        #expect(m.voxels == [0, 0.5, 1, 1.5, 2])
        #expect(m.origin == v.origin && m.spacing == v.spacing && m.storedType == .float32)
    }
}

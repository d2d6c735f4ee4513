import Foundation
import MedGridCore
import Testing
@testable import MedGridImaging

/// Loads the filter reference fixtures (Reference/filters, see its README.md): raw little-endian float32
/// volumes with a JSON sidecar, and `cases.json`.
enum FilterReference {
    static func url(_ file: String) -> URL {
        Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("filters/\(file)")
    }

    static func json(_ file: String) throws -> JSONValue {
        try JSONValue(parsing: try Data(contentsOf: url(file)))
    }

    static func doubles(_ value: JSONValue?, _ what: String) throws -> [Double] {
        let list = value?.arrayValue?.compactMap { $0.doubleValue } ?? []
        guard !list.isEmpty else { throw MedGridError(.invalidInput, "\(what): expected an array of numbers") }
        return list
    }

    /// The volume `name` (`name.f32` + `name.json`).
    static func volume(_ name: String) throws -> Volume {
        let side = try json("\(name).json")
        let size = try doubles(side["size"], "\(name).json size").map { Int($0) }
        let spacing = try doubles(side["spacing"], "\(name).json spacing")
        let origin = try doubles(side["origin"], "\(name).json origin")
        let direction = try doubles(side["direction"], "\(name).json direction")
        let data = try Data(contentsOf: url("\(name).f32"))
        guard size.count == 3, spacing.count == 3, origin.count == 3, direction.count == 9,
            data.count == 4 * size[0] * size[1] * size[2]
        else { throw MedGridError(.invalidInput, "\(name): sidecar and raw data disagree") }
        let voxels = data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { i in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        }
        return Volume(
            size: SIMD3(size[0], size[1], size[2]), spacing: SIMD3(spacing[0], spacing[1], spacing[2]),
            origin: SIMD3(origin[0], origin[1], origin[2]), direction: direction, voxels: voxels)
    }

    /// The cases of one operation from cases.json.
    static func cases(_ operation: String) throws -> [JSONValue] {
        let all = try json("cases.json")["cases"]?.arrayValue ?? []
        return all.filter { $0["operation"]?.stringValue == operation }
    }

    static func vector(_ value: JSONValue?, _ what: String) throws -> SIMD3<Double> {
        let v = try doubles(value, what)
        guard v.count == 3 else { throw MedGridError(.invalidInput, "\(what): expected 3 numbers") }
        return SIMD3(v[0], v[1], v[2])
    }

    /// Serial, single chunk: the simplest schedule.
    static let serial = FilterParallel(concurrency: 1, chunkVoxels: Int.max)
    /// Four workers, one row per chunk: the most interleaved schedule.
    static let interleaved = FilterParallel(concurrency: 4, chunkVoxels: 1)

    /// Largest `|actual - expected| / max(|expected|, floor)` over all voxels, and where it occurs.
    static func worstRelativeError(_ actual: [Float], _ expected: [Float], floor: Double) -> (error: Double, index: Int) {
        var worst = (error: 0.0, index: -1)
        for i in 0..<min(actual.count, expected.count) {
            let e = Double(expected[i]), a = Double(actual[i])
            let error = abs(a - e) / max(abs(e), floor)
            if !(error <= worst.error) { worst = (error, i) }
        }
        return worst
    }

    /// Indices where two volumes differ at all (bitwise, NaN-aware), capped at `limit`.
    static func mismatches(_ actual: [Float], _ expected: [Float], limit: Int = 5) -> [Int] {
        var out: [Int] = []
        for i in 0..<min(actual.count, expected.count) where actual[i].bitPattern != expected[i].bitPattern {
            out.append(i)
            if out.count == limit { break }
        }
        return out
    }
}

@Suite("Filter reference fixtures")
struct FilterFixtureTests {
    @Test("the synthetic inputs load with the geometry the reference script wrote")
    func inputsLoad() throws {
        let noise = try FilterReference.volume("noise")
        #expect(noise.size == SIMD3(24, 20, 12))
        #expect(noise.spacing == SIMD3(0.7, 0.9, 2.0))  // exact: JSON shortest round trip
        #expect(noise.origin == SIMD3(-12.5, 30.25, 7.0))
        #expect(abs(noise.direction[0] - 0.8660254037844387) < 1e-15)  // cos 30°: a real rotation
        let mask = try FilterReference.volume("mask")
        let foreground = mask.voxels.filter { $0 == 1 }.count
        let background = mask.voxels.filter { $0 == 0 }.count
        #expect(foreground > 500 && foreground + background == mask.voxelCount)
        let cases = try FilterReference.json("cases.json")["cases"]?.arrayValue ?? []
        #expect(cases.count == 37)
    }
}

extension FilterReference {
    /// Names of the cases of one operation (empty if cases.json cannot be read; `inputsLoad` then fails).
    static func caseNames(_ operation: String) -> [String] {
        ((try? cases(operation)) ?? []).compactMap { $0["name"]?.stringValue }
    }

    static func namedCase(_ name: String) throws -> JSONValue {
        let all = try json("cases.json")["cases"]?.arrayValue ?? []
        guard let found = all.first(where: { $0["name"]?.stringValue == name }) else {
            throw MedGridError(.notFound, "no case \(name) in cases.json")
        }
        return found
    }
}

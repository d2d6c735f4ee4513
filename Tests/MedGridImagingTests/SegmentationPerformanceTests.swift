import Foundation
import MedGridCore
import Testing

@testable import MedGridImaging

/// Timing on the 256³ volume written by `segmentation_reference.py --perf DIR`; runs only when
/// `SEGMENTATION_PERF_DIR` points at DIR (run with `swift test -c release --filter SegmentationPerformance`).
/// It also checks the results against the SimpleITK / scipy figures stored next to the volume.
struct SegmentationPerformanceTests {
    static let folder = ProcessInfo.processInfo.environment["SEGMENTATION_PERF_DIR"]

    @Test(.enabled(if: folder != nil)) func otsuAndComponentsOn256Cubed() throws {
        let dir = URL(fileURLWithPath: try #require(Self.folder))
        let data = try Data(contentsOf: dir.appendingPathComponent("perf256.f32"))
        let voxels = data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        let image = Volume(size: [256, 256, 256], voxels: voxels)
        let info = try JSONValue(parsing: Data(contentsOf: dir.appendingPathComponent("perf256.json")))

        func bestOf3<T>(_ body: () throws -> T) rethrows -> (Double, T) {
            var best = Double.infinity
            var result: T?
            for _ in 0..<3 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                result = try body()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            return (best, result!)
        }
        let (tOtsu, otsu) = try bestOf3 { try OtsuThresholding.threshold(image, bins: 256) }
        let (tComponents, components) = try bestOf3 { try ConnectedComponents.label(otsu.labels, connectivity: .vertex) }
        print("PERF otsu256 \(tOtsu) s; components26 \(tComponents) s; threshold \(otsu.thresholds[0]); components \(components.count)")

        #expect(otsu.thresholds[0] == info["otsuThreshold"]?.doubleValue)
        let foreground = otsu.labels.voxels.reduce(0) { $0 + Int($1) }
        #expect(foreground == info["foreground"]?.intValue)
        #expect(components.count == info["components26"]?.intValue)
        // Voxel-for-voxel against SimpleITK ConnectedComponent(fullyConnected=True).
        let labels = try Data(contentsOf: dir.appendingPathComponent("perf256_cc26.i32"))
        let mismatches = labels.withUnsafeBytes { raw in
            components.labels.voxels.withUnsafeBufferPointer { v in
                var n = 0
                for i in v.indices where Int32(v[i]) != Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) { n += 1 }
                return n
            }
        }
        #expect(mismatches == 0)
    }
}

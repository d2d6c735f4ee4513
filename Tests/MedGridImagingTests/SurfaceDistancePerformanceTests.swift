import Foundation
import Testing

@testable import MedGridImaging

/// Timings on 256³ masks; run in release with `MEDGRID_PERF=1 swift test -c release --filter Performance`.
/// Same shapes as reference-scripts/surface_benchmark.py. Asserts only sanity of the results.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MEDGRID_PERF"] != nil))
struct SurfaceDistancePerformanceTests {
    static func ellipsoid(_ c: SIMD3<Double>, _ r: SIMD3<Double>) -> Volume {
        let n = 256
        var v = [Float](repeating: 0, count: n * n * n)
        for z in 0..<n { for y in 0..<n { for x in 0..<n {
            let q = (SIMD3(Double(x), Double(y), Double(z)) - c) / r
            if (q * q).sum() <= 1 { v[x + n * (y + n * z)] = 1 }
        } } }
        return Volume(size: [n, n, n], spacing: [1, 1, 1], voxels: v)
    }

    @Test func timings() throws {
        let ref = Self.ellipsoid([128, 128, 128], [80, 80, 80])
        let pred = Self.ellipsoid([132, 126, 128], [78, 84, 76])
        var t = Date()
        let d = try DistanceTransform.euclidean(toForegroundOf: ref)
        print("PERF edt 256^3: \(Date().timeIntervalSince(t)) s")
        #expect(d[0] > 100)
        for c in SurfaceConvention.allCases {
            t = Date()
            let m = try SegmentationMetrics.compute(prediction: pred, reference: ref, tolerance: 2, conventions: [c])
            let s = try #require(m.surface(c))
            print("PERF \(c.rawValue) 256^3: \(Date().timeIntervalSince(t)) s  HD95 \(s.percentileHausdorff) NSD \(s.normalizedSurfaceDice) HD \(s.hausdorff) ASSD \(s.averageSymmetricSurfaceDistance)")
            #expect(s.percentileHausdorff > 0 && s.percentileHausdorff < 20)
        }
        t = Date()
        _ = try SegmentationMetrics.compute(prediction: pred, reference: ref, tolerance: 2)
        print("PERF all metrics both conventions 256^3: \(Date().timeIntervalSince(t)) s")
    }
}

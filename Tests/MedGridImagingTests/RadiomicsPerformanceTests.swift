import Foundation
import MedGridImaging
import Testing

/// Timing on a 128³ volume with a 64³ ROI (data from reference-scripts/pyradiomics_timing.py). Runs only when
/// RADIOMICS_PERF_DIR points at that data: `RADIOMICS_PERF_DIR=/tmp/radiomics-perf swift test -c release
/// --filter RadiomicsPerformance`. Writes swift_features.json there for the script's agreement report.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RADIOMICS_PERF_DIR"] != nil))
struct RadiomicsPerformanceTests {
    @Test func fullFeatureSetOn64CubedROI() throws {
        let dir = URL(fileURLWithPath: try #require(ProcessInfo.processInfo.environment["RADIOMICS_PERF_DIR"]))
        let image = try RadiomicsTestSupport.loadRaw(dir.appendingPathComponent("image"))
        let mask = try RadiomicsTestSupport.loadRaw(dir.appendingPathComponent("mask"))
        #expect(image.size == SIMD3(128, 128, 128))

        var ibsi = RadiomicsSettings(discretisation: .fixedBinNumber(32))
        ibsi.spatialAutocorrelationVoxelLimit = 20_000
        let t0 = Date()
        let full = try Radiomics.extract(image: image, mask: mask, settings: ibsi)
        let t1 = Date()
        let py = try Radiomics.extract(image: image, mask: mask, settings: .pyRadiomics(binWidth: 25))
        let t2 = Date()
        print(String(format: "IBSI settings (FBN 32, all families, 6 aggregations): %d features in %.2f s",
                     full.features.count, t1.timeIntervalSince(t0)))
        print(String(format: "PyRadiomics preset (FBS 25, 3D:avg): %d features in %.2f s",
                     py.features.count, t2.timeIntervalSince(t1)))
        // Every family, every aggregation: 25+16 GLCM/GLRLM × 6, 16+16+5+17 zone features × 3, morphology 25,
        // statistics 18, histogram 23, IVH 6, local intensity 2;
        // Moran's I / Geary's C are skipped above the voxel limit.
        #expect(full.features.count == 41 * 6 + 54 * 3 + (25 - 2) + 18 + 23 + 6 + 2)
        let nonFinite = full.features.filter { !$0.value.isFinite }.map(\.ibsiID)
        #expect(nonFinite.isEmpty, "non-finite: \(nonFinite)")

        var dump: [String: Double] = [:]
        for (name, id, agg, _) in RadiomicsPyRadiomicsTests.mapping {
            if let v = py.value(id, aggregation: agg) { dump[name] = v }
        }
        let data = try JSONSerialization.data(withJSONObject: dump, options: [.sortedKeys])
        try data.write(to: dir.appendingPathComponent("swift_features.json"))
    }
}

import Foundation
import Testing
import MedGridCore
import MedGridImaging
import MedGridTesting

/// A Benchmark runs every algorithm on every case, scores each segmentation against the ground truth,
/// and records every (algorithm, case, metric) value; the report is reproducible byte for byte.
struct BenchmarkRunTests {
    @Test("the phantom benchmark scores six algorithms (five kernels, one command) reproducibly")
    func phantomBenchmark() async throws {
        let ws = try TestSupport.workspaceCopy()
        let first = try await TestSupport.medgrid(["run", "Jobs/phantom-benchmark.yaml", "--workers", "2", "--slots", "1", "--state-dir", "a", "--out", "out-a"], in: ws)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await TestSupport.medgrid(["run", "Jobs/phantom-benchmark.yaml", "--workers", "1", "--slots", "2", "--state-dir", "b", "--out", "out-b"], in: ws)
        #expect(second.status == 0, "\(second.stderr)")
        let bytes = try reportBytes(ws.appendingPathComponent("out-a"))
        #expect(bytes == (try reportBytes(ws.appendingPathComponent("out-b"))))

        let report = try JSONValue(parsing: bytes)
        let scores = try #require(report["scores"]?.arrayValue)
        #expect(scores.count == 6 * 6 * 5)  // algorithms × cases × metrics
        #expect(Set(scores.compactMap { $0["algorithm"]?.stringValue }) == ["threshold-60", "threshold-75", "otsu", "kmeans", "region-grow", "external-70"])
        // Check one score independently: threshold at 75..200 HU on case 1, Dice recomputed here.
        let image = try NIfTI.read(contentsOf: ws.appendingPathComponent("Datasets/phantom/imagesTr/phantom_001.nii.gz"))
        let label = try NIfTI.read(contentsOf: ws.appendingPathComponent("Datasets/phantom/labelsTr/phantom_001.nii.gz"))
        var both = 0, p = 0, r = 0
        for i in 0..<image.voxels.count {
            let a = image.voxels[i] >= 75 && image.voxels[i] <= 200, b = label.voxels[i] > 0
            if a { p += 1 }
            if b { r += 1 }
            if a && b { both += 1 }
        }
        let dice = scores.first { $0["algorithm"]?.stringValue == "threshold-75" && $0["case"]?.stringValue == "phantom_001" && $0["metric"]?.stringValue == "dice" }
        #expect(dice?["value"]?.doubleValue == 2 * Double(both) / Double(p + r))  // exact: same arithmetic
        for s in scores where s["metric"]?.stringValue == "dice" {
            let v = try #require(s["value"]?.doubleValue)
            #expect(v >= 0 && v <= 1)
        }
        #expect(report["aggregates"]?["external-70"]?["dice"]?["n"]?.intValue == 6)
        let md = try String(contentsOf: ws.appendingPathComponent("out-a/report.md"), encoding: .utf8)
        #expect(md.contains("## Scores by algorithm"))
        #expect(md.contains("| threshold-60 | phantom_001 |"))
    }

    @Test("a Benchmark refuses unknown metrics and conventions, and algorithms that give no segmentation")
    func benchmarkValidation() async throws {
        let ws = try TestSupport.workspaceCopy()
        let bad = try writeManifest("""
            apiVersion: medgrid/v1
            kind: Benchmark
            metadata: {name: bad}
            spec:
              dataset: ../Datasets/phantom
              algorithms:
                - {name: stats, kernel: imaging.stats}
              metrics: [dice, hd96]
              metricOptions: {convention: voxels}
            """, named: "bad-benchmark", in: ws)
        let out = try await TestSupport.medgrid(["validate", bad])
        #expect(out.status == 1)
        #expect(out.stderr.contains("spec.algorithms[0].kernel: imaging.stats gives a result, not a segmentation"), "\(out.stderr)")
        #expect(out.stderr.contains("spec.metrics[1]: unknown metric \"hd96\" (did you mean hd95?)"), "\(out.stderr)")
        #expect(out.stderr.contains("spec.metricOptions.convention: found \"voxels\", expected surface-elements"), "\(out.stderr)")
    }
}

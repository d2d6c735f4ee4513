import Foundation
import MedGridCore
import Testing

@testable import MedGridImaging

/// Expected values from reference-scripts/surface_reference.py: DeepMind surface-distance 0.1 for
/// `surfaceElements`, MONAI 1.6.1 for `boundaryVoxels`.
@Suite struct SurfaceDistanceTests {
    static func expected() throws -> [String: Any] { try SurfaceReference.json("expected.json") }
    static let caseNames = [
        "spheres_iso", "ellipsoids_aniso", "blobs_border", "labels_aniso", "empty_prediction", "empty_reference",
        "both_empty",
    ]

    @Test func referenceFileListsTheCases() throws {
        let cases = try #require(try Self.expected()["cases"] as? [[String: Any]])
        #expect(cases.compactMap { $0["name"] as? String } == Self.caseNames)
        #expect(try Self.expected()["tolerances"] as? [Double] == [1.5, 2.7])
    }

    /// |got − want| <= 1e-6 · max(1, |want|); "inf"/"nan" must match exactly.
    static func check(_ got: Double, _ want: Any?, _ what: String) {
        switch want {
        case let s as String where s == "inf": #expect(got == .infinity, "\(what): \(got), want +inf")
        case let s as String where s == "nan": #expect(got.isNaN, "\(what): \(got), want NaN")
        case let n as NSNumber:
            let w = n.doubleValue
            #expect(abs(got - w) <= 1e-6 * max(1, abs(w)), "\(what): \(got), want \(w)")
        default: Issue.record("\(what): no expected value (\(String(describing: want)))")
        }
    }

    static func compare(
        _ m: SurfaceDistanceMetrics, _ want: [String: Any], tolerance: Double, where what: String
    ) {
        check(m.hausdorff, want["hausdorff"], "\(what) hausdorff")
        check(m.meanDistanceReferenceToPrediction, want["meanDistanceReferenceToPrediction"], "\(what) mean ref→pred")
        check(m.meanDistancePredictionToReference, want["meanDistancePredictionToReference"], "\(what) mean pred→ref")
        check(m.referenceSurfaceSize, want["referenceSurfaceSize"], "\(what) reference surface")
        check(m.predictionSurfaceSize, want["predictionSurfaceSize"], "\(what) prediction surface")
        let nsd = want["normalizedSurfaceDice"] as? [String: Any]
        check(m.normalizedSurfaceDice, nsd?["\(tolerance)"], "\(what) NSD@\(tolerance)")
        if m.convention == .boundaryVoxels {
            check(m.averageSymmetricSurfaceDistance, want["averageSymmetricSurfaceDistance"], "\(what) ASSD")
            if (want["percentileHausdorff"] as? String) == "nan" && (want["hausdorff"] as? String) == "inf" {
                // Documented deviation: MONAI's torch.quantile gives NaN (∞ − ∞) when one mask is empty.
                #expect(m.percentileHausdorff == .infinity, "\(what) HD95 with one empty mask")
            } else {
                check(m.percentileHausdorff, want["percentileHausdorff"], "\(what) HD95")
            }
        } else {
            check(m.percentileHausdorff, want["percentileHausdorff"], "\(what) HD95")
            // ASSD (surface elements) = mean of the package's two directed means; +∞ when exactly one is empty.
            let a = want["meanDistanceReferenceToPrediction"], b = want["meanDistancePredictionToReference"]
            if let x = a as? NSNumber, let y = b as? NSNumber {
                check(m.averageSymmetricSurfaceDistance, NSNumber(value: (x.doubleValue + y.doubleValue) / 2), "\(what) ASSD")
            } else if (a as? String) == "nan" && (b as? String) == "nan" {
                #expect(m.averageSymmetricSurfaceDistance.isNaN)
            } else {
                #expect(m.averageSymmetricSurfaceDistance == .infinity, "\(what) ASSD with one empty surface")
            }
        }
    }

    @Test(arguments: caseNames)
    func matchesReferenceLibraries(_ name: String) throws {
        let expected = try Self.expected()
        let cases = try #require(expected["cases"] as? [[String: Any]])
        let tolerances = try #require(expected["tolerances"] as? [Double])
        let entry = try #require(cases.first { ($0["name"] as? String) == name })
        let reference = try SurfaceReference.volume(try #require(entry["reference"] as? String))
        let prediction = try SurfaceReference.volume(try #require(entry["prediction"] as? String))
        let results = try #require(entry["results"] as? [[String: Any]])
        for tolerance in tolerances {
            let labels = results.compactMap { $0["label"] as? Int }
            let computed: [SegmentationMetrics]
            if labels.isEmpty {
                computed = [try SegmentationMetrics.compute(prediction: prediction, reference: reference, tolerance: tolerance)]
            } else {
                computed = try SegmentationMetrics.computePerLabel(
                    prediction: prediction, reference: reference, tolerance: tolerance)
                #expect(computed.map { $0.label ?? -1 } == labels, "labels found in either map")
            }
            try #require(computed.count == results.count)
            for (m, want) in zip(computed, results) {
                let what = "\(name) label \(m.label.map(String.init) ?? "fg")"
                // 1e-15: Foundation's JSON number parsing on Linux is not always correctly rounded
                #expect(abs(m.dice - (want["dice"] as? Double ?? .nan)) <= 1e-15, "\(what) dice")
                #expect(abs(m.jaccard - (want["jaccard"] as? Double ?? .nan)) <= 1e-15, "\(what) jaccard")
                #expect(m.predictedVoxels == (want["predictedVoxels"] as? Int))
                #expect(m.referenceVoxels == (want["referenceVoxels"] as? Int))
                #expect(m.intersectionVoxels == (want["intersectionVoxels"] as? Int))
                let a = try #require(m.surfaceElements), b = try #require(m.boundaryVoxels)
                Self.compare(a, try #require(want["surfaceElements"] as? [String: Any]), tolerance: tolerance, where: "\(what) A")
                Self.compare(b, try #require(want["boundaryVoxels"] as? [String: Any]), tolerance: tolerance, where: "\(what) B")
            }
        }
    }

    /// The surfel area table reproduces surface-distance's create_table_neighbour_code_to_surface_area to 1e-12.
    @Test func surfelAreasMatchPackage() throws {
        let t = try #require(try Self.expected()["surfelAreas"] as? [String: Any])
        let s = try #require(t["spacing"] as? [Double])
        let want = try #require(t["areas"] as? [Double])
        let got = SurfaceDistanceComputation.surfelAreas(spacing: SIMD3(s[0], s[1], s[2]))
        try #require(got.count == 256 && want.count == 256)
        for c in 0..<256 { #expect(abs(got[c] - want[c]) <= 1e-12, "code \(c): \(got[c]) vs \(want[c])") }
        #expect(got[0] == 0 && got[255] == 0)
    }

    /// Quantile with torch's single-precision rank (values from torch.quantile on float32 0..n−1).
    @Test func quantileUsesTorchRank() {
        let x = (0..<300_002).map(Double.init)
        #expect(SurfaceDistanceComputation.torchQuantile(x, 0.95) == 285_000.9375)
        #expect(SurfaceDistanceComputation.torchQuantile([1, 2, 3, 4], 0.5) == 2.5)
        #expect(SurfaceDistanceComputation.torchQuantile([.infinity, .infinity], 0.95) == .infinity)
    }

    @Test func requestedAbsentLabelAndOverlapOnly() throws {
        let ref = try SurfaceReference.volume("labels_aniso_ref")
        let pred = try SurfaceReference.volume("labels_aniso_pred")
        let m = try SegmentationMetrics.computePerLabel(
            prediction: pred, reference: ref, labels: [9, 2], tolerance: 1, conventions: [])
        #expect(m.map(\.label) == [9, 2])
        #expect(m[0].dice == 1 && m[0].jaccard == 1 && m[0].surfaceElements == nil && m[0].boundaryVoxels == nil)
        #expect(m[1].dice < 1 && m[1].dice > 0.5)
        let absent = try SegmentationMetrics.computePerLabel(prediction: pred, reference: ref, labels: [9], tolerance: 1)
        #expect(absent[0].surfaceElements?.hausdorff == .infinity)  // surface-distance: both empty → HD +∞
        #expect(absent[0].boundaryVoxels?.hausdorff.isNaN == true)  // MONAI: both empty → NaN
    }

    @Test func geometryMismatchAndBadParametersThrow() throws {
        let ref = try SurfaceReference.volume("spheres_iso_ref")
        var pred = try SurfaceReference.volume("spheres_iso_pred")
        pred.spacing = [1, 1, 1.5]
        #expect(throws: MedGridError.self) { try SegmentationMetrics.compute(prediction: pred, reference: ref, tolerance: 1) }
        pred.spacing = ref.spacing
        pred.origin = [0, 0, 1]
        #expect(throws: MedGridError.self) { try SegmentationMetrics.compute(prediction: pred, reference: ref, tolerance: 1) }
        pred.origin = ref.origin
        pred.direction = [-1, 0, 0, 0, 1, 0, 0, 0, 1]
        #expect(throws: MedGridError.self) { try SegmentationMetrics.compute(prediction: pred, reference: ref, tolerance: 1) }
        pred.direction = ref.direction
        let small = Volume(size: [3, 3, 3], filledWith: 0)
        #expect(throws: MedGridError.self) { try SegmentationMetrics.compute(prediction: small, reference: ref, tolerance: 1) }
        #expect(throws: MedGridError.self) { try SegmentationMetrics.compute(prediction: pred, reference: ref, tolerance: -1) }
        #expect(throws: MedGridError.self) {
            try SegmentationMetrics.compute(prediction: pred, reference: ref, tolerance: 1, percentile: 101)
        }
        pred.voxels[5] = 1.5
        #expect(throws: MedGridError.self) { try SegmentationMetrics.computePerLabel(prediction: pred, reference: ref, tolerance: 1) }
        #expect(throws: MedGridError.self) {
            try SegmentationMetrics.computePerLabel(prediction: ref, reference: ref, labels: [0], tolerance: 1)
        }
        do {
            _ = try SegmentationMetrics.compute(prediction: small, reference: ref, tolerance: 1)
        } catch let e as MedGridError {
            #expect(e.message.contains("3x3x3") && e.message.contains("40x36x32"))
        }
    }

    @Test func identicalMasksGiveZeroDistances() throws {
        let ref = try SurfaceReference.volume("blobs_border_ref")
        let m = try SegmentationMetrics.compute(prediction: ref, reference: ref, tolerance: 0)
        for c in SurfaceConvention.allCases {
            let s = try #require(m.surface(c))
            #expect(s.hausdorff == 0 && s.percentileHausdorff == 0 && s.averageSymmetricSurfaceDistance == 0)
            #expect(s.normalizedSurfaceDice == 1)
        }
        #expect(m.dice == 1)
    }

    @Test func jsonEncodesNonFiniteValues() throws {
        let ref = try SurfaceReference.volume("empty_prediction_ref")
        let pred = try SurfaceReference.volume("empty_prediction_pred")
        let m = try SegmentationMetrics.compute(prediction: pred, reference: ref, tolerance: 1.5)
        let j = m.json()
        #expect(j["label"] == .null)
        #expect(j["dice"] == .double(0))
        let a = try #require(j["surfaceElements"])
        #expect(a["hausdorff"] == .string("infinite"))
        #expect(a["meanDistancePredictionToReference"] == .null)  // NaN
        #expect(a["normalizedSurfaceDice"] == .double(0))
        #expect(a["name"] == .string("surface-elements"))
        #expect(a["convention"]?.stringValue?.contains("surface-distance") == true)
        #expect(j["boundaryVoxels"]?["convention"]?.stringValue?.contains("MONAI") == true)
        #expect(j["boundaryVoxels"]?["surfaceSizeUnit"] == .string("voxels"))
        let text = CanonicalJSON.encode(j)
        #expect(text.contains("\"infinite\""))
    }
}

import Foundation
import Testing
@testable import MedGridImaging

/// `OverlapMetrics.compute` against SimpleITK's LabelOverlapMeasuresImageFilter (see Reference/overlap/README.md).
@Suite("Overlap metrics")
struct OverlapMetricsTests {
    static func expectedPair(_ name: String) throws -> RefJSON {
        let pairs = try #require(try Reference.json("overlap/expected.json")["pairs"]?.array, "no pairs in expected.json")
        return try #require(pairs.first { $0["name"]?.string == name }, "no pair \(name) in expected.json")
    }

    static func volume(_ file: String) throws -> Volume {
        try NIfTI.read(contentsOf: Reference.url("overlap/\(file)"))
    }

    /// `actual` agrees with the reference number `expected` to a relative tolerance.
    static func expectClose(
        _ name: String, _ actual: Double, _ expected: RefJSON?, relative tolerance: Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let value = expected?.double else {
            Issue.record("\(name): no number in expected.json", sourceLocation: sourceLocation)
            return
        }
        #expect(isClose(actual, value, relative: tolerance), "\(name): \(actual) vs \(value)", sourceLocation: sourceLocation)
    }

    @Test("dice, jaccard, volume difference and volumes match the SimpleITK reference",
          arguments: ["spheres", "labels", "empty", "missed"])
    func matchesReference(name: String) throws {
        let expected = try Self.expectedPair(name)
        let prediction = try Self.volume(try #require(expected["prediction"]?.string))
        let reference = try Self.volume(try #require(expected["reference"]?.string))

        // The grid as SimpleITK read it: if these differ, the volumes below cannot agree either.
        let sizeList = expected["size"]?.array?.compactMap { $0.int }
        let size = try #require(sizeList)
        let spacing = try #require(expected["spacing"]?.doubles)
        #expect([reference.size.x, reference.size.y, reference.size.z] == size)  // exact
        #expect([reference.spacing.x, reference.spacing.y, reference.spacing.z] == spacing)  // exact: float32 pixdim widened

        let metrics = try OverlapMetrics.compute(prediction: prediction, reference: reference)

        // tolerance: relative 1e-12 (ITK's ratios may differ from 2i/(p+r) in the last bit)
        Self.expectClose("dice", metrics.dice, expected["dice"], relative: 1e-12)
        Self.expectClose("jaccard", metrics.jaccard, expected["jaccard"], relative: 1e-12)
        if expected["volumeDifference"]?.isNull == true {
            #expect(metrics.volumeDifference == nil, "volumeDifference should be nil for an empty reference")
        } else {
            let difference = try #require(metrics.volumeDifference, "volumeDifference is nil")
            Self.expectClose("volumeDifference", difference, expected["volumeDifference"], relative: 1e-12)
        }
        // tolerance: relative 1e-9 (count × product of spacing; multiplication order may differ)
        Self.expectClose("predictedVolumeMM3", metrics.predictedVolumeMM3, expected["predictedVolumeMM3"], relative: 1e-9)
        Self.expectClose("referenceVolumeMM3", metrics.referenceVolumeMM3, expected["referenceVolumeMM3"], relative: 1e-9)

        // The volumes are whole numbers of voxels: catches a miscount that the ratios alone would hide.
        let voxel = reference.voxelVolume
        #expect(Int((metrics.predictedVolumeMM3 / voxel).rounded()) == expected["predictedVoxels"]?.int)  // exact
        #expect(Int((metrics.referenceVolumeMM3 / voxel).rounded()) == expected["referenceVoxels"]?.int)  // exact
    }

    @Test("both masks empty: dice and jaccard are 1 by convention, volume difference is nil")
    func bothEmptyConvention() throws {
        let empty = try Self.volume("empty_reference.nii.gz")
        let metrics = try OverlapMetrics.compute(prediction: try Self.volume("empty_prediction.nii.gz"), reference: empty)
        #expect(metrics.dice == 1.0)  // exact
        #expect(metrics.jaccard == 1.0)  // exact
        #expect(metrics.volumeDifference == nil)
        #expect(metrics.predictedVolumeMM3 == 0)  // exact
        #expect(metrics.referenceVolumeMM3 == 0)  // exact
    }

    @Test("labels 1 and 2 both count as foreground; negative values do not")
    func foregroundIsPositive() throws {
        let reference = try Self.volume("labels_reference.nii.gz")
        let prediction = try Self.volume("labels_prediction.nii.gz")
        #expect(Set(prediction.voxels) == [-1, 0, 1, 2])  // the fixture really holds all four values
        let metrics = try OverlapMetrics.compute(prediction: prediction, reference: reference)
        let positive = prediction.voxels.filter { $0 > 0 }.count
        // tolerance: relative 1e-12 (count × the same voxel volume)
        #expect(isClose(metrics.predictedVolumeMM3, Double(positive) * reference.voxelVolume, relative: 1e-12))
    }

    @Test("masks of different sizes are refused with an ImagingError (sizeMismatch)", arguments: [false, true])
    func sizeMismatch(swapped: Bool) throws {
        let reference = try Self.volume("spheres_reference.nii.gz")
        let other = Volume(
            size: [reference.size.x, reference.size.y, reference.size.z - 1], spacing: reference.spacing,
            filledWith: 1, storedType: .uint8)
        let error = #expect(throws: ImagingError.self) {
            if swapped {
                _ = try OverlapMetrics.compute(prediction: reference, reference: other)
            } else {
                _ = try OverlapMetrics.compute(prediction: other, reference: reference)
            }
        }
        #expect(error?.code == .sizeMismatch)
    }
}

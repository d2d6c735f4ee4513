import Foundation
import MedGridCore
import Testing

@testable import MedGridImaging

struct SegmentationOtsuTests {
    /// Threshold within 1e-6 relative of SimpleITK's, mask identical voxel for voxel.
    @Test func otsuMatchesSimpleITK() throws {
        for entry in try SegmentationFixtures.entries("otsu") {
            let image = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let bins = try #require(entry["bins"]?.intValue)
            let midpoint = entry["returnBinMidpoint"]?.boolValue == true
            let result = try OtsuThresholding.threshold(image, bins: bins, returnBinMidpoint: midpoint)
            let threshold = try #require(entry["threshold"]?.doubleValue)
            #expect(result.thresholds.count == 1)
            #expect(SegmentationFixtures.relativeError(result.thresholds[0], threshold) <= 1e-6, "bins \(bins)")
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(result.labels.voxels, expected) == 0, "bins \(bins)")
            #expect(SegmentationFixtures.sameGeometry(result.labels, image))
        }
    }

    @Test func multiOtsuMatchesSimpleITK() throws {
        for entry in try SegmentationFixtures.entries("multiOtsu") {
            let image = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let bins = try #require(entry["bins"]?.intValue)
            let classes = try #require(entry["classes"]?.intValue)
            let result = try OtsuThresholding.multiple(image, classes: classes, bins: bins)
            let thresholds = try #require(entry["thresholds"]?.arrayValue).compactMap(\.doubleValue)
            #expect(result.thresholds.count == thresholds.count)
            for (a, b) in zip(result.thresholds, thresholds) {
                #expect(SegmentationFixtures.relativeError(a, b) <= 1e-6, "classes \(classes) bins \(bins)")
            }
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(result.labels.voxels, expected) == 0, "classes \(classes) bins \(bins)")
            #expect(SegmentationFixtures.sameGeometry(result.labels, image))
        }
    }

    @Test func histogramCountsEveryVoxelOnceAndPutsTheMaximumInTheLastBin() throws {
        let image = try SegmentationFixtures.volume("blobs")
        let histogram = try IntensityHistogram(of: image, bins: 256)
        #expect(histogram.total == image.voxelCount)
        let low = Double(image.voxels.min()!), high = Double(image.voxels.max()!)
        #expect(histogram.binMinimums[0] == low)
        #expect(histogram.binMaximums[255] == high + (high - low) / 256 / 100)
        #expect(histogram.counts[0] >= 1 && histogram.counts[255] >= 1)
    }

    @Test func twoSeparatedLevelsAreSplitBetweenThem() throws {
        // 3 voxels at 10 and 5 at 20: every threshold between the levels separates them perfectly.
        var voxels = [Float](repeating: 10, count: 8)
        for i in 3..<8 { voxels[i] = 20 }
        let image = Volume(size: [8, 1, 1], voxels: voxels)
        let result = try OtsuThresholding.threshold(image, bins: 16)
        #expect(result.thresholds[0] >= 10 && result.thresholds[0] < 20)
        #expect(result.labels.voxels == [0, 0, 0, 1, 1, 1, 1, 1])
    }

    @Test func invalidArgumentsThrow() throws {
        let image = Volume(size: [4, 1, 1], voxels: [0, 1, 2, 3])
        #expect(throws: MedGridError.self) { try OtsuThresholding.threshold(image, bins: 1) }
        #expect(throws: MedGridError.self) { try OtsuThresholding.multiple(image, classes: 1, bins: 8) }
        #expect(throws: MedGridError.self) { try OtsuThresholding.multiple(image, classes: 9, bins: 8) }
        let allNaN = Volume(size: [2, 1, 1], voxels: [.nan, .nan])
        #expect(throws: MedGridError.self) { try OtsuThresholding.threshold(allNaN) }
    }
}

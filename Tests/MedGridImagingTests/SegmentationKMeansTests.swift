import Foundation
import MedGridCore
import Testing

@testable import MedGridImaging

struct SegmentationKMeansTests {
    /// Labels identical to scikit-learn's (re-ordered by centre), centres within 1e-9 relative,
    /// same iteration count.
    @Test func kMeansMatchesScikitLearn() throws {
        for entry in try SegmentationFixtures.entries("kmeans") {
            let image = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let initial = try #require(entry["initialCentres"]?.arrayValue).compactMap(\.doubleValue)
            let tag = try #require(entry["init"]?.stringValue)
            let result: KMeansClustering.Result
            if tag == "quantiles" {
                result = try KMeansClustering.cluster(image, classes: initial.count)
            } else {
                result = try KMeansClustering.cluster(image, initialCentres: initial)
            }
            let centres = try #require(entry["centres"]?.arrayValue).compactMap(\.doubleValue)
            #expect(result.centres.count == centres.count)
            for (a, b) in zip(result.centres, centres) {
                #expect(SegmentationFixtures.relativeError(a, b) <= 1e-9, "\(tag)")
            }
            #expect(result.iterations == entry["iterations"]?.intValue, "\(tag)")
            #expect(result.converged)
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(result.labels.voxels, expected) == 0, "\(tag)")
            #expect(result.voxelCounts.reduce(0, +) == image.voxelCount)
            #expect(SegmentationFixtures.sameGeometry(result.labels, image))
        }
    }

    @Test func quantileInitialCentresMatchNumpy() throws {
        let image = try SegmentationFixtures.volume("blobs")
        let entry = try #require(try SegmentationFixtures.entries("kmeans").first { $0["init"]?.stringValue == "quantiles" })
        let expected = try #require(entry["initialCentres"]?.arrayValue).compactMap(\.doubleValue)
        let sorted = image.voxels.sorted()
        for (i, e) in expected.enumerated() {
            let q = KMeansClustering.quantile(sorted: sorted, (Double(i) + 0.5) / Double(expected.count))
            #expect(SegmentationFixtures.relativeError(q, e) <= 1e-12)
        }
    }

    @Test func iterationLimitReassignsLabelsToTheFinalCentres() throws {
        let image = try SegmentationFixtures.volume("blobs")
        let result = try KMeansClustering.cluster(image, initialCentres: [210, 10, 90, 140], maxIterations: 2)
        #expect(result.iterations == 2)
        #expect(!result.converged)
        // Every voxel carries the label of its nearest final centre.
        var wrong = 0
        for (i, v) in image.voxels.enumerated() {
            let x = Double(v)
            let nearest = result.centres.indices.min { abs(result.centres[$0] - x) < abs(result.centres[$1] - x) }!
            if Float(nearest) != result.labels.voxels[i] { wrong += 1 }
        }
        #expect(wrong == 0)
    }

    @Test func nanVoxelsGetLabelZeroAndDoNotMoveCentres() throws {
        let image = Volume(size: [5, 1, 1], voxels: [1, 2, .nan, 10, 11])
        let result = try KMeansClustering.cluster(image, initialCentres: [0, 20])
        #expect(result.centres == [1.5, 10.5])
        #expect(result.labels.voxels == [0, 0, 0, 1, 1])
        #expect(result.voxelCounts == [2, 2])
    }

    @Test func invalidArgumentsThrow() throws {
        let image = Volume(size: [2, 1, 1], voxels: [0, 1])
        #expect(throws: MedGridError.self) { try KMeansClustering.cluster(image, initialCentres: []) }
        #expect(throws: MedGridError.self) { try KMeansClustering.cluster(image, initialCentres: [.infinity]) }
        #expect(throws: MedGridError.self) { try KMeansClustering.cluster(image, initialCentres: [0], maxIterations: 0) }
        #expect(throws: MedGridError.self) { try KMeansClustering.cluster(image, classes: 256) }
    }
}

import Foundation
import MedGridCore
import Testing

@testable import MedGridImaging

struct SegmentationRegionGrowingTests {
    @Test func connectedThresholdMatchesSimpleITK() throws {
        for entry in try SegmentationFixtures.entries("connectedThreshold") {
            let image = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let connectivity = try Connectivity(neighbours: try #require(entry["connectivity"]?.intValue))
            let mask = try RegionGrowing.connectedThreshold(
                image, seeds: try SegmentationFixtures.seeds(entry),
                lower: Float(try #require(entry["lower"]?.doubleValue)),
                upper: Float(try #require(entry["upper"]?.doubleValue)), connectivity: connectivity)
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(mask.voxels, expected) == 0, "\(entry)")
            #expect(SegmentationFixtures.sameGeometry(mask, image))
        }
    }

    @Test func confidenceConnectedMatchesSimpleITK() throws {
        for entry in try SegmentationFixtures.entries("confidenceConnected") {
            let image = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let result = try RegionGrowing.confidenceConnected(
                image, seeds: try SegmentationFixtures.seeds(entry),
                iterations: try #require(entry["iterations"]?.intValue),
                multiplier: try #require(entry["multiplier"]?.doubleValue),
                initialNeighborhoodRadius: try #require(entry["radius"]?.intValue))
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(result.mask.voxels, expected) == 0, "\(entry)")
        }
    }

    @Test func resultDoesNotDependOnSlabDepth() throws {
        let image = try SegmentationFixtures.volume("sparse")
        let seeds = [SIMD3(10, 18, 7)]
        let reference = RegionGrowing.grow(image, seeds: seeds, lower: 0.5, upper: 1.5, connectivity: .vertex, slabDepth: 16)
        for depth in [1, 2, 3, 5] {
            let other = RegionGrowing.grow(image, seeds: seeds, lower: 0.5, upper: 1.5, connectivity: .vertex, slabDepth: depth)
            #expect(other == reference, "slab depth \(depth)")
        }
    }

    @Test func seedOutsideTheIntervalGrowsNothing() throws {
        let image = Volume(size: [3, 1, 1], voxels: [5, 1, 1])
        let mask = try RegionGrowing.connectedThreshold(image, seeds: [SIMD3(0, 0, 0)], lower: 0, upper: 2)
        #expect(mask.voxels == [0, 0, 0])
    }

    @Test func invalidSeedsThrow() throws {
        let image = Volume(size: [3, 2, 2], filledWith: 1)
        #expect(throws: MedGridError.self) {
            try RegionGrowing.connectedThreshold(image, seeds: [SIMD3(3, 0, 0)], lower: 0, upper: 2)
        }
        #expect(throws: MedGridError.self) { try RegionGrowing.connectedThreshold(image, seeds: [], lower: 0, upper: 2) }
        #expect(throws: MedGridError.self) { try RegionGrowing.confidenceConnected(image, seeds: [SIMD3(0, -1, 0)]) }
    }
}

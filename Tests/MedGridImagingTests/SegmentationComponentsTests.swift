import Foundation
import MedGridCore
import Testing

@testable import MedGridImaging

struct SegmentationComponentsTests {
    /// Raster-order labels identical to SimpleITK ConnectedComponent (6, 26) and scipy.ndimage.label (18).
    @Test func rasterLabelsMatchReference() throws {
        for entry in try SegmentationFixtures.entries("components") {
            let mask = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let connectivity = try Connectivity(neighbours: try #require(entry["connectivity"]?.intValue))
            let result = try ConnectedComponents.label(mask, connectivity: connectivity)
            #expect(result.count == entry["count"]?.intValue, "\(connectivity)")
            let counts = try #require(entry["voxelCounts"]?.arrayValue).compactMap(\.intValue)
            #expect(result.voxelCounts == counts, "\(connectivity)")
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(result.labels.voxels, expected) == 0, "\(connectivity)")
            #expect(SegmentationFixtures.sameGeometry(result.labels, mask))
        }
    }

    /// Size ordering and minimum size identical to SimpleITK RelabelComponent.
    @Test func sizeOrderingMatchesRelabelComponent() throws {
        for entry in try SegmentationFixtures.entries("relabel") {
            let mask = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let connectivity = try Connectivity(neighbours: try #require(entry["connectivity"]?.intValue))
            let minimum = try #require(entry["minimumVoxels"]?.intValue)
            let result = try ConnectedComponents.label(
                mask, connectivity: connectivity, ordering: .sizeDescending, minimumVoxelCount: minimum)
            #expect(result.count == entry["count"]?.intValue)
            let counts = try #require(entry["voxelCounts"]?.arrayValue).compactMap(\.intValue)
            #expect(result.voxelCounts == counts)
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(result.labels.voxels, expected) == 0, "\(connectivity) min \(minimum)")
        }
    }

    /// Raster numbering after dropping small components equals scipy on the filtered mask; the same
    /// filter expressed in mm³ gives the same result.
    @Test func sizeFilterKeepsRasterNumbering() throws {
        for entry in try SegmentationFixtures.entries("sizeFilter") {
            let mask = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let connectivity = try Connectivity(neighbours: try #require(entry["connectivity"]?.intValue))
            let minimum = try #require(entry["minimumVoxels"]?.intValue)
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            let byCount = try ConnectedComponents.label(mask, connectivity: connectivity, minimumVoxelCount: minimum)
            #expect(byCount.count == entry["count"]?.intValue)
            #expect(SegmentationFixtures.mismatches(byCount.labels.voxels, expected) == 0)
            // Slightly below minimum × voxel volume so rounding cannot drop a component of exactly `minimum`.
            let byVolume = try ConnectedComponents.label(
                mask, connectivity: connectivity, minimumVolumeMM3: (Double(minimum) - 0.5) * mask.voxelVolume)
            #expect(byVolume == byCount)
            #expect(byVolume.volumesMM3.allSatisfy { $0 >= Double(minimum) * mask.voxelVolume - 1e-9 })
        }
    }

    @Test func keepLargestMatchesRelabelComponentLabelOne() throws {
        for entry in try SegmentationFixtures.entries("largest") {
            let mask = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let connectivity = try Connectivity(neighbours: try #require(entry["connectivity"]?.intValue))
            let largest = try ConnectedComponents.keepLargest(mask, connectivity: connectivity)
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(largest.voxels, expected) == 0, "\(connectivity)")
            #expect(SegmentationFixtures.sameGeometry(largest, mask))
        }
    }

    /// Slabs of any depth (1 slice, uneven, whole volume) give bit-identical results.
    @Test func resultDoesNotDependOnSlabDepth() throws {
        let mask = try SegmentationFixtures.volume("sparse")
        for connectivity in Connectivity.allCases {
            let reference = try ConnectedComponents.label(
                mask, connectivity: connectivity, ordering: .raster, minimumVoxelCount: 0, minimumVolumeMM3: 0, slabDepth: 1000)
            for depth in [1, 2, 3, 7, 8] {
                let other = try ConnectedComponents.label(
                    mask, connectivity: connectivity, ordering: .raster, minimumVoxelCount: 0, minimumVolumeMM3: 0, slabDepth: depth)
                #expect(other == reference, "\(connectivity) depth \(depth)")
            }
        }
    }

    /// Hand-made cases: diagonal neighbours by connectivity, and labels as foreground.
    @Test func neighbourhoodsOnATinyVolume() throws {
        // Voxels (0,0,0), (1,1,0) [edge-diagonal], (2,2,1) [corner-diagonal of (1,1,0)].
        var voxels = [Float](repeating: 0, count: 27)
        let size = SIMD3(3, 3, 3)
        voxels[0] = 1
        voxels[1 + 3 * 1] = 2
        voxels[2 + 3 * (2 + 3 * 1)] = 1
        let mask = Volume(size: size, voxels: voxels)
        #expect(try ConnectedComponents.label(mask, connectivity: .face).count == 3)
        #expect(try ConnectedComponents.label(mask, connectivity: .edge).count == 2)
        #expect(try ConnectedComponents.label(mask, connectivity: .vertex).count == 1)
        let empty = try ConnectedComponents.label(Volume(size: size, filledWith: 0))
        #expect(empty.count == 0)
        #expect(empty.largestComponentMask().voxels.allSatisfy { $0 == 0 })
    }

    @Test func invalidArgumentsThrow() throws {
        let mask = Volume(size: [2, 2, 2], filledWith: 1)
        #expect(throws: MedGridError.self) { try ConnectedComponents.label(mask, minimumVoxelCount: -1) }
        #expect(throws: MedGridError.self) { try ConnectedComponents.label(mask, minimumVolumeMM3: .nan) }
        #expect(throws: MedGridError.self) { try Connectivity(neighbours: 8) }
    }
}

import Foundation
import MedGridCore
import Testing

@testable import MedGridImaging

struct SegmentationHoleFillingTests {
    /// Identical to scipy.ndimage.binary_fill_holes (6, 18, 26-connected background) and SimpleITK
    /// BinaryFillhole (fullyConnected False = 6, True = 26).
    @Test func fillHolesMatchesReference() throws {
        for entry in try SegmentationFixtures.entries("fillHoles") {
            let mask = try SegmentationFixtures.volume(try #require(entry["input"]?.stringValue))
            let connectivity = try Connectivity(neighbours: try #require(entry["backgroundConnectivity"]?.intValue))
            let filled = try HoleFilling.fill(mask, backgroundConnectivity: connectivity)
            let expected = try SegmentationFixtures.expected(try #require(entry["expected"]?.stringValue))
            #expect(SegmentationFixtures.mismatches(filled.voxels, expected) == 0, "\(connectivity)")
            let added = filled.voxels.reduce(0, +) - mask.voxels.reduce(0, +)
            #expect(Int(added) == entry["filledVoxels"]?.intValue)
            #expect(SegmentationFixtures.sameGeometry(filled, mask))
        }
    }

    @Test func resultDoesNotDependOnSlabDepth() throws {
        let mask = try SegmentationFixtures.volume("dense")
        let reference = try HoleFilling.fill(mask, backgroundConnectivity: .face, slabDepth: 100)
        for depth in [1, 3, 4] {
            #expect(try HoleFilling.fill(mask, backgroundConnectivity: .face, slabDepth: depth) == reference)
        }
    }

    /// A hollow cube with one cavity voxel, and the same cube with a corner opening.
    @Test func cavityAndDiagonalLeak() throws {
        var voxels = [Float](repeating: 0, count: 125)
        let v = Volume(size: [5, 5, 5], voxels: voxels)
        for z in 1...3 { for y in 1...3 { for x in 1...3 { voxels[v.index(x, y, z)] = 1 } } }
        voxels[v.index(2, 2, 2)] = 0
        let closed = Volume(size: [5, 5, 5], voxels: voxels)
        #expect(try HoleFilling.fill(closed).voxels[v.index(2, 2, 2)] == 1)
        // Open the cavity to the outside through a corner: remove (3,3,3), so (2,2,2) touches the
        // outside only diagonally.
        voxels[v.index(3, 3, 3)] = 0
        let leaky = Volume(size: [5, 5, 5], voxels: voxels)
        #expect(try HoleFilling.fill(leaky, backgroundConnectivity: .face).voxels[v.index(2, 2, 2)] == 1)
        #expect(try HoleFilling.fill(leaky, backgroundConnectivity: .vertex).voxels[v.index(2, 2, 2)] == 0)
    }
}

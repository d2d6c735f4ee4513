import Foundation
import MedGridCore
import Testing
@testable import MedGridImaging

/// Binary morphology against scipy.ndimage (explicit ball) and SimpleITK BinaryDilate/BinaryErode (sitkBall).
@Suite("Binary morphology")
struct FilterMorphologyTests {
    @Test("matches scipy.ndimage / SimpleITK exactly", arguments: FilterReference.caseNames("morphology"))
    func matchesReference(name: String) throws {
        let spec = try FilterReference.namedCase(name)
        var input = try FilterReference.volume(try #require(spec["input"]?.stringValue))
        let expected = try FilterReference.volume(try #require(spec["expected"]?.stringValue))
        let radius = try #require(spec["radiusMM"]?.doubleValue)
        input.spacing = try FilterReference.vector(spec["spacing"], "spacing")  // the grid the ball is sampled on
        let border = try #require(MorphologyBorder(rawValue: spec["border"]?.stringValue ?? ""))
        let operation: Volume.MorphologyOperation
        switch spec["morphology"]?.stringValue {
        case "dilate": operation = .dilate
        case "erode": operation = .erode
        case "open": operation = .open
        case "close": operation = .close
        default: throw MedGridError(.invalidInput, "\(name): unknown morphology")
        }

        let element = try BallStructuringElement(radiusMM: radius, spacing: input.spacing)
        #expect(element.voxelCount == spec["structuringElementVoxels"]?.intValue)
        #expect(element.offsets.count == element.voxelCount)

        let serial = try input.binaryMorphology(operation, radiusMM: radius, border: border, parallel: FilterReference.serial)
        let differing = FilterReference.mismatches(serial.voxels, expected.voxels)
        #expect(differing.isEmpty, "\(name): first differing voxels \(differing)")  // exact
        #expect(serial.storedType == .uint8 && serial.size == input.size && serial.origin == input.origin)
        #expect(serial.voxels != input.voxels)  // the operation changed something

        let interleaved = try input.binaryMorphology(
            operation, radiusMM: radius, border: border, parallel: FilterReference.interleaved)
        #expect(interleaved == serial)
        let viaPublic: Volume
        switch operation {
        case .dilate: viaPublic = try input.binaryDilated(radiusMM: radius)
        case .erode: viaPublic = try input.binaryEroded(radiusMM: radius, border: border)
        case .open: viaPublic = try input.binaryOpened(radiusMM: radius, border: border)
        case .close: viaPublic = try input.binaryClosed(radiusMM: radius, border: border)
        }
        #expect(viaPublic == serial)
    }

    @Test("ball element: membership rule, symmetry and the sitkBall equivalence")
    func element() throws {
        // Spacing 1: radius 1.5 gives the 3×3×3 cube minus its 8 corners (1 + 6 + 12 = 19 voxels).
        let ball = try BallStructuringElement(radiusMM: 1.5, spacing: [1, 1, 1])
        #expect(ball.voxelCount == 19)
        let offsets = Set(ball.offsets.map { [$0.x, $0.y, $0.z] })
        #expect(offsets.contains([1, 1, 0]) && !offsets.contains([1, 1, 1]))
        #expect(offsets.allSatisfy { offsets.contains($0.map { -$0 }) })
        // Anisotropic: 2.1 mm on 0.7 × 0.9 × 2.0 reaches 3 voxels in x, 2 in y, 1 in z.
        let aniso = try BallStructuringElement(radiusMM: 2.1, spacing: [0.7, 0.9, 2.0])
        #expect(aniso.runs.map(\.halfWidth).max() == 3)
        #expect(aniso.runs.map(\.dy).max() == 2 && aniso.runs.map(\.dz).max() == 1)
        #expect(try BallStructuringElement(radiusMM: 0, spacing: [1, 1, 1]).voxelCount == 1)
        #expect(throws: MedGridError.self) { try BallStructuringElement(radiusMM: -1, spacing: [1, 1, 1]) }
        #expect(throws: MedGridError.self) { try BallStructuringElement(radiusMM: 5000, spacing: [1, 1, 1]) }
    }

    @Test("huge radii on a small image are capped, not allocated: dilation fills, erosion empties")
    func hugeRadius() throws {
        var v = Volume(size: [6, 5, 4], filledWith: 0)
        v.voxels[v.index(2, 2, 1)] = 1
        #expect(try v.binaryDilated(radiusMM: 1e6).voxels.allSatisfy { $0 == 1 })
        let full = Volume(size: [6, 5, 4], filledWith: 1)
        #expect(try full.binaryEroded(radiusMM: 1e6).voxels.allSatisfy { $0 == 0 })
        #expect(try full.binaryEroded(radiusMM: 1e6, border: .foreground).voxels.allSatisfy { $0 == 1 })
        #expect(try full.binaryEroded(radiusMM: 0) == full.withVoxels(full.voxels, storedType: .uint8))
    }
}

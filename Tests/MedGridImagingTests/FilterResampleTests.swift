import Foundation
import MedGridCore
import Testing
@testable import MedGridImaging

/// Resampling against SimpleITK ResampleImageFilter (Reference/filters/README.md).
@Suite("Resampling")
struct FilterResampleTests {
    @Test("matches SimpleITK Resample (linear 1e-4, nearest exact)", arguments: FilterReference.caseNames("resample"))
    func matchesSimpleITK(name: String) throws {
        let spec = try FilterReference.namedCase(name)
        let input = try FilterReference.volume(try #require(spec["input"]?.stringValue))
        let expected = try FilterReference.volume(try #require(spec["expected"]?.stringValue))
        let newSpacing = try FilterReference.vector(spec["newSpacing"], "newSpacing")
        let interpolation = try #require(ResamplingInterpolation(rawValue: spec["interpolation"]?.stringValue ?? ""))

        let serial = try input.resampled(
            toSpacing: newSpacing, interpolation: interpolation, defaultValue: 0, parallel: FilterReference.serial)
        // Geometry as SimpleITK reports it: size exact, spacing/origin/direction to 1e-12.
        #expect(serial.size == expected.size)
        #expect(try input.resampledSize(toSpacing: newSpacing) == expected.size)
        var geometryError = 0.0
        for axis in 0..<3 {
            let spacingError: Double = abs(serial.spacing[axis] - expected.spacing[axis])
            let originError: Double = abs(serial.origin[axis] - expected.origin[axis])
            geometryError = max(geometryError, spacingError, originError)
        }
        #expect(geometryError < 1e-12)
        #expect(zip(serial.direction, expected.direction).allSatisfy { abs($0 - $1) < 1e-12 })
        try #require(serial.voxelCount == expected.voxelCount)
        switch interpolation {
        case .linear:
            // tolerance: absolute 1e-4 (values are O(1..100); ITK computes the index incrementally)
            var maxAbs = 0.0, worst = -1
            for i in 0..<serial.voxelCount {
                let error = abs(Double(serial.voxels[i]) - Double(expected.voxels[i]))
                if !(error <= maxAbs) { (maxAbs, worst) = (error, i) }
            }
            #expect(maxAbs <= 1e-4, "\(name): max abs error \(maxAbs) at voxel \(worst)")
            #expect(serial.storedType == .float32)
        case .nearest:
            let differing = FilterReference.mismatches(serial.voxels, expected.voxels)
            #expect(differing.isEmpty, "\(name): first differing voxels \(differing)")  // exact
            #expect(serial.storedType == input.storedType)
        }
        // Bitwise identical whatever the threads and chunks.
        let interleaved = try input.resampled(
            toSpacing: newSpacing, interpolation: interpolation, defaultValue: 0, parallel: FilterReference.interleaved)
        #expect(interleaved == serial)
    }

    @Test("hand example: 1-D linear upsampling, the half-voxel rim and the default value")
    func handExample() throws {
        let v = Volume(size: [3, 1, 1], spacing: [2, 1, 1], voxels: [0, 10, 40])
        // New spacing 0.8: size round(3·2/0.8) = round(7.5) = 8; c = 0.4·i.
        let r = try v.resampled(toSpacing: [0.8, 1, 1], defaultValue: -1)
        #expect(r.size == SIMD3(8, 1, 1))
        let expected: [Float] = [0, 4, 8, 16, 28, 40, 40, -1]  // c = 0, .4, .8, 1.2, 1.6, 2.0, 2.4, 2.8 (≥ 2.5: outside)
        #expect(zip(r.voxels, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(r.voxels)")
        let n = try v.resampled(toSpacing: [0.8, 1, 1], interpolation: .nearest)
        #expect(n.voxels == [0, 0, 10, 10, 40, 40, 40, 0])  // round half up: c = 0.4·i
    }

    @Test("bad spacings and huge outputs throw")
    func errors() throws {
        let v = Volume(size: [4, 4, 4], filledWith: 1)
        #expect { try v.resampled(toSpacing: [1, 0, 1]) } throws: { error in
            (error as? MedGridError)?.message.contains("newSpacing.y") == true
        }
        #expect(throws: MedGridError.self) { try v.resampled(toSpacing: [1e-4, 1e-4, 1e-4]) }  // 40000³ voxels
        #expect(throws: MedGridError.self) { try v.resampled(toSpacing: [1, 1, 1], defaultValue: .nan) }
    }
}

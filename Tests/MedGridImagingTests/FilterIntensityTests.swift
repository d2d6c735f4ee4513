import Foundation
import MedGridCore
import Testing
@testable import MedGridImaging

/// Clipping and windowing against SimpleITK Clamp / IntensityWindowing (Reference/filters/README.md).
@Suite("Intensity clipping and windowing")
struct FilterIntensityTests {
    @Test("clip matches SimpleITK ClampImageFilter exactly")
    func clip() throws {
        let spec = try FilterReference.namedCase("clip")
        let input = try FilterReference.volume("noise")
        let expected = try FilterReference.volume("clip")
        let lower = Float(try #require(spec["lower"]?.doubleValue))
        let upper = Float(try #require(spec["upper"]?.doubleValue))
        let clipped = try input.clipped(lower: lower, upper: upper)
        #expect(FilterReference.mismatches(clipped.voxels, expected.voxels).isEmpty)  // exact
        #expect(clipped.voxels.contains(lower) && clipped.voxels.contains(upper))  // both bounds bite
        #expect(clipped.storedType == .float32 && clipped.origin == input.origin)
    }

    @Test("window matches SimpleITK IntensityWindowing to 1e-6 absolute")
    func window() throws {
        let spec = try FilterReference.namedCase("window")
        let input = try FilterReference.volume("noise")
        let expected = try FilterReference.volume("window")
        let level = try #require(spec["level"]?.doubleValue)
        let width = try #require(spec["width"]?.doubleValue)
        let windowed = try input.windowed(level: level, width: width)
        var maxError: Float = 0
        for i in 0..<windowed.voxelCount { maxError = max(maxError, abs(windowed.voxels[i] - expected.voxels[i])) }
        #expect(maxError <= 1e-6, "max error \(maxError)")  // tolerance: absolute 1e-6 on [0, 1]
        #expect(windowed.voxels.contains(0) && windowed.voxels.contains(1))

        let clippedOnly = try input.windowed(level: level, width: width, rescaleToUnit: false)
        #expect(clippedOnly.voxels == (try input.clipped(lower: -10, upper: 50)).voxels)
    }

    @Test("stored type, NaN and argument checks")
    func conventions() throws {
        let v = Volume(size: [4, 1, 1], voxels: [-3, 0.5, .nan, 300], storedType: .int16)
        let c = try v.clipped(lower: 0, upper: 255)
        #expect(c.voxels[0] == 0 && c.voxels[1] == 0.5 && c.voxels[2].isNaN && c.voxels[3] == 255)
        #expect(c.storedType == .int16)
        #expect(try v.clipped(lower: 0.5, upper: 2).storedType == .float32)
        let w = try v.windowed(level: 0, width: 2)
        #expect(w.voxels[0] == 0 && w.voxels[1] == 0.75 && w.voxels[2].isNaN && w.voxels[3] == 1)
        #expect(throws: MedGridError.self) { try v.clipped(lower: 2, upper: 1) }
        #expect(throws: MedGridError.self) { try v.windowed(level: 0, width: 0) }
    }
}

import Foundation
import MedGridCore
import Testing
@testable import MedGridImaging

/// Gaussian smoothing against scipy.ndimage.gaussian_filter (Reference/filters/README.md).
@Suite("Gaussian smoothing")
struct FilterGaussianTests {
    @Test("matches scipy.ndimage.gaussian_filter to 1e-5 relative", arguments: FilterReference.caseNames("gaussian"))
    func matchesScipy(name: String) throws {
        let spec = try FilterReference.namedCase(name)
        let input = try FilterReference.volume(try #require(spec["input"]?.stringValue))
        let expected = try FilterReference.volume(try #require(spec["expected"]?.stringValue))
        let sigma = try FilterReference.vector(spec["sigmaMM"], "sigmaMM")
        let truncate = try #require(spec["truncate"]?.doubleValue)
        let boundary = try #require(FilterBoundary(rawValue: spec["boundary"]?.stringValue ?? ""))

        let serial = try input.gaussianSmoothed(
            sigmaMM: sigma, truncate: truncate, boundary: boundary, parallel: FilterReference.serial)
        // tolerance: |a - e| <= 1e-5 · max(|e|, 1) (float32 storage between passes; values are O(10..100))
        let worst = FilterReference.worstRelativeError(serial.voxels, expected.voxels, floor: 1)
        #expect(worst.error <= 1e-5, "\(name): worst error \(worst.error) at voxel \(worst.index)")
        #expect(serial.size == input.size && serial.spacing == input.spacing)
        #expect(serial.origin == input.origin && serial.direction == input.direction)
        #expect(serial.storedType == .float32)

        // Bitwise identical whatever the threads and chunks.
        let interleaved = try input.gaussianSmoothed(
            sigmaMM: sigma, truncate: truncate, boundary: boundary, parallel: FilterReference.interleaved)
        #expect(FilterReference.mismatches(interleaved.voxels, serial.voxels).isEmpty)
        let standard = try input.gaussianSmoothed(sigmaMM: sigma, truncate: truncate, boundary: boundary)
        #expect(standard == serial)
    }

    @Test("kernel: scipy's radius Int(truncate·σ + 0.5) and weights summing to 1")
    func kernel() {
        // scipy.ndimage._filters._gaussian_kernel1d(1.5, 0, 6): centre 0.2659642571610709, tail 8.922106863539231e-05.
        let w = Volume.gaussianKernelHalf(sigmaVoxels: 1.5, truncate: 4)
        #expect(w.count == 7)  // radius Int(6.5) = 6
        #expect(abs(w[0] - 0.2659642571610709) < 1e-15)
        #expect(abs(w[6] - 8.922106863539231e-05) < 1e-18)  // exp(-8) · w[0]
        let sum = w[0] + 2 * w[1...].reduce(0, +)
        #expect(abs(sum - 1) < 1e-15)
        #expect(Volume.gaussianKernelHalf(sigmaVoxels: 2, truncate: 3.9).count == 9)  // Int(8.3) = 8
    }

    @Test("reflect boundary indices repeat with period 2n, nearest clamps")
    func boundaryIndices() {
        let reflected = (-7...9).map { FilterBoundary.reflect.map($0, 3) }
        #expect(reflected == [0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2])
        #expect([-2, -1, 0, 2, 3, 9].map { FilterBoundary.nearest.map($0, 3) } == [0, 0, 0, 2, 2, 2])
    }

    @Test("a constant volume stays constant, zero sigma is the identity")
    func invariants() throws {
        let constant = Volume(size: [7, 5, 4], spacing: [0.5, 1, 3], filledWith: 12.5)
        let smoothed = try constant.gaussianSmoothed(sigmaMM: 2)
        #expect(smoothed.voxels.allSatisfy { abs($0 - 12.5) <= 12.5 * 1e-6 })
        let noise = try FilterReference.volume("noise")
        #expect(try noise.gaussianSmoothed(sigmaMM: 0).voxels == noise.voxels)
    }

    @Test("invalid parameters throw invalidInput naming the field")
    func errors() throws {
        let v = Volume(size: [3, 3, 3], filledWith: 1)
        #expect { try v.gaussianSmoothed(sigmaMM: SIMD3(1, -1, 1)) } throws: { error in
            (error as? MedGridError)?.message.contains("sigmaMM.y") == true
        }
        #expect(throws: MedGridError.self) { try v.gaussianSmoothed(sigmaMM: .nan) }
        #expect(throws: MedGridError.self) { try v.gaussianSmoothed(sigmaMM: 1, truncate: 0) }
        #expect(throws: MedGridError.self) { try v.gaussianSmoothed(sigmaMM: 1e9) }  // radius too large
        var flat = v
        flat.spacing = [1, 0, 1]
        #expect { try flat.gaussianSmoothed(sigmaMM: 1) } throws: { error in
            (error as? MedGridError)?.message.contains("spacing.y") == true
        }
    }
}

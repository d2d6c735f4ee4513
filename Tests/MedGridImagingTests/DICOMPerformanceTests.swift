import Foundation
import Testing
@testable import MedGridImaging

/// Timing of a large series read; runs only when `DICOM_PERF_DIR` names a folder written by
/// reference-scripts/dicom_perf_series.py (200 × 512 × 512 int16 slices).
struct DICOMPerformanceTests {
    @Test("read a 512 × 512 × 200 CT series", .enabled(if: ProcessInfo.processInfo.environment["DICOM_PERF_DIR"] != nil))
    func largeSeries() throws {
        let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["DICOM_PERF_DIR"] ?? "")
        let clock = ContinuousClock()
        var volume: Volume?
        let elapsed = try clock.measure { volume = try DICOM.readSeries(at: folder) }
        let v = try #require(volume)
        #expect(v.size == SIMD3(512, 512, 200))
        #expect(abs(v.spacing.z - 1.25) < 1e-9)
        #expect(v.origin == SIMD3(-250, -250, 0))
        print("DICOM series 512x512x200 read in \(elapsed)")
    }
}

import Foundation
import Testing
@testable import MedGridImaging

/// Loads Reference/dicom/expected.json (written by reference-scripts/dicom_reference.py).
enum DICOMReference {
    static let root = Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("dicom")

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    nonisolated(unsafe) static let expected: [String: Any] = {
        let data = try! Data(contentsOf: root.appendingPathComponent("expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func entry(_ section: String, _ name: String) -> [String: Any]? {
        (expected[section] as? [String: Any])?[name] as? [String: Any]
    }

    static func doubles(_ any: Any?) -> [Double] { (any as? [Any] ?? []).map { ($0 as? NSNumber)?.doubleValue ?? .nan } }

    /// Checks size exactly, spacing/origin/direction to `tolerance` (absolute, mm or cosine), and voxels exactly
    /// (NaN where the reference has null).
    static func check(_ v: Volume, against e: [String: Any], tolerance: Double = 1e-6, _ label: String) {
        let size = doubles(e["size"]).map { Int($0) }
        #expect([v.size.x, v.size.y, v.size.z] == size, "\(label): size")
        let spacing = doubles(e["spacing"]), origin = doubles(e["origin"]), direction = doubles(e["direction"])
        for i in 0..<3 {
            #expect(abs(v.spacing[i] - spacing[i]) <= tolerance, "\(label): spacing[\(i)] \(v.spacing[i]) vs \(spacing[i])")
            #expect(abs(v.origin[i] - origin[i]) <= tolerance, "\(label): origin[\(i)] \(v.origin[i]) vs \(origin[i])")
        }
        for i in 0..<9 {
            #expect(abs(v.direction[i] - direction[i]) <= tolerance, "\(label): direction[\(i)] \(v.direction[i]) vs \(direction[i])")
        }
        guard let values = e["values"] as? [String: Any] else { return }
        let count = (values["count"] as? NSNumber)?.intValue ?? -1
        #expect(v.voxels.count == count, "\(label): voxel count")
        guard v.voxels.count == count else { return }
        var nan = 0, sum = 0.0, lo = Double.infinity, hi = -Double.infinity
        for x in v.voxels {
            if x.isNaN { nan += 1; continue }
            sum += Double(x)
            lo = min(lo, Double(x))
            hi = max(hi, Double(x))
        }
        #expect(nan == (values["nanCount"] as? NSNumber)?.intValue, "\(label): NaN (padding) count")
        let refSum = (values["sum"] as? NSNumber)?.doubleValue ?? .nan
        #expect(abs(sum - refSum) <= 1e-9 * max(1, abs(refSum)), "\(label): sum \(sum) vs \(refSum)")
        #expect(lo == (values["min"] as? NSNumber)?.doubleValue, "\(label): min")
        #expect(hi == (values["max"] as? NSNumber)?.doubleValue, "\(label): max")
        for pair in values["samples"] as? [[Any]] ?? [] {
            let i = (pair[0] as? NSNumber)?.intValue ?? 0
            let ref = (pair[1] as? NSNumber).map { Float($0.doubleValue) }
            if let ref { #expect(v.voxels[i] == ref, "\(label): voxel \(i)") } else { #expect(v.voxels[i].isNaN, "\(label): voxel \(i) NaN") }
        }
        if let all = values["all"] as? [Any] {
            var mismatches = 0
            for (i, value) in all.enumerated() {
                let ref = (value as? NSNumber).map { Float($0.doubleValue) }
                let ok = ref.map { v.voxels[i] == $0 } ?? v.voxels[i].isNaN
                if !ok { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(label): \(mismatches) voxels differ from the reference")
        }
    }

    /// Runs `body`, returning the ImagingError it throws (recording an issue if it does not throw one).
    static func imagingError(_ body: () throws -> Void) -> ImagingError? {
        do {
            try body()
            Issue.record("expected an ImagingError, but the call succeeded")
        } catch let e as ImagingError {
            return e
        } catch {
            Issue.record("expected an ImagingError, got \(error)")
        }
        return nil
    }
}

import Foundation
import MedGridImaging

/// One row of Reference/ibsi/reference_values.csv.
struct IBSIReferenceRow: Sendable, CustomStringConvertible {
    var line: Int
    var family: String
    var feature: String
    /// IBSI identifier after fixing the CSV's known slips (empty SZE id, shifted histogram percentile ids)
    /// and adding the IVH parameter suffix (`BC2M_10`, `BC2M_90`, `GBPN_10`, `GBPN_90`).
    var ibsiID: String
    /// Aggregation as reported by `RadiomicsResult` (`"3D:mrg"`, `"2D"`, `""`, …).
    var aggregation: String
    var value: Double
    /// Absolute tolerance: the CSV's, or half a unit in the third significant digit when it has none
    /// (the manual gives the phantom values to three significant digits).
    var tolerance: Double
    var description: String { "line \(line) \(ibsiID) \(aggregation) \(feature)" }
}

enum RadiomicsTestSupport {
    static func referenceURL(_ name: String) -> URL {
        Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("ibsi/\(name)")
    }

    /// Reads a `.f32` raw volume (little-endian float32, x fastest) with its JSON sidecar.
    static func loadRaw(_ stem: String) throws -> Volume {
        try loadRaw(referenceURL(stem))
    }

    /// Reads `<stem>.f32` (little-endian float32, x fastest) with its `<stem>.json` sidecar.
    static func loadRaw(_ stemURL: URL) throws -> Volume {
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stemURL.path + ".json"))) as! [String: Any]
        let size = (meta["size"] as! [NSNumber]).map(\.intValue)
        let spacing = (meta["spacing"] as! [NSNumber]).map(\.doubleValue)
        let origin = (meta["origin"] as! [NSNumber]).map(\.doubleValue)
        let data = try Data(contentsOf: URL(fileURLWithPath: stemURL.path + ".f32"))
        var voxels = [Float](repeating: 0, count: data.count / 4)
        data.withUnsafeBytes { raw in
            for i in 0..<voxels.count {
                voxels[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        }
        return Volume(
            size: SIMD3(size[0], size[1], size[2]), spacing: SIMD3(spacing[0], spacing[1], spacing[2]),
            origin: SIMD3(origin[0], origin[1], origin[2]), voxels: voxels)
    }

    static func splitCSV(_ line: String) -> [String] {
        var fields: [String] = []
        var cur = ""
        var quoted = false
        for ch in line {
            if ch == "\"" { quoted.toggle() } else if ch == "," && !quoted { fields.append(cur); cur = "" } else { cur.append(ch) }
        }
        fields.append(cur)
        return fields
    }

    static func aggregationCode(_ s: String) -> String {
        switch s {
        case "2D, averaged": "2D:avg"
        case "2D, slice-merged": "2D:s-mrg"
        case "2.5D, direction-merged": "2.5D:d-mrg"
        case "2.5D, merged": "2.5D:mrg"
        case "3D, averaged": "3D:avg"
        case "3D, merged": "3D:mrg"
        default: s
        }
    }

    static func threeSignificantTolerance(_ v: Double) -> Double {
        if v == 0 { return 1e-9 }
        let e = (log10(abs(v))).rounded(.down)
        return 0.5 * pow(10, e - 2) * (1 + 1e-9)
    }

    static func loadRows() throws -> [IBSIReferenceRow] {
        let text = try String(contentsOf: referenceURL("reference_values.csv"), encoding: .utf8)
        var rows: [IBSIReferenceRow] = []
        var seen: [String: Int] = [:]
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() where n > 0 {
            let f = splitCSV(String(line))
            guard f.count >= 6, let value = Double(f[4]) else { continue }
            var id = f[2]
            if id.isEmpty && f[1] == "Small zone emphasis" { id = "5QRC" }
            if f[1] == "10th discretised intensity percentile" { id = "GPMT" }
            if f[1] == "90th discretised intensity percentile" { id = "OZ0C" }
            let agg = aggregationCode(f[3])
            if id == "BC2M" || id == "GBPN" {
                let k = seen[id, default: 0]
                seen[id] = k + 1
                id += k == 0 ? "_10" : "_90"
            }
            let tol = Double(f[5]) ?? threeSignificantTolerance(value)
            rows.append(
                IBSIReferenceRow(line: n + 1, family: f[0], feature: f[1], ibsiID: id, aggregation: agg, value: value, tolerance: tol))
        }
        return rows
    }
}

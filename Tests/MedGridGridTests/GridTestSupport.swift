import Foundation
import MedGridTesting

/// Writes a manifest into a workspace's Jobs folder and returns its path.
func writeManifest(_ text: String, named name: String, in workspace: URL) throws -> String {
    let url = workspace.appendingPathComponent("Jobs/\(name).yaml")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

/// Reads a report file's bytes.
func reportBytes(_ folder: URL) throws -> Data {
    try Data(contentsOf: folder.appendingPathComponent("report.json"))
}

/// Makes a small phantom dataset inside a workspace.
func synthPhantom(in workspace: URL, name: String, cases: Int) async throws -> String {
    let out = try await TestSupport.medgrid(["dataset", "synth", "phantom", "--out", workspace.appendingPathComponent("Datasets/\(name)").path,
                                       "--cases", "\(cases)", "--size", "16x16x8", "--seed", "3"])
    guard out.status == 0 else { throw NSError(domain: "synth", code: Int(out.status), userInfo: [NSLocalizedDescriptionKey: out.stderr]) }
    return "../Datasets/\(name)"
}

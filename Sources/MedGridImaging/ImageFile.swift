public import Foundation

/// Reads an image by what it is: a folder is a DICOM series (one series, or name it); a file that carries
/// the DICOM Part 10 marker (`DICM` at byte 128) or ends in `.dcm` is DICOM; anything else is NIfTI-1/2
/// (`.nii`, `.nii.gz`). Every imaging kernel and task reads its inputs through this.
public enum ImageFile {
    public static func read(contentsOf url: URL) throws -> Volume {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ImagingError(.io, "\(url.path): no such file or folder")
        }
        if isDirectory.boolValue || isDICOM(url) { return try DICOM.readSeries(at: url) }
        return try NIfTI.read(contentsOf: url)
    }

    /// Whether a file is DICOM: the `.dcm` extension or the Part 10 marker.
    public static func isDICOM(_ url: URL) -> Bool {
        if url.pathExtension.lowercased() == "dcm" { return true }
        guard let h = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? h.close() }
        guard let head = try? h.read(upToCount: 132), head.count == 132 else { return false }
        return head[head.startIndex + 128 ..< head.startIndex + 132] == Data("DICM".utf8)
    }
}

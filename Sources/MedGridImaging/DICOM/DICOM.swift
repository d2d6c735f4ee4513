public import Foundation

/// Reads DICOM Part 10 files and series into a ``Volume``.
///
/// **Transfer syntaxes.** Implicit VR little endian, explicit VR little endian, explicit VR big endian,
/// deflated explicit VR little endian (inflated with a built-in RFC 1951 decoder) and RLE lossless.
/// Other (JPEG, JPEG-LS, JPEG 2000, MPEG, …) syntaxes are parsed for their metadata, but reading their
/// pixel data throws ``ImagingError`` `.unsupported` naming the transfer syntax UID and its name.
///
/// **Pixels.** Greyscale only (SamplesPerPixel 1, MONOCHROME1/2; MONOCHROME1 is *not* inverted, as in
/// SimpleITK and pydicom's `pixel_array`). BitsAllocated 8, 16 or 32; each sample is masked to its low
/// BitsStored bits and sign-extended from bit BitsStored − 1 when PixelRepresentation is 1. HighBit is
/// ignored (pydicom 3 and SimpleITK 2.5 both read the low BitsStored bits even when HighBit says otherwise).
/// Real values are `stored * RescaleSlope + RescaleIntercept` (slope 1, intercept 0 when absent; per frame
/// from the Pixel Value Transformation functional group in enhanced files). RT Dose's DoseGridScaling is
/// *not* applied (neither SimpleITK nor pydicom's `pixel_array` apply it). Voxels whose stored value equals
/// PixelPaddingValue (or lies between it and PixelPaddingRangeLimit) are set to **NaN** so that statistics
/// can exclude them; SimpleITK instead keeps the rescaled padding value.
///
/// **Geometry** (LPS, see ``Volume``). Index x runs along a row (DICOM column index), y down the rows,
/// z across slices. `direction` columns are the row cosine and column cosine of ImageOrientationPatient
/// (each normalised) and the slice normal `row × column`. `spacing.x` is PixelSpacing's second value (the
/// column spacing), `spacing.y` its first (row spacing). Slices (files, or frames of a multi-frame file)
/// are sorted by the projection of ImagePositionPatient onto the normal; `origin` is the position of the
/// first; `spacing.z` is `(last - first) / (n - 1)` of those projections. A series whose consecutive gaps
/// differ from that mean by more than 1e-3 relative (missing slices, mixed spacing) or that has two
/// slices at one position throws `.unsupported` listing the gap, rather than returning a distorted volume.
/// A single slice gets `spacing.z` = SpacingBetweenSlices, else 1 (as SimpleITK). Without
/// ImagePositionPatient/ImageOrientationPatient the origin is 0 and the direction the identity, and
/// without PixelSpacing the spacing is 1, as SimpleITK reports.
///
/// **Multi-frame.** Classic multi-frame files place frame k at ImagePositionPatient + offset_k · normal,
/// with offset_k from GridFrameOffsetVector (RT Dose; relative to its first value), else k × SpacingBetweenSlices,
/// else k × SliceThickness, else k. Enhanced multi-frame files take each frame's position, orientation,
/// pixel spacing and rescale from its Per-frame Functional Groups item, falling back to the Shared
/// Functional Groups and then to the top-level attributes.
///
/// **Stored type.** ``Volume/storedType`` is the DICOM sample type (uint8 … int32 from BitsAllocated and
/// PixelRepresentation) when no rescale applies; with integer slope and intercept and no padding it is the
/// narrower of int16/int32 that holds the values; otherwise (fractional rescale, or a declared
/// PixelPaddingValue, which becomes NaN) float32.
///
/// **Errors.** Everything throws ``ImagingError`` naming the file and, for structural problems, the byte
/// offset of the offending element (for deflated files, an offset in the inflated data set; parser and
/// pixel-length messages say so): `.truncated` when a length runs past the data, `.malformedHeader` for impossible values,
/// `.tooLarge` beyond the voxel limit or a deflate bomb, `.compression` for corrupt deflate/RLE streams,
/// `.unsupported` for valid input this reader does not handle, `.invalidArgument` for a folder with no
/// or several series.
///
/// Limits: at most ``maximumVoxelCount`` voxels; all sizes are checked against the bytes present before
/// anything voxel-sized is allocated.
public enum DICOM {
    /// Largest voxel count accepted (2^31).
    public static let maximumVoxelCount = 1 << 31
    /// Relative tolerance on slice gaps and on PixelSpacing agreement across slices (orientation cosines
    /// must agree to 1e-4 absolute).
    public static let spacingTolerance = 1e-3

    /// Parses one Part 10 file (preamble, "DICM", meta group, data set); pixel data is not decoded.
    public static func read(contentsOf url: URL) throws -> DICOMFile {
        let path = url.relativePath
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: url, options: .mappedIfSafe))
        } catch {
            throw ImagingError(.io, path: path, "cannot read file: \(error.localizedDescription)")
        }
        return try parse(bytes, path: path)
    }

    /// Parses a Part 10 file already in memory; `path` labels errors.
    public static func parse(_ bytes: [UInt8], path: String = "<memory>") throws -> DICOMFile {
        try DICOMParser.parseFile(bytes, path: path)
    }

    /// Reads a series into one volume.
    ///
    /// `url` is either one file (single- or multi-frame) or a folder: every regular, non-hidden file in it
    /// (not in subfolders) that starts with the Part 10 "DICM" marker and has Pixel Data is read, and the
    /// files are grouped by SeriesInstanceUID. If the folder holds several series and `seriesUID` is `nil`,
    /// this throws an error listing them (UID, file count, description); pass one of them to choose.
    public static func readSeries(at url: URL, seriesUID: String? = nil) throws -> Volume {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ImagingError(.io, path: url.relativePath, "no such file or folder")
        }
        if !isDirectory.boolValue {
            let file = try read(contentsOf: url)
            if let seriesUID, let uid = file.dataset.string(.seriesInstanceUID), uid != seriesUID {
                throw ImagingError(.invalidArgument, path: file.path, "file belongs to series \(uid), not \(seriesUID)")
            }
            return try volume(from: [file])
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
        } catch {
            throw ImagingError(.io, path: url.relativePath, "cannot list folder: \(error.localizedDescription)")
        }
        // Only the files of one series are kept in memory: the chosen one, or else the first one met
        // (a second series makes the call fail anyway); others are only counted for the error message.
        var kept = [DICOMFile]()
        var keptUID: String? = seriesUID
        var summary = [String: (count: Int, description: String)]()
        for name in names where !name.hasPrefix(".") {
            let fileURL = url.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: fileURL.path, isDirectory: &isDir), !isDir.boolValue else { continue }
            guard hasPart10Marker(fileURL) else { continue }
            let file = try read(contentsOf: fileURL)
            guard file.dataset.contains(.pixelData) else { continue }
            let uid = file.dataset.string(.seriesInstanceUID) ?? ""
            summary[uid, default: (0, file.dataset.string(.seriesDescription) ?? "")].count += 1
            if keptUID == nil { keptUID = uid }
            if uid == keptUID { kept.append(file) }
        }
        guard !summary.isEmpty else {
            throw ImagingError(.invalidArgument, path: url.relativePath, "folder holds no DICOM Part 10 files with Pixel Data")
        }
        func listing() -> String {
            summary.sorted { $0.key < $1.key }.map { uid, s in
                let description = s.description.isEmpty ? "" : " \"\(s.description)\""
                return "\(uid.isEmpty ? "<no SeriesInstanceUID>" : uid) (\(s.count) files\(description))"
            }.joined(separator: ", ")
        }
        if let seriesUID {
            guard !kept.isEmpty else {
                throw ImagingError(.invalidArgument, path: url.relativePath, "folder has no series \(seriesUID); it holds: \(listing())")
            }
            return try volume(from: kept)
        }
        guard summary.count == 1 else {
            throw ImagingError(
                .invalidArgument, path: url.relativePath,
                "folder holds \(summary.count) series; choose one with seriesUID: \(listing())")
        }
        return try volume(from: kept)
    }

    private static func hasPart10Marker(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 132), head.count == 132 else { return false }
        return head.suffix(4).elementsEqual("DICM".utf8)
    }

    /// Builds one volume from parsed files of a single series (see the type's documentation).
    public static func volume(from files: [DICOMFile]) throws -> Volume {
        guard let first = files.first else {
            throw ImagingError(.invalidArgument, "no files to build a volume from")
        }
        var slices = [DICOMSlice]()
        var formats = [DICOMPixelFormat]()
        for (index, file) in files.enumerated() {
            let format = try DICOMPixelFormat(file.dataset, path: file.path)
            if index > 0, format.rows != formats[0].rows || format.columns != formats[0].columns {
                throw ImagingError(
                    .sizeMismatch, path: file.path, byteOffset: file.dataset[.rows]?.valueOffset,
                    "image is \(format.rows)×\(format.columns) (rows×columns) but \(first.path) is \(formats[0].rows)×\(formats[0].columns)")
            }
            formats.append(format)
            try DICOMPixels.checkAvailable(file, format)
            slices += try DICOMGeometry.slices(of: file, format: format, fileIndex: index)
        }
        let (frameCount, overflow) = formats[0].pixelsPerFrame.multipliedReportingOverflow(by: slices.count)
        guard !overflow, frameCount <= maximumVoxelCount else {
            throw ImagingError(.tooLarge, path: first.path, "\(slices.count) slices of \(formats[0].rows)×\(formats[0].columns) exceed the \(maximumVoxelCount)-voxel limit")
        }
        let layout = try DICOMGeometry.arrange(slices, files: files)
        let columns = formats[0].columns, rows = formats[0].rows
        let perFrame = rows * columns
        var voxels = [Float](repeating: 0, count: perFrame * slices.count)
        var decoded = [Int: (frames: [ArraySlice<UInt8>], bigEndian: Bool)]()
        var integral = true
        for (z, slice) in layout.order.enumerated() {
            let s = slices[slice]
            if decoded[s.fileIndex] == nil {
                decoded = [s.fileIndex: try DICOMPixels.frameBytes(files[s.fileIndex], formats[s.fileIndex])]
            }
            guard let frames = decoded[s.fileIndex] else { continue }
            voxels.withUnsafeMutableBufferPointer { out in
                DICOMPixels.convert(
                    frames.frames[s.frameIndex], bigEndian: frames.bigEndian, format: formats[s.fileIndex],
                    rescale: s.rescale, into: UnsafeMutableBufferPointer(rebasing: out[(z * perFrame)..<((z + 1) * perFrame)]))
            }
            if s.rescale.slope != s.rescale.slope.rounded() || s.rescale.intercept != s.rescale.intercept.rounded()
                || formats[s.fileIndex].padding != nil
            {
                integral = false
            }
        }
        var storedType = formats[0].storedType
        if layout.rescaled || formats.contains(where: { $0.storedType != storedType }) {
            storedType = integral ? integerType(voxels) : .float32
        }
        return Volume(
            size: SIMD3(columns, rows, slices.count), spacing: layout.spacing, origin: layout.origin,
            direction: layout.direction, voxels: voxels, storedType: storedType)
    }

    /// The narrowest of int16/int32 holding every value, else float32.
    private static func integerType(_ voxels: [Float]) -> VoxelType {
        var lo = Float.infinity, hi = -Float.infinity
        for v in voxels {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        if lo >= -32768 && hi <= 32767 { return .int16 }
        if lo >= -2_147_483_648 && hi < 2_147_483_648 { return .int32 }
        return .float32
    }
}

/// The Image Pixel module of one file (PS3.3 C.7.6.3), validated.
struct DICOMPixelFormat: Sendable {
    var rows: Int
    var columns: Int
    var frames: Int
    var bitsAllocated: Int
    var bitsStored: Int
    /// Read for completeness; samples are taken from the low BitsStored bits whatever it says.
    var highBit: Int
    var signed: Bool
    /// Stored values in this closed range are padding (PixelPaddingValue … PixelPaddingRangeLimit).
    var padding: ClosedRange<Int64>?

    var bytesPerSample: Int { bitsAllocated / 8 }
    var pixelsPerFrame: Int { rows * columns }

    /// The smallest ``VoxelType`` holding every stored value.
    var storedType: VoxelType {
        switch (bitsAllocated, signed) {
        case (8, false): .uint8
        case (8, true): .int8
        case (16, false): .uint16
        case (16, true): .int16
        case (32, false): .uint32
        default: .int32
        }
    }

    init(_ ds: DICOMDataset, path: String) throws {
        func required(_ tag: DICOMTag, _ name: String) throws -> Int {
            guard let v = try ds.int(tag) else {
                throw ImagingError(.malformedHeader, path: path, "\(name) \(tag) is missing; it is required for pixel data")
            }
            return v
        }
        func offset(_ tag: DICOMTag) -> Int? { ds[tag]?.valueOffset }
        let samples = try ds.int(.samplesPerPixel) ?? 1
        let photometric = ds.string(.photometricInterpretation) ?? "MONOCHROME2"
        guard samples == 1, photometric.hasPrefix("MONOCHROME") else {
            throw ImagingError(
                .unsupported, path: path, byteOffset: offset(.samplesPerPixel) ?? offset(.photometricInterpretation),
                "image has \(samples) samples per pixel (\(photometric)); only single-sample greyscale "
                    + "(MONOCHROME1/MONOCHROME2) images can be read into a Volume")
        }
        rows = try required(.rows, "Rows")
        columns = try required(.columns, "Columns")
        frames = try ds.int(.numberOfFrames) ?? 1
        guard rows > 0, columns > 0 else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: offset(.rows), "image is \(rows) rows × \(columns) columns; both must be positive")
        }
        guard frames > 0 else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: offset(.numberOfFrames), "NumberOfFrames is \(frames), expected at least 1")
        }
        let (perFrame, o1) = rows.multipliedReportingOverflow(by: columns)
        let (total, o2) = perFrame.multipliedReportingOverflow(by: frames)
        guard !o1, !o2, total <= DICOM.maximumVoxelCount else {
            throw ImagingError(
                .tooLarge, path: path, byteOffset: offset(.numberOfFrames) ?? offset(.rows),
                "\(rows) rows × \(columns) columns × \(frames) frames exceeds the \(DICOM.maximumVoxelCount)-voxel limit")
        }
        bitsAllocated = try required(.bitsAllocated, "BitsAllocated")
        guard [8, 16, 32].contains(bitsAllocated) else {
            throw ImagingError(
                bitsAllocated == 1 || bitsAllocated == 64 ? .unsupported : .malformedHeader, path: path,
                byteOffset: offset(.bitsAllocated), "BitsAllocated is \(bitsAllocated); only 8, 16 and 32 are read")
        }
        bitsStored = try ds.int(.bitsStored) ?? bitsAllocated
        highBit = try ds.int(.highBit) ?? (bitsStored - 1)
        guard bitsStored >= 1, bitsStored <= bitsAllocated else {
            throw ImagingError(
                .malformedHeader, path: path, byteOffset: offset(.bitsStored),
                "BitsStored is \(bitsStored), expected 1...BitsAllocated (\(bitsAllocated))")
        }
        let representation = try ds.int(.pixelRepresentation) ?? 0
        guard representation == 0 || representation == 1 else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: offset(.pixelRepresentation), "PixelRepresentation is \(representation), expected 0 or 1")
        }
        signed = representation == 1
        padding = nil
        if let value = Self.rawInteger(ds[.pixelPaddingValue], signed: signed) {
            let limit = Self.rawInteger(ds[.pixelPaddingRangeLimit], signed: signed) ?? value
            padding = min(value, limit)...max(value, limit)
        }
    }

    /// The first value of a US/SS (or UL/SL) element, interpreted with the pixel data's signedness
    /// (PixelPaddingValue's VR follows PixelRepresentation, and implicit VR cannot say which).
    private static func rawInteger(_ e: DICOMElement?, signed: Bool) -> Int64? {
        guard let e, let b = e.bytes, b.count == 2 || b.count == 4 else { return nil }
        var v: UInt32 = 0
        for k in 0..<b.count { v |= UInt32(b[b.startIndex + k]) << (8 * (e.bigEndian ? b.count - 1 - k : k)) }
        if b.count == 2 { return signed ? Int64(Int16(truncatingIfNeeded: v)) : Int64(UInt16(truncatingIfNeeded: v)) }
        return signed ? Int64(Int32(bitPattern: v)) : Int64(v)
    }
}

/// Rescale from stored values to real units for one frame: `value = stored * slope + intercept`.
struct DICOMRescale: Sendable, Equatable {
    var slope: Double = 1
    var intercept: Double = 0
}

enum DICOMPixels {
    /// The raw (little-endian-or-file-order) bytes of each frame, or an error naming the problem.
    static func frameBytes(_ file: DICOMFile, _ f: DICOMPixelFormat) throws -> (frames: [ArraySlice<UInt8>], bigEndian: Bool) {
        let ts = file.transferSyntaxUID
        guard let element = file.dataset[.pixelData] else {
            throw ImagingError(.malformedHeader, path: file.path, "file has no Pixel Data (7FE0,0010)")
        }
        let frameBytes = f.pixelsPerFrame * f.bytesPerSample
        switch element.content {
        case .bytes(let data):
            guard ts != DICOMTransferSyntax.rleLossless, DICOMTransferSyntax.supported.contains(ts) else {
                throw unsupportedSyntax(file, element.offset)
            }
            let needed = frameBytes * f.frames
            guard data.count >= needed else {
                throw ImagingError(
                    .truncated, path: file.path, byteOffset: element.valueOffset,
                    "Pixel Data holds \(data.count) bytes but \(f.rows) rows × \(f.columns) columns × \(f.frames) frames × "
                        + "\(f.bytesPerSample) bytes need \(needed)" + (file.isDeflated ? " (offset in the inflated data set)" : ""))
            }
            let frames = (0..<f.frames).map { k in
                data[(data.startIndex + k * frameBytes)..<(data.startIndex + (k + 1) * frameBytes)]
            }
            return (frames, element.bigEndian)
        case .fragments(let fragments):
            guard ts == DICOMTransferSyntax.rleLossless else { throw unsupportedSyntax(file, element.offset) }
            let encoded = try framesOfFragments(fragments, frames: f.frames, path: file.path, offset: element.offset)
            var out = [ArraySlice<UInt8>]()
            out.reserveCapacity(f.frames)
            for (k, e) in encoded.enumerated() {
                out.append(try RLE.decodeFrame(e, format: f, path: file.path, frame: k)[...])
            }
            return (out, false)
        case .sequence:
            throw ImagingError(.malformedHeader, path: file.path, byteOffset: element.offset, "Pixel Data is encoded as a sequence")
        }
    }

    /// Checks, before any per-frame structure is built, that the pixel data can hold the declared frames:
    /// native data must have rows × columns × frames × bytes, RLE at least one 64-byte header per frame.
    static func checkAvailable(_ file: DICOMFile, _ f: DICOMPixelFormat) throws {
        guard let element = file.dataset[.pixelData] else {
            throw ImagingError(.malformedHeader, path: file.path, "file has no Pixel Data (7FE0,0010)")
        }
        let ts = file.transferSyntaxUID
        switch element.content {
        case .bytes(let data):
            guard ts != DICOMTransferSyntax.rleLossless, DICOMTransferSyntax.supported.contains(ts) else {
                throw unsupportedSyntax(file, element.offset)
            }
            let needed = f.pixelsPerFrame * f.bytesPerSample * f.frames
            guard data.count >= needed else {
                throw ImagingError(
                    .truncated, path: file.path, byteOffset: element.valueOffset,
                    "Pixel Data holds \(data.count) bytes but \(f.rows) rows × \(f.columns) columns × \(f.frames) frames × "
                        + "\(f.bytesPerSample) bytes need \(needed)" + (file.isDeflated ? " (offset in the inflated data set)" : ""))
            }
        case .fragments(let fragments):
            guard ts == DICOMTransferSyntax.rleLossless else { throw unsupportedSyntax(file, element.offset) }
            let total = fragments.dropFirst().reduce(0) { $0 + $1.count }
            guard total >= 64 * f.frames else {
                throw ImagingError(
                    .truncated, path: file.path, byteOffset: element.offset,
                    "encapsulated Pixel Data holds \(total) bytes, too few for \(f.frames) frames")
            }
        case .sequence:
            throw ImagingError(.malformedHeader, path: file.path, byteOffset: element.offset, "Pixel Data is encoded as a sequence")
        }
    }

    private static func unsupportedSyntax(_ file: DICOMFile, _ offset: Int) -> ImagingError {
        let ts = file.transferSyntaxUID
        return ImagingError(
            .unsupported, path: file.path, byteOffset: offset,
            "pixel data uses transfer syntax \(ts) (\(DICOMVR.transferSyntaxName(ts))), which this reader does not decode; "
                + "supported: implicit/explicit VR little endian, explicit VR big endian, deflated and RLE lossless "
                + "(convert with e.g. `gdcmconv --raw` or `dcmdjpeg`)")
    }

    /// Splits encapsulated fragments (the first is the basic offset table) into one byte run per frame.
    static func framesOfFragments(_ items: [ArraySlice<UInt8>], frames: Int, path: String, offset: Int) throws -> [[UInt8]] {
        guard items.count >= 2 else {
            throw ImagingError(.truncated, path: path, byteOffset: offset, "encapsulated Pixel Data has no fragments after the basic offset table")
        }
        let fragments = Array(items.dropFirst())
        if fragments.count == frames { return fragments.map { Array($0) } }
        if frames == 1 { return [fragments.flatMap { $0 }] }
        // Use the basic offset table: frame k starts at byte offsets[k] counted from the first fragment's item tag.
        let table = items[0]
        guard table.count == 4 * frames else {
            throw ImagingError(
                .malformedHeader, path: path, byteOffset: offset,
                "\(fragments.count) fragments for \(frames) frames and the basic offset table has \(table.count / 4) entries (expected \(frames))")
        }
        let starts = (0..<frames).map { k -> Int in
            let i = table.startIndex + 4 * k
            return Int(UInt32(table[i]) | UInt32(table[i + 1]) << 8 | UInt32(table[i + 2]) << 16 | UInt32(table[i + 3]) << 24)
        }
        var result = [[UInt8]](repeating: [], count: frames)
        var position = 0
        for fragment in fragments {
            guard let k = starts.lastIndex(where: { $0 <= position }) else {
                throw ImagingError(.malformedHeader, path: path, byteOffset: offset, "basic offset table does not start at 0")
            }
            result[k].append(contentsOf: fragment)
            position += 8 + fragment.count
        }
        return result
    }

    /// Writes frame `bytes` as real values into `out` (pixelsPerFrame values): each sample is masked to
    /// its low BitsStored bits (HighBit is ignored, as pydicom and SimpleITK/GDCM do), sign-extended when
    /// signed; padding becomes NaN; the rest is rescaled.
    static func convert(
        _ bytes: ArraySlice<UInt8>, bigEndian: Bool, format f: DICOMPixelFormat, rescale: DICOMRescale,
        into out: UnsafeMutableBufferPointer<Float>
    ) {
        let count = f.pixelsPerFrame
        let width = f.bytesPerSample
        let mask: UInt32 = f.bitsStored == 32 ? .max : (1 << UInt32(f.bitsStored)) - 1
        let signBit: UInt32 = 1 << UInt32(f.bitsStored - 1)
        let bits = Int64(f.bitsStored)
        let slope = rescale.slope, intercept = rescale.intercept
        let identity = slope == 1 && intercept == 0
        let lowPad = f.padding?.lowerBound ?? 1, highPad = f.padding?.upperBound ?? 0
        bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                var v: UInt32
                switch width {
                case 1: v = UInt32(raw[i])
                case 2:
                    let w = raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    v = UInt32(bigEndian ? UInt16(bigEndian: w) : UInt16(littleEndian: w))
                default:
                    let w = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                    v = bigEndian ? UInt32(bigEndian: w) : UInt32(littleEndian: w)
                }
                v &= mask
                var stored = Int64(v)
                if f.signed && v & signBit != 0 { stored -= Int64(1) << bits }
                if stored >= lowPad && stored <= highPad {
                    out[i] = .nan
                } else {
                    out[i] = identity ? Float(stored) : Float(Double(stored) * slope + intercept)
                }
            }
        }
    }
}

/// DICOM RLE Lossless decoding (PS3.5 Annex G): a 64-byte header of segment offsets, one PackBits
/// segment per byte plane, most significant plane first.
enum RLE {
    /// Decodes one frame into little-endian samples (`rows * columns * bytesPerSample` bytes).
    static func decodeFrame(_ data: [UInt8], format f: DICOMPixelFormat, path: String, frame: Int) throws -> [UInt8] {
        func fail(_ message: String) -> ImagingError {
            ImagingError(.compression, path: path, "RLE frame \(frame): " + message)
        }
        guard data.count >= 64 else { throw fail("has \(data.count) bytes, fewer than its 64-byte header") }
        func u32(_ i: Int) -> Int {
            Int(UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24)
        }
        let segments = u32(0)
        let width = f.bytesPerSample
        guard segments == width else {
            throw fail("header declares \(segments) segments, expected \(width) (one per byte of a \(f.bitsAllocated)-bit sample)")
        }
        let offsets = (0..<segments).map { u32(4 + 4 * $0) }
        let pixels = f.pixelsPerFrame
        var out = [UInt8](repeating: 0, count: pixels * width)
        for s in 0..<segments {
            let start = offsets[s]
            let end = s + 1 < segments ? offsets[s + 1] : data.count
            guard start >= 64, start <= end, end <= data.count else {
                throw fail("segment \(s) spans bytes \(start)..<\(end) of a \(data.count)-byte frame (expected 64 <= start <= end)")
            }
            let plane = width - 1 - s  // segment 0 holds the most significant byte
            var p = start, n = 0
            while n < pixels && p < end {
                let control = Int(Int8(bitPattern: data[p]))
                p += 1
                if control >= 0 {
                    let run = control + 1
                    guard p + run <= end else { throw fail("literal run of \(run) bytes passes the end of segment \(s)") }
                    for k in 0..<min(run, pixels - n) { out[(n + k) * width + plane] = data[p + k] }
                    n += run
                    p += run
                } else if control != -128 {
                    let run = 1 - control
                    guard p < end else { throw fail("replicate run passes the end of segment \(s)") }
                    let byte = data[p]
                    p += 1
                    for k in 0..<min(run, pixels - n) { out[(n + k) * width + plane] = byte }
                    n += run
                }
            }
            guard n >= pixels else {
                throw fail("segment \(s) decodes to \(n) bytes, expected \(pixels) (rows × columns)")
            }
        }
        return out
    }
}

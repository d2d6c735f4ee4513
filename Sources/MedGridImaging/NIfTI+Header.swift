/// The fields of a NIfTI-1 or NIfTI-2 header that this module uses, already validated.
struct NIfTIHeader: Sendable {
    var version: Int
    var headerSize: Int
    var bigEndian: Bool
    var dims: [Int]  // dim[0...7]
    var datatype: VoxelType
    var pixdim: [Double]  // pixdim[0...7]
    var voxOffset: Int
    var sclSlope: Double
    var sclInter: Double
    var qformCode: Int
    var sformCode: Int
    var quatern: SIMD3<Double>  // b, c, d
    var qoffset: SIMD3<Double>
    var srow: [[Double]]  // 3 rows of 4
    var layout: Layout

    /// Byte offsets of the fields, which differ between NIfTI-1 and NIfTI-2; used in error messages.
    struct Layout: Sendable {
        var dim, datatype, pixdim, voxOffset, sclSlope, qformCode, quatern, srow, magic: Int
        var intSize: Int  // dim entries: 2 (int16) or 8 (int64)
        var realSize: Int  // pixdim etc.: 4 (float32) or 8 (float64)
        var codeSize: Int  // qform_code/sform_code: 2 or 4

        static let v1 = Layout(
            dim: 40, datatype: 70, pixdim: 76, voxOffset: 108, sclSlope: 112, qformCode: 252,
            quatern: 256, srow: 280, magic: 344, intSize: 2, realSize: 4, codeSize: 2)
        static let v2 = Layout(
            dim: 16, datatype: 12, pixdim: 104, voxOffset: 168, sclSlope: 176, qformCode: 344,
            quatern: 352, srow: 400, magic: 4, intSize: 8, realSize: 8, codeSize: 4)
    }

    var size: SIMD3<Int> { SIMD3(dims[1], dims[2], dims[3]) }
    var voxelCount: Int { dims[1] * dims[2] * dims[3] }

    /// Names for NIfTI datatype codes this module does not read.
    static func datatypeName(_ code: Int) -> String {
        switch code {
        case 0: "unknown"
        case 1: "binary"
        case 32: "complex64"
        case 128: "rgb24"
        case 1024: "int64"
        case 1280: "uint64"
        case 1536: "float128"
        case 1792: "complex128"
        case 2048: "complex256"
        case 2304: "rgba32"
        default: "not a NIfTI datatype"
        }
    }

    /// Parses and validates the header at the start of `bytes` (at least the first 540 bytes of
    /// the decompressed file, or all of it if shorter).
    init(bytes: [UInt8], path: String?, maximumVoxelCount: Int) throws {
        func fail(_ code: ImagingError.Code, _ offset: Int?, _ message: String) -> ImagingError {
            ImagingError(code, path: path, byteOffset: offset, message)
        }
        guard bytes.count >= 4 else {
            throw fail(.truncated, bytes.count, "file is \(bytes.count) bytes, too short for a NIfTI header")
        }
        let rawSize = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        let version: Int
        let bigEndian: Bool
        switch (rawSize, rawSize.byteSwapped) {
        case (348, _): (version, bigEndian) = (1, false)
        case (_, 348): (version, bigEndian) = (1, true)
        case (540, _): (version, bigEndian) = (2, false)
        case (_, 540): (version, bigEndian) = (2, true)
        default:
            throw fail(
                .malformedHeader, 0,
                "sizeof_hdr is \(Int32(bitPattern: rawSize)) (expected 348 for NIfTI-1 or 540 for NIfTI-2, either byte order)"
            )
        }
        let headerSize = version == 1 ? 348 : 540
        let l: Layout = version == 1 ? .v1 : .v2
        self.version = version
        self.bigEndian = bigEndian
        self.headerSize = headerSize
        self.layout = l
        guard bytes.count >= headerSize else {
            throw fail(
                .truncated, bytes.count,
                "header is truncated: the file has \(bytes.count) bytes but a NIfTI-\(version) header needs \(headerSize)"
            )
        }
        let reader = Reader(bytes: bytes, bigEndian: bigEndian)

        let magic = Array(bytes[l.magic..<l.magic + 4])
        let expected: [UInt8] = version == 1 ? [0x6e, 0x2b, 0x31, 0] : [0x6e, 0x2b, 0x32, 0]  // "n+1\0" / "n+2\0"
        if magic != expected {
            if magic == [0x6e, 0x69, UInt8(ascii: version == 1 ? "1" : "2"), 0] {
                throw fail(
                    .unsupported, l.magic,
                    "two-file NIfTI (.hdr/.img pair, magic \"ni\(version)\") is not supported; use a single-file .nii"
                )
            }
            let shown = magic.map { (0x20..<0x7f).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }
            throw fail(.malformedHeader, l.magic, "magic is \"\(shown.joined())\" (expected \"n+\(version)\\0\")")
        }

        let code = Int(reader.int(l.datatype, 2))
        guard let type = VoxelType(rawValue: Int16(truncatingIfNeeded: code)), Int(type.rawValue) == code else {
            throw fail(.unsupported, l.datatype, "unsupported datatype code \(code) (\(Self.datatypeName(code)))")
        }
        datatype = type

        let dims = (0..<8).map { Int(reader.int(l.dim + $0 * l.intSize, l.intSize)) }
        guard (1...7).contains(dims[0]) else {
            throw fail(.malformedHeader, l.dim, "dim[0] is \(dims[0]) (expected 1...7)")
        }
        for i in 1...dims[0] where dims[i] <= 0 {
            throw fail(.malformedHeader, l.dim + i * l.intSize, "dim[\(i)] is \(dims[i]) (every used dimension must be >= 1)")
        }
        if dims[0] >= 4 {
            for i in 4...dims[0] where dims[i] != 1 {
                throw fail(
                    .unsupported, l.dim + i * l.intSize,
                    "dim[0] is \(dims[0]) with dim[\(i)] = \(dims[i]); only single 3-D volumes are read"
                )
            }
        }
        var used = dims
        for i in (dims[0] + 1)..<8 { used[i] = 1 }
        var count = 1
        for i in 1...3 {
            let (product, overflow) = count.multipliedReportingOverflow(by: used[i])
            guard !overflow, product <= maximumVoxelCount else {
                throw fail(
                    .tooLarge, l.dim,
                    "dimensions \(used[1])x\(used[2])x\(used[3]) exceed the limit of \(maximumVoxelCount) voxels"
                )
            }
            count = product
        }
        self.dims = used

        var pixdim = (0..<8).map { reader.real(l.pixdim + $0 * l.realSize, l.realSize) }
        for i in 1...3 {
            guard pixdim[i].isFinite else {
                throw fail(.malformedHeader, l.pixdim + i * l.realSize, "pixdim[\(i)] is \(pixdim[i]) (spacing must be finite)")
            }
            pixdim[i] = pixdim[i] == 0 ? 1 : abs(pixdim[i])
        }
        self.pixdim = pixdim

        let minimumOffset = headerSize + 4
        let offset: Double =
            version == 1 ? reader.real(l.voxOffset, 4) : Double(reader.int(l.voxOffset, 8))
        guard offset.isFinite, offset == offset.rounded(), offset < 1e15 else {
            throw fail(.malformedHeader, l.voxOffset, "vox_offset \(offset) is not a whole byte offset")
        }
        guard offset >= Double(minimumOffset) else {
            throw fail(
                .malformedHeader, l.voxOffset,
                "vox_offset \(Int(offset)) is inside the \(headerSize)-byte header (expected >= \(minimumOffset))"
            )
        }
        voxOffset = Int(offset)

        // Per the standard, scl_slope == 0 means "no scaling"; NaN or infinite slopes are treated the same.
        let slope = reader.real(l.sclSlope, l.realSize)
        let inter = reader.real(l.sclSlope + l.realSize, l.realSize)
        if slope.isFinite && slope != 0 {
            (sclSlope, sclInter) = (slope, inter.isFinite ? inter : 0)
        } else {
            (sclSlope, sclInter) = (1, 0)
        }

        qformCode = Int(reader.int(l.qformCode, l.codeSize))
        sformCode = Int(reader.int(l.qformCode + l.codeSize, l.codeSize))
        let q = (0..<6).map { reader.real(l.quatern + $0 * l.realSize, l.realSize) }
        quatern = SIMD3(q[0], q[1], q[2])
        qoffset = SIMD3(q[3], q[4], q[5])
        srow = (0..<3).map { r in (0..<4).map { c in reader.real(l.srow + (r * 4 + c) * l.realSize, l.realSize) } }
    }

    /// Reads integers and reals of either byte order from the header bytes.
    struct Reader {
        let bytes: [UInt8]
        let bigEndian: Bool

        func raw(_ offset: Int, _ width: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<width {
                let byte = UInt64(bytes[bigEndian ? offset + i : offset + width - 1 - i])
                value = value << 8 | byte
            }
            return value
        }

        func int(_ offset: Int, _ width: Int) -> Int64 {
            let value = raw(offset, width)
            switch width {
            case 2: return Int64(Int16(truncatingIfNeeded: value))
            case 4: return Int64(Int32(truncatingIfNeeded: value))
            default: return Int64(bitPattern: value)
            }
        }

        func real(_ offset: Int, _ width: Int) -> Double {
            width == 4
                ? Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw(offset, 4))))
                : Double(bitPattern: raw(offset, 8))
        }
    }
}

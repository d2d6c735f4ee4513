public import Foundation

/// Reads and writes single-file NIfTI images (`.nii`, `.nii.gz`).
///
/// Reading accepts NIfTI-1 (`sizeof_hdr` 348) and NIfTI-2 (540) in either byte order, gzip-compressed
/// or not (detected from the content, not the name), with voxel types uint8, int8, int16, uint16,
/// int32, uint32, float32 and float64. Voxels are returned in real units: `scl_slope`/`scl_inter` are
/// applied unless the slope is 0 (or not finite), which the standard defines as "no scaling".
/// Spacing comes from `pixdim[1...3]` (absolute values; 0 read as 1). Geometry comes from the sform
/// if `sform_code > 0`, else the qform quaternion if `qform_code > 0` (with `pixdim[0]` < 0 as qfac
/// -1), and is converted from NIfTI's RAS to ITK's LPS convention (see ``Volume``); with neither,
/// the direction is the LPS identity and the origin zero, as SimpleITK reports. Only one 3-D volume
/// is read: `dim[0]` 1...3, or 4...7 with every extra dimension 1. Every malformed input throws an
/// ``ImagingError`` naming the byte offset of the offending field, and sizes are checked against
/// the data present before anything voxel-sized is allocated.
public enum NIfTI {
    /// Largest voxel count accepted (2^31).
    public static let maximumVoxelCount = 1 << 31
    /// Extra decompressed bytes tolerated after the declared voxel data in a `.nii.gz`.
    static let trailingSlack = 1 << 20

    /// Reads the single 3-D volume stored in a `.nii` or `.nii.gz` file.
    public static func read(contentsOf url: URL) throws -> Volume {
        let path = url.relativePath
        let file: Data
        do {
            file = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw ImagingError(.io, path: path, "cannot read file: \(error.localizedDescription)")
        }
        return try decode(file, path: path)
    }

    /// Decodes a NIfTI file already in memory (possibly gzip-compressed); `path` only labels errors.
    public static func decode(_ file: Data, path: String? = nil) throws -> Volume {
        do {
            if Gzip.isGzip(file) {
                let prefix = try Gzip.decompressPrefix(file, count: 540)
                let header = try NIfTIHeader(bytes: [UInt8](prefix), path: path, maximumVoxelCount: maximumVoxelCount)
                let needed = try requiredBytes(header, path: path)
                let data: Data
                do {
                    data = try Gzip.decompress(file, limit: needed + trailingSlack)
                } catch let error as ImagingError where error.code == .tooLarge {
                    throw ImagingError(
                        .tooLarge, path: path,
                        "decompresses to more than the \(needed) bytes the header declares (plus \(trailingSlack) "
                            + "tolerated); refusing a possible zip bomb"
                    )
                }
                return try volume(header, data, needed: needed, path: path)
            } else {
                let header = try NIfTIHeader(
                    bytes: [UInt8](file.prefix(540)), path: path, maximumVoxelCount: maximumVoxelCount)
                let needed = try requiredBytes(header, path: path)
                return try volume(header, file, needed: needed, path: path)
            }
        } catch var error as ImagingError {
            if error.path == nil { error.path = path }
            throw error
        }
    }

    /// Byte count of header, extensions and voxel data together, checked for overflow.
    private static func requiredBytes(_ header: NIfTIHeader, path: String?) throws -> Int {
        let (dataBytes, o1) = header.voxelCount.multipliedReportingOverflow(by: header.datatype.byteCount)
        let (total, o2) = header.voxOffset.addingReportingOverflow(dataBytes)
        guard !o1, !o2 else {
            throw ImagingError(.tooLarge, path: path, byteOffset: header.layout.dim, "declared data size overflows")
        }
        return total
    }

    private static func volume(_ header: NIfTIHeader, _ data: Data, needed: Int, path: String?) throws -> Volume {
        let size = header.size
        let described = "\(size.x)x\(size.y)x\(size.z) \(header.datatype) voxels"
        guard header.voxOffset <= data.count else {
            throw ImagingError(
                .truncated, path: path, byteOffset: header.layout.voxOffset,
                "vox_offset \(header.voxOffset) is beyond the end of the data (\(data.count) bytes)"
            )
        }
        guard needed <= data.count else {
            throw ImagingError(
                .truncated, path: path, byteOffset: data.count,
                "voxel data is truncated: the header declares \(described) (\(needed - header.voxOffset) bytes from byte "
                    + "\(header.voxOffset)) but only \(data.count - header.voxOffset) bytes are present"
            )
        }
        let geometry = try self.geometry(header, path: path)
        let voxels = data.withUnsafeBytes { raw in
            decodeVoxels(
                UnsafeRawBufferPointer(rebasing: raw[header.voxOffset..<needed]), count: header.voxelCount,
                type: header.datatype, bigEndian: header.bigEndian, slope: header.sclSlope, inter: header.sclInter
            )
        }
        return Volume(
            size: size, spacing: SIMD3(header.pixdim[1], header.pixdim[2], header.pixdim[3]),
            origin: geometry.origin, direction: geometry.direction, voxels: voxels, storedType: header.datatype
        )
    }

    /// LPS origin and direction from sform, qform or spacing alone (in that order of preference).
    static func geometry(_ h: NIfTIHeader, path: String?) throws -> (origin: SIMD3<Double>, direction: [Double]) {
        var ras = [Double](repeating: 0, count: 9)  // row-major, columns unit length
        var offset = SIMD3<Double>(0, 0, 0)
        if h.sformCode > 0 {
            for c in 0..<3 {
                let column = (0..<3).map { h.srow[$0][c] }
                let norm = sqrt(column.reduce(0) { $0 + $1 * $1 })
                guard norm.isFinite, norm > 0 else {
                    throw ImagingError(
                        .malformedHeader, path: path, byteOffset: h.layout.srow,
                        "sform column \(c) is \(column) (must be finite and non-zero)"
                    )
                }
                for r in 0..<3 { ras[r * 3 + c] = column[r] / norm }
            }
            offset = SIMD3(h.srow[0][3], h.srow[1][3], h.srow[2][3])
        } else if h.qformCode > 0 {
            var (b, c, d) = (h.quatern.x, h.quatern.y, h.quatern.z)
            guard b.isFinite, c.isFinite, d.isFinite, h.qoffset.x.isFinite, h.qoffset.y.isFinite, h.qoffset.z.isFinite
            else {
                throw ImagingError(.malformedHeader, path: path, byteOffset: h.layout.quatern, "qform parameters are not finite")
            }
            var a = 1 - (b * b + c * c + d * d)
            if a < 1e-7 {  // a 180-degree rotation: renormalise (b, c, d) as the standard suggests
                let n = sqrt(b * b + c * c + d * d)
                guard n > 0 else {
                    throw ImagingError(.malformedHeader, path: path, byteOffset: h.layout.quatern, "qform quaternion is zero")
                }
                (a, b, c, d) = (0, b / n, c / n, d / n)
            } else {
                a = sqrt(a)
            }
            let qfac: Double = h.pixdim[0] < 0 ? -1 : 1
            ras = [
                a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c) * qfac,
                2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b) * qfac,
                2 * (b * d - a * c), 2 * (c * d + a * b), (a * a + d * d - c * c - b * b) * qfac,
            ]
            offset = h.qoffset
        } else {
            // No orientation at all: like ITK/SimpleITK, report the identity in LPS and a zero origin
            // (nibabel's fallback differs; there is no standard answer).
            return (SIMD3(0, 0, 0), [1, 0, 0, 0, 1, 0, 0, 0, 1])
        }
        // RAS -> LPS: negate the first two rows and the first two offset components.
        for i in 0..<6 { ras[i] = ras[i] == 0 ? 0 : -ras[i] }
        return (SIMD3(-offset.x + 0, -offset.y + 0, offset.z), ras)
    }

    /// Converts stored voxels to real-valued `Float`s, swapping bytes and applying the scaling.
    static func decodeVoxels(
        _ raw: UnsafeRawBufferPointer, count: Int, type: VoxelType, bigEndian: Bool, slope: Double, inter: Double
    ) -> [Float] {
        let scaled = slope != 1 || inter != 0
        func run<T: FixedWidthInteger>(_: T.Type, _ convert: (T) -> Double) -> [Float] {
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                let stride = MemoryLayout<T>.size
                for i in 0..<count {
                    let bits = raw.loadUnaligned(fromByteOffset: i * stride, as: T.self)
                    let value = convert(bigEndian ? T(bigEndian: bits) : T(littleEndian: bits))
                    out[i] = Float(scaled ? value * slope + inter : value)
                }
                initialized = count
            }
        }
        switch type {
        case .uint8: return run(UInt8.self) { Double($0) }
        case .int8: return run(UInt8.self) { Double(Int8(bitPattern: $0)) }
        case .int16: return run(UInt16.self) { Double(Int16(bitPattern: $0)) }
        case .uint16: return run(UInt16.self) { Double($0) }
        case .int32: return run(UInt32.self) { Double(Int32(bitPattern: $0)) }
        case .uint32: return run(UInt32.self) { Double($0) }
        case .float32: return run(UInt32.self) { Double(Float(bitPattern: $0)) }
        case .float64: return run(UInt64.self) { Double(bitPattern: $0) }
        }
    }
}

public import Foundation

extension NIfTI {
    /// Writes `volume` as a single-file little-endian NIfTI-1 image, gzip-compressed when the path
    /// ends in `.gz`.
    ///
    /// Both the sform and the qform are written with code 1 (scanner) from the volume's LPS origin,
    /// direction and spacing (converted to RAS; an improper direction sets `pixdim[0]` = -1). Values
    /// are stored as `(value - scaleIntercept) / scaleSlope`, rounded to nearest (ties away from zero)
    /// for integer types; a value that is NaN or out of the stored type's range throws rather than
    /// being clamped. `xyzt_units` is millimetres.
    public static func write(
        _ volume: Volume, to url: URL, storedType: VoxelType = .float32,
        scaleSlope: Double = 1, scaleIntercept: Double = 0
    ) throws {
        let path = url.relativePath
        var bytes: Data
        do {
            bytes = try encode(volume, storedType: storedType, scaleSlope: scaleSlope, scaleIntercept: scaleIntercept)
            if url.pathExtension.lowercased() == "gz" { bytes = try Gzip.compress(bytes) }
        } catch var error as ImagingError {
            error.path = path
            throw error
        }
        do {
            try bytes.write(to: url, options: .atomic)
        } catch {
            throw ImagingError(.io, path: path, "cannot write file: \(error.localizedDescription)")
        }
    }

    /// The uncompressed `.nii` bytes that ``write(_:to:storedType:scaleSlope:scaleIntercept:)`` stores.
    public static func encode(
        _ volume: Volume, storedType: VoxelType = .float32, scaleSlope: Double = 1, scaleIntercept: Double = 0
    ) throws -> Data {
        func invalid(_ message: String) -> ImagingError { ImagingError(.invalidArgument, message) }
        let size = volume.size
        guard size.x >= 1, size.y >= 1, size.z >= 1, size.x <= 32767, size.y <= 32767, size.z <= 32767 else {
            throw invalid("size \(size.x)x\(size.y)x\(size.z) does not fit a NIfTI-1 header (1...32767 per axis)")
        }
        guard volume.voxels.count == volume.voxelCount else {
            throw invalid("volume has \(volume.voxels.count) voxels but its size needs \(volume.voxelCount)")
        }
        let spacing = volume.spacing
        guard (0..<3).allSatisfy({ spacing[$0].isFinite && spacing[$0] > 0 }) else {
            throw invalid("spacing \(spacing) must be finite and positive")
        }
        guard scaleSlope.isFinite, scaleSlope != 0, scaleIntercept.isFinite else {
            throw invalid("scale slope \(scaleSlope) / intercept \(scaleIntercept) must be finite with a non-zero slope")
        }
        let d = volume.direction
        guard d.count == 9, d.allSatisfy(\.isFinite) else {
            throw invalid("direction must be 9 finite numbers (3x3 row-major)")
        }
        // LPS -> RAS: negate the first two rows of the direction and the first two origin components.
        var ras = d
        for i in 0..<6 { ras[i] = 0 - ras[i] }  // 0 - x avoids writing -0
        let rasOrigin = SIMD3(0 - volume.origin.x, 0 - volume.origin.y, volume.origin.z)
        let det = ras[0] * (ras[4] * ras[8] - ras[5] * ras[7]) - ras[1] * (ras[3] * ras[8] - ras[5] * ras[6])
            + ras[2] * (ras[3] * ras[7] - ras[4] * ras[6])
        guard abs(det) > 1e-12 else { throw invalid("direction matrix is singular") }

        let headerBytes = 352
        let (dataBytes, overflow) = volume.voxelCount.multipliedReportingOverflow(by: storedType.byteCount)
        guard !overflow, dataBytes <= Int(Int32.max) * 8 else { throw invalid("volume is too large to write") }
        var out = Data(count: headerBytes + dataBytes)
        try out.withUnsafeMutableBytes { (p: UnsafeMutableRawBufferPointer) in
            func i16(_ o: Int, _ v: Int) { p.storeBytes(of: Int16(v).littleEndian, toByteOffset: o, as: Int16.self) }
            func f32(_ o: Int, _ v: Double) {
                p.storeBytes(of: Float(v).bitPattern.littleEndian, toByteOffset: o, as: UInt32.self)
            }
            p.storeBytes(of: Int32(348).littleEndian, toByteOffset: 0, as: Int32.self)
            p[38] = UInt8(ascii: "r")
            for (i, v) in [3, size.x, size.y, size.z, 1, 1, 1, 1].enumerated() { i16(40 + 2 * i, v) }
            i16(70, Int(storedType.rawValue))
            i16(72, storedType.byteCount * 8)

            var rot = ras
            let qfac: Double = det < 0 ? -1 : 1
            if qfac < 0 { for r in 0..<3 { rot[r * 3 + 2] = -rot[r * 3 + 2] } }
            for (i, v) in [qfac, spacing.x, spacing.y, spacing.z, 1, 1, 1, 1].enumerated() { f32(76 + 4 * i, v) }
            f32(108, Double(headerBytes))
            f32(112, scaleSlope)
            f32(116, scaleIntercept)
            p[123] = 2  // xyzt_units: millimetres
            for (i, byte) in "MedGrid".utf8.enumerated() { p[148 + i] = byte }
            i16(252, 1)  // qform_code: scanner
            i16(254, 1)  // sform_code: scanner
            let q = quaternion(rot)
            for (i, v) in [q.y, q.z, q.w, rasOrigin.x, rasOrigin.y, rasOrigin.z].enumerated() { f32(256 + 4 * i, v) }
            for r in 0..<3 {
                for c in 0..<3 { f32(280 + 16 * r + 4 * c, ras[r * 3 + c] * spacing[c]) }
                f32(280 + 16 * r + 12, rasOrigin[r])
            }
            for (i, byte) in [UInt8(ascii: "n"), UInt8(ascii: "+"), UInt8(ascii: "1"), 0].enumerated() { p[344 + i] = byte }

            try quantise(
                volume.voxels, into: UnsafeMutableRawBufferPointer(rebasing: p[headerBytes...]),
                type: storedType, slope: scaleSlope, inter: scaleIntercept, size: size
            )
        }
        return out
    }

    /// Unit quaternion (a, b, c, d) as SIMD4 (x = a) of a proper rotation matrix (row-major).
    static func quaternion(_ r: [Double]) -> SIMD4<Double> {
        let trace = r[0] + r[4] + r[8]
        var q: SIMD4<Double>
        if trace > 0 {
            let s = (trace + 1).squareRoot() * 2
            q = [0.25 * s, (r[7] - r[5]) / s, (r[2] - r[6]) / s, (r[3] - r[1]) / s]
        } else if r[0] > r[4] && r[0] > r[8] {
            let s = (1 + r[0] - r[4] - r[8]).squareRoot() * 2
            q = [(r[7] - r[5]) / s, 0.25 * s, (r[1] + r[3]) / s, (r[2] + r[6]) / s]
        } else if r[4] > r[8] {
            let s = (1 + r[4] - r[0] - r[8]).squareRoot() * 2
            q = [(r[2] - r[6]) / s, (r[1] + r[3]) / s, 0.25 * s, (r[5] + r[7]) / s]
        } else {
            let s = (1 + r[8] - r[0] - r[4]).squareRoot() * 2
            q = [(r[3] - r[1]) / s, (r[2] + r[6]) / s, (r[5] + r[7]) / s, 0.25 * s]
        }
        let norm = (q * q).sum().squareRoot()
        q /= norm
        return q.x < 0 ? -q : q
    }

    private static func quantise(
        _ voxels: [Float], into p: UnsafeMutableRawBufferPointer, type: VoxelType, slope: Double, inter: Double,
        size: SIMD3<Int>
    ) throws {
        let range = type.range
        let width = type.byteCount
        for (i, value) in voxels.enumerated() {
            var stored = (Double(value) - inter) / slope
            if type.isInteger { stored = stored.rounded(.toNearestOrAwayFromZero) }
            let fits: Bool
            switch type {
            case .float64: fits = true
            case .float32: fits = !stored.isFinite || range.contains(stored)
            default: fits = range.contains(stored)  // NaN is in no range
            }
            guard fits
            else {
                let (x, y, z) = (i % size.x, (i / size.x) % size.y, i / (size.x * size.y))
                throw ImagingError(
                    .invalidArgument,
                    "voxel (\(x), \(y), \(z)) value \(value) is stored as \(stored), which does not fit \(type)"
                )
            }
            let o = i * width
            switch type {
            case .uint8: p[o] = UInt8(stored)
            case .int8: p[o] = UInt8(bitPattern: Int8(stored))
            case .int16: p.storeBytes(of: Int16(stored).littleEndian, toByteOffset: o, as: Int16.self)
            case .uint16: p.storeBytes(of: UInt16(stored).littleEndian, toByteOffset: o, as: UInt16.self)
            case .int32: p.storeBytes(of: Int32(stored).littleEndian, toByteOffset: o, as: Int32.self)
            case .uint32: p.storeBytes(of: UInt32(stored).littleEndian, toByteOffset: o, as: UInt32.self)
            case .float32: p.storeBytes(of: Float(stored).bitPattern.littleEndian, toByteOffset: o, as: UInt32.self)
            case .float64: p.storeBytes(of: stored.bitPattern.littleEndian, toByteOffset: o, as: UInt64.self)
            }
        }
    }
}

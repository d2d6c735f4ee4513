import MedGridCore
import Foundation

/// A minimal PNG encoder for report images: 8-bit grayscale (colour type 0) or 8-bit RGBA (colour type 6),
/// no interlace, filter type 0 (None) on every scanline, and a zlib stream (RFC 1950) made of STORED
/// (uncompressed) deflate blocks (RFC 1951 §3.2.4, at most 65 535 bytes each) — so no compressor is needed.
/// Chunk CRCs are CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320 reflected, as zlib's `crc32`); the
/// zlib trailer is Adler-32 (as zlib's `adler32`). The output is deterministic (no time or text chunks).
public enum PNGEncoder {
    /// Largest accepted width or height (keeps reports and allocations bounded).
    public static let maximumDimension = 8192

    /// Encodes `pixels` (row-major, top row first, one byte per pixel) as an 8-bit grayscale PNG.
    /// - Throws: `MedGridError(.invalidInput)` when a dimension is outside 1...``maximumDimension`` or
    ///   `pixels.count != width · height`.
    public static func grayscale(width: Int, height: Int, pixels: [UInt8]) throws -> [UInt8] {
        try encode(width: width, height: height, channels: 1, colorType: 0, pixels: pixels)
    }

    /// Encodes `pixels` (row-major, top row first, R, G, B, A per pixel, not premultiplied) as an 8-bit RGBA PNG.
    /// - Throws: `MedGridError(.invalidInput)` when a dimension is outside 1...``maximumDimension`` or
    ///   `pixels.count != 4 · width · height`.
    public static func rgba(width: Int, height: Int, pixels: [UInt8]) throws -> [UInt8] {
        try encode(width: width, height: height, channels: 4, colorType: 6, pixels: pixels)
    }

    /// `data:image/png;base64,…` URI of PNG bytes.
    public static func dataURI(_ png: [UInt8]) -> String {
        "data:image/png;base64," + Data(png).base64EncodedString()
    }

    /// Maps intensities through a display window to 8-bit gray: g = round(255 · clamp((v − lower) / (upper −
    /// lower), 0, 1)); NaN maps to 0, +∞ to 255, −∞ to 0. Requires `upper > lower` (checked by callers).
    public static func windowed(_ values: [Float], lower: Float, upper: Float) -> [UInt8] {
        let lo = Double(lower), span = Double(upper) - Double(lower)
        var out = [UInt8](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count {
                    let v = Double(src[i])
                    if v.isNaN { dst[i] = 0; continue }
                    let t = min(max((v - lo) / span, 0), 1)
                    dst[i] = UInt8((t * 255).rounded(.toNearestOrAwayFromZero))
                }
            }
        }
        return out
    }

    // MARK: - Checksums

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), continuing from `crc`
    /// (pass the previous result to checksum data in pieces). Equals zlib's `crc32(crc, bytes)`;
    /// CRC-32("123456789") = 0xCBF43926.
    public static func crc32(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        crcTable.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { buffer in
                for b in buffer { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
            }
        }
        return ~c
    }

    /// Adler-32 (RFC 1950 §8.2: s1 = 1 + Σ bytes, s2 = Σ s1, both mod 65 521; result s2·65 536 + s1).
    /// Equals zlib's `adler32(1, bytes)`; Adler-32("Wikipedia") = 0x11E60398.
    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var s1: UInt32 = 1, s2: UInt32 = 0
        bytes.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                let end = min(i + 5552, buffer.count)  // 5552: largest n with no UInt32 overflow before the modulo
                while i < end {
                    s1 &+= UInt32(buffer[i])
                    s2 &+= s1
                    i += 1
                }
                s1 %= 65521
                s2 %= 65521
            }
        }
        return (s2 << 16) | s1
    }

    /// A zlib stream (CMF 0x78, FLG 0x01: deflate, 32 KiB window, no dictionary, "fastest" level, FCHECK
    /// valid) holding `data` in stored deflate blocks of at most 65 535 bytes, the last with BFINAL = 1,
    /// followed by the big-endian Adler-32 of `data`. Empty data gives one empty final block.
    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        let blocks = max(1, (data.count + 65534) / 65535)
        var out: [UInt8] = []
        out.reserveCapacity(data.count + blocks * 5 + 6)
        out.append(0x78)
        out.append(0x01)
        data.withUnsafeBufferPointer { buffer in
            var offset = 0
            for b in 0..<blocks {
                let length = min(65535, buffer.count - offset)
                out.append(b == blocks - 1 ? 1 : 0)  // BFINAL, BTYPE = 00 (stored); rest of the byte is padding
                let len = UInt16(length), nlen = ~UInt16(length)
                out.append(UInt8(len & 0xFF))
                out.append(UInt8(len >> 8))
                out.append(UInt8(nlen & 0xFF))
                out.append(UInt8(nlen >> 8))
                if length > 0 { out.append(contentsOf: buffer[offset..<(offset + length)]) }
                offset += length
            }
        }
        appendBigEndian(adler32(data), to: &out)
        return out
    }

    // MARK: - Encoding

    private static func encode(width: Int, height: Int, channels: Int, colorType: UInt8, pixels: [UInt8]) throws -> [UInt8] {
        guard (1...maximumDimension).contains(width), (1...maximumDimension).contains(height) else {
            throw MedGridError(.invalidInput, "PNG: size \(width) × \(height) is outside 1...\(maximumDimension) per dimension")
        }
        let rowBytes = width * channels
        guard pixels.count == rowBytes * height else {
            throw MedGridError(.invalidInput, "PNG: pixels has \(pixels.count) bytes; expected \(rowBytes * height) (\(width) × \(height) × \(channels))")
        }
        var raw = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
        pixels.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    // dst[y * (rowBytes + 1)] = 0: filter type None
                    let d = y * (rowBytes + 1) + 1, s = y * rowBytes
                    for x in 0..<rowBytes { dst[d + x] = src[s + x] }
                }
            }
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr: [UInt8] = []
        appendBigEndian(UInt32(width), to: &ihdr)
        appendBigEndian(UInt32(height), to: &ihdr)
        ihdr += [8, colorType, 0, 0, 0]  // bit depth 8, colour type, deflate, adaptive filtering, no interlace
        appendChunk("IHDR", ihdr, to: &png)
        appendChunk("IDAT", zlibStored(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        appendBigEndian(UInt32(data.count), to: &png)
        png += typeBytes
        png += data
        appendBigEndian(crc32(data, continuing: crc32(typeBytes)), to: &png)
    }

    private static func appendBigEndian(_ v: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(v >> 24))
        out.append(UInt8((v >> 16) & 0xFF))
        out.append(UInt8((v >> 8) & 0xFF))
        out.append(UInt8(v & 0xFF))
    }
}

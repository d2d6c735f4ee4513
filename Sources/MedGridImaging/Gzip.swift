import CZlib
package import Foundation

/// gzip (RFC 1952) over the system zlib, with the checks a file reader needs.
///
/// - `decompress` inflates every member of the stream; zlib checks each member's CRC-32 and length
///   trailer, so a truncated or corrupted file is an error rather than silently short data. It refuses to
///   produce more than `limit` bytes, holding at most `limit` bytes plus one 256 KiB window in memory
///   however large the stream claims to be.
/// - `compress` writes a single member with a zero timestamp, no file name and OS byte 255 ("unknown"),
///   at level 6 with a 32 KiB window and memory level 8, so the output depends only on the input bytes and
///   the zlib build.
package enum Gzip {
    private static let windowSize = 1 << 18
    /// zlib's `windowBits` for a gzip wrapper around a 32 KiB window.
    private static let gzipWindowBits: Int32 = 15 + 16

    /// Whether `data` starts with the gzip magic bytes `1f 8b`.
    package static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// Inflates a whole gzip stream; throws if the output would exceed `limit` bytes.
    package static func decompress(_ data: Data, limit: Int) throws -> Data {
        try inflate(data, limit: limit, prefixOnly: false)
    }

    /// Inflates only the first `count` bytes (fewer if the stream is shorter); trailers are not checked.
    package static func decompressPrefix(_ data: Data, count: Int) throws -> Data {
        try inflate(data, limit: count, prefixOnly: true)
    }

    /// Deflates `data` into a deterministic single-member gzip stream.
    package static func compress(_ data: Data) throws -> Data {
        var stream = z_stream()
        guard deflateInit2_(&stream, 6, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ImagingError(.compression, "could not start gzip compression")
        }
        defer { deflateEnd(&stream) }
        var input = [UInt8](data)
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        let status = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw ImagingError(.compression, "gzip compression failed (zlib status \(status))") }
        var result = Data(output.prefix(Int(stream.total_out)))
        guard result.count >= 18 else { throw ImagingError(.compression, "gzip produced only \(result.count) bytes") }
        result[result.startIndex + 9] = 0xff  // OS byte: zlib writes the build host's OS code
        return result
    }

    private static func inflate(_ data: Data, limit: Int, prefixOnly: Bool) throws -> Data {
        precondition(limit >= 0, "limit must not be negative")
        var input = [UInt8](data)
        var window = [UInt8](repeating: 0, count: windowSize)
        var output = Data()
        output.reserveCapacity(min(limit, max(data.count * 4, 1 << 16)))
        var members = 0
        var offset = 0
        while offset < input.count {
            if input.count - offset < 2 || input[offset] != 0x1f || input[offset + 1] != 0x8b {
                // Some writers pad the end of a stream with zero bytes; anything else is an error.
                if members > 0, input[offset...].allSatisfy({ $0 == 0 }) { break }
                throw ImagingError(
                    .compression, byteOffset: offset,
                    members == 0 ? "not a gzip stream (missing 1f 8b magic)" : "unexpected bytes after gzip stream")
            }
            var stream = z_stream()
            guard inflateInit2_(&stream, gzipWindowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw ImagingError(.compression, "could not start gzip decompression")
            }
            defer { inflateEnd(&stream) }
            var ended = false
            var memberBytes = 0
            while !ended {
                let memberStart = offset
                let (status, consumed, produced) = input.withUnsafeMutableBufferPointer { inBuffer in
                    window.withUnsafeMutableBufferPointer { outBuffer in
                        stream.next_in = inBuffer.baseAddress! + memberStart
                        stream.avail_in = uInt(inBuffer.count - memberStart)
                        stream.next_out = outBuffer.baseAddress
                        stream.avail_out = uInt(outBuffer.count)
                        let status = zlibInflate(&stream)
                        return (status, inBuffer.count - memberStart - Int(stream.avail_in), outBuffer.count - Int(stream.avail_out))
                    }
                }
                offset += consumed
                if produced > 0 {
                    if output.count + produced > limit {
                        if prefixOnly {
                            output.append(contentsOf: window.prefix(limit - output.count))
                            return output
                        }
                        throw ImagingError(.tooLarge, "gzip stream inflates to more than the limit of \(limit) bytes; refusing to decompress further")
                    }
                    output.append(contentsOf: window.prefix(produced))
                    memberBytes += produced
                }
                switch status {
                case Z_STREAM_END:
                    ended = true
                case Z_OK where produced > 0 || consumed > 0:
                    continue
                case Z_OK, Z_BUF_ERROR:
                    if prefixOnly { return output }
                    throw ImagingError(
                        .compression, byteOffset: offset,
                        "gzip stream is truncated: it ends after \(memberBytes) bytes of output without its trailer")
                default:
                    if prefixOnly && output.count >= limit { return output }
                    throw ImagingError(
                        .compression, byteOffset: offset,
                        "gzip stream is corrupt near compressed byte \(offset): \(stream.msg.map { String(cString: $0) } ?? "zlib status \(status)") "
                            + "(a CRC-32 or length trailer mismatch means the data changed)")
                }
            }
            if prefixOnly { return output }
            members += 1
        }
        if members == 0 && !prefixOnly {
            throw ImagingError(.compression, byteOffset: 0, "empty gzip stream")
        }
        return output
    }
}

/// zlib's `inflate`, named apart from ``Gzip``'s own `inflate`.
private func zlibInflate(_ stream: UnsafeMutablePointer<z_stream>) -> Int32 {
    CZlib.inflate(stream, Z_NO_FLUSH)
}

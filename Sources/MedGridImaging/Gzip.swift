import CompressNIO
package import Foundation
import NIOCore

/// gzip (RFC 1952) over CompressNIO's zlib binding, with the checks a file reader needs.
///
/// - `decompress` inflates every member of the stream, verifies each member's CRC-32 and length
///   trailer (so a truncated or corrupted file is an error rather than silently short data), and
///   refuses to produce more than `limit` bytes, holding at most `limit` bytes plus one 256 KiB
///   window in memory however large the stream claims to be.
/// - `compress` writes a single member with a zero timestamp, no file name and OS byte 255
///   ("unknown"), so the output depends only on the input bytes and the zlib build.
package enum Gzip {
    private static let windowSize = 1 << 18

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
        var input = byteBuffer(data)
        do {
            let compressor = try ZlibCompressor(
                algorithm: .gzip,
                configuration: ZlibConfiguration(compressionLevel: .compressionLevel6)
            )
            var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input))
            try compressor.deflate(from: &input, to: &output, flush: .finish)
            var result = output.withUnsafeReadableBytes { Data($0) }
            guard result.count >= 18 else {
                throw ImagingError(.compression, "gzip produced only \(result.count) bytes")
            }
            result[result.startIndex + 9] = 0xff  // OS byte: zlib writes the build host's OS code
            return result
        } catch let error as ImagingError {
            throw error
        } catch {
            throw ImagingError(.compression, "gzip compression failed: \(error)")
        }
    }

    private static func byteBuffer(_ data: Data) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: data.count)
        data.withUnsafeBytes { _ = buffer.writeBytes($0) }
        return buffer
    }

    private static func inflate(_ data: Data, limit: Int, prefixOnly: Bool) throws -> Data {
        precondition(limit >= 0, "limit must not be negative")
        var input = byteBuffer(data)
        var window = ByteBufferAllocator().buffer(capacity: windowSize)
        var output = Data()
        output.reserveCapacity(min(limit, max(data.count * 4, 1 << 16)))
        var members = 0

        while input.readableBytes > 0 {
            let memberStart = input.readerIndex
            let magic = input.getBytes(at: memberStart, length: min(2, input.readableBytes)) ?? []
            if magic != [0x1f, 0x8b] {
                // Some writers pad the end of a stream with zero bytes; anything else is an error.
                if members > 0, input.readableBytesView.allSatisfy({ $0 == 0 }) { break }
                throw ImagingError(
                    .compression, byteOffset: memberStart,
                    members == 0 ? "not a gzip stream (missing 1f 8b magic)" : "unexpected bytes after gzip stream"
                )
            }
            let inflater: ZlibDecompressor
            do { inflater = try ZlibDecompressor(algorithm: .gzip) } catch {
                throw ImagingError(.compression, "could not start gzip decompression: \(error)")
            }
            var crc = CRC32()
            var memberBytes = 0
            var finished = false
            while !finished {
                window.clear()
                do {
                    try inflater.inflate(from: &input, to: &window)
                    finished = true  // stream end, or input exhausted (the trailer check tells which)
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    // window full: drain it and continue
                } catch let error as CompressNIOError where error == .inputBufferOverflow {
                    finished = true
                } catch {
                    throw ImagingError(
                        .compression, byteOffset: input.readerIndex,
                        "gzip stream is corrupt (\(error)) near compressed byte \(input.readerIndex)"
                    )
                }
                let produced = window.readableBytes
                if produced == 0 { continue }
                if output.count + produced > limit {
                    if prefixOnly {
                        window.withUnsafeReadableBytes { output.append(contentsOf: $0.prefix(limit - output.count)) }
                        return output
                    }
                    throw ImagingError(
                        .tooLarge,
                        "gzip stream inflates to more than the limit of \(limit) bytes; refusing to decompress further"
                    )
                }
                window.withUnsafeReadableBytes { bytes in
                    crc.update(bytes)
                    output.append(contentsOf: bytes)
                }
                memberBytes += produced
            }
            if prefixOnly { return output }

            let consumed = input.readerIndex - memberStart
            let trailerAt = input.readerIndex - 8
            // ByteBuffer's get accessors only see unread bytes, so read the trailer from `data`.
            func trailerWord(_ at: Int) -> UInt32? {
                guard at >= 0, at + 4 <= data.count else { return nil }
                let base = data.startIndex + at
                return (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[base + $1]) << (8 * UInt32($1)) }
            }
            let storedCRC = trailerWord(trailerAt)
            let storedSize = trailerWord(trailerAt + 4)
            guard consumed >= 18, storedCRC == crc.value, storedSize == UInt32(truncatingIfNeeded: memberBytes) else {
                throw ImagingError(
                    .compression, byteOffset: input.readerIndex,
                    "gzip stream is truncated or corrupt: after \(memberBytes) bytes the trailer does not match "
                        + "(CRC-32 \(hex(storedCRC)) stored, \(hex(crc.value)) computed)"
                )
            }
            members += 1
        }
        if members == 0 && !prefixOnly {
            throw ImagingError(.compression, byteOffset: 0, "empty gzip stream")
        }
        return output
    }
}

private func hex(_ value: UInt32?) -> String {
    value.map { "0x" + String($0, radix: 16) } ?? "none"
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as used by the gzip trailer.
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private var state: UInt32 = 0xFFFF_FFFF

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var c = state
        Self.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                c = table[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8)
            }
        }
        state = c
    }

    var value: UInt32 { state ^ 0xFFFF_FFFF }
}

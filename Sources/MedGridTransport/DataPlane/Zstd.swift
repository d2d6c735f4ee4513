public import Foundation
import CZstd

/// One-shot zstd compression and decompression of in-memory buffers.
///
/// For anything that may be large use ``ZstdStreamCompressor`` and ``ZstdStreamDecompressor``, which never
/// hold more than one chunk. Frames written here carry their content size and a content checksum, so a
/// decoder can reject a damaged frame before the SHA-256 check does.
public enum Zstd {
    /// The default level: fast, and a good ratio for imaging and tabular data.
    public static let defaultLevel: Int32 = 3

    /// Compresses `data` into one zstd frame at `level` (clamped to the range libzstd supports).
    public static func compress(_ data: Data, level: Int32 = 3) throws -> Data {
        let cctx = try makeCompressionContext(level: level, name: "zstd buffer")
        defer { ZSTD_freeCCtx(cctx) }
        var output = Data(count: ZSTD_compressBound(data.count))
        let written = try output.withUnsafeMutableBytes { dst in
            try data.withUnsafeBytes { src in
                try zstdCheck(
                    ZSTD_compress2(cctx, dst.baseAddress, dst.count, src.baseAddress, src.count),
                    .io, "zstd buffer: compression failed")
            }
        }
        output.count = written
        return output
    }

    /// Decompresses one or more concatenated zstd frames.
    ///
    /// - Parameter limit: the most decompressed bytes accepted; more throws ``DataPlaneError/Code/tooLarge``
    ///   without allocating them, so a small hostile input cannot exhaust memory.
    /// - Throws: ``DataPlaneError`` with code `corrupt` for bytes that are not zstd, `truncated` when the last
    ///   frame is incomplete (or `data` is empty), `tooLarge` past `limit`.
    public static func decompress(_ data: Data, limit: Int) throws -> Data {
        let decompressor = try ZstdStreamDecompressor(limit: Int64(max(0, limit)), name: "zstd buffer")
        var output = Data()
        if let announced = contentSize(ofFrameStartingWith: data), announced <= UInt64(max(0, limit)) {
            output.reserveCapacity(Int(announced))
        }
        try decompressor.decompress(data) { output.append($0) }
        try decompressor.finish()
        return output
    }

    /// The decompressed size recorded in the header of the frame that `prefix` starts with, when the
    /// frame records it. `prefix` needs at most the first 18 bytes of the frame.
    public static func contentSize(ofFrameStartingWith prefix: Data) -> UInt64? {
        let size = prefix.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN is 0ULL - 1 and ZSTD_CONTENTSIZE_ERROR is 0ULL - 2.
        guard size < UInt64.max - 1 else { return nil }
        return UInt64(size)
    }

    /// A compression context with our frame settings: clamped level, content checksum, and a window of at
    /// most 8 MiB so every frame can be served with `Content-Encoding: zstd` (RFC 9659).
    static func makeCompressionContext(level: Int32, name: String) throws -> OpaquePointer {
        guard let cctx = ZSTD_createCCtx() else {
            throw DataPlaneError(.io, "\(name): cannot allocate a zstd compression context")
        }
        do {
            let clamped = min(max(level, ZSTD_minCLevel()), ZSTD_maxCLevel())
            try zstdCheck(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, clamped), .io,
                          "\(name): cannot set compression level \(clamped)")
            try zstdCheck(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1), .io,
                          "\(name): cannot enable the content checksum")
            // Levels up to 19 already keep the window at or under 8 MiB (2^23).
            if clamped > 19 {
                try zstdCheck(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 23), .io,
                              "\(name): cannot limit the window size")
            }
        } catch {
            ZSTD_freeCCtx(cctx)
            throw error
        }
        return cctx
    }
}

/// Returns `result` when it is not a libzstd error code; otherwise throws `code` with zstd's reason.
@discardableResult
func zstdCheck(_ result: Int, _ code: DataPlaneError.Code, _ message: @autoclosure () -> String) throws -> Int {
    if ZSTD_isError(result) != 0 {
        let reason = String(cString: ZSTD_getErrorName(result))
        throw DataPlaneError(code, "\(message()): \(reason)")
    }
    return result
}

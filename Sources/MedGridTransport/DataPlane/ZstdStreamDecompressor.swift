public import Foundation
import CZstd

/// Decompresses a zstd stream chunk by chunk, handing plain output to a sink as it appears, with a hard
/// limit on the output so a small hostile stream cannot fill memory or disk.
///
/// Accepts one or more concatenated frames (and skippable frames). Chunk boundaries may fall anywhere.
/// Not thread-safe: one stream, one owner. After any thrown error the decompressor is spent.
public final class ZstdStreamDecompressor {
    private enum State { case open, finished, failed }

    private let dctx: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer
    private let name: String
    private var state = State.open
    /// libzstd's last hint: 0 once a frame has been fully decoded and flushed.
    private var lastHint = 1
    /// The most plain bytes this stream may produce.
    public let limit: Int64
    /// Compressed bytes taken in so far.
    public private(set) var bytesIn: Int64 = 0
    /// Plain bytes handed to sinks so far.
    public private(set) var bytesOut: Int64 = 0

    /// - Parameters:
    ///   - limit: the most plain bytes accepted; output beyond it throws ``DataPlaneError/Code/tooLarge``.
    ///   - name: names the stream in error messages (a file or blob, never patient data).
    public init(limit: Int64, name: String = "zstd stream") throws {
        guard let dctx = ZSTD_createDCtx() else {
            throw DataPlaneError(.io, "\(name): cannot allocate a zstd decompression context")
        }
        self.dctx = dctx
        self.limit = max(0, limit)
        self.name = name
        buffer = .allocate(byteCount: ZSTD_DStreamOutSize(), alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(dctx)
        buffer.deallocate()
    }

    /// Decompresses `chunk`, calling `sink` with each piece of plain output (possibly none).
    public func decompress(_ chunk: Data, into sink: (Data) throws -> Void) throws {
        try ensureOpen()
        do {
            try chunk.withUnsafeBytes { src in
                var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                var outputFull = false
                // A full output buffer may mean libzstd holds more to flush, so call again even when all
                // input has been consumed.
                while input.pos < input.size || outputFull {
                    let before = input.pos
                    var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                    lastHint = try zstdCheck(
                        ZSTD_decompressStream(dctx, &output, &input), .corrupt,
                        "\(name): not a valid zstd stream near compressed byte \(bytesIn + Int64(input.pos))")
                    bytesIn += Int64(input.pos - before)
                    outputFull = output.pos == output.size
                    if output.pos > 0 {
                        guard bytesOut + Int64(output.pos) <= limit else {
                            throw DataPlaneError(
                                .tooLarge, "\(name): decompresses to more than the limit of \(limit) bytes")
                        }
                        bytesOut += Int64(output.pos)
                        try sink(Data(bytes: buffer.baseAddress!, count: output.pos))
                    }
                }
            }
        } catch {
            state = .failed
            throw error
        }
    }

    /// Checks that the stream ended at the end of a frame.
    /// - Throws: ``DataPlaneError/Code/truncated`` when no bytes came or the last frame is incomplete.
    public func finish() throws {
        try ensureOpen()
        state = .failed
        guard bytesIn > 0 else {
            throw DataPlaneError(.truncated, "\(name): empty, expected a zstd frame")
        }
        guard lastHint == 0 else {
            throw DataPlaneError(
                .truncated, "\(name): ends inside a zstd frame after \(bytesIn) compressed bytes")
        }
        state = .finished
    }

    private func ensureOpen() throws {
        switch state {
        case .open: return
        case .finished: throw DataPlaneError(.invalidInput, "\(name): decompressor used after finish")
        case .failed: throw DataPlaneError(.invalidInput, "\(name): decompressor used after an error")
        }
    }
}

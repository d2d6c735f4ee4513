public import Foundation
import CZstd

/// Compresses a stream chunk by chunk into one zstd frame, handing compressed output to a sink as it
/// appears. Memory use is bounded by the level's window, never by the stream's length.
///
/// Not thread-safe: one stream, one owner. After ``finish(into:)`` or any thrown error the compressor is
/// spent; further calls throw ``DataPlaneError/Code/invalidInput``.
public final class ZstdStreamCompressor {
    private enum State { case open, finished, failed }

    private let cctx: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer
    private let name: String
    private var state = State.open
    /// Plain bytes taken in so far.
    public private(set) var bytesIn: Int64 = 0
    /// Compressed bytes handed to sinks so far.
    public private(set) var bytesOut: Int64 = 0

    /// - Parameters:
    ///   - level: zstd level, clamped to what libzstd supports; 3 is the default.
    ///   - pledgedSize: the exact number of plain bytes that will follow, when known. It is written into the
    ///     frame header (so ``Zstd/contentSize(ofFrameStartingWith:)`` can read it) and a stream of any other
    ///     length fails with ``DataPlaneError/Code/io``.
    ///   - name: names the stream in error messages (a file or blob, never patient data).
    public init(level: Int32 = 3, pledgedSize: Int64? = nil, name: String = "zstd stream") throws {
        self.name = name
        cctx = try Zstd.makeCompressionContext(level: level, name: name)
        if let pledgedSize {
            let result = ZSTD_CCtx_setPledgedSrcSize(cctx, UInt64(max(0, pledgedSize)))
            if ZSTD_isError(result) != 0 {
                ZSTD_freeCCtx(cctx)
                throw DataPlaneError(.io, "\(name): cannot record the content size")
            }
        }
        buffer = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        buffer.deallocate()
    }

    /// Compresses `chunk`, calling `sink` with each piece of compressed output (possibly none).
    public func compress(_ chunk: Data, into sink: (Data) throws -> Void) throws {
        try ensureOpen()
        do {
            try chunk.withUnsafeBytes { src in
                var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                while input.pos < input.size {
                    try step(&input, ZSTD_e_continue, sink)
                }
            }
            bytesIn += Int64(chunk.count)
        } catch {
            state = .failed
            throw error
        }
    }

    /// Ends the frame, calling `sink` with the remaining compressed output.
    public func finish(into sink: (Data) throws -> Void) throws {
        try ensureOpen()
        do {
            var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
            while try step(&input, ZSTD_e_end, sink) != 0 {}
            state = .finished
        } catch {
            state = .failed
            throw error
        }
    }

    /// One call to ZSTD_compressStream2; returns its hint (for `ZSTD_e_end`, bytes still to flush).
    @discardableResult
    private func step(
        _ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective, _ sink: (Data) throws -> Void
    ) throws -> Int {
        var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        let remaining = try zstdCheck(
            ZSTD_compressStream2(cctx, &output, &input, directive), .io,
            "\(name): compression failed after \(bytesIn) bytes (did the input change while it was read?)")
        if output.pos > 0 {
            bytesOut += Int64(output.pos)
            try sink(Data(bytes: buffer.baseAddress!, count: output.pos))
        }
        return remaining
    }

    private func ensureOpen() throws {
        switch state {
        case .open: return
        case .finished: throw DataPlaneError(.invalidInput, "\(name): compressor used after finish")
        case .failed: throw DataPlaneError(.invalidInput, "\(name): compressor used after an error")
        }
    }
}

public import Foundation
import Crypto

extension BlobStore {
    /// An upload in progress: chunks in (zstd-compressed or plain), checked against the expected hash
    /// before the blob is stored.
    ///
    /// Chunks are decompressed and hashed into a temporary file under the store's `tmp/`, never more than
    /// `maxSize` plain bytes and never more than `maxWireSize` bytes as received (so a stream of padding or
    /// skippable frames, which decompresses to nothing, cannot run forever either). Past either limit the
    /// upload stops at once with `tooLarge` and its partial file is deleted. ``commit()`` refuses the blob
    /// unless its hash matches, then recompresses it into the store with the store's settings, so every
    /// stored frame records its size and can be served as-is.
    ///
    /// When the blob is already stored, the content is only hashed, not written: the uploader proves it
    /// holds the bytes (knowing a hash is not enough to be given a blob), and no disk is used.
    /// A failed, cancelled or abandoned upload leaves nothing behind. One owner at a time; not thread-safe.
    public final class Upload {
        private let store: BlobStore
        /// The hash the content must have.
        public let expectedSHA256: String
        /// The most plain bytes accepted.
        public let maxSize: Int64
        /// The most bytes accepted as received (compressed, for a zstd upload).
        public let maxWireSize: Int64
        /// False when the blob was already stored at the start: the content is checked, not kept.
        public let keepsContent: Bool
        private let decompressor: ZstdStreamDecompressor?
        private var hasher = SHA256()
        private let tempURL: URL?
        private var output: FileHandle?
        private var done = false
        private var plainCount: Int64 = 0
        /// Bytes received so far, as sent (compressed for a zstd upload).
        public private(set) var wireBytes: Int64 = 0

        init(store: BlobStore, expectedSHA256: String, maxSize: Int64, maxWireSize: Int64, compressed: Bool) throws {
            self.store = store
            self.expectedSHA256 = expectedSHA256
            self.maxSize = max(0, maxSize)
            self.maxWireSize = max(0, maxWireSize)
            decompressor = compressed
                ? try ZstdStreamDecompressor(limit: self.maxSize, name: "upload of blob \(expectedSHA256)") : nil
            keepsContent = !store.contains(expectedSHA256)
            if keepsContent {
                let (url, handle) = try DataPlaneFiles.makeTempFile(in: store.tempDirectory)
                (tempURL, output) = (url, handle)
            } else {
                (tempURL, output) = (nil, nil)
            }
        }

        deinit { discard() }

        /// Plain bytes received so far.
        public var plainBytes: Int64 { plainCount }

        /// Decompresses `chunk` (for a zstd upload) and writes the plain bytes to the temporary file.
        /// - Throws: ``DataPlaneError`` — `tooLarge` past `maxSize` plain or `maxWireSize` received bytes,
        ///   `corrupt` for a bad zstd stream, `io` when the disk fails. On any error the upload is cancelled
        ///   and its partial file deleted.
        public func append(_ chunk: Data) throws {
            guard !done else {
                throw DataPlaneError(.invalidInput, "upload of blob \(expectedSHA256): already finished")
            }
            do {
                guard wireBytes + Int64(chunk.count) <= maxWireSize else {
                    throw DataPlaneError(
                        .tooLarge,
                        "upload of blob \(expectedSHA256): more than \(maxWireSize) bytes received, the most a "
                            + "stream of at most \(maxSize) plain bytes may take")
                }
                wireBytes += Int64(chunk.count)
                if let decompressor {
                    try decompressor.decompress(chunk) { plain in try take(plain) }
                } else {
                    guard plainCount + Int64(chunk.count) <= maxSize else {
                        throw DataPlaneError(
                            .tooLarge, "upload of blob \(expectedSHA256): more than the limit of \(maxSize) bytes")
                    }
                    try take(chunk)
                }
            } catch {
                discard()
                throw error
            }
        }

        private func take(_ plain: Data) throws {
            plainCount += Int64(plain.count)
            hasher.update(data: plain)
            if let output, let tempURL { try DataPlaneFiles.write(plain, to: output, tempURL) }
        }

        /// Ends the upload: checks the stream is complete and the hash matches, then stores the blob.
        /// - Throws: ``DataPlaneError`` — `truncated` for an incomplete stream, `integrity` on a hash
        ///   mismatch; either way nothing is kept.
        public func commit() throws -> BlobRecord {
            guard !done else {
                throw DataPlaneError(.invalidInput, "upload of blob \(expectedSHA256): already finished")
            }
            defer { discard() }
            try decompressor?.finish()
            if let output, let tempURL {
                try DataPlaneFiles.syncAndClose(output, tempURL)
                self.output = nil
            }
            let actual = hasher.finalize().lowercaseHex
            guard actual == expectedSHA256 else {
                throw DataPlaneError(
                    .integrity,
                    "upload of blob \(expectedSHA256): content hashes to \(actual); refused, nothing stored")
            }
            guard let tempURL else {
                // Already stored: the uploader proved it holds the content.
                guard let size = store.size(expectedSHA256) else {
                    throw DataPlaneError(
                        .notFound, "blob \(expectedSHA256) was removed while it was uploaded; upload it again")
                }
                return BlobRecord(sha256: expectedSHA256, size: size.plain, storedSize: size.stored)
            }
            // ingest hashes again while compressing, so the stored blob is checked against its own bytes.
            return try store.ingest(plainFileAt: tempURL, expectedSHA256: expectedSHA256)
        }

        /// Abandons the upload and deletes what was received.
        public func cancel() { discard() }

        private func discard() {
            guard !done else { return }
            done = true
            try? output?.close()
            output = nil
            if let tempURL { DataPlaneFiles.removeIfPresent(tempURL) }
        }
    }
}

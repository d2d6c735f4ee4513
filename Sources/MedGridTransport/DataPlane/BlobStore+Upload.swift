public import Foundation
import Crypto

extension BlobStore {
    /// An upload in progress: zstd-compressed chunks in, checked against the expected hash before the blob
    /// is stored.
    ///
    /// Chunks are decompressed (never more than `maxSize` plain bytes) and hashed into a temporary file;
    /// ``commit()`` refuses the blob unless its hash matches, then recompresses it into the store with the
    /// store's settings, so every stored frame records its size and can be served as-is. A failed, cancelled
    /// or abandoned upload leaves nothing behind. One owner at a time; not thread-safe.
    public final class Upload {
        private let store: BlobStore
        /// The hash the content must have.
        public let expectedSHA256: String
        private let decompressor: ZstdStreamDecompressor
        private var hasher = SHA256()
        private let tempURL: URL
        private var output: FileHandle?
        private var done = false

        init(store: BlobStore, expectedSHA256: String, maxSize: Int64) throws {
            self.store = store
            self.expectedSHA256 = expectedSHA256
            decompressor = try ZstdStreamDecompressor(limit: maxSize, name: "upload of blob \(expectedSHA256)")
            (tempURL, output) = try DataPlaneFiles.makeTempFile(in: store.tempDirectory)
        }

        deinit { discard() }

        /// Plain bytes received so far.
        public var plainBytes: Int64 { decompressor.bytesOut }

        /// Decompresses `chunk` into the temporary file. On any error the upload is cancelled.
        public func append(_ chunk: Data) throws {
            guard !done, let output else {
                throw DataPlaneError(.invalidInput, "upload of blob \(expectedSHA256): already finished")
            }
            do {
                try decompressor.decompress(chunk) { plain in
                    hasher.update(data: plain)
                    try DataPlaneFiles.write(plain, to: output, tempURL)
                }
            } catch {
                discard()
                throw error
            }
        }

        /// Ends the upload: checks the stream is complete and the hash matches, then stores the blob.
        /// - Throws: ``DataPlaneError`` — `truncated` for an incomplete stream, `integrity` on a hash
        ///   mismatch; either way nothing is kept.
        public func commit() throws -> BlobRecord {
            guard !done, let output else {
                throw DataPlaneError(.invalidInput, "upload of blob \(expectedSHA256): already finished")
            }
            defer { discard() }
            try decompressor.finish()
            try DataPlaneFiles.syncAndClose(output, tempURL)
            self.output = nil
            let actual = hasher.finalize().lowercaseHex
            guard actual == expectedSHA256 else {
                throw DataPlaneError(
                    .integrity,
                    "upload of blob \(expectedSHA256): content hashes to \(actual); refused, nothing stored")
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
            DataPlaneFiles.removeIfPresent(tempURL)
        }
    }
}

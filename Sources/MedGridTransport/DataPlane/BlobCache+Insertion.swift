public import Foundation
public import Crypto

extension BlobCache {
    /// A file being added to the cache: chunks in (zstd-compressed or plain), hashed on the way to a
    /// temporary file, and moved into place by ``commit()`` only if the hash matches.
    ///
    /// A failed, cancelled or abandoned insertion leaves nothing behind. One owner at a time; not
    /// thread-safe.
    public final class Insertion {
        private let cache: BlobCache
        private let key: Key
        private let expectedSize: Int64?
        private let decompressor: ZstdStreamDecompressor?
        private var hasher = SHA256()
        private var plainBytes: Int64 = 0
        private let tempURL: URL
        private var output: FileHandle?
        private var done = false
        private let sealingKey: Data?

        init(cache: BlobCache, key: Key, expectedSize: Int64?, compressed: Bool, sealingKey: Data? = nil) throws {
            self.cache = cache
            self.key = key
            self.sealingKey = sealingKey
            self.expectedSize = expectedSize
            decompressor = compressed
                ? try ZstdStreamDecompressor(limit: expectedSize ?? .max, name: "download of \(key.sha256)")
                : nil
            (tempURL, output) = try DataPlaneFiles.makeTempFile(in: cache.tempDirectory)
        }

        deinit { discard() }

        /// The hash the content must have.
        public var sha256: String { key.sha256 }
        /// The name the file is cached under.
        public var fileName: String { key.fileName }
        /// Plain bytes written so far.
        public var bytesWritten: Int64 { plainBytes }

        /// Adds a chunk of the stream (compressed or plain, as chosen at ``BlobCache/beginInsert(sha256:fileName:expectedSize:compressed:)``).
        /// On any error the insertion is cancelled.
        public func append(_ chunk: Data) throws {
            guard !done, let output else {
                throw DataPlaneError(.invalidInput, "download of \(key.sha256): insertion already finished")
            }
            do {
                if let decompressor {
                    try decompressor.decompress(chunk) { try take($0, output) }
                } else {
                    try take(chunk, output)
                }
            } catch {
                discard()
                throw error
            }
        }

        /// Checks the stream is complete and hashes to ``sha256``, then moves the file into the cache and
        /// trims the cache. Returns the cached file's path.
        /// - Throws: ``DataPlaneError`` — `integrity` on a hash mismatch, `truncated`/`corrupt` for a bad
        ///   stream, `truncated` when shorter than the expected size; nothing is cached.
        public func commit() throws -> URL {
            guard !done, let output else {
                throw DataPlaneError(.invalidInput, "download of \(key.sha256): insertion already finished")
            }
            defer { discard() }
            try decompressor?.finish()
            if let expectedSize, plainBytes != expectedSize {
                throw DataPlaneError(
                    .truncated, "download of \(key.sha256): \(plainBytes) bytes, expected \(expectedSize)")
            }
            try DataPlaneFiles.syncAndClose(output, tempURL)
            self.output = nil
            let actual = hasher.finalize().lowercaseHex
            guard actual == key.sha256 else {
                throw DataPlaneError(
                    .integrity, "download of \(key.sha256): content hashes to \(actual); not cached")
            }
            if let sealingKey {
                // Kept sealed under the dataset's data key: a purge (which destroys the key) leaves it unreadable.
                let sealedURL = tempURL.appendingPathExtension("sealed")
                defer { DataPlaneFiles.removeIfPresent(sealedURL) }
                try BlobSeal.seal(fileAt: tempURL, to: sealedURL, key: SymmetricKey(data: sealingKey), context: BlobSeal.context(sha256: key.sha256))
                let url = try cache.install(sealedURL, as: key, size: DataPlaneFiles.fileSize(sealedURL) ?? plainBytes)
                done = true
                DataPlaneFiles.removeIfPresent(tempURL)
                return url
            }
            let url = try cache.install(tempURL, as: key, size: plainBytes)
            done = true
            return url
        }

        /// Abandons the insertion and deletes what was received.
        public func cancel() { discard() }

        private func take(_ plain: Data, _ output: FileHandle) throws {
            if let expectedSize, plainBytes + Int64(plain.count) > expectedSize {
                throw DataPlaneError(
                    .tooLarge, "download of \(key.sha256): more than the expected \(expectedSize) bytes")
            }
            plainBytes += Int64(plain.count)
            hasher.update(data: plain)
            try DataPlaneFiles.write(plain, to: output, tempURL)
        }

        private func discard() {
            guard !done else { return }
            done = true
            try? output?.close()
            output = nil
            DataPlaneFiles.removeIfPresent(tempURL)
        }
    }
}

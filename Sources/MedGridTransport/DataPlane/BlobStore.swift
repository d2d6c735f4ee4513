public import Foundation
public import Crypto

/// The coordinator's content-addressed store of dataset files, zstd-compressed at rest.
///
/// Layout under ``directory`` (all private to the owner, directories 0700, files 0600):
/// - `<aa>/<sha256>.zst` — a blob: one zstd frame of the plain bytes, with their size in the frame header,
///   a content checksum, and a window small enough to serve as-is with `Content-Encoding: zstd`;
///   `<aa>` is the first two hex digits of the hash.
/// - `tmp/` — files being written; a blob appears under its name only complete, by an atomic rename.
/// - `corrupt/` — blobs set aside by ``quarantine(_:)``.
///
/// Everything streams in 1 MiB chunks. Every hash that arrives from outside is checked to be 64
/// lower-case hex digits before it becomes part of a path. Safe to use from many threads: each write
/// goes through its own temporary file and a blob is only ever replaced by identical content.
public final class BlobStore: Sendable {
    /// The store's root directory.
    public let directory: URL
    /// The zstd level new blobs are written with.
    public let compressionLevel: Int32
    /// When set, every blob is sealed at rest with this data key (``BlobSeal``, AES-256-GCM) and stored as
    /// `<aa>/<sha256>.zst.sealed`: without the key the store's files are unreadable.
    var sealingKey: SymmetricKey? { sealingKeyBytes.map { SymmetricKey(data: $0) } }
    private let sealingKeyBytes: Data?
    /// Whether blobs are sealed at rest.
    public var isSealed: Bool { sealingKeyBytes != nil }

    /// Opens (creating if needed, mode 0700) the store at `directory`. Temporary files older than a day,
    /// left by a crash, are removed.
    public init(directory: URL, compressionLevel: Int32 = Zstd.defaultLevel, sealingKey: SymmetricKey? = nil) throws {
        self.directory = directory.standardizedFileURL
        self.compressionLevel = compressionLevel
        self.sealingKeyBytes = sealingKey.map { $0.withUnsafeBytes { Data($0) } }
        try DataPlaneFiles.makeDirectory(self.directory)
        try DataPlaneFiles.makeDirectory(tempDirectory)
        DataPlaneFiles.removeStaleFiles(in: tempDirectory, olderThan: 24 * 3600)
    }

    var tempDirectory: URL { directory.appendingPathComponent("tmp", isDirectory: true) }
    var corruptDirectory: URL { directory.appendingPathComponent("corrupt", isDirectory: true) }

    /// The path of blob `sha256`; call only with a validated hash.
    func blobURL(_ sha256: String) -> URL {
        directory.appendingPathComponent(String(sha256.prefix(2)), isDirectory: true)
            .appendingPathComponent(!isSealed ? "\(sha256).zst" : "\(sha256).zst.sealed", isDirectory: false)
    }

    /// Reads a stored blob's zstd bytes in chunks, opening the seal when the store is sealed.
    public final class StoredReader {
        let handle: FileHandle?
        let url: URL
        let sealed: BlobSeal.Reader?

        init(store: BlobStore, sha256: String) throws {
            url = store.blobURL(sha256)
            if let key = store.sealingKey {
                sealed = try BlobSeal.Reader(url: url, key: key, context: BlobSeal.context(sha256: sha256))
                handle = nil
            } else {
                handle = try DataPlaneFiles.openForReading(url, what: "blob \(sha256)")
                sealed = nil
            }
        }

        deinit { try? handle?.close() }

        /// The next chunk of zstd bytes, or nil at the end.
        public func next() throws -> Data? {
            if let sealed { return try sealed.next() }
            guard let chunk = try handle?.read(upToCount: 1 << 20), !chunk.isEmpty else { return nil }
            return chunk
        }
    }

    /// A reader of blob `sha256`'s zstd bytes.
    /// - Throws: ``DataPlaneError`` — `notFound`/`io` when it cannot be opened, `invalidInput` for a
    ///   malformed hash, `integrity` (from ``StoredReader/next()``) when a sealed blob does not open.
    public func openStored(_ sha256: String) throws -> StoredReader {
        try BlobName.requireSHA256(sha256)
        return try StoredReader(store: self, sha256: sha256)
    }

    // MARK: Adding blobs

    /// Adds the plain file at `url`: hashes it while compressing it to a temporary file, then renames that
    /// into place. If the blob is already present it is kept and the new copy discarded.
    /// - Throws: ``DataPlaneError`` — `notFound` if the file is missing, `io` if reading or writing fails
    ///   or the file changes size while it is read.
    public func put(fileAt url: URL) throws -> BlobRecord {
        try ingest(plainFileAt: url, expectedSHA256: nil)
    }

    /// Starts an upload of zstd-compressed bytes that must decompress to content with hash
    /// `expectedSHA256`. Feed it with ``Upload/append(_:)`` and finish with ``Upload/commit()``.
    /// - Parameter maxSize: the most plain bytes accepted (a guard against decompression bombs).
    public func beginUpload(expectedSHA256: String, maxSize: Int64 = .max) throws -> Upload {
        try beginUpload(expectedSHA256: expectedSHA256, maxSize: maxSize, maxWireSize: .max, compressed: true)
    }

    /// Starts an upload that must produce content with hash `expectedSHA256`, held to two limits: at most
    /// `maxSize` plain bytes and at most `maxWireSize` bytes as received.
    /// - Parameter compressed: whether the chunks are a zstd stream (true) or the plain bytes.
    public func beginUpload(
        expectedSHA256: String, maxSize: Int64, maxWireSize: Int64, compressed: Bool
    ) throws -> Upload {
        try BlobName.requireSHA256(expectedSHA256)
        return try Upload(
            store: self, expectedSHA256: expectedSHA256, maxSize: maxSize, maxWireSize: maxWireSize,
            compressed: compressed)
    }

    /// The most bytes a zstd stream of `plainBytes` bytes may take: zstd's worst case for incompressible
    /// input (a block header per 128 KiB block) with generous room for frame headers and checksums.
    public static func maxCompressedSize(ofPlainSize plainBytes: Int64) -> Int64 {
        let plain = max(0, plainBytes)
        guard plain < Int64.max / 2 else { return .max }
        return plain + plain / 128 + (1 << 20)
    }

    /// Adds a blob from zstd-compressed chunks (any chunking). Refuses it, keeping nothing, unless the
    /// decompressed content hashes to `expectedSHA256`.
    /// - Throws: ``DataPlaneError`` — `integrity` on a hash mismatch, `corrupt`/`truncated` for a bad
    ///   stream, `tooLarge` past `maxSize`, `invalidInput` for a malformed hash.
    public func put(
        compressedChunks chunks: some Sequence<Data>, expectedSHA256: String, maxSize: Int64 = .max
    ) throws -> BlobRecord {
        let upload = try beginUpload(expectedSHA256: expectedSHA256, maxSize: maxSize)
        for chunk in chunks { try upload.append(chunk) }
        return try upload.commit()
    }

    /// Adds a blob from a file of zstd-compressed bytes, read in 1 MiB chunks; the same checks as
    /// ``put(compressedChunks:expectedSHA256:maxSize:)``.
    public func put(compressedFileAt url: URL, expectedSHA256: String, maxSize: Int64 = .max) throws -> BlobRecord {
        let upload = try beginUpload(expectedSHA256: expectedSHA256, maxSize: maxSize)
        let handle = try DataPlaneFiles.openForReading(url, what: "upload of blob \(expectedSHA256)")
        defer { try? handle.close() }
        try DataPlaneFiles.forEachChunk(of: handle, url) { try upload.append($0) }
        return try upload.commit()
    }

    /// Hashes and compresses a plain file into the store; when `expectedSHA256` is given, a file with any
    /// other hash is refused with `integrity` and nothing is kept.
    func ingest(plainFileAt url: URL, expectedSHA256: String?) throws -> BlobRecord {
        let input = try DataPlaneFiles.openForReading(url, what: "adding a blob")
        defer { try? input.close() }
        guard let plainSize = DataPlaneFiles.fileSize(url) else {
            throw DataPlaneError(.io, "\(url.path): not a regular file")
        }
        let (tempURL, output) = try DataPlaneFiles.makeTempFile(in: tempDirectory)
        var moved = false
        defer {
            try? output.close()
            if !moved { DataPlaneFiles.removeIfPresent(tempURL) }
        }

        let compressor = try ZstdStreamCompressor(
            level: compressionLevel, pledgedSize: plainSize, name: url.path)
        var hasher = SHA256()
        let write = { (data: Data) in try DataPlaneFiles.write(data, to: output, tempURL) }
        try DataPlaneFiles.forEachChunk(of: input, url) { chunk in
            hasher.update(data: chunk)
            try compressor.compress(chunk, into: write)
        }
        try compressor.finish(into: write)
        try DataPlaneFiles.syncAndClose(output, tempURL)
        guard compressor.bytesIn == plainSize else {
            throw DataPlaneError(.io, "\(url.path): changed size while it was read")
        }

        let sha256 = hasher.finalize().lowercaseHex
        if let expectedSHA256, expectedSHA256 != sha256 {
            throw DataPlaneError(
                .integrity, "blob \(expectedSHA256): content hashes to \(sha256); refused, nothing stored")
        }
        let destination = blobURL(sha256)
        if let existing = DataPlaneFiles.fileSize(destination) {
            return BlobRecord(sha256: sha256, size: plainSize, storedSize: existing)
        }
        try DataPlaneFiles.makeDirectory(destination.deletingLastPathComponent())
        if let sealingKey {
            let sealedURL = tempURL.appendingPathExtension("sealed")
            defer { DataPlaneFiles.removeIfPresent(sealedURL) }
            try BlobSeal.seal(fileAt: tempURL, to: sealedURL, key: sealingKey, context: BlobSeal.context(sha256: sha256))
            try DataPlaneFiles.moveAtomically(sealedURL, to: destination)
            return BlobRecord(sha256: sha256, size: plainSize, storedSize: DataPlaneFiles.fileSize(destination) ?? compressor.bytesOut)
        }
        try DataPlaneFiles.moveAtomically(tempURL, to: destination)
        moved = true
        return BlobRecord(sha256: sha256, size: plainSize, storedSize: compressor.bytesOut)
    }

    // MARK: Reading blobs

    /// True when blob `sha256` is present; false for a malformed hash.
    public func contains(_ sha256: String) -> Bool {
        compressedFile(sha256) != nil
    }

    /// The compressed file of blob `sha256`, to stream with `Content-Encoding: zstd`; nil when it is absent
    /// or the hash is malformed.
    public func compressedFile(_ sha256: String) -> URL? {
        guard BlobName.isSHA256(sha256) else { return nil }
        let url = blobURL(sha256)
        return DataPlaneFiles.isRegularFile(url) ? url : nil
    }

    /// Plain and stored sizes of blob `sha256`, or nil when it is absent or its header is unreadable.
    /// Reads only the frame header.
    public func size(_ sha256: String) -> (plain: Int64, stored: Int64)? {
        guard let url = compressedFile(sha256), let stored = DataPlaneFiles.fileSize(url),
              let reader = try? openStored(sha256)
        else { return nil }
        guard let header = (try? reader.next()).flatMap({ $0 }).map({ $0.prefix(18) }),
              let plain = Zstd.contentSize(ofFrameStartingWith: header), plain <= UInt64(Int64.max)
        else { return nil }
        return (Int64(plain), stored)
    }

    /// Decompresses blob `sha256` and checks that its content still hashes to its name.
    /// - Throws: ``DataPlaneError`` — `integrity` naming the blob when it does not decode or hashes to
    ///   something else (quarantine it and fetch it again); `notFound`; `io`; `invalidInput`.
    public func verify(_ sha256: String) throws {
        try BlobName.requireSHA256(sha256)
        let reader = try openStored(sha256)
        var hasher = SHA256()
        do {
            let decompressor = try ZstdStreamDecompressor(limit: .max, name: "blob \(sha256)")
            while let chunk = try reader.next() {
                try decompressor.decompress(chunk) { hasher.update(data: $0) }
            }
            try decompressor.finish()
        } catch let error as DataPlaneError where [.corrupt, .truncated, .tooLarge, .integrity].contains(error.code) {
            throw DataPlaneError(.integrity, "blob \(sha256) is damaged at rest: \(error.message)", cause: error)
        }
        let actual = hasher.finalize().lowercaseHex
        guard actual == sha256 else {
            throw DataPlaneError(.integrity, "blob \(sha256) is damaged at rest: its content hashes to \(actual)")
        }
    }

    // MARK: Removing blobs

    /// Moves blob `sha256` aside to `corrupt/` so it is no longer served, returning its new path; nil when
    /// it is absent or the hash is malformed. Fetching or uploading it again restores the blob.
    @discardableResult
    public func quarantine(_ sha256: String) -> URL? {
        guard let url = compressedFile(sha256), (try? DataPlaneFiles.makeDirectory(corruptDirectory)) != nil
        else { return nil }
        let stamp = Int64(Date().timeIntervalSince1970 * 1000)
        let destination = corruptDirectory.appendingPathComponent("\(sha256).\(stamp).\(url.pathExtension)", isDirectory: false)
        return (try? DataPlaneFiles.moveAtomically(url, to: destination)) != nil ? destination : nil
    }

    /// Deletes blob `sha256` (the data steward's purge). Removing an absent blob is not an error.
    public func remove(_ sha256: String) throws {
        try BlobName.requireSHA256(sha256)
        let url = blobURL(sha256)
        guard DataPlaneFiles.isRegularFile(url) else { return }
        do {
            try FileManager.default.removeItem(at: url)
        } catch {
            throw DataPlaneError(.io, "blob \(sha256): cannot delete \(url.path)", cause: error)
        }
        DataPlaneFiles.syncDirectory(url.deletingLastPathComponent())
    }
}

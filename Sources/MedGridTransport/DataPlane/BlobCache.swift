public import Foundation
public import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A worker's cache of dataset files by content hash, bounded in size, least recently used out first.
///
/// Layout under ``directory`` (directories 0700, files 0600):
/// - `<aa>/<sha256>/<fileName>` — a plain file whose content hashes to `<sha256>`; `<aa>` is the first two
///   hex digits. Kernels read these paths directly, under the file's own name (so `.nii.gz` stays `.nii.gz`).
/// - `tmp/` — insertions in progress; an entry appears only complete and verified, by an atomic rename.
///
/// ``lookup(sha256:fileName:)`` re-hashes the file every time (streamed), so a file damaged on disk is
/// deleted and fetched again rather than used. Recency lives in memory, seeded from file modification times
/// at start-up (a lookup also touches the file's mtime). After each ``Insertion/commit()`` the least recently
/// used entries are deleted until ``totalBytes`` is at most ``maxBytes``; the entry just inserted is never
/// evicted by its own commit, so one file larger than the whole cache stays until the next insertion.
///
/// Thread-safe: the index is guarded by a lock that is never held while hashing. Use one `BlobCache` per
/// directory.
public final class BlobCache: @unchecked Sendable {
    struct Key: Hashable {
        var sha256: String
        var fileName: String
    }

    private struct Entry {
        var size: Int64
        var lastUse: UInt64
    }

    /// The cache's root directory.
    public let directory: URL
    /// The size the cache is trimmed to after each insertion.
    public let maxBytes: Int64

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var total: Int64 = 0
    private var clock: UInt64 = 0

    /// Opens (creating if needed, mode 0700) the cache at `directory`, indexes the entries already there,
    /// removes leftover temporary files, and trims it to `maxBytes`.
    public init(directory: URL, maxBytes: Int64) throws {
        self.directory = directory.standardizedFileURL
        self.maxBytes = max(0, maxBytes)
        try DataPlaneFiles.makeDirectory(self.directory)
        try DataPlaneFiles.makeDirectory(tempDirectory)
        DataPlaneFiles.removeStaleFiles(in: tempDirectory, olderThan: 0)
        scan()
        lock.withLock { evictLocked(keeping: nil) }
    }

    /// Bytes held by the cache's entries.
    public var totalBytes: Int64 { lock.withLock { total } }

    /// How many entries the cache holds.
    public var entryCount: Int { lock.withLock { entries.count } }

    var tempDirectory: URL { directory.appendingPathComponent("tmp", isDirectory: true) }

    /// The path of an entry; call only with a validated hash and file name.
    func entryURL(_ key: Key) -> URL {
        directory.appendingPathComponent(String(key.sha256.prefix(2)), isDirectory: true)
            .appendingPathComponent(key.sha256, isDirectory: true)
            .appendingPathComponent(key.fileName, isDirectory: false)
    }

    // MARK: Lookup

    /// The cached plain file for `sha256` under `fileName`, after checking that its content still hashes to
    /// `sha256`. Returns nil when it is not cached, when the names are malformed, or when the file is
    /// damaged — a damaged file is deleted so the caller fetches it again.
    public func lookup(sha256: String, fileName: String) -> URL? {
        guard BlobName.isSHA256(sha256), BlobName.isFileName(fileName) else { return nil }
        let key = Key(sha256: sha256, fileName: fileName)
        let url = entryURL(key)
        guard DataPlaneFiles.isRegularFile(url) else {
            lock.withLock { forgetLocked(key) }
            return nil
        }
        let checked = try? DataPlaneFiles.sha256(of: url, what: "cache entry \(sha256)")
        return lock.withLock {
            guard let checked, checked.sha256 == sha256 else {
                DataPlaneFiles.removeIfPresent(url)
                _ = rmdir(url.deletingLastPathComponent().path)
                forgetLocked(key)
                return nil
            }
            // An eviction may have removed the file while it was being hashed.
            guard DataPlaneFiles.isRegularFile(url) else {
                forgetLocked(key)
                return nil
            }
            recordLocked(key, size: checked.size)
            _ = utimes(url.path, nil)
            return url
        }
    }

    // MARK: Insertion

    /// Starts adding the file with hash `sha256` under `fileName`.
    ///
    /// - Parameters:
    ///   - expectedSize: the plain size, when known; a stream that decompresses to more throws `tooLarge`
    ///     as soon as it does, one that ends short throws `truncated` at commit.
    ///   - compressed: true when the chunks are a zstd stream (`Content-Encoding: zstd`), false for plain
    ///     bytes.
    /// - Throws: ``DataPlaneError`` with code `invalidInput` for a malformed hash or file name.
    ///   - sealingKey: when given, the entry is kept sealed under this data key (``BlobSeal``) as
    ///     `<fileName>.sealed`, and read with ``openSealed(sha256:fileName:key:into:)``.
    public func beginInsert(
        sha256: String, fileName: String, expectedSize: Int64? = nil, compressed: Bool = true, sealingKey: SymmetricKey? = nil
    ) throws -> Insertion {
        try BlobName.requireSHA256(sha256)
        try BlobName.requireFileName(fileName)
        return try Insertion(
            cache: self, key: Key(sha256: sha256, fileName: sealingKey == nil ? fileName : fileName + ".sealed"),
            expectedSize: expectedSize, compressed: compressed, sealingKey: sealingKey.map { $0.withUnsafeBytes { Data($0) } })
    }

    /// Opens the sealed entry of `sha256` (cached under `fileName` with a data key) into `folder/fileName`,
    /// checking that its content hashes to `sha256`. Returns the plain file, or nil when it is not cached or
    /// does not open with `key` (damaged, or sealed under another dataset's key): such an entry is deleted
    /// so the caller fetches it again.
    public func openSealed(sha256: String, fileName: String, key: SymmetricKey, into folder: URL) -> URL? {
        guard BlobName.isSHA256(sha256), BlobName.isFileName(fileName) else { return nil }
        let entry = Key(sha256: sha256, fileName: fileName + ".sealed")
        let url = entryURL(entry)
        guard DataPlaneFiles.isRegularFile(url) else {
            lock.withLock { forgetLocked(entry) }
            return nil
        }
        let target = folder.appendingPathComponent(fileName)
        var ok = false
        if (try? DataPlaneFiles.makeDirectory(folder)) != nil,
           FileManager.default.createFile(atPath: target.path, contents: nil, attributes: [.posixPermissions: 0o600]),
           let output = FileHandle(forWritingAtPath: target.path),
           let reader = try? BlobSeal.Reader(url: url, key: key, context: BlobSeal.context(sha256: sha256)) {
            var hasher = SHA256()
            do {
                while let chunk = try reader.next() {
                    hasher.update(data: chunk)
                    try output.write(contentsOf: chunk)
                }
                ok = true
            } catch {
                ok = false
            }
            try? output.close()
            ok = ok && hasher.finalize().lowercaseHex == sha256
        }
        guard ok else {
            DataPlaneFiles.removeIfPresent(target)
            remove(sha256: sha256, fileName: entry.fileName)
            return nil
        }
        lock.withLock {
            recordLocked(entry, size: DataPlaneFiles.fileSize(url) ?? 0)
            _ = utimes(url.path, nil)
        }
        return target
    }

    /// Deletes every entry of content `sha256`, whatever its file name (a purge). Returns how many.
    @discardableResult
    public func removeAll(sha256: String) -> Int {
        guard BlobName.isSHA256(sha256) else { return 0 }
        let keys = lock.withLock { entries.keys.filter { $0.sha256 == sha256 } }
        for key in keys { remove(sha256: key.sha256, fileName: key.fileName) }
        let folder = directory.appendingPathComponent(String(sha256.prefix(2)), isDirectory: true).appendingPathComponent(sha256, isDirectory: true)
        try? FileManager.default.removeItem(at: folder)
        return keys.count
    }

    /// Deletes one entry, if present.
    public func remove(sha256: String, fileName: String) {
        guard BlobName.isSHA256(sha256), BlobName.isFileName(fileName) else { return }
        let key = Key(sha256: sha256, fileName: fileName)
        let url = entryURL(key)
        lock.withLock {
            DataPlaneFiles.removeIfPresent(url)
            _ = rmdir(url.deletingLastPathComponent().path)
            forgetLocked(key)
        }
    }

    /// Moves a verified temporary file into place as `key` and trims the cache.
    func install(_ tempURL: URL, as key: Key, size: Int64) throws -> URL {
        let destination = entryURL(key)
        try DataPlaneFiles.makeDirectory(destination.deletingLastPathComponent())
        try lock.withLock {
            try DataPlaneFiles.moveAtomically(tempURL, to: destination)
            recordLocked(key, size: size)
            evictLocked(keeping: key)
        }
        return destination
    }

    // MARK: Index (call with the lock held)

    private func recordLocked(_ key: Key, size: Int64) {
        clock += 1
        total += size - (entries[key]?.size ?? 0)
        entries[key] = Entry(size: size, lastUse: clock)
    }

    private func forgetLocked(_ key: Key) {
        if let old = entries.removeValue(forKey: key) { total -= old.size }
    }

    /// Deletes least recently used entries, never `keeping`, until the total fits.
    private func evictLocked(keeping: Key?) {
        guard total > maxBytes else { return }
        let oldestFirst = entries.filter { $0.key != keeping }.sorted { $0.value.lastUse < $1.value.lastUse }
        for (key, _) in oldestFirst {
            guard total > maxBytes else { return }
            let url = entryURL(key)
            DataPlaneFiles.removeIfPresent(url)
            _ = rmdir(url.deletingLastPathComponent().path)
            forgetLocked(key)
        }
    }

    /// Indexes the entries on disk, oldest modification first.
    private func scan() {
        let manager = FileManager.default
        var found: [(key: Key, size: Int64, modified: Date)] = []
        for prefix in (try? manager.contentsOfDirectory(atPath: directory.path)) ?? [] {
            guard prefix.utf8.count == 2 else { continue }
            let prefixURL = directory.appendingPathComponent(prefix, isDirectory: true)
            for sha in (try? manager.contentsOfDirectory(atPath: prefixURL.path)) ?? [] {
                guard BlobName.isSHA256(sha), sha.hasPrefix(prefix) else { continue }
                let shaURL = prefixURL.appendingPathComponent(sha, isDirectory: true)
                for name in (try? manager.contentsOfDirectory(atPath: shaURL.path)) ?? [] {
                    guard BlobName.isFileName(name) else { continue }
                    let url = shaURL.appendingPathComponent(name, isDirectory: false)
                    guard let attributes = try? manager.attributesOfItem(atPath: url.path),
                          attributes[.type] as? FileAttributeType == .typeRegular,
                          let size = (attributes[.size] as? NSNumber)?.int64Value
                    else { continue }
                    let modified = attributes[.modificationDate] as? Date ?? .distantPast
                    found.append((Key(sha256: sha, fileName: name), size, modified))
                }
            }
        }
        lock.withLock {
            for item in found.sorted(by: { $0.modified < $1.modified }) {
                recordLocked(item.key, size: item.size)
            }
        }
    }
}

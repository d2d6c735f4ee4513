import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File operations shared by the blob store and the cache: private directories, exclusive temp files,
/// atomic renames, durable writes and chunked reads.
enum DataPlaneFiles {
    /// The chunk size for streaming reads: 1 MiB.
    static let chunkSize = 1 << 20

    /// Creates `url` (and missing parents) with mode 0700; an existing directory is left as it is.
    static func makeDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(
                at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DataPlaneError(.io, "\(url.path): cannot create directory", cause: error)
        }
    }

    /// Creates a new, empty file with mode 0600 and a unique name in `directory`, open for writing.
    static func makeTempFile(in directory: URL) throws -> (url: URL, handle: FileHandle) {
        let url = directory.appendingPathComponent("\(UUID().uuidString).part", isDirectory: false)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DataPlaneError(.io, "\(url.path): cannot create temporary file: \(errnoText())")
        }
        return (url, FileHandle(fileDescriptor: fd, closeOnDealloc: true))
    }

    /// Writes `data`, naming `url` in the error.
    static func write(_ data: Data, to handle: FileHandle, _ url: URL) throws {
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw DataPlaneError(.io, "\(url.path): write failed (disk full?)", cause: error)
        }
    }

    /// Flushes the file to stable storage and closes it.
    static func syncAndClose(_ handle: FileHandle, _ url: URL) throws {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw DataPlaneError(.io, "\(url.path): cannot flush to disk", cause: error)
        }
    }

    /// Renames atomically, replacing any file at `destination`, and makes the rename durable.
    static func moveAtomically(_ source: URL, to destination: URL) throws {
        guard rename(source.path, destination.path) == 0 else {
            throw DataPlaneError(
                .io, "\(destination.path): cannot move \(source.lastPathComponent) into place: \(errnoText())")
        }
        syncDirectory(destination.deletingLastPathComponent())
    }

    /// Best effort: flush a directory's entries so a completed rename survives a crash.
    static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = close(fd)
    }

    static func removeIfPresent(_ url: URL) {
        _ = unlink(url.path)
    }

    /// The size of a regular file (nil for anything else). Through FileManager: the C `stat` struct is
    /// declared by several system modules, and which one Swift picks differs between build modes.
    static func fileSize(_ url: URL) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
            (attributes[.type] as? FileAttributeType) == .typeRegular,
            let size = attributes[.size] as? NSNumber
        else { return nil }
        return size.int64Value
    }

    static func isRegularFile(_ url: URL) -> Bool { fileSize(url) != nil }

    /// Opens `url` for reading; a missing file throws `notFound` naming `what`.
    static func openForReading(_ url: URL, what: String) throws -> FileHandle {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code: DataPlaneError.Code = errno == ENOENT ? .notFound : .io
            throw DataPlaneError(code, "\(what): cannot open \(url.path): \(errnoText())")
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Calls `body` with successive chunks of at most ``chunkSize`` bytes until the end of the file.
    static func forEachChunk(of handle: FileHandle, _ url: URL, _ body: (Data) throws -> Void) throws {
        var offset: Int64 = 0
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: chunkSize) ?? Data()
            } catch {
                throw DataPlaneError(.io, "\(url.path): read failed at byte \(offset)", cause: error)
            }
            if chunk.isEmpty { return }
            offset += Int64(chunk.count)
            try body(chunk)
        }
    }

    /// SHA-256 (lower-case hex) and length of a file, read in chunks.
    static func sha256(of url: URL, what: String) throws -> (sha256: String, size: Int64) {
        let handle = try openForReading(url, what: what)
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        try forEachChunk(of: handle, url) { chunk in
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize().lowercaseHex, size)
    }

    /// Removes files directly inside `directory` last modified more than `age` seconds ago.
    static func removeStaleFiles(in directory: URL, olderThan age: TimeInterval) {
        let keys: [URLResourceKey] = [.contentModificationDateKey, .isRegularFileKey]
        guard let names = try? FileManager.default.contentsOfDirectory(
            at: directory, includingPropertiesForKeys: keys)
        else { return }
        let cutoff = Date().addingTimeInterval(-age)
        for url in names {
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true,
                  let modified = values.contentModificationDate, modified < cutoff
            else { continue }
            removeIfPresent(url)
        }
    }

    static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

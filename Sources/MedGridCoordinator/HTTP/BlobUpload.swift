import Crypto
import Foundation
import Hummingbird
import MedGridCore
import MedGridTransport
import NIOCore

/// Receives an uploaded dataset file: streams the body (zstd or plain) to a temporary file while
/// hashing, refuses it when the SHA-256 is not the one named in the URL, and only then stores it.
enum BlobUpload {
    static func receive(_ body: RequestBody, sha256: String, compressed: Bool, into store: BlobStore) async throws -> BlobRecord {
        guard sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw MedGridError(.invalidInput, "\(sha256.prefix(80)): not a SHA-256 (expected 64 lower-case hex digits)")
        }
        if store.contains(sha256), let size = store.size(sha256) {
            for try await _ in body {}
            return BlobRecord(sha256: sha256, size: size.plain, storedSize: size.stored)
        }
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("medgrid-upload-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: temp.path, contents: nil, attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(at: temp) }
        guard let handle = FileHandle(forWritingAtPath: temp.path) else { throw MedGridError(.io, "cannot write a temporary file for an upload") }
        var hasher = SHA256()
        let decompressor = compressed ? try ZstdStreamDecompressor(limit: 1 << 40, name: "upload \(sha256.prefix(12))") : nil
        do {
            for try await buffer in body {
                let chunk = Data(buffer.readableBytesView)
                func sink(_ plain: Data) throws {
                    hasher.update(data: plain)
                    try handle.write(contentsOf: plain)
                }
                if let decompressor { try decompressor.decompress(chunk, into: sink) } else { try sink(chunk) }
            }
            try decompressor?.finish()
            try handle.close()
        } catch {
            try? handle.close()
            throw MedGridError(.invalidInput, "upload of \(sha256.prefix(12))… is not a valid zstd stream or broke off: \(error)")
        }
        let got = hasher.finalize().hexString
        guard got == sha256 else {
            throw MedGridError(.integrity, "upload of \(sha256.prefix(12))… has SHA-256 \(got.prefix(12))…; refused")
        }
        return try store.put(fileAt: temp)
    }
}

extension BlobStore {
    /// Writes a blob's plain bytes to a file, checking them against the hash.
    func extract(_ sha256: String, to url: URL) throws {
        guard let source = compressedFile(sha256), let input = FileHandle(forReadingAtPath: source.path) else {
            throw MedGridError(.notFound, "no blob \(sha256.prefix(12))… in the store")
        }
        defer { try? input.close() }
        FileManager.default.createFile(atPath: url.path, contents: nil)
        guard let output = FileHandle(forWritingAtPath: url.path) else { throw MedGridError(.io, "\(url.path): cannot write") }
        defer { try? output.close() }
        var hasher = SHA256()
        let decompressor = try ZstdStreamDecompressor(limit: 1 << 40, name: "blob \(sha256.prefix(12))")
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            try decompressor.decompress(chunk) { plain in
                hasher.update(data: plain)
                try output.write(contentsOf: plain)
            }
        }
        try decompressor.finish()
        guard hasher.finalize().hexString == sha256 else {
            try? FileManager.default.removeItem(at: url)
            throw MedGridError(.integrity, "stored blob \(sha256.prefix(12))… is corrupt")
        }
    }
}

public import Foundation
import Crypto

/// SHA-256 of files and bytes, streamed so a large file never sits whole in memory.
public enum ContentHash {
    /// Lower-case hex SHA-256 of the bytes.
    public static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).hexString
    }

    /// Lower-case hex SHA-256 of a file, read in 1 MiB chunks, with its size in bytes.
    public static func sha256(fileAt url: URL) throws -> (hash: String, size: Int64) {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw MedGridError(.notFound, "\(url.path): cannot open for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw MedGridError(.io, "\(url.path): read failed at byte \(size)", cause: error)
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize().hexString, size)
    }
}

/// The Merkle root that names a dataset: a binary SHA-256 tree over its files.
///
/// Leaves are `SHA-256(0x00 ‖ path ‖ 0x00 ‖ file-hash-hex)` in the byte order of the relative paths;
/// an inner node is `SHA-256(0x01 ‖ left ‖ right)`; an odd node is carried up unchanged. The domain
/// bytes keep a leaf from ever equalling an inner node. The root of no files is SHA-256 of the empty string.
public enum MerkleTree {
    public static func root(of files: [(path: String, sha256: String)]) -> String {
        let sorted = files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        var level: [Data] = sorted.map { file in
            var d = Data([0])
            d.append(contentsOf: Array(file.path.utf8))
            d.append(0)
            d.append(contentsOf: Array(file.sha256.utf8))
            return Data(SHA256.hash(data: d))
        }
        if level.isEmpty { return SHA256.hash(data: Data()).hexString }
        while level.count > 1 {
            var next: [Data] = []
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i < level.count {
                if i + 1 < level.count {
                    var d = Data([1])
                    d.append(level[i])
                    d.append(level[i + 1])
                    next.append(Data(SHA256.hash(data: d)))
                } else {
                    next.append(level[i])
                }
                i += 2
            }
            level = next
        }
        return level[0].hexString
    }
}

/// A blob in the coordinator's store: its content hash, its plain size and its size at rest.
public struct BlobRecord: Codable, Sendable, Hashable {
    /// Lower-case hex SHA-256 of the plain (decompressed) bytes; the blob's name.
    public var sha256: String
    /// Plain size in bytes.
    public var size: Int64
    /// Size of the zstd-compressed file at rest, which is also what is sent with `Content-Encoding: zstd`.
    public var storedSize: Int64

    public init(sha256: String, size: Int64, storedSize: Int64) {
        self.sha256 = sha256
        self.size = size
        self.storedSize = storedSize
    }
}

public import Foundation
public import Crypto

/// Encryption at rest of a stored blob: AES-256-GCM over 1 MiB segments, so that blobs of any size are
/// sealed and opened as a stream.
///
/// Layout: `MGS1`, then an 8-byte random nonce prefix, then segments. Each segment is a 1-byte flag
/// (1 for the last segment, else 0), a 4-byte big-endian ciphertext length, the ciphertext and its 16-byte
/// tag. Segment `i` uses the nonce `prefix ‖ i` (4 bytes, big endian) and authenticates `context ‖ i ‖ flag`,
/// where the context names the blob: a segment moved, dropped, reordered or taken from another blob, or a
/// file cut after a segment, fails to open.
public enum BlobSeal {
    static let magic = Array("MGS1".utf8)
    static let segmentSize = 1 << 20

    /// The context a stored blob is sealed under: its hash, so a sealed file cannot pose as another blob.
    public static func context(sha256: String) -> Data { Data("medgrid-blob-v1 \(sha256)".utf8) }

    static func nonce(_ prefix: [UInt8], _ index: UInt32) throws -> AES.GCM.Nonce {
        try AES.GCM.Nonce(data: prefix + [UInt8(index >> 24), UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)])
    }

    static func associatedData(_ context: Data, _ index: UInt32, last: Bool) -> Data {
        var d = context
        d.append(contentsOf: [UInt8(index >> 24), UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF), last ? 1 : 0])
        return d
    }

    /// Seals the file at `source` into `destination` (a new file, mode 0600, synced).
    public static func seal(fileAt source: URL, to destination: URL, key: SymmetricKey, context: Data) throws {
        let input = try DataPlaneFiles.openForReading(source, what: "sealing a blob")
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: destination.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let output = FileHandle(forWritingAtPath: destination.path)
        else { throw DataPlaneError(.io, "\(destination.path): cannot create the sealed file") }
        var prefix = [UInt8](repeating: 0, count: 8)
        var rng = SystemRandomNumberGenerator()
        for i in prefix.indices { prefix[i] = UInt8.random(in: 0...255, using: &rng) }
        try DataPlaneFiles.write(Data(magic + prefix), to: output, destination)
        var index: UInt32 = 0
        var pending = try input.read(upToCount: segmentSize) ?? Data()
        while true {
            let next = pending.count == segmentSize ? (try input.read(upToCount: segmentSize) ?? Data()) : Data()
            let last = next.isEmpty
            let box = try AES.GCM.seal(pending, using: key, nonce: try nonce(prefix, index), authenticating: associatedData(context, index, last: last))
            var header = Data([last ? 1 : 0])
            let n = UInt32(box.ciphertext.count)
            header.append(contentsOf: [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
            try DataPlaneFiles.write(header + box.ciphertext + box.tag, to: output, destination)
            if last { break }
            guard index < UInt32.max else { throw DataPlaneError(.tooLarge, "\(source.path): too large to seal") }
            index += 1
            pending = next
        }
        try DataPlaneFiles.syncAndClose(output, destination)
    }

    /// Reads a sealed file segment by segment, giving the plain bytes of each.
    public final class Reader {
        let handle: FileHandle
        let url: URL
        let key: SymmetricKey
        let context: Data
        var prefix: [UInt8] = []
        var index: UInt32 = 0
        var finished = false

        /// Opens `url`. - Throws: ``DataPlaneError`` `integrity` when it is not a sealed blob.
        public init(url: URL, key: SymmetricKey, context: Data) throws {
            self.url = url
            self.key = key
            self.context = context
            handle = try DataPlaneFiles.openForReading(url, what: "sealed blob")
            let head = try handle.read(upToCount: 12) ?? Data()
            guard head.count == 12, Array(head.prefix(4)) == BlobSeal.magic else {
                try? handle.close()
                throw DataPlaneError(.integrity, "\(url.lastPathComponent): not a sealed blob (expected MGS1 at byte 0)")
            }
            prefix = Array(head.suffix(8))
        }

        deinit { try? handle.close() }

        /// The next segment's plain bytes, or nil after the last segment.
        /// - Throws: ``DataPlaneError`` `integrity` when a segment does not authenticate (wrong key, a
        ///   changed, moved or missing segment).
        public func next() throws -> Data? {
            if finished { return nil }
            let offset = (try? handle.offset()) ?? 0
            guard let header = try handle.read(upToCount: 5), header.count == 5 else {
                throw DataPlaneError(.integrity, "\(url.lastPathComponent): sealed blob ends at byte \(offset) before its last segment")
            }
            let last = header[header.startIndex] == 1
            let b = Array(header.dropFirst())
            let n = Int(UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]))
            guard n <= BlobSeal.segmentSize, let body = try handle.read(upToCount: n + 16), body.count == n + 16 else {
                throw DataPlaneError(.integrity, "\(url.lastPathComponent): sealed segment at byte \(offset) is cut short or too long")
            }
            do {
                let box = try AES.GCM.SealedBox(nonce: try BlobSeal.nonce(prefix, index), ciphertext: body.prefix(n), tag: body.suffix(16))
                let plain = try AES.GCM.open(box, using: key, authenticating: BlobSeal.associatedData(context, index, last: last))
                index += 1
                finished = last
                return plain
            } catch {
                throw DataPlaneError(.integrity, "\(url.lastPathComponent): sealed segment \(index) at byte \(offset) does not open with this data key (wrong or destroyed key, or changed bytes)")
            }
        }
    }
}

import Crypto
import Foundation
import MedGridCore
import MedGridTransport
import Testing

/// Sealed blobs at rest: round trip through a sealed store, and every tampering refused.
struct BlobSealTests {
    func bytes(_ count: Int, seed: UInt64) -> Data {
        var state = seed
        return Data((0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        })
    }

    func readAll(_ url: URL, _ key: SymmetricKey, _ context: Data) throws -> Data {
        let reader = try BlobSeal.Reader(url: url, key: key, context: context)
        var out = Data()
        while let chunk = try reader.next() { out.append(chunk) }
        return out
    }

    @Test("a sealed store keeps no plaintext, serves its blobs back, and refuses the wrong key", arguments: [0, 1, 1 << 20, (1 << 20) + 7, 3 << 20])
    func sealedStore(size: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sealed-\(UUID().uuidString)")
        let key = SymmetricKey(size: .bits256)
        let store = try BlobStore(directory: dir, sealingKey: key)
        let plain = bytes(size, seed: UInt64(size) + 1)
        let file = dir.appendingPathExtension("in")
        try plain.write(to: file)
        let record = try store.put(fileAt: file)
        #expect(record.sha256 == ContentHash.sha256(plain))
        let stored = try #require(store.compressedFile(record.sha256))
        #expect(stored.lastPathComponent.hasSuffix(".zst.sealed"))
        if size >= 64 { #expect(try Data(contentsOf: stored).range(of: plain.subdata(in: 0..<64)) == nil, "plaintext at rest") }
        try store.verify(record.sha256)
        #expect(store.size(record.sha256)?.plain == Int64(size))
        // Another key, e.g. after the data key was destroyed and a new one made, opens nothing.
        let other = try BlobStore(directory: dir, sealingKey: SymmetricKey(size: .bits256))
        #expect(throws: DataPlaneError.self) { try other.verify(record.sha256) }
    }

    @Test("a changed byte, a cut file, a segment from another blob and a swapped context are all refused")
    func tampering() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let key = SymmetricKey(size: .bits256)
        let plain = bytes((2 << 20) + 100, seed: 9)
        let input = dir.appendingPathComponent("plain"), sealed = dir.appendingPathComponent("sealed")
        try plain.write(to: input)
        let context = BlobSeal.context(sha256: ContentHash.sha256(plain))
        try BlobSeal.seal(fileAt: input, to: sealed, key: key, context: context)
        #expect(try readAll(sealed, key, context) == plain)
        #expect(throws: DataPlaneError.self) { _ = try readAll(sealed, key, BlobSeal.context(sha256: String(repeating: "0", count: 64))) }
        let original = try Data(contentsOf: sealed)
        let segment = 5 + (1 << 20) + 16  // flag, length, ciphertext, tag
        for mutation in ["flip", "cut-last", "drop-segment", "swap-segments"] {
            var data = original
            switch mutation {
            case "flip": data[12 + 100] ^= 1
            case "cut-last": data = data.prefix(12 + 2 * segment)
            case "drop-segment": data.removeSubrange((12 + segment)..<(12 + 2 * segment))
            default:
                let a = data.subdata(in: 12..<(12 + segment)), b = data.subdata(in: (12 + segment)..<(12 + 2 * segment))
                data.replaceSubrange(12..<(12 + 2 * segment), with: b + a)
            }
            let url = dir.appendingPathComponent(mutation)
            try data.write(to: url)
            #expect(throws: DataPlaneError.self, "\(mutation) must be refused") { _ = try readAll(url, key, context) }
        }
    }

    @Test("a worker's sealed cache entry opens only with its data key, into the task's folder; with another key it is dropped")
    func sealedCacheEntry() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sealed-cache-\(UUID().uuidString)")
        let cache = try BlobCache(directory: dir.appendingPathComponent("cache"), maxBytes: 1 << 30)
        let key = SymmetricKey(size: .bits256)
        let plain = bytes(300_000, seed: 5)
        let sha = ContentHash.sha256(plain)
        let insertion = try cache.beginInsert(sha256: sha, fileName: "case.nii", compressed: false, sealingKey: key)
        try insertion.append(plain)
        let entry = try insertion.commit()
        #expect(entry.lastPathComponent == "case.nii.sealed")
        #expect(try Data(contentsOf: entry).range(of: plain.subdata(in: 1000..<1064)) == nil, "plaintext in the cache")
        #expect(cache.lookup(sha256: sha, fileName: "case.nii") == nil, "a sealed entry is not served as a plain one")
        let opened = try #require(cache.openSealed(sha256: sha, fileName: "case.nii", key: key, into: dir.appendingPathComponent("task")))
        #expect(try Data(contentsOf: opened) == plain)
        #expect(cache.openSealed(sha256: sha, fileName: "case.nii", key: SymmetricKey(size: .bits256), into: dir.appendingPathComponent("task2")) == nil)
        #expect(!FileManager.default.fileExists(atPath: entry.path), "an entry that does not open is dropped, to be fetched again")
    }
}

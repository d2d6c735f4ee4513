import Foundation
import MedGridCore
import MedGridTransport
import Testing

/// Data plane: zstd codec, the coordinator's blob store and the worker's cache.
@Suite struct DataPlaneTests {}

// MARK: Fixtures

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
private func randomBytes(_ count: Int, seed: UInt64 = 42) -> Data {
    var state = seed
    var data = Data(count: count)
    data.withUnsafeMutableBytes { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        var i = 0
        while i < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for shift in stride(from: 0, to: 64, by: 8) where i < count {
                bytes[i] = UInt8(truncatingIfNeeded: z >> UInt64(shift))
                i += 1
            }
        }
    }
    return data
}

/// Text-like bytes that compress very well.
private func compressibleBytes(_ count: Int) -> Data {
    let line = Data("subject,visit,arm,value\nBRATS_001,week-4,placebo,0.125\n".utf8)
    var data = Data()
    data.reserveCapacity(count + line.count)
    while data.count < count { data.append(line) }
    return data.prefix(count)
}

/// A fresh temporary folder, deleted with everything in it when the suite instance (one per test) goes away.
private final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("medgrid-dataplane-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

private func chunks(of data: Data, size: Int) -> [Data] {
    stride(from: 0, to: data.count, by: size).map { data.subdata(in: $0..<min($0 + size, data.count)) }
}

private func flipByte(at offset: Int, in url: URL) throws {
    var bytes = try Data(contentsOf: url)
    bytes[offset] ^= 0x5A
    try bytes.write(to: url)
}

private func filesUnder(_ url: URL) -> [String] {
    let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey])
    var found: [String] = []
    while let item = enumerator?.nextObject() as? URL {
        if (try? item.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            found.append(item.path)
        }
    }
    return found
}

private func code(of error: any Error) -> DataPlaneError.Code? {
    (error as? DataPlaneError)?.code
}

private let badHashes = [
    "", "abc", String(repeating: "A", count: 64), String(repeating: "g", count: 64),
    String(repeating: "a", count: 63), String(repeating: "a", count: 65),
    "../" + String(repeating: "a", count: 61), String(repeating: "a", count: 62) + "/x",
]

// MARK: Zstd

extension DataPlaneTests {
    @Suite struct ZstdCodecTests {
        static let samples: [(String, Data)] = [
            ("empty", Data()),
            ("one byte", Data([0x2A])),
            ("5 MB random", randomBytes(5_000_000)),
            ("5 MB compressible", compressibleBytes(5_000_000)),
        ]

        @Test("One-shot compress and decompress give back the same bytes", arguments: 0..<4)
        func roundTrip(sample: Int) throws {
            let (_, plain) = Self.samples[sample]
            let compressed = try Zstd.compress(plain)
            #expect(try Zstd.decompress(compressed, limit: plain.count) == plain)
            #expect(Zstd.contentSize(ofFrameStartingWith: compressed) == UInt64(plain.count))
        }

        @Test("Highly compressible data shrinks a lot")
        func compressible() throws {
            let plain = compressibleBytes(5_000_000)
            let compressed = try Zstd.compress(plain, level: 3)
            #expect(compressed.count < plain.count / 100)
        }

        @Test("Streaming in odd chunk sizes equals one-shot", arguments: [1, 7, 4093, 65_537, 1 << 20])
        func streaming(chunkSize: Int) throws {
            let plain = randomBytes(300_000, seed: 7) + compressibleBytes(700_000)
            // Stream-compress in odd chunks, one-shot decompress.
            let compressor = try ZstdStreamCompressor(level: 3)
            var compressed = Data()
            for chunk in chunks(of: plain, size: chunkSize) {
                try compressor.compress(chunk) { compressed.append($0) }
            }
            try compressor.finish { compressed.append($0) }
            #expect(compressor.bytesIn == Int64(plain.count))
            #expect(try Zstd.decompress(compressed, limit: plain.count) == plain)

            // One-shot compress, stream-decompress in odd chunks.
            let oneShot = try Zstd.compress(plain)
            let decompressor = try ZstdStreamDecompressor(limit: Int64(plain.count))
            var restored = Data()
            for chunk in chunks(of: oneShot, size: chunkSize) {
                try decompressor.decompress(chunk) { restored.append($0) }
            }
            try decompressor.finish()
            #expect(restored == plain)
        }

        @Test("A pledged size is recorded in the frame header, and a wrong one fails")
        func pledgedSize() throws {
            let plain = compressibleBytes(10_000)
            let compressor = try ZstdStreamCompressor(pledgedSize: Int64(plain.count))
            var compressed = Data()
            try compressor.compress(plain) { compressed.append($0) }
            try compressor.finish { compressed.append($0) }
            #expect(Zstd.contentSize(ofFrameStartingWith: compressed.prefix(18)) == 10_000)

            let liar = try ZstdStreamCompressor(pledgedSize: 5)
            #expect(throws: DataPlaneError.self) {
                try liar.compress(plain) { _ in }
                try liar.finish { _ in }
            }
        }

        @Test("A truncated frame throws truncated", arguments: [1, 10, 1000])
        func truncated(cut: Int) throws {
            let compressed = try Zstd.compress(randomBytes(50_000))
            let short = compressed.prefix(compressed.count - cut)
            #expect(performing: { try Zstd.decompress(short, limit: 1 << 20) },
                    throws: { code(of: $0) == .truncated })

            let decompressor = try ZstdStreamDecompressor(limit: 1 << 20)
            try decompressor.decompress(short) { _ in }
            #expect(performing: { try decompressor.finish() }, throws: { code(of: $0) == .truncated })
        }

        @Test("Empty input is not a zstd stream")
        func emptyInput() throws {
            #expect(performing: { try Zstd.decompress(Data(), limit: 10) }, throws: { code(of: $0) == .truncated })
        }

        @Test("Corrupt bytes throw corrupt", arguments: [0, 2, 500, 25_000])
        func corrupt(offset: Int) throws {
            var compressed = try Zstd.compress(randomBytes(50_000))
            compressed[offset] ^= 0xFF
            #expect(performing: { try Zstd.decompress(compressed, limit: 1 << 20) },
                    throws: { code(of: $0) == .corrupt })
        }

        @Test("Trailing garbage after the frame is rejected")
        func trailingGarbage() throws {
            let compressed = try Zstd.compress(Data("hello".utf8)) + Data("junk-junk".utf8)
            #expect(throws: DataPlaneError.self) { try Zstd.decompress(compressed, limit: 100) }
        }

        @Test("The output limit is enforced, and exactly the limit is allowed")
        func limit() throws {
            let plain = compressibleBytes(1_000_000)
            let compressed = try Zstd.compress(plain)
            #expect(try Zstd.decompress(compressed, limit: plain.count) == plain)
            #expect(performing: { try Zstd.decompress(compressed, limit: plain.count - 1) },
                    throws: { code(of: $0) == .tooLarge })

            let decompressor = try ZstdStreamDecompressor(limit: 1000)
            var received = 0
            #expect(performing: {
                try decompressor.decompress(compressed) { received += $0.count }
            }, throws: { code(of: $0) == .tooLarge })
            #expect(received <= 1000)
        }

        @Test("Concatenated frames decode as one stream")
        func concatenated() throws {
            let a = Data("first frame ".utf8), b = Data("second frame".utf8)
            let joined = try Zstd.compress(a) + Zstd.compress(b)
            #expect(try Zstd.decompress(joined, limit: 100) == a + b)
        }

        @Test("A spent compressor or decompressor refuses further use")
        func spent() throws {
            let compressor = try ZstdStreamCompressor()
            try compressor.finish { _ in }
            #expect(performing: { try compressor.compress(Data([1])) { _ in } },
                    throws: { code(of: $0) == .invalidInput })
            let decompressor = try ZstdStreamDecompressor(limit: 10)
            #expect(throws: DataPlaneError.self) { try decompressor.decompress(Data([1, 2, 3, 4, 5])) { _ in } }
            #expect(performing: { try decompressor.finish() }, throws: { code(of: $0) == .invalidInput })
        }
    }
}

// MARK: BlobStore

extension DataPlaneTests {
    @Suite struct BlobStoreTests {
        private let scratch: ScratchDirectory
        let root: URL
        let store: BlobStore

        init() throws {
            scratch = try ScratchDirectory()
            root = scratch.url
            store = try BlobStore(directory: root.appendingPathComponent("blobs"))
        }

        private func writeFile(_ data: Data, _ name: String = "input.bin") throws -> URL {
            let url = root.appendingPathComponent(name)
            try data.write(to: url)
            return url
        }

        private func storedPlain(_ sha: String) throws -> Data {
            let url = try #require(store.compressedFile(sha))
            return try Zstd.decompress(Data(contentsOf: url), limit: 100_000_000)
        }

        @Test("The store directory is private")
        func permissions() throws {
            let attributes = try FileManager.default.attributesOfItem(atPath: store.directory.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        }

        @Test("put stores a file under its hash; contains, size, verify and the served file agree",
              arguments: [0, 1, 3_000_000])
        func putAndRead(size: Int) throws {
            let plain = randomBytes(size, seed: UInt64(size)) + compressibleBytes(size)
            let url = try writeFile(plain)
            let record = try store.put(fileAt: url)
            #expect(record.sha256 == ContentHash.sha256(plain))
            #expect(record.size == Int64(plain.count))
            #expect(store.contains(record.sha256))
            let file = try #require(store.compressedFile(record.sha256))
            #expect(file.lastPathComponent == "\(record.sha256).zst")
            #expect(file.deletingLastPathComponent().lastPathComponent == String(record.sha256.prefix(2)))
            #expect(record.storedSize == Int64(try Data(contentsOf: file).count))
            let sizes = try #require(store.size(record.sha256))
            #expect(sizes.plain == record.size && sizes.stored == record.storedSize)
            try store.verify(record.sha256)
            #expect(try storedPlain(record.sha256) == plain)
            #expect(filesUnder(store.directory.appendingPathComponent("tmp")).isEmpty)
        }

        @Test("put is idempotent: the existing blob is kept")
        func idempotent() throws {
            let plain = compressibleBytes(200_000)
            let first = try store.put(fileAt: try writeFile(plain, "a"))
            let file = try #require(store.compressedFile(first.sha256))
            let before = try FileManager.default.attributesOfItem(atPath: file.path)[.systemFileNumber] as? NSNumber
            let second = try store.put(fileAt: try writeFile(plain, "b"))
            let after = try FileManager.default.attributesOfItem(atPath: file.path)[.systemFileNumber] as? NSNumber
            #expect(first == second)
            #expect(before == after)
            #expect(filesUnder(store.directory).count == 1)
        }

        @Test("A missing input file throws notFound")
        func missingFile() throws {
            #expect(performing: { try store.put(fileAt: root.appendingPathComponent("nope")) },
                    throws: { code(of: $0) == .notFound })
        }

        @Test("An upload with the right hash is stored, whatever its chunking and level",
              arguments: [1, 1000, 1 << 20])
        func upload(chunkSize: Int) throws {
            let plain = randomBytes(400_000) + compressibleBytes(400_000)
            let sha = ContentHash.sha256(plain)
            // The client's frame (level 19, no content size) is re-encoded with the store's settings.
            let compressor = try ZstdStreamCompressor(level: 19)
            var compressed = Data()
            try compressor.compress(plain) { compressed.append($0) }
            try compressor.finish { compressed.append($0) }
            let record = try store.put(compressedChunks: chunks(of: compressed, size: chunkSize), expectedSHA256: sha)
            #expect(record.sha256 == sha && record.size == Int64(plain.count))
            #expect(store.size(sha)?.plain == Int64(plain.count))
            try store.verify(sha)
            #expect(try storedPlain(sha) == plain)
        }

        @Test("An upload from a compressed file is stored")
        func uploadFromFile() throws {
            let plain = compressibleBytes(2_500_000)
            let url = try writeFile(try Zstd.compress(plain), "upload.zst")
            let record = try store.put(compressedFileAt: url, expectedSHA256: ContentHash.sha256(plain))
            #expect(store.contains(record.sha256))
        }

        @Test("An upload whose content has another hash is refused and nothing is kept")
        func uploadWrongHash() throws {
            let plain = randomBytes(100_000)
            let wrong = ContentHash.sha256(plain + Data([0]))
            #expect(performing: {
                try store.put(compressedChunks: [try Zstd.compress(plain)], expectedSHA256: wrong)
            }, throws: { error in
                code(of: error) == .integrity && "\(error)".contains(wrong)
            })
            #expect(!store.contains(wrong))
            #expect(!store.contains(ContentHash.sha256(plain)))
            #expect(filesUnder(store.directory).isEmpty)
        }

        @Test("A truncated or oversized upload is refused and nothing is kept")
        func uploadTruncatedOrTooLarge() throws {
            let plain = randomBytes(100_000)
            let sha = ContentHash.sha256(plain)
            let compressed = try Zstd.compress(plain)
            #expect(performing: {
                try store.put(compressedChunks: [compressed.prefix(compressed.count / 2)], expectedSHA256: sha)
            }, throws: { code(of: $0) == .truncated })
            #expect(performing: {
                try store.put(compressedChunks: [compressed], expectedSHA256: sha, maxSize: 99_999)
            }, throws: { code(of: $0) == .tooLarge })
            let upload = try store.beginUpload(expectedSHA256: sha)
            try upload.append(compressed.prefix(10))
            upload.cancel()
            #expect(filesUnder(store.directory).isEmpty)
        }

        @Test("A flipped byte in a stored blob is caught by verify and the blob can be quarantined",
              arguments: [0.1, 0.5, 0.99])
        func corruptionDetected(position: Double) throws {
            let plain = randomBytes(500_000)
            let record = try store.put(fileAt: try writeFile(plain))
            let file = try #require(store.compressedFile(record.sha256))
            try flipByte(at: Int(Double(record.storedSize) * position), in: file)
            #expect(performing: { try store.verify(record.sha256) }, throws: { error in
                code(of: error) == .integrity && "\(error)".contains(record.sha256)
            })
            let moved = try #require(store.quarantine(record.sha256))
            #expect(moved.deletingLastPathComponent().lastPathComponent == "corrupt")
            #expect(FileManager.default.fileExists(atPath: moved.path))
            #expect(!store.contains(record.sha256))
            #expect(performing: { try store.verify(record.sha256) }, throws: { code(of: $0) == .notFound })
            // Adding it again restores the blob.
            _ = try store.put(fileAt: try writeFile(plain, "again"))
            try store.verify(record.sha256)
        }

        @Test("remove deletes a blob")
        func remove() throws {
            let record = try store.put(fileAt: try writeFile(Data("x".utf8)))
            try store.remove(record.sha256)
            #expect(!store.contains(record.sha256))
            try store.remove(record.sha256)
        }

        @Test("Malformed hashes are refused and never become paths", arguments: badHashes)
        func badHash(sha: String) throws {
            #expect(!store.contains(sha))
            #expect(store.compressedFile(sha) == nil)
            #expect(store.size(sha) == nil)
            #expect(store.quarantine(sha) == nil)
            #expect(performing: { try store.verify(sha) }, throws: { code(of: $0) == .invalidInput })
            #expect(performing: { try store.beginUpload(expectedSHA256: sha) }, throws: { code(of: $0) == .invalidInput })
            #expect(performing: { try store.remove(sha) }, throws: { code(of: $0) == .invalidInput })
        }
    }
}

// MARK: BlobCache

extension DataPlaneTests {
    @Suite struct BlobCacheTests {
        private let scratch: ScratchDirectory
        let root: URL

        init() throws {
            scratch = try ScratchDirectory()
            root = scratch.url
        }

        private func makeCache(maxBytes: Int64 = 1 << 30) throws -> BlobCache {
            try BlobCache(directory: root.appendingPathComponent("cache"), maxBytes: maxBytes)
        }

        @discardableResult
        private func insert(
            _ cache: BlobCache, _ plain: Data, name: String = "image.nii.gz", chunkSize: Int = 65_536
        ) throws -> URL {
            let insertion = try cache.beginInsert(
                sha256: ContentHash.sha256(plain), fileName: name, expectedSize: Int64(plain.count))
            for chunk in chunks(of: try Zstd.compress(plain), size: chunkSize) { try insertion.append(chunk) }
            return try insertion.commit()
        }

        @Test("A compressed insert can be looked up and reads back the same bytes",
              arguments: [0, 1, 2_000_000])
        func insertAndLookup(size: Int) throws {
            let cache = try makeCache()
            let plain = randomBytes(size)
            let sha = ContentHash.sha256(plain)
            let url = try insert(cache, plain, chunkSize: 777)
            #expect(url.path.hasSuffix("/\(sha.prefix(2))/\(sha)/image.nii.gz"))
            #expect(cache.lookup(sha256: sha, fileName: "image.nii.gz") == url)
            #expect(try Data(contentsOf: url) == plain)
            #expect(cache.totalBytes == Int64(size))
            #expect(cache.lookup(sha256: sha, fileName: "other.nii.gz") == nil)
            #expect(filesUnder(cache.directory.appendingPathComponent("tmp")).isEmpty)
        }

        @Test("A plain insert (zstd off) works the same")
        func plainInsert() throws {
            let cache = try makeCache()
            let plain = compressibleBytes(300_000)
            let sha = ContentHash.sha256(plain)
            let insertion = try cache.beginInsert(sha256: sha, fileName: "table.csv", expectedSize: nil, compressed: false)
            for chunk in chunks(of: plain, size: 4096) { try insertion.append(chunk) }
            let url = try insertion.commit()
            #expect(cache.lookup(sha256: sha, fileName: "table.csv") == url)
            #expect(try Data(contentsOf: url) == plain)
        }

        @Test("A flipped byte in a cached file makes lookup return nil and removes the entry")
        func corruptedEntry() throws {
            let cache = try makeCache()
            let plain = randomBytes(100_000)
            let sha = ContentHash.sha256(plain)
            let url = try insert(cache, plain)
            try flipByte(at: 54_321, in: url)
            #expect(cache.lookup(sha256: sha, fileName: "image.nii.gz") == nil)
            #expect(!FileManager.default.fileExists(atPath: url.path))
            #expect(cache.totalBytes == 0)
            #expect(cache.entryCount == 0)
            // Fetching again restores it.
            try insert(cache, plain)
            #expect(cache.lookup(sha256: sha, fileName: "image.nii.gz") != nil)
        }

        @Test("An insert whose content has another hash leaves nothing behind")
        func wrongHash() throws {
            let cache = try makeCache()
            let plain = randomBytes(100_000)
            let wrong = ContentHash.sha256(Data("something else".utf8))
            let insertion = try cache.beginInsert(sha256: wrong, fileName: "x.bin")
            try insertion.append(try Zstd.compress(plain))
            #expect(performing: { try insertion.commit() }, throws: { error in
                code(of: error) == .integrity && "\(error)".contains(wrong)
            })
            #expect(cache.lookup(sha256: wrong, fileName: "x.bin") == nil)
            #expect(filesUnder(cache.directory).isEmpty)
            #expect(cache.totalBytes == 0)
        }

        @Test("Size, truncation and corruption problems leave nothing behind")
        func badStreams() throws {
            let cache = try makeCache()
            let plain = randomBytes(50_000)
            let sha = ContentHash.sha256(plain)
            let compressed = try Zstd.compress(plain)

            let tooSmall = try cache.beginInsert(sha256: sha, fileName: "a", expectedSize: 49_999)
            #expect(performing: { try tooSmall.append(compressed) }, throws: { code(of: $0) == .tooLarge })

            let tooBig = try cache.beginInsert(sha256: sha, fileName: "a", expectedSize: 50_001)
            try tooBig.append(compressed)
            #expect(performing: { try tooBig.commit() }, throws: { code(of: $0) == .truncated })

            let cut = try cache.beginInsert(sha256: sha, fileName: "a")
            try cut.append(compressed.prefix(compressed.count - 3))
            #expect(performing: { try cut.commit() }, throws: { code(of: $0) == .truncated })

            var damaged = compressed
            damaged[1000] ^= 0xFF
            let bad = try cache.beginInsert(sha256: sha, fileName: "a")
            #expect(throws: DataPlaneError.self) {
                try bad.append(damaged)
                _ = try bad.commit()
            }

            do {
                let abandoned = try cache.beginInsert(sha256: sha, fileName: "a")
                try abandoned.append(compressed.prefix(100))
            }
            #expect(filesUnder(cache.directory).isEmpty)
        }

        @Test("LRU eviction keeps the total under maxBytes and drops the least recently used")
        func lruEviction() throws {
            let cache = try makeCache(maxBytes: 250)
            let a = randomBytes(100, seed: 1), b = randomBytes(100, seed: 2), c = randomBytes(100, seed: 3)
            try insert(cache, a, name: "a")
            try insert(cache, b, name: "b")
            #expect(cache.lookup(sha256: ContentHash.sha256(a), fileName: "a") != nil)
            try insert(cache, c, name: "c")
            #expect(cache.totalBytes == 200)
            #expect(cache.totalBytes <= cache.maxBytes)
            #expect(cache.lookup(sha256: ContentHash.sha256(b), fileName: "b") == nil)
            #expect(cache.lookup(sha256: ContentHash.sha256(a), fileName: "a") != nil)
            #expect(cache.lookup(sha256: ContentHash.sha256(c), fileName: "c") != nil)
            #expect(filesUnder(cache.directory).count == 2)
        }

        @Test("An entry larger than the cache is kept until the next insert")
        func oversizedEntry() throws {
            let cache = try makeCache(maxBytes: 1000)
            let big = randomBytes(5000, seed: 9)
            try insert(cache, big, name: "big")
            #expect(cache.lookup(sha256: ContentHash.sha256(big), fileName: "big") != nil)
            #expect(cache.totalBytes == 5000)
            let small = randomBytes(10, seed: 10)
            try insert(cache, small, name: "small")
            #expect(cache.lookup(sha256: ContentHash.sha256(big), fileName: "big") == nil)
            #expect(cache.totalBytes == 10)
        }

        @Test("A reopened cache finds its entries and their sizes")
        func reopen() throws {
            let plain = randomBytes(12_345)
            do {
                let cache = try makeCache()
                try insert(cache, plain)
            }
            let reopened = try makeCache()
            #expect(reopened.totalBytes == 12_345)
            #expect(reopened.lookup(sha256: ContentHash.sha256(plain), fileName: "image.nii.gz") != nil)
            let shrunk = try makeCache(maxBytes: 100)
            #expect(shrunk.totalBytes == 0)
        }

        @Test("Malformed hashes are refused", arguments: badHashes)
        func badHash(sha: String) throws {
            let cache = try makeCache()
            #expect(cache.lookup(sha256: sha, fileName: "a") == nil)
            #expect(performing: { try cache.beginInsert(sha256: sha, fileName: "a") },
                    throws: { code(of: $0) == .invalidInput })
        }

        @Test("File names that are not one path component are refused",
              arguments: ["", ".", "..", "a/b", "../escape", "/abs", "nul\u{0}byte", String(repeating: "x", count: 256)])
        func badFileName(name: String) throws {
            let cache = try makeCache()
            let sha = ContentHash.sha256(Data("x".utf8))
            #expect(cache.lookup(sha256: sha, fileName: name) == nil)
            #expect(performing: { try cache.beginInsert(sha256: sha, fileName: name) },
                    throws: { code(of: $0) == .invalidInput })
        }
    }
}

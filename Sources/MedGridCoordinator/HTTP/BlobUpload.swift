import Crypto
import Foundation
import Hummingbird
import MedGridCore
import MedGridTransport
import NIOCore

/// What one upload may hold, in plain (decompressed) bytes.
public struct UploadLimits: Sendable, Equatable {
    /// The largest dataset file accepted (``Coordinator/Configuration/maxBlobBytes``).
    public var maxBlobBytes: Int64
    /// What the uploading project may still store under its quota
    /// (``Coordinator/Configuration/projectQuotaBytes`` less what it holds).
    public var remainingQuotaBytes: Int64

    public init(maxBlobBytes: Int64, remainingQuotaBytes: Int64) {
        self.maxBlobBytes = maxBlobBytes
        self.remainingQuotaBytes = remainingQuotaBytes
    }

    /// The most plain bytes this upload may produce: the smaller of the two limits.
    public var maxPlainBytes: Int64 { max(0, min(maxBlobBytes, remainingQuotaBytes)) }

    /// The most bytes accepted on the wire: the plain limit for a plain upload; for a zstd upload, the
    /// most a zstd stream of that many plain bytes can take.
    public func maxWireBytes(compressed: Bool) -> Int64 {
        compressed ? BlobStore.maxCompressedSize(ofPlainSize: maxPlainBytes) : maxPlainBytes
    }

    /// The binding limit in words, for a refusal.
    var bindingLimit: String {
        if remainingQuotaBytes < maxBlobBytes {
            return "the project's remaining quota of \(byteText(max(0, remainingQuotaBytes)))"
        }
        return "the maximum file size of \(byteText(maxBlobBytes))"
    }
}

/// Receives an uploaded dataset file (`PUT /v1/blobs/{sha256}`, zstd or plain) as a stream: each chunk is
/// decompressed, hashed and written to a temporary file in the blob store as it arrives, and the upload
/// stops as soon as it passes its ``UploadLimits`` (413, partial file deleted). The blob is stored only
/// when the SHA-256 of the whole content is the one named in the URL.
enum BlobUpload {
    static func receive(
        _ body: RequestBody, sha256: String, compressed: Bool, into store: BlobStore, limits: UploadLimits,
        claim: ProjectQuotas.Claim
    ) async throws -> BlobRecord {
        guard BlobName.isSHA256(sha256) else {
            throw MedGridError(.invalidInput, "\(sha256.prefix(80)): not a SHA-256 (expected 64 lower-case hex digits)")
        }
        let name = "upload of \(sha256.prefix(12))…"
        guard limits.maxPlainBytes > 0 else {
            throw HTTPError(.contentTooLarge, message: "\(name) refused: it would exceed \(limits.bindingLimit)")
        }
        let upload = try OffPool.Box(
            store.beginUpload(
                expectedSHA256: sha256, maxSize: limits.maxPlainBytes,
                maxWireSize: limits.maxWireBytes(compressed: compressed), compressed: compressed))
        do {
            for try await buffer in body {
                let chunk = Data(buffer.readableBytesView)
                // Decompressing and writing can take a while (one chunk may inflate to the whole limit): off
                // the cooperative pool, so heartbeats and leases are served meanwhile.
                try await OffPool.run { try upload.value.append(chunk) }
                // Other uploads to the project may be arriving at the same time: each claims what it has
                // decompressed, and the one that would pass the quota stops.
                guard claim.grow(to: upload.value.plainBytes) else {
                    upload.value.cancel()
                    throw HTTPError(
                        .contentTooLarge,
                        message: "\(name) refused after \(byteText(upload.value.plainBytes)) of content: with the files project \(claim.project) "
                            + "stores and its other uploads in progress, it would exceed the project's remaining quota (the quota is "
                            + "\(byteText(claim.quota))); nothing was kept")
                }
            }
            return try await OffPool.run { try upload.value.commit() }
        } catch let error as DataPlaneError {
            upload.value.cancel()
            switch error.code {
            case .tooLarge:
                throw HTTPError(
                    .contentTooLarge,
                    message: "\(name) refused after \(byteText(upload.value.plainBytes)) of content "
                        + "(\(byteText(upload.value.wireBytes)) received): it exceeds \(limits.bindingLimit); nothing was kept")
            case .corrupt, .truncated:
                throw MedGridError(.invalidInput, "\(name) is not a valid zstd stream: \(error.message)")
            case .integrity:
                throw MedGridError(.integrity, "\(name): \(error.message)")
            default:
                throw MedGridError(.io, "\(name) could not be stored: \(error.message)")
            }
        } catch let error as MedGridError {
            upload.value.cancel()
            throw error
        } catch let error as HTTPError {
            throw error
        } catch {
            upload.value.cancel()
            throw MedGridError(.invalidInput, "\(name) broke off after \(byteText(upload.value.wireBytes)): \(error)")
        }
    }
}

/// Runs blocking work (file IO, decompression) on a Dispatch queue instead of a Swift concurrency thread.
enum OffPool {
    /// A non-Sendable value handed between the request's task and the queue; used by one at a time.
    final class Box<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}

/// Bytes in words with binary units, exact below 1 KiB: "64 MiB (67108864 bytes)".
func byteText(_ bytes: Int64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
    guard bytes >= 1024 else { return "\(bytes) bytes" }
    var value = Double(bytes) / 1024
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    let number = value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    return "\(number) \(units[unit]) (\(bytes) bytes)"
}

extension BlobStore {
    /// Writes a blob's plain bytes to a file, checking them against the hash.
    func extract(_ sha256: String, to url: URL) throws {
        guard compressedFile(sha256) != nil else {
            throw MedGridError(.notFound, "no blob \(sha256.prefix(12))… in the store")
        }
        let input = try openStored(sha256)
        FileManager.default.createFile(atPath: url.path, contents: nil)
        guard let output = FileHandle(forWritingAtPath: url.path) else { throw MedGridError(.io, "\(url.path): cannot write") }
        defer { try? output.close() }
        var hasher = SHA256()
        let decompressor = try ZstdStreamDecompressor(limit: 1 << 40, name: "blob \(sha256.prefix(12))")
        while let chunk = try input.next() {
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

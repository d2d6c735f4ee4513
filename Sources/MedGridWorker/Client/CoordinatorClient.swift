public import AsyncHTTPClient
public import Foundation
public import Crypto
import Logging
public import MedGridCore
public import MedGridTransport
import NIOCore
public import NIOHTTP1
public import NIOSSL

/// A client of the coordinator's HTTPS API with mutual TLS: JSON calls, blob upload and download.
/// Used by the worker daemon and by the command line. Errors come back as ``MedGridError``s in plain
/// words: HTTP errors carry the coordinator's message; TLS failures are explained (which certificate,
/// which CA, expired, wrong role).
public final class CoordinatorClient: Sendable {
    public let baseURL: String
    /// Whether dataset files travel zstd-compressed (the default) or plain.
    public let wireCompression: Bool
    let client: HTTPClient

    public init(baseURL: String, tls: TLSConfiguration, wireCompression: Bool = true) {
        self.wireCompression = wireCompression
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(10))
        config.decompression = .disabled
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// A JSON request; decodes the reply or throws the coordinator's error.
    public func call<Out: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<String>.none, timeout: Double = 60, as: Out.Type = Out.self) async throws -> Out {
        let data = try await raw(method, path, body: body, timeout: timeout)
        do {
            return try JSONDecoder().decode(Out.self, from: data)
        } catch {
            throw MedGridError(.io, "\(baseURL)\(path): unexpected reply (\(describeDecodingError(error)))")
        }
    }

    /// A request whose reply body is returned as bytes (for reports).
    public func raw(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<String>.none, timeout: Double = 60) async throws -> Data {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try encoder.encode(body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        } catch {
            throw MedGridError(.unavailable, TLSDiagnosis.explain(error, peer: baseURL))
        }
        let bytes = try await collect(response.body, path: path)
        try check(response.status, bytes, path: path)
        return bytes
    }

    func collect(_ body: HTTPClientResponse.Body, path: String) async throws -> Data {
        do {
            var buffer = try await body.collect(upTo: 256 << 20)
            return Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch {
            throw MedGridError(.unavailable, "\(baseURL)\(path): the reply broke off (\(TLSDiagnosis.explain(error, peer: baseURL)))")
        }
    }

    func check(_ status: HTTPResponseStatus, _ body: Data, path: String) throws {
        guard !(200..<300).contains(Int(status.code)) else { return }
        let message = (try? JSONDecoder().decode(API.ErrorBody.self, from: body))?.error ?? String(decoding: body.prefix(500), as: UTF8.self)
        let code: MedGridError.Code
        switch status.code {
        case 400: code = .invalidInput
        case 401, 403: code = .permissionDenied
        case 404: code = .notFound
        case 409: code = .conflict
        case 503: code = .unavailable
        default: code = status.code >= 500 ? .unavailable : .io
        }
        throw MedGridError(code, "\(status.code) from \(path): \(message)")
    }

    // MARK: Blobs

    /// Uploads one file of an offered dataset (by its Merkle root) for a project (nil: the caller's personal
    /// project), zstd-compressed on the wire, streamed from disk. The coordinator seals it at rest under the
    /// dataset's data key.
    public func upload(fileAt url: URL, sha256: String, dataset root: String, project: String? = nil) async throws {
        var query = ["dataset=\(root)"]
        if let project { query.append("project=\(project)") }
        var request = HTTPClientRequest(url: baseURL + "/v1/blobs/\(sha256)?" + query.joined(separator: "&"))
        request.method = .PUT
        request.headers.add(name: "Content-Encoding", value: "zstd")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .stream(ZstdFileStream(url: url), length: .unknown)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(3600))
        } catch {
            throw MedGridError(.unavailable, TLSDiagnosis.explain(error, peer: baseURL))
        }
        let body = try await collect(response.body, path: "/v1/blobs")
        try check(response.status, body, path: "/v1/blobs/\(sha256.prefix(12))…")
    }

    /// Downloads one blob into the cache, streaming: decompressed and hashed on the way, committed only
    /// when the hash matches. Returns the bytes received on the wire.
    public func download(sha256: String, fileName: String, into cache: BlobCache, sealingKey: SymmetricKey? = nil) async throws -> (url: URL, wireBytes: Int64) {
        var request = HTTPClientRequest(url: baseURL + "/v1/blobs/\(sha256)")
        request.headers.add(name: "Accept-Encoding", value: wireCompression ? "zstd" : "identity")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(3600))
        } catch {
            throw MedGridError(.unavailable, TLSDiagnosis.explain(error, peer: baseURL))
        }
        guard response.status == .ok else {
            let body = try await collect(response.body, path: "/v1/blobs")
            try check(response.status, body, path: "/v1/blobs/\(sha256.prefix(12))…")
            throw MedGridError(.io, "unexpected status \(response.status.code)")
        }
        let compressed = response.headers.first(name: "Content-Encoding") == "zstd"
        let insertion = try cache.beginInsert(sha256: sha256, fileName: fileName, compressed: compressed, sealingKey: sealingKey)
        var wire: Int64 = 0
        do {
            for try await chunk in response.body {
                wire += Int64(chunk.readableBytes)
                try insertion.append(Data(chunk.readableBytesView))
            }
        } catch let e as DataPlaneError {
            insertion.cancel()
            throw e
        } catch {
            insertion.cancel()
            throw MedGridError(.unavailable, "download of \(fileName) broke off: \(TLSDiagnosis.explain(error, peer: baseURL))")
        }
        return (try insertion.commit(), wire)
    }
}

/// A file read in 1 MiB chunks and zstd-compressed on the fly, as an upload body.
struct ZstdFileStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let url: URL

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        var compressor: ZstdStreamCompressor?
        var finished = false
        var pending: [Data] = []

        mutating func next() async throws -> ByteBuffer? {
            guard let handle else { throw MedGridError(.notFound, "cannot open a dataset file for upload") }
            if compressor == nil { compressor = try ZstdStreamCompressor(level: 3) }
            let compressor = compressor!
            while pending.isEmpty && !finished {
                let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
                var out: [Data] = []
                if chunk.isEmpty {
                    try compressor.finish { out.append($0) }
                    finished = true
                    try? handle.close()
                } else {
                    try compressor.compress(chunk) { out.append($0) }
                }
                pending.append(contentsOf: out.filter { !$0.isEmpty })
            }
            guard !pending.isEmpty else { return nil }
            return ByteBuffer(bytes: pending.removeFirst())
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: FileHandle(forReadingAtPath: url.path)) }
}

import AsyncHTTPClient
import Foundation
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridReports
import MedGridTesting
import MedGridTransport
import MedGridWorker
import NIOCore
import NIOHTTP1
import Synchronization

/// Uploads are decompressed as a stream and stopped at the smaller of the maximum blob size and the
/// project's remaining quota; JSON bodies are capped. Real coordinators over TLS on 127.0.0.1.
@Suite(.serialized)
struct UploadLimitTests {
    static let limit: Int64 = 64 << 20

    enum Binding: String, CaseIterable, Sendable { case maxBlobSize, projectQuota }

    /// Offers a dataset of the given files (hash, size) to `user`'s personal project; returns its root.
    func offer(_ server: TestServer, _ user: String, _ files: [(String, Int64)]) async throws -> String {
        let inventory = DatasetInventory(files: files.enumerated().map { DatasetInventory.File(path: "f\($0.offset).bin", sha256: $0.element.0, size: $0.element.1) })
        let client = try server.client(.user, user)
        let _: API.DatasetNeeds = try await client.call(.POST, "/v1/datasets", body: API.DatasetOffer(inventory: inventory))
        await client.shutdown()
        return inventory.root
    }

    @Test("A 10 GB run of zeros compressed to about 1 MB is refused with 413 at the limit, without filling the disk",
          arguments: Binding.allCases)
    func zstdBombRefused(binding: Binding) async throws {
        let state = try TestSupport.temporaryDirectory("medgrid-upload-bomb")
        let server = try await TestServer(stateDirectory: state, pki: try TestPKI()) {
            switch binding {
            case .maxBlobSize: $0.maxBlobBytes = Self.limit
            case .projectQuota: $0.projectQuotaBytes = Self.limit
            }
        }
        let alice = try RawAPIClient(server: server, role: .user, name: "alice")

        // 10 GB of zeros through the compressor, 1 MiB at a time; only the compressed stream is kept.
        let (bomb, plainBytes) = try await onDispatchQueue { () throws -> (Data, Int64) in
            let zeros = Data(count: 1 << 20)
            let compressor = try ZstdStreamCompressor(level: 3)
            var bomb = Data()
            for _ in 0..<(10_000_000_000 / (1 << 20) + 1) { try compressor.compress(zeros) { bomb.append($0) } }
            try compressor.finish { bomb.append($0) }
            return (bomb, compressor.bytesIn)
        }
        #expect(plainBytes >= 10_000_000_000)
        #expect(bomb.count < 4 << 20, "the bomb is \(bomb.count) bytes")

        let baseline = directorySize(state)
        let peak = LargestSample(baseline)
        let sampler = Task {
            while !Task.isCancelled {
                peak.record(directorySize(state))
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let started = Date()
        // The name is any SHA-256: the upload must be stopped by its size, long before a hash could be checked.
        let sha = ContentHash.sha256(Data("ten gigabytes of zeros".utf8))
        let bombRoot = try await offer(server, "alice", [(sha, plainBytes)])
        let reply = try await alice.send(.PUT, "/v1/blobs/\(sha)?dataset=\(bombRoot)", headers: [("Content-Encoding", "zstd")], body: bomb)
        let elapsed = Date().timeIntervalSince(started)
        sampler.cancel()
        _ = await sampler.value

        #expect(reply.status == 413, "\(reply.body)")
        #expect(reply.body.contains("64 MiB (67108864 bytes)"), "\(reply.body)")
        switch binding {
        case .maxBlobSize: #expect(reply.body.contains("maximum file size"), "\(reply.body)")
        case .projectQuota: #expect(reply.body.contains("remaining quota"), "\(reply.body)")
        }
        #expect(elapsed < 120, "refused after \(elapsed) s")
        // At no time did the state directory grow by more than the limit (plus a little for the database).
        let grown = peak.value - baseline
        #expect(grown <= Self.limit + (4 << 20), "the state directory grew by \(grown) bytes")
        // Nothing is left: no partial file, no blob.
        let tmp = state.appendingPathComponent("blobs/tmp")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []).isEmpty)
        #expect(!server.coordinator.storesBlob(sha))
        #expect(directorySize(state) - baseline < 4 << 20)

        // The coordinator still serves: a normal upload afterwards is stored.
        let files = try TestSupport.temporaryDirectory("medgrid-upload-files")
        let plain = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })
        let url = files.appendingPathComponent("file.bin")
        try plain.write(to: url)
        let client = try server.client(.user, "alice")
        let root = try await offer(server, "alice", [(ContentHash.sha256(plain), Int64(plain.count))])
        try await client.upload(fileAt: url, sha256: ContentHash.sha256(plain), dataset: root)
        #expect(server.coordinator.storesBlob(ContentHash.sha256(plain)))

        await client.shutdown()
        await alice.shutdown()
        await server.stop()
    }

    @Test("Normal uploads, zstd and plain, are stored; a file past the project's remaining quota is refused with 413")
    func normalUploadsAndQuota() async throws {
        let state = try TestSupport.temporaryDirectory("medgrid-upload-quota")
        let server = try await TestServer(stateDirectory: state, pki: try TestPKI()) { $0.projectQuotaBytes = 5 << 20 }
        let files = try TestSupport.temporaryDirectory("medgrid-upload-files")
        func randomFile(_ name: String, _ size: Int) throws -> (URL, String) {
            var data = Data(count: size)
            data.withUnsafeMutableBytes { raw in
                var generator = SystemRandomNumberGenerator()
                for i in stride(from: 0, to: size - 7, by: 8) { raw.storeBytes(of: generator.next(), toByteOffset: i, as: UInt64.self) }
            }
            let url = files.appendingPathComponent(name)
            try data.write(to: url)
            return (url, ContentHash.sha256(data))
        }
        let client = try server.client(.user, "alice")

        // zstd on the wire (what `medgrid submit` sends), after offering the dataset the files belong to.
        let (first, firstSHA) = try randomFile("first", 3 << 20)
        let (second, secondSHA) = try randomFile("second", 3 << 20)
        let small = Data("a small plain file\n".utf8)
        let offered = [(firstSHA, Int64(3 << 20)), (secondSHA, Int64(3 << 20)), (ContentHash.sha256(small), Int64(small.count))]
        let root = try await offer(server, "alice", offered)
        try await client.upload(fileAt: first, sha256: firstSHA, dataset: root)
        #expect(server.coordinator.storesBlob(firstSHA))

        // Plain bytes, no Content-Encoding.
        let alice = try RawAPIClient(server: server, role: .user, name: "alice")
        let plainReply = try await alice.send(.PUT, "/v1/blobs/\(ContentHash.sha256(small))?dataset=\(root)", body: small)
        #expect(plainReply.status == 201, "\(plainReply.body)")
        #expect(server.coordinator.storesBlob(ContentHash.sha256(small)))

        // 3 MiB more does not fit in the 2 MiB left of alice's 5 MiB.
        let error = await #expect(throws: MedGridError.self) { try await client.upload(fileAt: second, sha256: secondSHA, dataset: root) }
        #expect(error?.message.contains("413") == true, "\(String(describing: error))")
        #expect(error?.message.contains("remaining quota") == true, "\(String(describing: error))")
        #expect(!server.coordinator.storesBlob(secondSHA))

        // Another user's project has its own quota.
        let bob = try server.client(.user, "bob")
        let bobsRoot = try await offer(server, "bob", [(secondSHA, Int64(3 << 20))])
        try await bob.upload(fileAt: second, sha256: secondSHA, dataset: bobsRoot)
        #expect(server.coordinator.storesBlob(secondSHA))

        // Knowing a stored blob's hash is not enough: the upload must carry its content.
        let forged = try await alice.send(.PUT, "/v1/blobs/\(secondSHA)?dataset=\(root)", body: Data("not the content".utf8))
        #expect(forged.status == 409, "\(forged.body)")

        for c in [client, bob] { await c.shutdown() }
        await alice.shutdown()
        await server.stop()
    }

    @Test("Three 2 MiB uploads to one project at the same time cannot together pass its 5 MiB quota; a refused upload's claim is given back")
    func concurrentUploadsShareTheQuota() async throws {
        let quota: Int64 = 5 << 20
        let size = 2 << 20
        let server = try await TestServer(stateDirectory: try TestSupport.temporaryDirectory("medgrid-upload-race"), pki: try TestPKI()) {
            $0.projectQuotaBytes = quota
        }
        let files: [Data] = (0..<3).map { n in
            var generator = SplitMix64(seed: UInt64(n + 1))
            var data = Data(count: size)
            data.withUnsafeMutableBytes { raw in
                for i in stride(from: 0, to: size, by: 8) { raw.storeBytes(of: generator.next(), toByteOffset: i, as: UInt64.self) }
            }
            return data
        }
        // Each upload sends its first half, then waits until all three have sent theirs: every upload
        // starts while the project holds nothing, so each alone fits in the quota. Before uploads claimed
        // their bytes as they arrived, all three were stored: 6 MiB in a 5 MiB quota.
        let raceRoot = try await offer(server, "alice", files.map { (ContentHash.sha256($0), Int64($0.count)) })
        let halfSent = LargestSample(0)
        let clients = try (0..<3).map { _ in try RawAPIClient(server: server, role: .user, name: "alice") }
        let outcomes = await withTaskGroup(of: (Int, Int?).self) { group in
            for (n, file) in files.enumerated() {
                group.addTask {
                    let chunks = stride(from: 0, to: file.count, by: 64 << 10).map { file[$0..<min($0 + (64 << 10), file.count)] }
                    let body = AsyncStream<ByteBuffer> { continuation in
                        Task {
                            for (i, chunk) in chunks.enumerated() {
                                if i == chunks.count / 2 {
                                    halfSent.increment()
                                    let deadline = Date().addingTimeInterval(60)
                                    while halfSent.value < 3, Date() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
                                }
                                continuation.yield(ByteBuffer(bytes: chunk))
                            }
                            continuation.finish()
                        }
                    }
                    let status = try? await clients[n].stream(.PUT, "/v1/blobs/\(ContentHash.sha256(file))?dataset=\(raceRoot)", body: body)
                    return (n, status)
                }
            }
            var all: [Int: Int?] = [:]
            for await (n, status) in group { all[n] = status }
            return all
        }
        let stored = try server.coordinator.store.read { try $0.projectBytes("user-alice") }
        let kept = files.filter { server.coordinator.storesBlob(ContentHash.sha256($0)) }.count
        #expect(stored <= quota, "project user-alice stores \(stored) bytes with a quota of \(quota); outcomes \(outcomes)")
        #expect(kept <= 2 && Int64(kept * size) == stored, "\(kept) files kept, \(stored) bytes recorded; outcomes \(outcomes)")
        for (n, status) in outcomes where status != 201 {
            // Refused with 413, or the connection closed by the refusal while the body was still being sent.
            #expect(status == nil || status == 413, "upload \(n): \(String(describing: status))")
        }
        #expect(outcomes.values.filter { $0 == 201 }.count == kept)

        // The refused uploads gave their claims back: what still fits in the quota is accepted.
        let refused = files.filter { !server.coordinator.storesBlob(ContentHash.sha256($0)) }
        let fits = Int((quota - stored) / Int64(size))
        for file in refused.prefix(fits) {
            let reply = try await clients[0].send(.PUT, "/v1/blobs/\(ContentHash.sha256(file))?dataset=\(raceRoot)", body: file)
            #expect(reply.status == 201, "\(reply.body)")
        }
        #expect(try server.coordinator.store.read { try $0.projectBytes("user-alice") } == Int64(min(3, kept + fits) * size))

        for c in clients { await c.shutdown() }
        await server.stop()
    }

    @Test("A JSON body over the 32 MiB cap is refused with 413 naming the cap; an inventory of 100,000 files fits")
    func jsonBodyCap() async throws {
        let server = try await TestServer(stateDirectory: try TestSupport.temporaryDirectory("medgrid-json-cap"), pki: try TestPKI())
        let alice = try RawAPIClient(server: server, role: .user, name: "alice")
        let cap = MedGridRequestContext.maxJSONBodyBytes
        #expect(cap == 32 << 20)

        var huge = Data("{\"manifest\":\"".utf8)
        huge.append(Data(repeating: UInt8(ascii: "a"), count: cap + 1024))
        huge.append(Data("\",\"fileName\":\"x.yaml\",\"inventory\":{\"files\":[],\"root\":\"\"}}".utf8))
        let refused = try await alice.send(.POST, "/v1/jobs", headers: [("Content-Type", "application/json")], body: huge)
        #expect(refused.status == 413, "\(refused.body.prefix(300))")
        #expect(refused.body.contains("32 MiB (33554432 bytes)"), "\(refused.body.prefix(300))")

        // 100,000 files with BIDS-like paths of about 90 bytes: the offer fits and is answered.
        let body = try await onDispatchQueue {
            let files = (0..<100_000).map { i in
                DatasetInventory.File(
                    path: String(format: "sub-%06d/ses-01/anat/sub-%06d_ses-01_acq-mprage_rec-norm_run-1_T1w.nii.gz", i / 4, i),
                    sha256: ContentHash.sha256(Data("file \(i)".utf8)), size: 12_345_678)
            }
            return try JSONEncoder().encode(API.DatasetOffer(inventory: DatasetInventory(files: files)))
        }
        #expect(body.count < cap, "an inventory of 100,000 files takes \(body.count) bytes")
        let offered = try await alice.send(.POST, "/v1/datasets", headers: [("Content-Type", "application/json")], body: body, timeout: 300)
        #expect(offered.status == 200, "\(offered.body.prefix(300))")
        let needs = try JSONDecoder().decode(API.DatasetNeeds.self, from: Data(offered.body.utf8))
        #expect(needs.missing.count == 100_000)

        await alice.shutdown()
        await server.stop()
    }
}

/// Runs CPU-heavy test setup on a Dispatch queue, leaving the concurrency pool's few threads to the
/// coordinator under test, which runs in this process.
func onDispatchQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// The largest of the values recorded, from any task (or a counter shared by tasks).
final class LargestSample: Sendable {
    private let largest: Mutex<Int64>
    init(_ first: Int64) { largest = Mutex(first) }
    func record(_ value: Int64) { largest.withLock { $0 = max($0, value) } }
    func increment() { largest.withLock { $0 += 1 } }
    var value: Int64 { largest.withLock { $0 } }
}

/// The total size of the regular files under `url`.
func directorySize(_ url: URL) -> Int64 {
    guard let walk = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) else { return 0 }
    var total: Int64 = 0
    for case let file as URL in walk {
        guard let values = try? file.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true else { continue }
        total += Int64(values.fileSize ?? 0)
    }
    return total
}

/// HTTPS requests with a client certificate that return the status and body as they are, refusals included.
final class RawAPIClient: Sendable {
    let client: HTTPClient
    let baseURL: String

    init(server: TestServer, role: Role, name: String) throws {
        var configuration = HTTPClient.Configuration(tlsConfiguration: try server.pki.clientTLS(role, name))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        baseURL = server.url
    }

    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: Data? = nil, timeout: Int64 = 120
    ) async throws -> (status: Int, body: String) {
        let response = try await start(method, path, headers: headers, body: body, timeout: timeout)
        var buffer = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), buffer.readString(length: buffer.readableBytes) ?? "")
    }

    /// Sends a request and returns once the reply's head arrived; its body is left to the caller.
    func start(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: Data? = nil, timeout: Int64 = 120
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        return try await client.execute(request, timeout: .seconds(timeout))
    }

    /// Sends a request whose body arrives as `body` yields it; returns the reply's status.
    func stream(_ method: HTTPMethod, _ path: String, body: AsyncStream<ByteBuffer>, timeout: Int64 = 120) async throws -> Int {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.body = .stream(body, length: .unknown)
        let response = try await client.execute(request, timeout: .seconds(timeout))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    func shutdown() async { try? await client.shutdown() }
}


public import Foundation
public import Hummingbird
import HummingbirdTLS
public import Logging
public import MedGridCore
public import MedGridTransport
import NIOCore
public import NIOSSL
import Prometheus

/// The coordinator's HTTPS API: TLS 1.3 only, client certificates required and verified against the
/// MedGrid CA alone, every route checking the caller's role. No plaintext port exists.
///
/// Routes (JSON unless noted):
/// - any role: `GET /healthz`, `GET /metrics` (Prometheus text)
/// - user, admin: `POST /v1/jobs`, `GET /v1/jobs`, `GET /v1/jobs/{id}`, `GET /v1/jobs/{id}/events` (SSE),
///   `POST /v1/jobs/{id}/cancel`, `GET /v1/jobs/{id}/report`, `POST /v1/datasets`, `PUT /v1/blobs/{sha256}`,
///   `POST /v1/datasets/verify`, `GET /v1/workers`
/// - worker: `POST /v1/workers/{register,lease,heartbeat,results,leave}`, `GET /v1/blobs/{sha256}` (zstd)
public struct CoordinatorServer: Sendable {
    public let coordinator: Coordinator
    public let tls: TLSConfiguration
    public let host: String
    public let port: Int
    public let logger: Logger
    let metrics: ServerMetrics

    /// The CA that client certificates must chain to; with it, refused clients are explained in the log.
    public let clientCAPEM: [UInt8]?

    public init(coordinator: Coordinator, tls: TLSConfiguration, clientCAPEM: [UInt8]? = nil, host: String, port: Int, logger: Logger) {
        self.coordinator = coordinator
        self.tls = tls
        self.clientCAPEM = clientCAPEM
        self.host = host
        self.port = port
        self.logger = logger
        self.metrics = ServerMetrics()
    }

    /// The Hummingbird application; `onRunning` gets the bound port (useful with port 0).
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let router = Router(context: MedGridRequestContext.self)
        router.middlewares.add(MetricsMiddleware(metrics: metrics))
        addRoutes(to: router)
        var channel = TLSChannelConfiguration(tlsConfiguration: tls)
        if let clientCAPEM {
            // Our own verification (the same RFC 5280 validation against our CA) so that a refused client is
            // explained in plain words in the coordinator's log, not only as a handshake failure.
            let verifier = try ClientCertificateVerifier(trustRootPEM: clientCAPEM)
            let log = logger
            channel = TLSChannelConfiguration(tlsConfiguration: tls) { certificates in
                let chain = certificates.compactMap { try? $0.toDERBytes() }
                if let problem = await verifier.problem(with: chain) {
                    log.warning("refused a TLS client", metadata: ["medgrid.tls": "\(problem)"])
                    return .failed
                }
                return .certificateVerified
            }
        }
        return Application(
            router: router,
            server: try .tls(.http1(), configuration: channel),
            configuration: .init(address: .hostname(host, port: port), serverName: "medgrid"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    func addRoutes(to router: Router<MedGridRequestContext>) {
        let c = coordinator
        let users: Set<Role> = [.user, .admin]
        let workers: Set<Role> = [.worker]

        router.get("/healthz") { _, ctx in
            try await respond { _ = try await ctx.identity(); return jsonResponse(["status": "ok"]) }
        }
        router.get("/metrics") { _, ctx in
            try await respond {
                _ = try await ctx.identity()
                let text = await metrics.render(coordinator: c)
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }

        // Jobs.
        router.post("/v1/jobs") { req, ctx in
            try await respond {
                let who = try await ctx.require(users, for: "submit jobs")
                let body = try await req.decode(as: API.SubmitJob.self, context: ctx)
                let job = try await c.submitRemote(body)
                ctx.logger.info("job submitted over the API", metadata: ["medgrid.job": "\(job)", "medgrid.user": "\(who.name)"])
                return jsonResponse(API.Submitted(job: job), status: .created)
            }
        }
        router.get("/v1/jobs") { _, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "list jobs")
                return jsonResponse(try await c.jobList())
            }
        }
        router.get("/v1/jobs/{id}") { _, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "read job status")
                return jsonResponse(try await c.statusReply(try ctx.parameters.require("id")))
            }
        }
        router.get("/v1/jobs/{id}/events") { _, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "follow jobs")
                let id = try ctx.parameters.require("id")
                _ = try await c.statusReply(id)
                let body = ResponseBody { writer in
                    while true {
                        let status = try await c.statusReply(id)
                        let data = try JSONEncoder().encode(status)
                        try await writer.write(ByteBuffer(string: "event: progress\ndata: \(String(decoding: data, as: UTF8.self))\n\n"))
                        if status.status.isTerminal { break }
                        try await Task.sleep(for: .milliseconds(500))
                    }
                    try await writer.finish(nil)
                }
                return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
            }
        }
        router.post("/v1/jobs/{id}/cancel") { _, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "cancel jobs")
                let id = try ctx.parameters.require("id")
                _ = try await c.statusReply(id)
                try await c.cancel(job: id)
                return jsonResponse(try await c.statusReply(id))
            }
        }
        router.get("/v1/jobs/{id}/report") { _, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "read reports")
                let text = try await c.report(try ctx.parameters.require("id"))
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }

        // Datasets and blobs.
        router.post("/v1/datasets") { req, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "register datasets")
                let offer = try await req.decode(as: API.DatasetOffer.self, context: ctx)
                return jsonResponse(try await c.offer(offer.inventory))
            }
        }
        router.post("/v1/datasets/verify") { req, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "verify datasets")
                let body = try await req.decode(as: API.DatasetVerifyRequest.self, context: ctx)
                return jsonResponse(try await c.verifyDataset(root: body.root))
            }
        }
        router.put("/v1/blobs/{sha}") { req, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "upload dataset files")
                let sha = try ctx.parameters.require("sha")
                let compressed = req.headers[.contentEncoding] == "zstd"
                let record = try await BlobUpload.receive(req.body, sha256: sha, compressed: compressed, into: c.blobs)
                metrics.bytesReceived.increment(by: record.storedSize)
                return jsonResponse(record, status: .created)
            }
        }
        router.get("/v1/blobs/{sha}") { req, ctx in
            try await respond {
                _ = try await ctx.require(workers.union([.admin]), for: "download dataset files")
                let sha = try ctx.parameters.require("sha")
                try await c.ensureVerified(sha)
                guard let file = c.blobs.compressedFile(sha) else {
                    throw MedGridError(.notFound, "no blob \(sha.prefix(16))… on this coordinator")
                }
                // zstd on the wire when the client accepts it (the stored file as is); plain bytes otherwise.
                let zstd = (req.headers[.acceptEncoding] ?? "").contains("zstd")
                let size = zstd ? (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? nil : c.blobs.size(sha).map { Int($0.plain) }
                let counter = metrics.bytesServed
                let body = ResponseBody(contentLength: size) { writer in
                    guard let handle = FileHandle(forReadingAtPath: file.path) else { throw MedGridError(.io, "cannot open blob \(sha.prefix(16))…") }
                    defer { try? handle.close() }
                    let decompressor = zstd ? nil : try ZstdStreamDecompressor(limit: 1 << 40, name: "blob \(sha.prefix(12))")
                    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                        if let decompressor {
                            var plain: [Data] = []
                            try decompressor.decompress(chunk) { plain.append($0) }
                            for p in plain {
                                try await writer.write(ByteBuffer(bytes: p))
                                counter.increment(by: Int64(p.count))
                            }
                        } else {
                            try await writer.write(ByteBuffer(bytes: chunk))
                            counter.increment(by: Int64(chunk.count))
                        }
                    }
                    try decompressor?.finish()
                    try await writer.finish(nil)
                }
                var headers: HTTPFields = [.contentType: "application/octet-stream"]
                if zstd { headers[.contentEncoding] = "zstd" }
                return Response(status: .ok, headers: headers, body: body)
            }
        }

        // Workers.
        router.get("/v1/workers") { _, ctx in
            try await respond {
                _ = try await ctx.require(users, for: "list workers")
                return jsonResponse(await c.workerList())
            }
        }
        func workerRoute<In: Decodable & Sendable, Out: Encodable & Sendable>(
            _ path: String, _ type: In.Type, name: @escaping @Sendable (In) -> String, _ handler: @escaping @Sendable (In) async throws -> Out
        ) {
            router.post(RouterPath(stringLiteral: "/v1/workers/\(path)")) { req, ctx in
                try await respond {
                    let who = try await ctx.require(workers, for: "act as a worker")
                    let body = try await req.decode(as: In.self, context: ctx)
                    guard name(body) == who.name else {
                        throw MedGridError(.permissionDenied, "certificate \(who.name) may not speak for worker \(name(body))")
                    }
                    return jsonResponse(try await handler(body))
                }
            }
        }
        workerRoute("register", WorkerProtocol.Register.self, name: \.worker) { try await c.register($0) }
        workerRoute("lease", WorkerProtocol.LeaseRequest.self, name: \.worker) { try await c.lease($0) }
        workerRoute("heartbeat", WorkerProtocol.Heartbeat.self, name: \.worker) { try await c.heartbeat($0) }
        workerRoute("results", WorkerProtocol.ResultBatch.self, name: \.worker) { try await c.submit($0) }
        workerRoute("leave", LeaveRequest.self, name: \.worker) { body -> [String: String] in
            try await c.leave(worker: body.worker)
            return ["status": "left"]
        }
    }
}

/// `POST /v1/workers/leave`.
public struct LeaveRequest: Codable, Sendable {
    public var worker: String
    public init(worker: String) { self.worker = worker }
}

/// A JSON response with sorted keys.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Runs a handler and turns every error into a JSON error body with a fitting status.
func respond(_ body: () async throws -> Response) async throws -> Response {
    do {
        return try await body()
    } catch let e as MedGridError {
        let status: HTTPResponse.Status
        switch e.code {
        case .invalidInput: status = .badRequest
        case .notFound: status = .notFound
        case .integrity, .conflict: status = .conflict
        case .permissionDenied: status = .forbidden
        case .unsupported: status = .badRequest
        case .unavailable: status = .serviceUnavailable
        default: status = .internalServerError
        }
        return jsonResponse(API.ErrorBody(error: e.message, code: e.code.description), status: status)
    } catch let e as HTTPError {
        return jsonResponse(API.ErrorBody(error: e.body ?? "\(e.status)", code: "\(e.status.code)"), status: e.status)
    } catch let e as DecodingError {
        return jsonResponse(API.ErrorBody(error: "malformed request body: \(describeDecodingError(e))", code: "invalidInput"), status: .badRequest)
    } catch {
        return jsonResponse(API.ErrorBody(error: "\(error)", code: "internal"), status: .internalServerError)
    }
}

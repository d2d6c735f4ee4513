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
    /// Connections open now and refused, under ``Coordinator/Configuration/connections``.
    public let connectionGauge = ConnectionGauge()
    /// Event streams open per user.
    let eventStreams = EventStreamSlots()

    /// The CA that client certificates must chain to; with it, refused clients are explained in the log.
    public let clientCAPEM: [UInt8]?

    /// The deny-list (`medgrid tls revoke`): a revoked certificate is refused at the TLS handshake (needs
    /// `clientCAPEM`), and requests on connections opened before it was revoked get 403.
    public var revocations: RevocationList? = nil

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
        if let revocations {
            router.middlewares.add(RevokedCertificateMiddleware(revocations: revocations, logger: logger))
        }
        addRoutes(to: router)
        var channel = TLSChannelConfiguration(tlsConfiguration: tls)
        if let clientCAPEM {
            // Our own verification (the same RFC 5280 validation against our CA) so that a refused client is
            // explained in plain words in the coordinator's log, not only as a handshake failure.
            let verifier = try ClientCertificateVerifier(trustRootPEM: clientCAPEM, revocations: revocations)
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
            server: limitedServer(tls: channel),
            configuration: .init(address: .hostname(host, port: port), serverName: "medgrid", backlog: listenBacklog),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    func addRoutes(to router: Router<MedGridRequestContext>) {
        let c = coordinator
        let users: Set<Role> = [.user, .admin]
        let admins: Set<Role> = [.admin]
        let workers: Set<Role> = [.worker]

        /// The caller, if its certificate's role is one of `roles`; a refusal is audited (403: roles are no secret).
        @Sendable func caller(_ ctx: MedGridRequestContext, _ roles: Set<Role>, _ what: String) async throws -> Caller {
            let id = try await ctx.identity()
            guard roles.contains(id.role) else {
                try await c.refuse(Caller(id), what, "(needs a \(roles.map(\.rawValue).sorted().joined(separator: " or ")) certificate)", job: nil)
                return Caller(try await ctx.require(roles, for: what))  // throws the 403 that names the role
            }
            return Caller(id)
        }

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

        // Jobs: each belongs to a project; a caller outside it gets 404, as if the job did not exist.
        router.post("/v1/jobs") { req, ctx in
            try await respond {
                let who = try await caller(ctx, users, "submit jobs")
                let body = try await req.decode(as: API.SubmitJob.self, context: ctx)
                let job = try await c.submitRemote(body, for: who)
                ctx.logger.info("job submitted over the API", metadata: ["medgrid.job": "\(job)", "medgrid.user": "\(who.name)"])
                return jsonResponse(API.Submitted(job: job), status: .created)
            }
        }
        router.get("/v1/jobs") { _, ctx in
            try await respond {
                let who = try await caller(ctx, users, "list jobs")
                return jsonResponse(try await c.jobList(for: who))
            }
        }
        router.get("/v1/jobs/{id}") { _, ctx in
            try await respond {
                let who = try await caller(ctx, users, "read job status")
                return jsonResponse(try await c.statusReply(try ctx.parameters.require("id"), for: who))
            }
        }
        router.get("/v1/jobs/{id}/events") { _, ctx in
            try await respond {
                let who = try await caller(ctx, users, "follow jobs")
                let id = try ctx.parameters.require("id")
                _ = try await c.statusReply(id, for: who)
                // Each stream holds a connection open: a user may follow only a few jobs at once.
                let limit = c.configuration.connections.maxEventStreamsPerUser
                guard let slot = eventStreams.acquire(for: who.name, limit: limit) else {
                    throw HTTPError(
                        .tooManyRequests,
                        message: "\(who.name) already follows \(limit) jobs (GET /v1/jobs/{id}/events), the most one user may follow at once; close one and retry")
                }
                let body = ResponseBody { writer in
                    defer { withExtendedLifetime(slot) {} }  // the slot is freed when the stream ends
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
                let who = try await caller(ctx, users, "cancel jobs")
                return jsonResponse(try await c.cancel(job: try ctx.parameters.require("id"), for: who))
            }
        }
        router.get("/v1/jobs/{id}/report") { _, ctx in
            try await respond {
                let who = try await caller(ctx, users, "read reports")
                let text = try await c.report(try ctx.parameters.require("id"), for: who)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }

        // Projects: admins create them and manage members; a user sees their own.
        router.get("/v1/projects") { _, ctx in
            try await respond {
                let who = try await caller(ctx, users, "list projects")
                return jsonResponse(try await c.projectList(for: who))
            }
        }
        router.post("/v1/projects") { req, ctx in
            try await respond {
                let who = try await caller(ctx, admins, "create projects")
                let body = try await req.decode(as: API.CreateProject.self, context: ctx)
                try await c.createProject(body.name, by: who)
                return jsonResponse(API.ProjectInfo(name: body.name, members: [], personal: false), status: .created)
            }
        }
        router.post("/v1/projects/{name}/members") { req, ctx in
            try await respond {
                let who = try await caller(ctx, admins, "manage project members")
                let body = try await req.decode(as: API.ProjectMember.self, context: ctx)
                let changed = try await c.setMember(body.user, of: try ctx.parameters.require("name"), member: true, by: who)
                return jsonResponse(["status": changed ? "added" : "already a member"])
            }
        }
        router.delete("/v1/projects/{name}/members/{user}") { _, ctx in
            try await respond {
                let who = try await caller(ctx, admins, "manage project members")
                let changed = try await c.setMember(try ctx.parameters.require("user"), of: try ctx.parameters.require("name"), member: false, by: who)
                return jsonResponse(["status": changed ? "removed" : "not a member"])
            }
        }

        // The audit trail, for admins: `?project=` and `?since=` (seconds since 1970) narrow it.
        router.get("/v1/audit") { req, ctx in
            try await respond {
                let who = try await caller(ctx, admins, "read the audit trail")
                let project = req.uri.queryParameters.get("project")
                let since = try req.uri.queryParameters.get("since").map { text -> Double in
                    guard let value = Double(text), value.isFinite else {
                        throw MedGridError(.invalidInput, "since=\(text.prefix(40)): expected seconds since 1970")
                    }
                    return value
                }
                return jsonResponse(try await c.auditTrail(project: project, since: since, for: who))
            }
        }

        // Leaderboards: published on the coordinator's host (medgrid leaderboard --state-dir), read by the
        // members of their project.
        router.get("/v1/leaderboards") { _, ctx in
            try await respond {
                let who = try await caller(ctx, users, "list leaderboards")
                return jsonResponse(try await c.leaderboardList(for: who))
            }
        }
        router.get("/v1/leaderboards/{project}/{name}") { _, ctx in
            try await respond {
                let who = try await caller(ctx, users, "read leaderboards")
                return jsonResponse(try await c.leaderboard(try ctx.parameters.require("name"), of: try ctx.parameters.require("project"), for: who))
            }
        }

        // Datasets and blobs: uploads and offers are per project (`?project=` on uploads; the caller's
        // personal project without it); workers fetch only what their leased tasks read.
        router.post("/v1/datasets") { req, ctx in
            try await respond {
                let who = try await caller(ctx, users, "register datasets")
                let offer = try await req.decode(as: API.DatasetOffer.self, context: ctx)
                return jsonResponse(try await c.offer(offer.inventory, project: offer.project, for: who))
            }
        }
        router.post("/v1/datasets/verify") { req, ctx in
            try await respond {
                let who = try await caller(ctx, users, "verify datasets")
                let body = try await req.decode(as: API.DatasetVerifyRequest.self, context: ctx)
                return jsonResponse(try await c.verifyDataset(root: body.root, for: who))
            }
        }
        router.post("/v1/purge") { req, ctx in
            try await respond {
                let who = try await caller(ctx, users, "purge")
                let body = try await req.decode(as: API.PurgeRequest.self, context: ctx)
                let certificate = try await c.purge(body, for: who)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Data(certificate.utf8))))
            }
        }
        router.put("/v1/blobs/{sha}") { req, ctx in
            try await respond {
                let who = try await caller(ctx, users, "upload dataset files")
                let sha = try ctx.parameters.require("sha")
                let project = try await c.project(req.uri.queryParameters.get("project"), for: who, to: "upload to")
                guard let rootText = req.uri.queryParameters.get("dataset") else {
                    throw MedGridError(.invalidInput, "PUT /v1/blobs/{sha}: query parameter dataset (the Merkle root of the offered dataset) is missing")
                }
                let root = String(rootText)
                let (keyID, sealed) = try c.datasetStore(project: project, root: root)
                guard try c.store.read({ try $0.datasetKey(id: keyID) })?.inventory.files.contains(where: { $0.sha256 == sha }) == true else {
                    throw MedGridError(.invalidInput, "blob \(sha.prefix(16))… is not a file of dataset \(root.prefix(16))… as offered")
                }
                let compressed = req.headers[.contentEncoding] == "zstd"
                let claim = try c.quotas.startUpload(to: project)
                let limits = UploadLimits(maxBlobBytes: c.configuration.maxBlobBytes, remainingQuotaBytes: try c.remainingQuota(of: project))
                let record = try await BlobUpload.receive(req.body, sha256: sha, compressed: compressed, into: sealed, limits: limits, claim: claim)
                try await c.recordUpload(record, project: project, keyID: keyID, claim: claim)
                metrics.bytesReceived.increment(by: record.storedSize)
                return jsonResponse(record, status: .created)
            }
        }
        router.get("/v1/blobs/{sha}") { req, ctx in
            try await respond {
                let who = try await ctx.require(workers.union([.admin]), for: "download dataset files")
                let sha = try ctx.parameters.require("sha")
                let source: BlobStore?
                if who.role == .worker {
                    source = try await c.blobSource(forWorker: who.name, sha256: sha)
                    if source == nil {
                        try await c.refuse(Caller(who), "download", "blob \(sha.prefix(16))…: it holds no lease on a task that reads it", job: nil)
                        throw MedGridError(.notFound, "no blob \(sha.prefix(16))… for worker \(who.name): it holds no lease on a task that reads it")
                    }
                } else if let project = req.uri.queryParameters.get("project"), let root = req.uri.queryParameters.get("dataset") {
                    source = try c.datasetStore(project: String(project), root: String(root)).store
                } else {
                    source = c.blobs
                }
                guard let blobs = source, blobs.contains(sha) else {
                    throw MedGridError(.notFound, "no blob \(sha.prefix(16))… on this coordinator")
                }
                try await c.ensureVerified(sha, in: blobs, keyID: blobs.directory.lastPathComponent)
                try c.audit(Caller(who), project: "", action: "download", object: "blob \(sha.prefix(16))…")
                // zstd on the wire when the client accepts it (the stored frame, unsealed); plain bytes otherwise.
                let zstd = (req.headers[.acceptEncoding] ?? "").contains("zstd")
                let size = zstd ? (!blobs.isSealed ? blobs.size(sha).map { Int($0.stored) } : nil) : blobs.size(sha).map { Int($0.plain) }
                let counter = metrics.bytesServed
                let reader = try OffPool.Box(blobs.openStored(sha))
                let body = ResponseBody(contentLength: size) { writer in
                    let decompressor = zstd ? nil : try ZstdStreamDecompressor(limit: 1 << 40, name: "blob \(sha.prefix(12))")
                    while let chunk = try reader.value.next() {
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
                _ = try await caller(ctx, users, "list workers")
                return jsonResponse(await c.workerList())
            }
        }
        func workerRoute<In: Decodable & Sendable, Out: Encodable & Sendable>(
            _ path: String, _ type: In.Type, name: @escaping @Sendable (In) -> String, _ handler: @escaping @Sendable (In, PeerIdentity) async throws -> Out
        ) {
            router.post(RouterPath(stringLiteral: "/v1/workers/\(path)")) { req, ctx in
                try await respond {
                    let who = try await ctx.require(workers, for: "act as a worker")
                    let body = try await req.decode(as: In.self, context: ctx)
                    guard name(body) == who.name else {
                        try await c.refuse(Caller(who), "speak for worker", name(body), job: nil)
                        throw MedGridError(.permissionDenied, "certificate \(who.name) may not speak for worker \(name(body))")
                    }
                    return jsonResponse(try await handler(body, who))
                }
            }
        }
        workerRoute("register", WorkerProtocol.Register.self, name: \.worker) { body, who in
            // Data-access labels (site=) come from the certificate only; a flag cannot claim them.
            var request = body
            let (labels, dropped) = c.trustedLabels(claimed: body.labels, certified: who.labels)
            if !dropped.isEmpty {
                try await c.refuse(Caller(who), "claim the labels", dropped.joined(separator: ",") + " (not in its certificate)", job: nil)
            }
            request.labels = labels
            return try await c.register(request)
        }
        workerRoute("lease", WorkerProtocol.LeaseRequest.self, name: \.worker) { body, _ in try await c.lease(body) }
        workerRoute("heartbeat", WorkerProtocol.Heartbeat.self, name: \.worker) { body, _ in try await c.heartbeat(body) }
        workerRoute("results", WorkerProtocol.ResultBatch.self, name: \.worker) { body, _ in try await c.submit(body) }
        workerRoute("leave", LeaveRequest.self, name: \.worker) { body, _ -> [String: String] in
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
    } catch is NIOTooManyBytesError {
        let cap = MedGridRequestContext.maxJSONBodyBytes
        return jsonResponse(
            API.ErrorBody(error: "request body larger than the \(cap >> 20) MiB (\(cap) bytes) limit for JSON requests", code: "413"),
            status: .contentTooLarge)
    } catch {
        return jsonResponse(API.ErrorBody(error: "\(error)", code: "internal"), status: .internalServerError)
    }
}

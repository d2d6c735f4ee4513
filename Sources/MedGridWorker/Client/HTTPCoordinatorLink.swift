public import MedGridCore
import NIOHTTP1

/// The worker protocol over the coordinator's HTTPS API.
public struct HTTPCoordinatorLink: CoordinatorLink {
    public let client: CoordinatorClient

    public init(client: CoordinatorClient) {
        self.client = client
    }

    public func register(_ request: WorkerProtocol.Register) async throws -> WorkerProtocol.Registered {
        try await client.call(.POST, "/v1/workers/register", body: request)
    }

    public func lease(_ request: WorkerProtocol.LeaseRequest) async throws -> WorkerProtocol.LeaseGrant {
        try await client.call(.POST, "/v1/workers/lease", body: request, timeout: request.waitSeconds + 30)
    }

    public func heartbeat(_ request: WorkerProtocol.Heartbeat) async throws -> WorkerProtocol.HeartbeatReply {
        try await client.call(.POST, "/v1/workers/heartbeat", body: request, timeout: 15)
    }

    public func submit(_ batch: WorkerProtocol.ResultBatch) async throws -> WorkerProtocol.ResultAck {
        try await client.call(.POST, "/v1/workers/results", body: batch)
    }

    public func leave(worker: String) async throws {
        let _: [String: String] = try await client.call(.POST, "/v1/workers/leave", body: ["worker": worker], timeout: 15)
    }
}

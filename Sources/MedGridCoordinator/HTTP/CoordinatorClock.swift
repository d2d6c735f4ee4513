public import ServiceLifecycle

/// The coordinator's clock (lease expiry, cancel requests, backoff wake-ups) as a Service, so it runs in
/// the same ServiceGroup as the HTTPS server and stops with it on graceful shutdown.
public struct CoordinatorClock: Service {
    public let coordinator: Coordinator

    public init(coordinator: Coordinator) {
        self.coordinator = coordinator
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            await coordinator.run()
        }
    }
}

import Foundation
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Limits on the coordinator's connections, so that idle or slow clients cannot exhaust its file
/// descriptors and one user cannot hold every stream.
///
/// - A connection must finish its TLS handshake within ``handshakeTimeout``, or it is closed.
/// - A connection with no request in progress is closed after ``idleTimeout`` without a request byte
///   (longer than the clients' own 60 s pool idle time, so a client never reuses a connection the
///   coordinator is closing).
/// - At most ``maxConnections`` connections are open at once; one more is closed as soon as it is accepted.
/// - Each user certificate may follow at most ``maxEventStreamsPerUser`` jobs at once
///   (`GET /v1/jobs/{id}/events`); one more is answered 429.
public struct ConnectionLimits: Sendable, Equatable {
    public var handshakeTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(75)
    public var maxConnections: Int = 1024
    public var maxEventStreamsPerUser: Int = 8

    public init() {}

    public static func defaults(configure: (inout ConnectionLimits) -> Void) -> ConnectionLimits {
        var limits = ConnectionLimits()
        configure(&limits)
        return limits
    }
}

/// Live connection counts of one server, for tests and logs.
public final class ConnectionGauge: Sendable {
    private struct Counts {
        var open = 0
        var peak = 0
        var refused = 0
        var handshakeTimeouts = 0
    }
    private let counts = Mutex(Counts())

    public init() {}

    /// Connections open now.
    public var open: Int { counts.withLock { $0.open } }
    /// The most connections that were open at once.
    public var peak: Int { counts.withLock { $0.peak } }
    /// Connections closed on arrival because ``ConnectionLimits/maxConnections`` were open.
    public var refused: Int { counts.withLock { $0.refused } }
    /// Connections closed because their TLS handshake did not finish in time.
    public var handshakeTimeouts: Int { counts.withLock { $0.handshakeTimeouts } }

    /// Counts a new connection in, unless `limit` are open (then counts a refusal).
    func admit(limit: Int) -> Bool {
        counts.withLock { c in
            guard c.open < limit else {
                c.refused += 1
                return false
            }
            c.open += 1
            c.peak = max(c.peak, c.open)
            return true
        }
    }

    func release() { counts.withLock { $0.open -= 1 } }

    func countHandshakeTimeout() { counts.withLock { $0.handshakeTimeouts += 1 } }
}

extension CoordinatorServer {
    /// HTTP/1 over TLS held to ``Coordinator/Configuration/connections``: Hummingbird's idle timeout, and
    /// the connection cap and handshake deadline of ``LimitedChannel``. Raises the open-file limit first.
    func limitedServer(tls: TLSChannelConfiguration) -> HTTPServerBuilder {
        let limits = coordinator.configuration.connections
        let gauge = connectionGauge
        let logger = self.logger
        if let files = raiseOpenFileLimit(), files < UInt64(max(0, limits.maxConnections)) + 256 {
            logger.warning(
                "the open-file limit leaves little room above the connection limit",
                metadata: ["medgrid.open_files": "\(files)", "medgrid.max_connections": "\(limits.maxConnections)"])
        }
        let http = HTTP1Channel.Configuration(idleTimeout: TimeAmount(limits.idleTimeout))
        return HTTPServerBuilder { responder in
            LimitedChannel(
                base: try TLSChannel(HTTP1Channel(responder: responder, configuration: http), configuration: tls),
                limits: limits, gauge: gauge, logger: logger)
        }
    }

    /// The listen queue: room for a burst as large as the connection cap (256 to 4096), so clients arriving
    /// together wait in the kernel's queue rather than lose their connection to a full one.
    var listenBacklog: Int { max(256, min(coordinator.configuration.connections.maxConnections, 4096)) }
}

/// A child channel that enforces ``ConnectionLimits`` around TLS and HTTP/1: the connection cap when a
/// connection is accepted, and a handshake deadline right after the TLS handler. (The HTTP idle timeout is
/// Hummingbird's own, set in the base channel's configuration.)
struct LimitedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limits: ConnectionLimits
    let gauge: ConnectionGauge
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard gauge.admit(limit: limits.maxConnections) else {
            // Closed before it is registered: no handler runs and the descriptor is released at once.
            channel.close(promise: nil)
            if gauge.refused % 100 == 1 {
                self.logger.warning(
                    "refusing connections: the connection limit is reached",
                    metadata: ["medgrid.max_connections": "\(limits.maxConnections)", "medgrid.refused_total": "\(gauge.refused)"])
            }
            return channel.eventLoop.makeFailedFuture(ConnectionLimitReached(limit: limits.maxConnections))
        }
        let gauge = self.gauge
        channel.closeFuture.whenComplete { _ in gauge.release() }
        let timeout = TimeAmount(limits.handshakeTimeout)
        let log = self.logger
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let tls = try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            let deadline = HandshakeTimeoutHandler(timeout: timeout) {
                gauge.countHandshakeTimeout()
                log.debug("closed a connection that did not finish its TLS handshake in time", metadata: ["medgrid.timeout": "\(timeout)"])
            }
            try channel.pipeline.syncOperations.addHandler(deadline, position: .after(tls))
            return value
        }.flatMapErrorThrowing { error in
            channel.close(promise: nil)
            throw error
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// The error that ends the setup of a connection refused by the connection cap.
struct ConnectionLimitReached: Error, CustomStringConvertible {
    let limit: Int
    var description: String { "connection refused: \(limit) connections are open (the coordinator's limit)" }
}

/// Closes the connection unless the TLS handshake completes within `timeout` of the connection becoming
/// active. Sits right after the TLS handler, which announces the completed handshake as a user event.
final class HandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let onTimeout: () -> Void
    private var timer: Scheduled<Void>?
    private var handshakeDone = false

    init(timeout: TimeAmount, onTimeout: @escaping () -> Void) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimer(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { stopTimer() }

    func channelActive(context: ChannelHandlerContext) {
        startTimer(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            handshakeDone = true
            stopTimer()
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func startTimer(_ context: ChannelHandlerContext) {
        guard timer == nil, !handshakeDone else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.timer = nil
            guard !self.handshakeDone else { return }
            self.onTimeout()
            context.close(promise: nil)
        }
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }
}

/// Counts the event streams each user has open, refusing one past the limit.
final class EventStreamSlots: Sendable {
    private let open = Mutex([String: Int]())

    /// A slot for `user`, released when the returned token is released (so a stream whose response is
    /// never written cannot leak its slot); nil when `user` already holds `limit` streams.
    func acquire(for user: String, limit: Int) -> Token? {
        let granted = open.withLock { counts -> Bool in
            guard counts[user, default: 0] < limit else { return false }
            counts[user, default: 0] += 1
            return true
        }
        return granted ? Token(slots: self, user: user) : nil
    }

    /// Streams `user` has open.
    func count(for user: String) -> Int { open.withLock { $0[user, default: 0] } }

    fileprivate func release(_ user: String) {
        open.withLock { counts in
            let left = counts[user, default: 1] - 1
            counts[user] = left > 0 ? left : nil
        }
    }

    final class Token: Sendable {
        private let slots: EventStreamSlots
        private let user: String
        fileprivate init(slots: EventStreamSlots, user: String) {
            self.slots = slots
            self.user = user
        }
        deinit { slots.release(user) }
    }
}

/// Raises this process's soft limit on open files to its hard limit, so the connection cap, not the
/// descriptor limit, decides how many clients are served. Returns the soft limit now in force (nil when
/// it cannot be read).
@discardableResult
public func raiseOpenFileLimit() -> UInt64? {
    var limit = rlimit()
    #if os(Linux)
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    let resource = RLIMIT_NOFILE
    #endif
    guard getrlimit(resource, &limit) == 0 else { return nil }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(resource, &raised) == 0 { return UInt64(raised.rlim_cur) }
    }
    return UInt64(limit.rlim_cur)
}

import Foundation
import Logging
import MedGridCore
import MedGridTransport
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The coordinator's certificate upkeep while it runs: on SIGHUP it reads its certificate and key again (rotated
/// files are served from the next handshake on) and its deny-list; every `pollInterval` it also reloads the deny-list
/// if the file changed, so `medgrid tls revoke` takes effect within seconds even without a signal.
struct CoordinatorReloadService: Service {
    let certificate: ReloadingCertificate
    let revocations: RevocationList
    /// Created before the service group starts, so that SIGHUP is trapped (not fatal) from then on.
    let hangups: UnixSignalsSequence
    var pollInterval: Duration = .seconds(2)
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in hangups {
                            reloadCertificate()
                            report(revocations.reload(), cause: "SIGHUP")
                        }
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: pollInterval)
                            report(revocations.reloadIfChanged(), cause: "file changed")
                        }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            return
        }
    }

    func reloadCertificate() {
        do {
            let (previous, current) = try certificate.reload()
            logger.notice(
                previous.sha256Fingerprint == current.sha256Fingerprint
                    ? "coordinator certificate unchanged on SIGHUP" : "reloaded the coordinator certificate",
                metadata: [
                    "medgrid.cert.subject": "\(current.subject)",
                    "medgrid.cert.serial": "\(current.serialHex)",
                    "medgrid.cert.not_after": "\(CertificateServices.format(current.notAfter))",
                    "medgrid.cert.sha256": "\(current.sha256Fingerprint)",
                    "medgrid.cert.previous_serial": "\(previous.serialHex)",
                ])
        } catch {
            logger.error(
                "kept the current coordinator certificate: the files could not be reloaded",
                metadata: ["medgrid.error": "\(error)", "medgrid.cert.file": "\(certificate.certificateFile.path)"])
        }
    }

    func report(_ outcome: RevocationList.Outcome, cause: String) {
        let metadata: Logger.Metadata = ["medgrid.deny_list": "\(revocations.file.path)", "medgrid.cause": "\(cause)"]
        switch outcome {
        case .unchanged:
            break
        case .reloaded:
            logger.notice("reloaded the deny-list: \(outcome)", metadata: metadata)
        case .missing(let count):
            if count > 0 {
                logger.warning("the deny-list file is gone; still refusing the \(count) certificates it listed", metadata: metadata)
            }
        case .failed(let why):
            logger.error("the deny-list could not be reloaded; the previous list stays in force", metadata: metadata.merging(["medgrid.error": "\(why)"]) { $1 })
        }
    }
}

/// A worker's certificate upkeep: SIGHUP reloads its client certificate and key (used from the next connection on),
/// and the worker stops with status 78 (EX_CONFIG) once the certificate it holds has expired, checked at least
/// every minute and at the moment it expires.
struct WorkerCertificateService: Service {
    let watch: WorkerCertificateWatch
    let hangups: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in hangups { watch.reload() }
                    }
                    group.addTask {
                        while true {
                            let left = watch.certificate.current.notAfter.timeIntervalSinceNow
                            try await Task.sleep(for: .seconds(min(60, max(0.5, left + 0.5))))
                            watch.exitIfExpired()
                        }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            return
        }
    }
}

/// Knows the worker's current certificate; ends the process with status 78 and a plain message once it expired.
struct WorkerCertificateWatch: Sendable {
    let certificate: ReloadingCertificate
    let logger: Logger

    /// The exit status of a worker whose certificate expired: EX_CONFIG, so that a service manager can tell it
    /// from a crash (systemd: `RestartPreventExitStatus=78`).
    static let expiredStatus: Int32 = 78

    /// The message, e.g. `worker certificate CN=node07 expired on 2026-12-01T00:00:00Z; renew it with medgrid tls
    /// cert create --worker node07 --overwrite`.
    static func expiredMessage(_ summary: CertificateSummary) -> String {
        "worker certificate CN=\(summary.name) expired on \(CertificateServices.format(summary.notAfter)); "
            + "renew it with medgrid tls cert create --worker \(summary.name) --overwrite (then start the worker again, "
            + "or send a running worker SIGHUP before its certificate expires)"
    }

    /// Exits with status 78 when `summary` has expired.
    static func exitIfExpired(_ summary: CertificateSummary, at now: Date = Date()) {
        guard now > summary.notAfter else { return }
        printError("error: \(expiredMessage(summary))")
        exit(expiredStatus)
    }

    func exitIfExpired() {
        Self.exitIfExpired(certificate.current)
    }

    func reload() {
        do {
            let (previous, current) = try certificate.reload()
            logger.notice(
                previous.sha256Fingerprint == current.sha256Fingerprint
                    ? "worker certificate unchanged on SIGHUP" : "reloaded the worker certificate (used from the next connection on)",
                metadata: [
                    "medgrid.cert.subject": "\(current.subject)",
                    "medgrid.cert.serial": "\(current.serialHex)",
                    "medgrid.cert.not_after": "\(CertificateServices.format(current.notAfter))",
                ])
        } catch {
            logger.error(
                "kept the current worker certificate: the files could not be reloaded",
                metadata: ["medgrid.error": "\(error)", "medgrid.cert.file": "\(certificate.certificateFile.path)"])
        }
    }
}

/// The worker protocol with a certificate check after every failed call: a refusal caused by the worker's own
/// certificate having expired ends the worker at once instead of being retried forever.
struct ExpiryCheckingLink: CoordinatorLink {
    let base: any CoordinatorLink
    let watch: WorkerCertificateWatch

    func checked<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch {
            watch.exitIfExpired()
            throw error
        }
    }

    func register(_ request: WorkerProtocol.Register) async throws -> WorkerProtocol.Registered {
        try await checked { try await base.register(request) }
    }

    func lease(_ request: WorkerProtocol.LeaseRequest) async throws -> WorkerProtocol.LeaseGrant {
        try await checked { try await base.lease(request) }
    }

    func heartbeat(_ request: WorkerProtocol.Heartbeat) async throws -> WorkerProtocol.HeartbeatReply {
        try await checked { try await base.heartbeat(request) }
    }

    func submit(_ batch: WorkerProtocol.ResultBatch) async throws -> WorkerProtocol.ResultAck {
        try await checked { try await base.submit(batch) }
    }

    func leave(worker: String) async throws {
        try await checked { try await base.leave(worker: worker) }
    }
}

enum CertificateServices {
    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }
}

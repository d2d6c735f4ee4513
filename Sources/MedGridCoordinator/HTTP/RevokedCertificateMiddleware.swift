import Foundation
import Hummingbird
import Logging
import MedGridCore
import MedGridTransport
import NIOCore
import NIOSSL

/// Refuses (403) requests on a connection whose client certificate was revoked after the connection was opened:
/// the TLS handshake already refuses revoked certificates, but a keep-alive connection outlives a reload of the
/// deny-list. Does nothing while the deny-list is empty.
struct RevokedCertificateMiddleware: RouterMiddleware {
    typealias Context = MedGridRequestContext
    let revocations: RevocationList
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard revocations.count > 0,
            let certificate = try? await context.channel.nioSSL_peerCertificate().get(),
            let der = try? certificate.toDERBytes(),
            let serial = try? CertificateSerial.serial(fromDER: der),
            revocations.entry(forSerial: serial) != nil
        else {
            return try await next(request, context)
        }
        let subject = (try? CertificateSummary(derEncoded: der).subject) ?? "?"
        logger.warning(
            "refused a request: its client certificate has been revoked",
            metadata: ["medgrid.tls": "client certificate \(subject) (serial \(serial)) has been revoked (deny-list \(revocations.file.path))"])
        return try await respond {
            throw MedGridError(.permissionDenied, "certificate \(subject) (serial \(serial)) has been revoked; ask the grid's admin for a new one")
        }
    }
}

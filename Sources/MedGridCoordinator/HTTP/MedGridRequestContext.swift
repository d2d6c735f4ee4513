import Foundation
public import Hummingbird
import MedGridTransport
public import NIOCore
import NIOSSL

/// The request context: Hummingbird's core storage plus the connection, so handlers can read the
/// caller's client certificate and act on the role it carries.
public struct MedGridRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The largest JSON request body: 32 MiB. The largest bodies are a job's or offer's dataset inventory,
    /// about 110 bytes plus the path per file, so 100,000 files with paths of up to ~200 bytes fit; a
    /// worker's result batch must stay below it too. A larger body is answered 413, naming this cap.
    public static let maxJSONBodyBytes = 32 << 20

    /// Bodies above ``maxJSONBodyBytes`` are refused (blob uploads stream and have their own limits).
    public var maxUploadSize: Int { Self.maxJSONBodyBytes }

    /// The caller's identity from its verified client certificate.
    func identity() async throws -> PeerIdentity {
        guard let certificate = try await channel.nioSSL_peerCertificate().get() else {
            throw HTTPError(.unauthorized, message: "no client certificate")
        }
        do {
            return try CertificateIdentity.identity(fromDER: try certificate.toDERBytes())
        } catch {
            throw HTTPError(.forbidden, message: "\(error)")
        }
    }

    /// The caller's identity, if its role is one of `roles`; a 403 naming the role otherwise.
    func require(_ roles: Set<Role>, for what: String) async throws -> PeerIdentity {
        let id = try await identity()
        guard roles.contains(id.role) else {
            throw HTTPError(.forbidden, message: "a \(id.role.rawValue) certificate (\(id.name)) may not \(what); this needs one of: \(roles.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        return id
    }
}

extension Caller {
    /// The caller a verified client certificate names.
    init(_ identity: PeerIdentity) {
        self.init(
            name: identity.name, isAdmin: identity.role == .admin,
            certificate: "CN=\(identity.name) (\(identity.role.rawValue)\(identity.serial.isEmpty ? "" : ", serial \(identity.serial)"))",
            role: identity.role.rawValue, serial: identity.serial)
    }
}

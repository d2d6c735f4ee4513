import ArgumentParser
import Foundation
import MedGridCore
import MedGridTransport
import MedGridWorker

/// How to reach a coordinator: URL and client certificate, from flags, then `MEDGRID_COORDINATOR`,
/// `MEDGRID_CERT`, `MEDGRID_KEY`, `MEDGRID_CA`, then a JSON config file (`--config`, or
/// `~/.config/medgrid/client.json`) with the keys coordinator, cert, key, ca.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Coordinator URL, e.g. https://coord.example:7443 (or $MEDGRID_COORDINATOR).", valueName: "url"))
    var coordinator: String?

    @Option(help: ArgumentHelp("Client certificate PEM (or $MEDGRID_CERT).", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("Client private key PEM (or $MEDGRID_KEY).", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("The MedGrid CA certificate PEM (or $MEDGRID_CA).", valueName: "file"))
    var ca: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("A JSON file with coordinator, cert, key and ca.", valueName: "file"))
    var configFile: String?

    struct Resolved {
        var url: String
        var cert: URL
        var key: URL
        var ca: URL
    }

    /// Whether a coordinator was named (flag, environment, or --config); otherwise commands use the local state directory.
    var isRemote: Bool { coordinator != nil || configFile != nil || ProcessInfo.processInfo.environment["MEDGRID_COORDINATOR"] != nil }

    func resolve() throws -> Resolved {
        let env = ProcessInfo.processInfo.environment
        var file: [String: String] = [:]
        let configPath = configFile ?? env["MEDGRID_CONFIG"] ?? (NSHomeDirectory() + "/.config/medgrid/client.json")
        if let data = FileManager.default.contents(atPath: configPath) {
            guard let parsed = try? JSONDecoder().decode([String: String].self, from: data) else {
                throw MedGridError(.invalidInput, "\(configPath): expected a JSON object with string fields coordinator, cert, key, ca")
            }
            file = parsed
        } else if configFile != nil {
            throw MedGridError(.notFound, "\(configPath): no such config file")
        }
        func pick(_ flag: String?, _ envName: String, _ key: String) -> String? { flag ?? env[envName] ?? file[key] }
        guard let url = pick(coordinator, "MEDGRID_COORDINATOR", "coordinator") else {
            throw MedGridError(.invalidInput, "no coordinator given (use --coordinator URL, $MEDGRID_COORDINATOR or a config file)")
        }
        guard url.hasPrefix("https://") else {
            throw MedGridError(.invalidInput, "--coordinator \(url): expected an https:// URL (MedGrid has no plaintext port)")
        }
        guard let cert = pick(cert, "MEDGRID_CERT", "cert"), let key = pick(key, "MEDGRID_KEY", "key"), let ca = pick(ca, "MEDGRID_CA", "ca") else {
            throw MedGridError(.invalidInput, "a coordinator needs --cert, --key and --ca (or $MEDGRID_CERT, $MEDGRID_KEY, $MEDGRID_CA)")
        }
        return Resolved(url: url, cert: URL(fileURLWithPath: cert), key: URL(fileURLWithPath: key), ca: URL(fileURLWithPath: ca))
    }

    /// A client with these credentials; problems with the local files are explained before connecting.
    func client(wireCompression: Bool = true) throws -> CoordinatorClient {
        let r = try resolve()
        if let problem = TLSDiagnosis.checkValidity(certificatePEM: r.cert, at: Date()) {
            printError("warning: \(problem)")
        }
        let tls = try TLSFiles.clientConfiguration(certificate: r.cert, privateKey: r.key, trustRoot: r.ca)
        return CoordinatorClient(baseURL: r.url, tls: tls, wireCompression: wireCompression)
    }

    /// Runs `body` with a client and shuts the client down when it ends, with or without an error (a
    /// `defer { Task { … shutdown() } }` would fire the shutdown and never wait for it).
    func withClient<T>(_ body: (CoordinatorClient) async throws -> T) async throws -> T {
        let client = try client()
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// A client whose certificate and key come from `certificate` at each new connection, so that a reload (the
    /// worker's SIGHUP) takes effect without a new client.
    func client(reloading certificate: ReloadingCertificate, wireCompression: Bool = true) throws -> CoordinatorClient {
        let r = try resolve()
        if let problem = TLSDiagnosis.checkValidity(certificatePEM: r.cert, at: Date()) {
            printError("warning: \(problem)")
        }
        let tls = try TLSFiles.clientConfiguration(reloading: certificate, trustRoot: r.ca)
        return CoordinatorClient(baseURL: r.url, tls: tls, wireCompression: wireCompression)
    }
}

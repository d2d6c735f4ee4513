import ArgumentParser
import Foundation
import MedGridCore
import MedGridTransport

struct TLS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls",
        abstract: "Create the grid's certificate authority and certificates (pure Swift; no openssl).",
        discussion: """
            The role (coordinator, worker, user, admin) lives in each certificate; the coordinator checks it on \
            every request. Private keys are written 0600. Leaf certificates are short-lived (30 days by default); \
            the CA lasts 10 years.

              medgrid tls ca create --out pki
              medgrid tls cert create --coordinator --san coord.example.org --out pki
              medgrid tls cert create --worker node01 --out pki
              medgrid tls cert create --user alice --out pki
            """,
        subcommands: [CA.self, Cert.self])

    struct CA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The certificate authority.", subcommands: [Create.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create ca.pem and ca-key.pem.")
            @Option(help: ArgumentHelp("Folder to write into.", valueName: "dir")) var out: String = "."
            @Option(help: "Validity in days.") var days: Int = 3650
            @Option(name: .customLong("name"), help: "The CA's common name.") var commonName: String = "MedGrid CA"
            @Flag(help: "Replace an existing CA (every certificate it signed stops working).") var overwrite = false

            func validate() throws {
                guard (1...36500).contains(days) else { throw ValidationError("--days must be from 1 to 36500") }
            }

            func run() async throws {
                try await reportingErrors {
                    let files = try CertificateAuthority.create(in: URL(fileURLWithPath: out), commonName: commonName, validityDays: days, overwrite: overwrite)
                    print("wrote \(files.certificate.path) and \(files.privateKey.path) (mode 0600)")
                }
            }
        }
    }

    struct Cert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Leaf certificates.", subcommands: [Create.self, Info.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Issue a certificate for the coordinator, a worker or a user, signed by the CA in --out (or --ca-dir).")
            @Flag(help: "A certificate for the coordinator (server and client).") var coordinator = false
            @Option(name: .customLong("san"), parsing: .upToNextOption, help: ArgumentHelp("Host names and IP addresses the coordinator is reached by (default: localhost 127.0.0.1 ::1).", valueName: "host"))
            var sans: [String] = []
            @Option(help: ArgumentHelp("A certificate for the worker with this name.", valueName: "name")) var worker: String?
            @Option(help: ArgumentHelp("A certificate for the user with this name.", valueName: "name")) var user: String?
            @Flag(help: "With --user: an admin.") var admin = false
            @Option(help: ArgumentHelp("Folder to write into (and to read the CA from).", valueName: "dir")) var out: String = "."
            @Option(name: .customLong("ca-dir"), help: ArgumentHelp("Folder holding ca.pem and ca-key.pem (default: --out).", valueName: "dir")) var caDirectory: String?
            @Option(help: "Validity in days.") var days: Int = 30
            @Flag(help: "Replace existing certificate and key files (to renew).") var overwrite = false

            func validate() throws {
                let chosen = [coordinator, worker != nil, user != nil].filter { $0 }.count
                guard chosen == 1 else { throw ValidationError("choose exactly one of --coordinator, --worker NAME, --user NAME") }
                guard !admin || user != nil else { throw ValidationError("--admin goes with --user NAME") }
                guard sans.isEmpty || coordinator else { throw ValidationError("--san goes with --coordinator") }
                guard (1...3650).contains(days) else { throw ValidationError("--days must be from 1 to 3650") }
            }

            func run() async throws {
                try await reportingErrors {
                    let ca = try CertificateAuthority(directory: URL(fileURLWithPath: caDirectory ?? out))
                    let role: Role = coordinator ? .coordinator : worker != nil ? .worker : admin ? .admin : .user
                    let name = worker ?? user ?? "coordinator"
                    let files = try ca.issue(role: role, name: name, subjectAlternativeNames: sans, validityDays: days, into: URL(fileURLWithPath: out), overwrite: overwrite)
                    print("wrote \(files.certificate.path) and \(files.privateKey.path) (mode 0600): \(role.rawValue) \(name), valid \(days) days")
                }
            }
        }

        struct Info: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show what a certificate file holds: subject, role, validity, SANs, fingerprint.")
            @Argument(help: ArgumentHelp("A PEM certificate file.", valueName: "file")) var file: String

            func run() async throws {
                try await reportingErrors {
                    for summary in try CertificateSummary.inspect(pemFile: URL(fileURLWithPath: file)) {
                        print(summary.description)
                    }
                }
            }
        }
    }
}

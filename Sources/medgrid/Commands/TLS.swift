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
            every request. Private keys are written 0600. Leaf certificates are short-lived (30 days by default; \
            at most 397 days for users and admins, 825 for workers and the coordinator); the CA lasts 10 years. \
            A worker's site comes from its certificate (--label site=A), never from a flag it passes. A revoked \
            certificate is refused by a running coordinator within seconds (revoked.json beside ca.pem).

              medgrid tls ca create --out pki
              medgrid tls cert create --coordinator --san coord.example.org --out pki
              medgrid tls cert create --worker node01 --label site=A --out pki
              medgrid tls cert create --user alice --out pki
              medgrid tls revoke pki/user-bob.pem --out pki --reason "laptop lost"
            """,
        subcommands: [CA.self, Cert.self, Revoke.self])

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
            @Option(help: "Validity in days (at most 397 for users and admins, 825 for workers and the coordinator).") var days: Int = 30
            @Option(name: .customLong("label"), help: ArgumentHelp("With --worker: a placement label key=value signed into the certificate (e.g. site=A); repeat for more. The coordinator trusts these, not a worker's --label flags, for data access.", valueName: "k=v"))
            var labels: [String] = []
            @Flag(help: "Replace existing certificate and key files (to renew).") var overwrite = false

            var role: Role { coordinator ? .coordinator : worker != nil ? .worker : admin ? .admin : .user }

            func validate() throws {
                let chosen = [coordinator, worker != nil, user != nil].filter { $0 }.count
                guard chosen == 1 else { throw ValidationError("choose exactly one of --coordinator, --worker NAME, --user NAME") }
                guard !admin || user != nil else { throw ValidationError("--admin goes with --user NAME") }
                guard sans.isEmpty || coordinator else { throw ValidationError("--san goes with --coordinator") }
                guard labels.isEmpty || worker != nil else { throw ValidationError("--label goes with --worker NAME (a worker's site lives in its certificate)") }
                guard days >= 1 else { throw ValidationError("--days must be at least 1") }
            }

            func run() async throws {
                try await reportingErrors {
                    let role = self.role
                    let labelMap = try CertificateLabels.parse(labels)
                    guard days <= role.maximumValidityDays else {
                        throw MedGridError(
                            .invalidInput,
                            "--days \(days): \(role == .admin ? "an" : "a") \(role.rawValue) certificate may last at most \(role.maximumValidityDays) days; issue a shorter one and renew it with --overwrite before it expires")
                    }
                    let ca = try CertificateAuthority(directory: URL(fileURLWithPath: caDirectory ?? out))
                    let name = worker ?? user ?? "coordinator"
                    let files = try ca.issue(role: role, name: name, subjectAlternativeNames: sans, validityDays: days, labels: labelMap, into: URL(fileURLWithPath: out), overwrite: overwrite)
                    let labelText = labelMap.isEmpty ? "" : ", labels " + labelMap.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    print("wrote \(files.certificate.path) and \(files.privateKey.path) (mode 0600): \(role.rawValue) \(name), valid \(days) days\(labelText)")
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
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a certificate: add its serial to the deny-list a running coordinator enforces.",
            discussion: """
                Give the certificate file (its serial and subject are read from it) or its serial in hex (as \
                medgrid tls cert info shows it, colons optional). The serial is appended to the deny-list, \
                revoked.json beside ca.pem in --ca-dir (or --out) unless --deny-list names another file; the file \
                is replaced atomically and written 0644 (it holds no secret, and the coordinator may run as another \
                user). A coordinator using that deny-list refuses the certificate at the TLS handshake within a few \
                seconds, or at once on SIGHUP, without a restart. Revoking twice is harmless.
                """)
        @Argument(help: ArgumentHelp("A PEM certificate file, or a serial number in hex.", valueName: "serial-or-file")) var target: String
        @Option(name: .customLong("deny-list"), help: ArgumentHelp("The deny-list file (default: revoked.json beside ca.pem in --ca-dir or --out).", valueName: "file")) var denyList: String?
        @Option(help: ArgumentHelp("Folder holding ca.pem (default: the current folder).", valueName: "dir")) var out: String = "."
        @Option(name: .customLong("ca-dir"), help: ArgumentHelp("Folder holding ca.pem (default: --out).", valueName: "dir")) var caDirectory: String?
        @Option(help: ArgumentHelp("Why, for the deny-list and the coordinator's log (one line, at most 200 characters).", valueName: "text")) var reason: String?

        func validate() throws {
            if let reason {
                guard reason.count <= 200, !reason.contains(where: \.isNewline) else {
                    throw ValidationError("--reason must be one line of at most 200 characters")
                }
            }
        }

        func run() async throws {
            try await reportingErrors {
                let caDir = URL(fileURLWithPath: caDirectory ?? out)
                let caFile = caDir.appendingPathComponent(CertificateAuthority.certificateFileName)
                let file = denyList.map { URL(fileURLWithPath: $0) } ?? DenyList.defaultURL(besideCA: caFile)
                var entry = DenyList.Entry(serial: "", reason: reason, revokedAt: Date().formatted(Date.ISO8601FormatStyle(timeZone: .gmt)))
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), !isDirectory.boolValue {
                    let certificateURL = URL(fileURLWithPath: target)
                    guard let summary = try CertificateSummary.inspect(pemFile: certificateURL).first else {
                        throw MedGridError(.invalidInput, "\(target) holds no certificate")
                    }
                    guard !summary.isCA else {
                        throw MedGridError(.invalidInput, "\(target) is a CA certificate; a CA cannot be revoked by serial: create a new CA and reissue every certificate")
                    }
                    if FileManager.default.fileExists(atPath: caFile.path),
                        let problem = TLSDiagnosis.checkChain(certificate: certificateURL, trustRoot: caFile, at: summary.notBefore.addingTimeInterval(1))
                    {
                        printError("warning: revoking it anyway, but \(problem)")
                    }
                    entry.serial = summary.serialHex
                    entry.subject = summary.subject
                    entry.notAfter = summary.notAfter.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
                } else if target.contains("/") || target.hasSuffix(".pem") {
                    throw MedGridError(.notFound, "\(target): no such certificate file (give a PEM certificate file or a serial in hex)")
                } else {
                    entry.serial = try CertificateSerial.normalize(target)
                }
                let shown = entry.subject.map { "\($0) (serial \(entry.serial))" } ?? "serial \(entry.serial)"
                if try DenyList.add(entry, to: file) {
                    print("revoked \(shown) in \(file.path); a coordinator using this deny-list refuses it within seconds (or at once on SIGHUP)")
                } else {
                    print("\(shown) was already revoked in \(file.path)")
                }
            }
        }
    }
}

import ArgumentParser
import Foundation
import MedGridCore
import MedGridCoordinator
import MedGridWorker
import NIOHTTP1

/// `medgrid audit`: who did what, from the coordinator's hash-chained audit trail.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read the audit trail (who submitted, read, downloaded, changed or was refused what), or check its hash chain.",
        discussion: """
            Every submit, report read, cancel, dataset offer, file download, purge, project change and refusal is a record: \
            time, certificate subject, serial and role, project, action, object and outcome. Records never hold patient \
            identifiers or cell values. Each holds the SHA-256 of the record before it, so `medgrid audit verify` finds \
            any record changed, removed or inserted and names the first broken one. Both read the --state-dir's store \
            on the coordinator's host, or, with an admin certificate and --coordinator, the coordinator's trail over \
            the API (reading it remotely is itself recorded).
            """,
        subcommands: [List.self, Verify.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Print audit records, oldest first.")

        @Option(help: ArgumentHelp("Only the records of this project.", valueName: "name")) var project: String?
        @Option(help: ArgumentHelp("Only records from this time on: ISO 8601 (2026-12-05T10:00:00Z) or a date (2026-12-05).", valueName: "time"))
        var since: String?
        @Flag(help: "Print JSON (an array of records).") var json = false
        @OptionGroup var state: StateOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let since = try since.map(AuditCommand.parseTime)
                let records = try await AuditCommand.records(project: project, since: since, state: state, connection: connection)
                if json {
                    print(CanonicalJSON.encode(try JSONValue(encoding: records)), terminator: "")
                    return
                }
                if records.isEmpty { print("no audit records\(project.map { " of project \($0)" } ?? "")") }
                let format = ISO8601DateFormatter()
                for r in records {
                    let who = "\(r.subject) (\(r.role)\(r.serial.isEmpty ? "" : ", serial \(r.serial)"))"
                    print("\(r.seq)  \(format.string(from: Date(timeIntervalSince1970: r.at)))  \(who)  \(r.project.isEmpty ? "-" : r.project)  \(r.action)  \(r.object)  \(r.outcome)")
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the audit trail's hash chain; exit 1 naming the first record changed, removed or inserted.")
        @OptionGroup var state: StateOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let records = try await AuditCommand.records(project: nil, since: nil, state: state, connection: connection)
                if let broken = AuditChain.firstBreak(records) {
                    throw MedGridError(.integrity, "\(connection.isRemote ? "the coordinator's" : state.url.path + ":") audit trail is broken at \(broken)")
                }
                print("ok: \(records.count) audit records, chain intact\(records.last.map { "; last hash \($0.sha256)" } ?? "")")
            }
        }
    }

    /// The records from the local store, or from the coordinator when one is named.
    static func records(project: String?, since: Double?, state: StateOptions, connection: ConnectionOptions) async throws -> [AuditRecord] {
        guard connection.isRemote else {
            return try store(state).read { try $0.auditRecords(project: project, since: since) }
        }
        var query: [String] = []
        if let project {
            try Project.validate(project)
            query.append("project=\(project)")
        }
        if let since { query.append("since=\(since)") }
        return try await connection.withClient { client in
            return try await client.call(.GET, "/v1/audit" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), timeout: 300)
        }
    }

    static func store(_ state: StateOptions) throws -> Store {
        guard FileManager.default.fileExists(atPath: state.url.appendingPathComponent("medgrid.sqlite").path) else {
            throw MedGridError(.notFound, "\(state.url.path): no MedGrid state here (pass the coordinator's --state-dir)")
        }
        return try Store(stateDirectory: state.url)
    }

    static func parseTime(_ text: String) throws -> Double {
        let full = ISO8601DateFormatter()
        if let d = full.date(from: text) { return d.timeIntervalSince1970 }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let d = day.date(from: text) { return d.timeIntervalSince1970 }
        throw MedGridError(.invalidInput, "--since \(text): expected an ISO 8601 time such as 2026-12-05T10:00:00Z, or a date such as 2026-12-05")
    }
}

import ArgumentParser
import Foundation
import MedGridCore
import NIOHTTP1
import MedGridCoordinator
import MedGridReports
import MedGridTransport
import MedGridWorker

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show jobs, or one job's progress and why its pending tasks wait.")

    @Argument(help: ArgumentHelp("A job ID (omit to list all jobs).", valueName: "job"))
    var job: String?

    @OptionGroup var state: StateOptions

    @Flag(name: [.short, .customLong("watch")], help: "Keep refreshing until the job ends.")
    var watch = false

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            if connection.isRemote { return try await remote() }
            guard FileManager.default.fileExists(atPath: state.url.appendingPathComponent("medgrid.sqlite").path) else {
                throw MedGridError(.notFound, "\(state.url.path): no MedGrid state here (run a job first, or pass --state-dir)")
            }
            let store = try Store(stateDirectory: state.url)
            guard let job else {
                let jobs = try store.read { try $0.jobs() }
                if json {
                    print(CanonicalJSON.encode(.array(jobs.map { ["id": .string($0.id), "status": .string($0.status.rawValue), "tasks": .int($0.plan.tasks.count)] })), terminator: "")
                    return
                }
                if jobs.isEmpty { print("no jobs") }
                for j in jobs {
                    let c = try store.read { try $0.phaseCounts(of: j.id) }
                    print("\(j.id)  \(j.status.rawValue)  \(c[.succeeded] ?? 0)/\(c.values.reduce(0, +)) done\(c[.failed].map { ", \($0) failed" } ?? "")")
                }
                return
            }
            while true {
                guard let j = try store.read({ try $0.job(job) }) else {
                    throw MedGridError(.notFound, "no job \(job) in \(state.url.path) (medgrid status lists the jobs)")
                }
                let counts = try store.read { try $0.phaseCounts(of: job) }
                let reasons = pendingReasons(job: job)
                if json {
                    var o: [String: JSONValue] = ["id": .string(j.id), "status": .string(j.status.rawValue)]
                    o["tasks"] = .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, .int($0.value)) }))
                    o["pendingReasons"] = .object(reasons.mapValues { .int($0) })
                    print(CanonicalJSON.encode(.object(o)), terminator: "")
                } else {
                    print("\(j.id): \(j.status.rawValue)")
                    for phase in [TaskPhase.pending, .leased, .succeeded, .failed, .cancelled] {
                        print("  \(phase.rawValue == "leased" ? "running" : phase.rawValue): \(counts[phase] ?? 0)")
                    }
                    for (reason, n) in reasons.sorted(by: { $0.key < $1.key }) { print("  pending because \(reason): \(n)") }
                    if !watch {
                        for e in try store.read({ try $0.events(of: job, limit: 8) }) {
                            let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: e.at))
                            print("  \(when) \(e.kind)\(e.task.map { " task \($0)" } ?? "") \(e.detail)")
                        }
                    }
                }
                if !watch || j.status.isTerminal { return }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    func remote() async throws {
        try await connection.withClient { client in
            guard let job else {
                let list: API.JobList = try await client.call(.GET, "/v1/jobs")
                if json { print(String(decoding: try JSONEncoder().encode(list), as: UTF8.self)); return }
                if list.jobs.isEmpty { print("no jobs") }
                for j in list.jobs { print("\(j.id)  \(j.status.rawValue)  \(j.tasks["succeeded"] ?? 0)/\(j.total) done\(j.tasks["failed"].map { ", \($0) failed" } ?? "")") }
                return
            }
            if watch { return try await followJob(job, client: client, json: json) }
            let s: API.JobStatusReply = try await client.call(.GET, "/v1/jobs/\(job)")
            if json { print(String(decoding: try JSONEncoder().encode(s), as: UTF8.self)); return }
            print("\(s.id): \(s.status.rawValue)")
            for phase in ["pending", "leased", "succeeded", "failed", "cancelled"] { print("  \(phase == "leased" ? "running" : phase): \(s.tasks[phase] ?? 0)") }
            for (reason, n) in s.pendingReasons.sorted(by: { $0.key < $1.key }) { print("  pending because \(reason): \(n)") }
        }
    }

    func pendingReasons(job: String) -> [String: Int] {
        let url = state.url.appendingPathComponent("status.json")
        guard let data = FileManager.default.contents(atPath: url.path), let v = try? JSONValue(parsing: data),
            let at = v["at"]?.doubleValue, Date().timeIntervalSince1970 - at < 10,
            let reasons = v["pending"]?[job]?.objectValue
        else { return [:] }
        return reasons.compactMapValues(\.intValue)
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a finished job's report.")

    @Argument(help: ArgumentHelp("The job ID.", valueName: "job"))
    var job: String

    @OptionGroup var state: StateOptions

    @Option(help: "json (canonical) or md.")
    var format: String = "md"

    @Flag(help: "Same as --format json.")
    var json = false

    @Option(help: ArgumentHelp("Also write report.json and report.md into this folder.", valueName: "dir"))
    var out: String?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard ["json", "md"].contains(format) else { throw ValidationError("--format must be json or md") }
    }

    func run() async throws {
        try await reportingErrors {
            let format = json ? "json" : format
            if connection.isRemote {
                return try await connection.withClient { client in
                    let data = try await client.raw(.GET, "/v1/jobs/\(job)/report")
                    let text = String(decoding: data, as: UTF8.self)
                    if let out { try writeReport(text, to: URL(fileURLWithPath: out)) }
                    print(format == "json" ? text : MarkdownReport.render(try JSONValue(parsing: data)), terminator: format == "json" ? "" : "\n")
                    return
                }
            }
            let store = try Store(stateDirectory: state.url)
            guard let j = try store.read({ try $0.job(job) }) else {
                throw MedGridError(.notFound, "no job \(job) in \(state.url.path)")
            }
            guard let text = j.report else {
                throw MedGridError(.conflict, "job \(job) is still \(j.status.rawValue); its report is written when it ends")
            }
            if let out { try writeReport(text, to: URL(fileURLWithPath: out)) }
            print(format == "json" ? text : MarkdownReport.render(try JSONValue(parsing: Data(text.utf8))), terminator: format == "json" ? "" : "\n")
        }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel a running job.",
        discussion: "Pending tasks are dropped; running ones are stopped at their worker's next heartbeat.")

    @Argument(help: ArgumentHelp("The job ID.", valueName: "job"))
    var job: String

    @OptionGroup var state: StateOptions
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            if connection.isRemote {
                return try await connection.withClient { client in
                    let s: API.JobStatusReply = try await client.call(.POST, "/v1/jobs/\(job)/cancel")
                    if json { print(String(decoding: try JSONEncoder().encode(s), as: UTF8.self)) } else { print("\(job): \(s.status.rawValue)") }
                    return
                }
            }
            let store = try Store(stateDirectory: state.url)
            let changed = try store.write { [job] tx in try tx.requestCancel(job, now: Date().timeIntervalSince1970) }
            guard changed else { throw MedGridError(.conflict, "job \(job) is not running in \(state.url.path)") }
            if json { print(CanonicalJSON.encode(["job": .string(job), "cancelRequested": true]), terminator: "") } else {
                print("cancel requested for \(job); the coordinator applies it within a second")
            }
        }
    }
}

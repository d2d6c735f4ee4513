import ArgumentParser
import Foundation
import MedGridCore
import NIOHTTP1
import MedGridTransport
import MedGridWorker

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a manifest to a coordinator, uploading the dataset files it does not have yet.",
        discussion: """
            The manifest is validated here first. Its dataset is hashed; only files the coordinator lacks are sent, \
            zstd-compressed and verified on arrival. Prints the job ID (or JSON with --json); -w follows its progress.
            """)

    @Argument(help: ArgumentHelp("The manifest.", valueName: "manifest")) var manifest: String
    @OptionGroup var connection: ConnectionOptions
    @Flag(name: [.short, .customLong("watch")], help: "Follow the job until it ends.") var watch = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let m = try loadManifest(manifest)
        try await reportingErrors {
            try await connection.withClient { client in
                let inventory = m.input.isSiteLocal ? DatasetInventory(files: []) : try scanWithProgress(m.inputURL)
                // The coordinator re-hashes what it already holds: allow it time on large datasets.
                let needs: API.DatasetNeeds = try await client.call(.POST, "/v1/datasets", body: API.DatasetOffer(inventory: inventory, project: m.project), timeout: 1800)
                var isDir: ObjCBool = false
                FileManager.default.fileExists(atPath: m.inputURL.path, isDirectory: &isDir)
                for (i, sha) in needs.missing.enumerated() {
                    guard let file = inventory.files.first(where: { $0.sha256 == sha }) else { continue }
                    let url = isDir.boolValue ? m.inputURL.appendingPathComponent(file.path) : m.inputURL
                    if !json { printError("uploading \(i + 1)/\(needs.missing.count): \(file.path) (\(file.size) bytes)") }
                    try await client.upload(fileAt: url, sha256: sha, dataset: inventory.root, project: m.project)
                }
                let text = try String(contentsOfFile: manifest, encoding: .utf8)
                let submitted: API.Submitted = try await client.call(
                    .POST, "/v1/jobs", body: API.SubmitJob(manifest: text, fileName: (manifest as NSString).lastPathComponent, inventory: inventory, project: m.project), timeout: 600)
                if json {
                    print(CanonicalJSON.encode(["job": .string(submitted.job), "uploaded": .int(needs.missing.count), "datasetRoot": .string(inventory.root)]), terminator: "")
                } else {
                    print(submitted.job)
                }
                if watch { try await followJob(submitted.job, client: client, json: json) }
            }
        }
    }
}

/// Polls a job's status once a second until it ends, drawing progress.
func followJob(_ id: String, client: CoordinatorClient, json: Bool) async throws {
    let progress = ProgressDisplay(enabled: !json, label: id)
    while true {
        let s: API.JobStatusReply = try await client.call(.GET, "/v1/jobs/\(id)")
        var counts: [TaskPhase: Int] = [:]
        for (k, v) in s.tasks { if let p = TaskPhase(rawValue: k) { counts[p] = v } }
        progress.update(counts: counts)
        if s.status.isTerminal {
            progress.finish()
            if json { print(String(decoding: try JSONEncoder().encode(s), as: UTF8.self)) } else { print("\(id): \(s.status.rawValue)") }
            return
        }
        try await Task.sleep(for: .seconds(1))
    }
}

struct Workers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the workers connected to a coordinator.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            try await connection.withClient { client in
                let list: API.WorkerList = try await client.call(.GET, "/v1/workers")
                if json {
                    print(String(decoding: try JSONEncoder().encode(list), as: UTF8.self))
                    return
                }
                if list.workers.isEmpty { print("no workers connected") }
                for w in list.workers {
                    let labels = w.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    print("\(w.name)  \(w.running)/\(w.slots) slots busy  \(labels.isEmpty ? "-" : labels)")
                }
            }
        }
    }
}

public import Foundation
import Logging
public import MedGridCore
public import MedGridTransport

/// Purge on instruction: a dataset (with every job over it) or one job is destroyed, and a signed
/// certificate of destruction says what, when and at whose instruction.
///
/// For a dataset of a project: its data key (so every sealed copy, in this state directory, in a backup
/// of it or anywhere else, becomes unreadable; the coordinator's wrapping key is rotated so that no older
/// copy of the wrapped key opens either), its sealed files, the view the coordinator laid out to plan its
/// jobs, every job over it with tasks, results and report, the local registrations of it, the project's
/// quota for files no other dataset of the project holds, and any copy of its files in plain storage that
/// no other project holds. Connected workers are told (with their next heartbeat) to delete their cached
/// copies; a worker away now is told when it registers again. Leaderboard versions over the dataset keep
/// their rows (history is immutable) and are shown as purged. The store is compacted (write-ahead log
/// truncated, VACUUM, with secure_delete on), so free pages keep nothing either.
extension Coordinator {
    /// Purges what `request` names, for an admin. Returns the certificate of destruction's bytes.
    /// - Throws: `permissionDenied` for a non-admin (audited), `notFound` for an unknown target,
    ///   `invalidInput` for an ambiguous one, `conflict` while a job over it is still running.
    public func purge(_ request: API.PurgeRequest, for caller: Caller) async throws -> String {
        guard caller.isAdmin else {
            try refuse(caller, "purge", "\(request.target) \(request.id.prefix(64))", job: nil, project: request.project ?? "")
            throw MedGridError(.permissionDenied, "purging needs an admin certificate; \(caller.certificate) is a \(caller.role)")
        }
        switch request.target {
        case "dataset": return try await purgeDataset(request.id, project: request.project, caller: caller)
        case "job": return try await purgeJob(request.id, caller: caller)
        default: throw MedGridError(.invalidInput, "purge target \(request.target.prefix(32)): expected dataset or job")
        }
    }

    /// Whether any live dataset's sealed store (or the plain store of older uploads) holds `sha256`.
    public nonisolated func storesBlob(_ sha256: String) -> Bool { storedFile(sha256) != nil }

    /// The file holding `sha256` at rest (sealed, or plain for older uploads), in the first store that has it.
    public nonisolated func storedFile(_ sha256: String) -> URL? {
        if let plain = blobs.compressedFile(sha256) { return plain }
        let live = (try? store.read { try $0.liveDatasetKeys() }) ?? []
        return live.lazy.compactMap { (try? self.keys.blobStore(keyID: $0.keyID))?.compressedFile(sha256) }.first
    }

    /// The (project, root) pairs a dataset purge target may name.
    func resolveDataset(_ id: String, project: String?) throws -> (project: String, root: String) {
        let (keys, jobs, registrations) = try store.read { tx in (try tx.allDatasetKeys(), try tx.jobs(), try tx.registrations()) }
        var known = Set<String>()  // "project\u{0}root"
        for k in keys where k.purgedAt == nil { known.insert(k.project + "\u{0}" + k.root) }
        for j in jobs { known.insert(j.project + "\u{0}" + j.plan.datasetRoot) }
        for r in registrations { known.insert(r.project + "\u{0}" + r.root) }
        let byLocation = Set(registrations.filter { $0.location == id || URL(fileURLWithPath: id).standardizedFileURL.path == $0.location }.map { $0.project + "\u{0}" + $0.root })
        let isHexPrefix = id.count >= 8 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }
        let matches = known.filter { pair in
            let parts = pair.split(separator: "\u{0}", omittingEmptySubsequences: false)
            guard project == nil || String(parts[0]) == project else { return false }
            return byLocation.contains(pair) || (isHexPrefix && parts[1].hasPrefix(id))
        }.sorted()
        guard !matches.isEmpty else {
            throw MedGridError(.notFound, "no dataset \(id.prefix(64))\(project.map { " in project \($0)" } ?? ""): give its Merkle root (or 8+ leading hex digits of it) or the location it was registered at")
        }
        guard matches.count == 1 else {
            let list = matches.map { $0.replacingOccurrences(of: "\u{0}", with: ": ") }.joined(separator: ", ")
            throw MedGridError(.invalidInput, "\(id.prefix(64)) names \(matches.count) datasets (\(list)); give the whole root and --project")
        }
        let parts = matches[0].split(separator: "\u{0}", omittingEmptySubsequences: false)
        return (String(parts[0]), String(parts[1]))
    }

    func purgeDataset(_ id: String, project: String?, caller: Caller) async throws -> String {
        let (project, root) = try resolveDataset(id, project: project)
        let t = Date().timeIntervalSince1970
        let jobs = try store.read { try $0.jobs() }.filter { $0.project == project && $0.plan.datasetRoot == root }
        if let running = jobs.first(where: { !(jobStatus($0.id) ?? $0.status).isTerminal }) {
            throw MedGridError(.conflict, "job \(running.id) over dataset \(root.prefix(16))… is still running; cancel it first (medgrid cancel \(running.id))")
        }
        let key = try store.read { try $0.liveDatasetKey(project: project, root: root) }
        let inventory = key?.inventory ?? jobs.first?.plan.inventory
        let shas = Set(inventory?.files.map(\.sha256) ?? [])
        let by = caller.auditActor
        let (released, registrations, leaderboardMarks): ([String], [String], [JSONValue]) = try store.write { tx in
            var released: [String] = []
            if let key { released = try tx.purgeDatasetKey(key.keyID, project: project, by: "CN=\(caller.name)", now: t) }
            for job in jobs { try tx.purgeJob(job.id, by: "CN=\(caller.name)", now: t) }
            let registrations = try tx.purgeRegistrations(project: project, root: root)
            var marks: [JSONValue] = []
            for board in try tx.leaderboards() where board.project == project {
                for v in try tx.leaderboardVersions(project: project, name: board.name) {
                    let doc = try? JSONValue(parsing: Data(v.document.utf8))
                    if doc?["benchmark"]?["datasetRoot"]?.stringValue == root {
                        marks.append(.object(["name": .string(board.name), "version": .int(v.version)]))
                    }
                }
            }
            return (released, registrations, marks)
        }
        for job in jobs { plans[job.id] = nil; rounds[job.id] = nil; jobDataKeys[job.id] = nil }
        var sealed = (files: 0, bytes: Int64(0))
        if let key { sealed = try keys.destroy(keyID: key.keyID) }
        // Files uploaded before data keys existed are plain: delete those no other project holds.
        var plainRemoved: [String] = []
        for sha in released where blobs.contains(sha) {
            let others = try store.read { tx in try tx.projectsHolding(sha256: sha) }
            if others.isEmpty { try blobs.remove(sha); plainRemoved.append(sha) }
        }
        var views: [String] = []
        for name in [key?.keyID, root].compactMap({ $0 }) {
            let dir = stateDirectory.appendingPathComponent("views/\(name)")
            if FileManager.default.fileExists(atPath: dir.path) { try FileManager.default.removeItem(at: dir); views.append("views/\(name)") }
        }
        let releasedBytes = inventory?.files.filter { released.contains($0.sha256) }.reduce(Int64(0)) { $0 + $1.size } ?? 0
        quotas.release(project, bytes: releasedBytes)
        let workers = scheduler.connectedWorkers
        for w in workers { pendingPurges[w, default: []].formUnion(shas) }

        let body: JSONValue = .object([
            "type": .string("medgrid certificate of destruction"),
            "version": .int(1),
            "target": .object(["kind": .string("dataset"), "project": .string(project), "datasetRoot": .string(root)]),
            "instructedBy": .object(["subject": .string(by.subject), "serial": .string(by.serial), "role": .string(by.role)]),
            "destroyedAt": .string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t))),
            "destroyed": .object([
                "dataKey": key.map { .string($0.keyID) } ?? .null,
                // Hashes and sizes only: a file's path can carry a patient's name, and this certificate is kept.
                "files": .array(inventory?.files.map { .object(["sha256": .string($0.sha256), "size": .int(Int($0.size))]) } ?? []),
                "sealedFilesDeleted": .int(sealed.files),
                "sealedBytesDeleted": .int(Int(sealed.bytes)),
                "plainFilesDeleted": .array(plainRemoved.sorted().map { .string($0) }),
                "views": .array(views.map { .string($0) }),
                "jobs": .array(jobs.map { .string($0.id) }.sorted { $0.stringValue! < $1.stringValue! }),
                "reports": .array(jobs.filter { $0.report != nil }.map { .string($0.id) }.sorted { $0.stringValue! < $1.stringValue! }),
                "registrations": .int(registrations.count),
                "workerCachesToldToDelete": .array(workers.sorted().map { .string($0) }),
                "quotaReturnedBytes": .int(Int(releasedBytes)),
            ]),
            "keptMarkedPurged": .object(["leaderboardVersions": .array(leaderboardMarks)]),
            "wrappingKeyRotated": .bool(key != nil),
        ])
        return try finishPurge(body, target: "dataset", project: project, root: root, caller: caller, at: t,
                               object: "dataset \(root.prefix(16))… (\(jobs.count) jobs, \(shas.count) files)")
    }

    func purgeJob(_ id: String, caller: Caller) async throws -> String {
        guard let job = try store.read({ try $0.job(id) }) else { throw MedGridError(.notFound, "no job \(id.prefix(64))") }
        guard (jobStatus(id) ?? job.status).isTerminal else {
            throw MedGridError(.conflict, "job \(id) is still running; cancel it first (medgrid cancel \(id))")
        }
        let t = Date().timeIntervalSince1970
        try store.write { tx in try tx.purgeJob(id, by: "CN=\(caller.name)", now: t) }
        plans[id] = nil
        rounds[id] = nil
        jobDataKeys[id] = nil
        let by = caller.auditActor
        let body: JSONValue = .object([
            "type": .string("medgrid certificate of destruction"),
            "version": .int(1),
            "target": .object(["kind": .string("job"), "project": .string(job.project), "job": .string(id)]),
            "instructedBy": .object(["subject": .string(by.subject), "serial": .string(by.serial), "role": .string(by.role)]),
            "destroyedAt": .string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t))),
            "destroyed": .object([
                "jobs": .array([.string(id)]),
                "reports": .array(job.report == nil ? [] : [.string(id)]),
                "tasks": .int(job.plan.tasks.count),
            ]),
            "wrappingKeyRotated": .bool(false),
        ])
        return try finishPurge(body, target: "job", project: job.project, root: nil, caller: caller, at: t, object: "job \(id)")
    }

    /// Signs the certificate, stores it with the purge, records the audit record, and compacts the store.
    func finishPurge(_ body: JSONValue, target: String, project: String, root: String?, caller: Caller, at t: Double, object: String) throws -> String {
        let certificate = try DestructionCertificate.sign(body, with: keys.signingKey)
        try store.write { tx in
            try tx.insertPurge(at: t, target: target, project: project, root: root, by: "CN=\(caller.name)", certificate: certificate)
            try tx.audit(caller.auditActor, project: project, action: "purge", object: object, outcome: "ok", now: t)
            try tx.event(job: nil, task: nil, kind: "purged", detail: "\(target) by CN=\(caller.name)", now: t)
        }
        try store.compact()
        logger.notice("purged on instruction", metadata: ["medgrid.target": "\(target)", "medgrid.by": "\(caller.name)"])
        return certificate
    }
}

import Foundation
import Logging
public import MedGridCore
public import MedGridTransport

extension Coordinator {
    /// A manifest submitted over the API, over a dataset whose files the caller's project uploaded as
    /// blobs. The coordinator lays out a view of the dataset's small descriptive files (dataset.json, or
    /// the cohort table it must count) to validate and plan; workers fetch the files by hash.
    public nonisolated func submitRemote(_ request: API.SubmitJob, for caller: Caller) async throws -> String {
        let project = try await project(request.project, for: caller, to: "submit a job to")
        let inventory = DatasetInventory(files: request.inventory.files)
        guard inventory.root == request.inventory.root else {
            throw MedGridError(.invalidInput, "the inventory's root \(request.inventory.root) does not match its files (computed \(inventory.root))")
        }
        let needs = try await missingFiles(of: inventory, in: project)
        guard needs.missing.isEmpty else {
            throw MedGridError(.conflict, "\(needs.missing.count) file(s) of dataset \(inventory.root.prefix(16))… have not been uploaded to project \(project) (offer the dataset and upload the missing blobs first)")
        }
        let view = try materializeView(inventory, from: try datasetStore(project: project, root: inventory.root))
        let loader = ManifestLoader(catalog: suite)
        let manifest: Manifest
        do {
            manifest = try loader.load(text: request.manifest, file: request.fileName, baseDirectory: view.deletingLastPathComponent(), inputOverride: view)
        } catch let e as ManifestValidationError {
            throw MedGridError(.invalidInput, e.description)
        }
        // A site's rows go only to workers the CA labelled for that site: the label must be one a flag cannot claim.
        if case .sites(_, let label, _) = manifest.input, !configuration.certificateOnlyLabels.contains(label) {
            throw MedGridError(.invalidInput, "\(request.fileName): spec.sites.label is \(label); site-local data go only to workers whose certificate carries the site, by a label this coordinator takes from certificates only (\(configuration.certificateOnlyLabels.sorted().joined(separator: ", ")))")
        }
        guard (manifest.project ?? caller.personalProject) == project else {
            throw MedGridError(.invalidInput, "\(request.fileName): spec.project is \(manifest.project ?? "not set (the personal project \(caller.personalProject))"), but the files were offered to project \(project); send the same project with the offer, the uploads and the job (medgrid submit does)")
        }
        let job = try await submit(manifest, inventory: inventory, sharedFilesystem: false, reuseUnfinished: false, project: project, submittedBy: caller.name)
        try audit(caller, project: project, action: "submit", object: "job \(job)")
        return job
    }

    /// `<state>/views/<key ID>/`: dataset.json (or the cohort table) decompressed, other files as empty
    /// placeholders so the layout checks pass. Returns the folder, or the table file for a cohort. A purge
    /// of the dataset deletes it with the data key.
    nonisolated func materializeView(_ inventory: DatasetInventory, from source: (keyID: String, store: BlobStore)) throws -> URL {
        let blobs = source.store
        let dir = stateDirectory.appendingPathComponent("views/\(source.keyID)")
        let isDataset = inventory.file(DecathlonDataset.descriptorName) != nil
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in inventory.files {
            try Self.checkRelativePath(f.path)
            let url = dir.appendingPathComponent(f.path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let needed = !isDataset || f.path == DecathlonDataset.descriptorName
            if needed {
                if !fm.fileExists(atPath: url.path) || (try? ContentHash.sha256(fileAt: url).hash) != f.sha256 {
                    try blobs.extract(f.sha256, to: url)
                }
            } else if !fm.fileExists(atPath: url.path) {
                fm.createFile(atPath: url.path, contents: nil)
            }
        }
        if isDataset || inventory.files.isEmpty { return dir }  // empty: site-local data, nothing held here
        guard inventory.files.count == 1 else {
            throw MedGridError(.invalidInput, "an upload without dataset.json must be a single cohort table (found \(inventory.files.count) files)")
        }
        return dir.appendingPathComponent(inventory.files[0].path)
    }

    /// A dataset path from a client must stay inside its folder.
    static func checkRelativePath(_ path: String) throws {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw MedGridError(.invalidInput, "dataset path \"\(path)\" is not a plain relative path inside the dataset")
        }
    }

    /// Checks a stored blob before it is used: re-hashed whenever its file changed (size or modification
    /// time) since it was last verified, off the actor. A corrupt blob is quarantined and an integrity error thrown.
    public nonisolated func ensureVerified(_ sha256: String, in blobs: BlobStore, keyID: String) async throws {
        guard let file = blobs.compressedFile(sha256) else {
            throw MedGridError(.notFound, "no blob \(sha256.prefix(12))… on this coordinator")
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: file.path)
        let stamp = BlobStamp(size: (attributes?[.size] as? Int) ?? -1, modified: (attributes?[.modificationDate] as? Date) ?? .distantPast)
        let name = keyID + "/" + sha256
        if await verifiedBlobs[name] == stamp { return }
        do {
            try blobs.verify(sha256)
            await recordVerification(name, stamp)
        } catch {
            await recordVerification(name, nil)
            blobs.quarantine(sha256)
            logger.error("stored blob failed verification; quarantined", metadata: ["medgrid.blob": "\(sha256.prefix(16))"])
            throw MedGridError(.integrity, "the coordinator's copy of blob \(sha256.prefix(12))… was corrupt and has been quarantined; submit the manifest again to upload it anew")
        }
    }

    func recordVerification(_ sha256: String, _ stamp: BlobStamp?) {
        verifiedBlobs[sha256] = stamp
    }

    /// Re-hashes every stored blob of a dataset.
    public func verifyDataset(root: String) throws -> API.DatasetVerifyReply {
        let stored = try store.read { try $0.jobs() }
        guard let plan = plans.values.first(where: { $0.datasetRoot == root }) ?? stored.first(where: { $0.plan.datasetRoot == root })?.plan else {
            throw MedGridError(.notFound, "no job has used dataset \(root.prefix(16))…")
        }
        let project = try store.read { try $0.jobs() }.first { $0.plan.datasetRoot == root }?.project ?? ""
        let blobs = (try? keys.datasetKeyID(project: project, root: root)).flatMap { $0 }.flatMap { try? keys.blobStore(keyID: $0) } ?? self.blobs
        var corrupt: [String] = [], missing: [String] = []
        for f in plan.inventory.files {
            if !blobs.contains(f.sha256) { missing.append(f.path); continue }
            do { try blobs.verify(f.sha256) } catch { corrupt.append(f.path) }
        }
        return API.DatasetVerifyReply(root: root, files: plan.inventory.files.count, corrupt: corrupt, missing: missing)
    }

    /// One job's progress, for `medgrid status`.
    public func statusReply(_ id: String) throws -> API.JobStatusReply {
        guard let job = try store.read({ try $0.job(id) }) else {
            throw MedGridError(.notFound, "no job \(id)")
        }
        let counts = try progress(of: id)
        return API.JobStatusReply(
            id: id, name: job.name, status: jobStatus(id) ?? job.status,
            tasks: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            pendingReasons: pendingReasons(of: id), submittedAt: job.submittedAt, finishedAt: job.finishedAt)
    }

    /// The canonical report of a finished job.
    public func report(_ id: String) throws -> String {
        guard let job = try store.read({ try $0.job(id) }) else { throw MedGridError(.notFound, "no job \(id)") }
        guard let text = job.report else {
            throw MedGridError(.conflict, "job \(id) is still \(job.status.rawValue); its report is written when it ends")
        }
        return text
    }

    public func workerList() -> API.WorkerList {
        API.WorkerList(workers: scheduler.workerSummaries.map {
            API.WorkerInfo(name: $0.name, labels: $0.labels, slots: $0.slots, running: $0.running, lastSeen: $0.lastSeen)
        })
    }
}

extension Coordinator {
    /// Jobs by status, tasks by phase, outstanding leases and connected workers.
    public func metricsSample() -> (jobs: [JobStatus: Int], tasks: [TaskPhase: Int], leases: Int, workers: Int, refusedResults: Int, refusedAccesses: Int) {
        let t = scheduler.totals
        return (t.jobs, t.tasks, scheduler.leaseCount, scheduler.connectedWorkers.count, refusedResults, refusedAccesses)
    }
}

/// The size and modification time of a stored blob file when it was last verified.
struct BlobStamp: Equatable, Sendable {
    var size: Int
    var modified: Date
}

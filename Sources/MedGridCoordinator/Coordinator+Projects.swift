public import Foundation
import Logging
public import MedGridCore
public import MedGridTransport

/// Who is asking, as a route knows it from the client certificate (or the local user for commands that
/// open the state directory themselves).
public struct Caller: Sendable, Hashable, CustomStringConvertible {
    /// The certificate's name (CN).
    public var name: String
    /// Admins see and manage every project.
    public var isAdmin: Bool
    /// How audit events name the certificate, e.g. `CN=bob (user, serial 3f…)`.
    public var certificate: String
    /// The certificate's role (user, admin, worker) and serial, for audit records.
    public var role: String
    public var serial: String

    public init(name: String, isAdmin: Bool, certificate: String, role: String? = nil, serial: String = "") {
        self.name = name
        self.isAdmin = isAdmin
        self.certificate = certificate
        self.role = role ?? (isAdmin ? "admin" : "user")
        self.serial = serial
    }

    /// Who acted, as an audit record names them.
    public var auditActor: AuditActor { AuditActor(subject: "CN=\(name)", serial: serial, role: role) }

    /// The project a job goes to when its manifest names none: `user-NAME`, whose only member is NAME.
    public var personalProject: String { Project.personal(name) }

    public var description: String { certificate }

    /// Whether this caller may use `project`, given the created projects they are a member of: an admin
    /// any, a user their personal project and their memberships.
    func mayUse(_ project: String, memberships: Set<String>) -> Bool {
        isAdmin || project == personalProject || memberships.contains(project)
    }
}

/// Project names and the rules about them.
public enum Project {
    public static let personalPrefix = "user-"

    public static func personal(_ user: String) -> String { personalPrefix + user }

    /// The project of leaderboards and dataset registrations made before projects existed. Only admins
    /// see it until an admin creates a project of this name and adds members.
    public static let unassigned = "unassigned"

    /// `[a-z0-9-]`, 1 to 63 characters, like job names.
    public static func validate(_ name: String) throws {
        guard (1...63).contains(name.count), name.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            throw MedGridError(.invalidInput, "project name \"\(name.prefix(80))\": expected 1 to 63 characters of a-z, 0-9 and -")
        }
    }

    /// A name for a project to create: valid, and not a personal project's.
    public static func validateNew(_ name: String) throws {
        try validate(name)
        guard !name.hasPrefix(personalPrefix) else {
            throw MedGridError(.invalidInput, "project name \(name): names starting with \(personalPrefix) are the users' personal projects")
        }
    }
}

extension Coordinator {
    // MARK: Managing projects (admin)

    public func createProject(_ name: String, by caller: Caller) throws {
        try Project.validateNew(name)
        try store.write { [now] tx in
            try tx.insertProject(name: name, createdBy: caller.certificate, now: now)
            try tx.audit(caller.auditActor, project: name, action: "project-create", object: "project \(name)", outcome: "ok", now: now)
        }
        logger.notice("project created", metadata: ["medgrid.project": "\(name)", "medgrid.certificate": "\(caller.certificate)"])
    }

    /// Adds or removes a member of a created project; false when nothing changed.
    @discardableResult
    public func setMember(_ user: String, of project: String, member: Bool, by caller: Caller) throws -> Bool {
        guard !user.isEmpty, user.count <= 256 else { throw MedGridError(.invalidInput, "user name: expected 1 to 256 characters") }
        return try store.write { [now] tx in
            guard try tx.projectExists(project) else { throw MedGridError(.notFound, "no project \(project)") }
            let changed = member
                ? try tx.addMember(project: project, user: user, by: caller.certificate, now: now)
                : try tx.removeMember(project: project, user: user, by: caller.certificate, now: now)
            try tx.audit(
                caller.auditActor, project: project, action: member ? "project-add-member" : "project-remove-member",
                object: "user \(user)", outcome: changed ? "ok" : "unchanged", now: now)
            return changed
        }
    }

    /// The projects a caller may see: every created one for an admin; for a user, their memberships and
    /// their personal project.
    public func projectList(for caller: Caller) throws -> API.ProjectList {
        let all = try store.read { try $0.projects() }
        var out = all.filter { caller.isAdmin || $0.members.contains(caller.name) }
            .map { API.ProjectInfo(name: $0.name, members: $0.members, personal: false) }
        out.append(API.ProjectInfo(name: caller.personalProject, members: [caller.name], personal: true))
        return API.ProjectList(projects: out.sorted { $0.name < $1.name })
    }

    // MARK: Audit

    /// Appends an audit record of what `caller` did (see ``AuditRecord``).
    public nonisolated func audit(_ caller: Caller, project: String, action: String, object: String, outcome: String = "ok") throws {
        try store.write { tx in
            try tx.audit(caller.auditActor, project: project, action: action, object: object, outcome: outcome, now: Date().timeIntervalSince1970)
        }
    }

    /// The audit records an admin asked for; the reading is itself recorded (after the records read).
    public nonisolated func auditTrail(project: String?, since: Double?, for caller: Caller) throws -> [AuditRecord] {
        let records = try store.read { try $0.auditRecords(project: project, since: since) }
        try audit(caller, project: project ?? "", action: "read-audit", object: "\(records.count) records")
        return records
    }

    // MARK: Access checks

    /// Whether the caller may see and use a project: admins any; a user their personal project and the
    /// created projects they are a member of.
    func mayUse(_ project: String, _ caller: Caller) throws -> Bool {
        if caller.mayUse(project, memberships: []) { return true }
        return try store.read { try $0.isMember(project: project, user: caller.name) }
    }

    /// The project a request names (nil: the caller's personal project), if the caller may use it; a
    /// project the caller may not use is answered like one that does not exist.
    func project(_ named: String?, for caller: Caller, to action: String) throws -> String {
        let name = named ?? caller.personalProject
        if name != caller.personalProject { try Project.validate(name) }
        let exists = try name.hasPrefix(Project.personalPrefix) || store.read { try $0.projectExists(name) }
        guard exists, try mayUse(name, caller) else {
            if exists { try refuse(caller, action, "project \(name)", job: nil, project: name) }
            throw MedGridError(.notFound, "no project \(name)")
        }
        return name
    }

    /// A job the caller may see. A job of a project the caller is not a member of is answered exactly like
    /// a job that does not exist, so job names do not leak; the refusal is an audit event.
    func job(_ id: String, for caller: Caller, to action: String) throws -> StoredJob {
        guard let job = try store.read({ try $0.job(id) }) else { throw MedGridError(.notFound, "no job \(id)") }
        guard try mayUse(job.project, caller) else {
            try refuse(caller, action, "job \(id) of project \(job.project.isEmpty ? "(none)" : job.project)", job: id, project: job.project)
            throw MedGridError(.notFound, "no job \(id)")
        }
        return job
    }

    /// Records a refusal: an `access-refused` event naming the certificate, a log line, and the
    /// `medgrid_access_refused_total` counter.
    public func refuse(_ caller: Caller, _ action: String, _ target: String, job: String?, project: String = "") throws {
        refusedAccesses += 1
        let detail = "\(caller.certificate) may not \(action) \(target)"
        try store.write { [now] tx in
            try tx.event(job: job, task: nil, kind: "access-refused", detail: detail, now: now)
            try tx.audit(caller.auditActor, project: project, action: action, object: target, outcome: "refused", now: now)
        }
        logger.warning("refused a request", metadata: ["medgrid.certificate": "\(caller.certificate)", "medgrid.action": "\(action)"])
    }

    // MARK: User routes, scoped to the caller's projects

    public func statusReply(_ id: String, for caller: Caller) throws -> API.JobStatusReply {
        _ = try job(id, for: caller, to: "read the status of")
        return try statusReply(id)
    }

    public func report(_ id: String, for caller: Caller) throws -> String {
        let stored = try job(id, for: caller, to: "read the report of")
        let text = try report(id)
        try audit(caller, project: stored.project, action: "read-report", object: "job \(id)")
        return text
    }

    public func cancel(job id: String, for caller: Caller) async throws -> API.JobStatusReply {
        let stored = try job(id, for: caller, to: "cancel")
        try await cancel(job: id)
        try audit(caller, project: stored.project, action: "cancel", object: "job \(id)")
        logger.notice("job cancelled", metadata: ["medgrid.job": "\(id)", "medgrid.certificate": "\(caller.certificate)"])
        return try statusReply(id)
    }

    /// The jobs of the projects the caller may use.
    public func jobList(for caller: Caller) throws -> API.JobList {
        let (jobs, memberships) = try store.read { tx in (try tx.jobs(), try tx.memberships(of: caller.name)) }
        let visible = jobs.filter { caller.mayUse($0.project, memberships: memberships) }
        return API.JobList(jobs: try visible.map { try statusReply($0.id) })
    }

    /// The leaderboards of the projects the caller may use.
    public func leaderboardList(for caller: Caller) throws -> API.LeaderboardList {
        let (all, memberships) = try store.read { tx in (try tx.leaderboards(), try tx.memberships(of: caller.name)) }
        return API.LeaderboardList(leaderboards: all.filter { caller.mayUse($0.project, memberships: memberships) }
            .map { API.LeaderboardInfo(project: $0.project, name: $0.name, latest: $0.latest) })
    }

    /// Every version of a project's leaderboard. A leaderboard of a project the caller may not use is
    /// answered like one that does not exist; the refusal is an audit event.
    public func leaderboard(_ name: String, of project: String, for caller: Caller) throws -> API.LeaderboardVersions {
        let versions = try store.read { try $0.leaderboardVersions(project: project, name: name) }
        guard try mayUse(project, caller) else {
            if !versions.isEmpty { try refuse(caller, "read", "leaderboard \(name) of project \(project)", job: nil, project: project) }
            throw MedGridError(.notFound, "no leaderboard \(name) in project \(project)")
        }
        guard !versions.isEmpty else { throw MedGridError(.notFound, "no leaderboard \(name) in project \(project)") }
        // Versions over a purged dataset keep their rows and are marked.
        let purged = try store.read { try $0.purgedRoots(project: project) }
        return API.LeaderboardVersions(project: project, name: name, versions: try versions.map {
            let document = try JSONValue(parsing: Data($0.document.utf8))
            guard let root = document["benchmark"]?["datasetRoot"]?.stringValue, purged.contains(root), case .object(var o) = document else { return document }
            o["purged"] = .bool(true)
            return .object(o)
        })
    }

    /// Re-hashes the stored blobs of a dataset used by one of the caller's jobs.
    public func verifyDataset(root: String, for caller: Caller) throws -> API.DatasetVerifyReply {
        let (jobs, memberships) = try store.read { tx in (try tx.jobs(), try tx.memberships(of: caller.name)) }
        let visible = jobs.contains { job in
            job.plan.datasetRoot == root && caller.mayUse(job.project, memberships: memberships)
        }
        guard visible else { throw MedGridError(.notFound, "no job has used dataset \(root.prefix(16))…") }
        return try verifyDataset(root: root)
    }

    /// Which of an offered dataset's files the project does not hold yet. The offer makes the dataset's
    /// data key (one per dataset of a project), under which its files are sealed at rest. Another
    /// project's copy of the same bytes is never mentioned: the caller uploads them too, and the upload
    /// proves they have them.
    public nonisolated func offer(_ inventory: DatasetInventory, project named: String?, for caller: Caller) async throws -> API.DatasetNeeds {
        let project = try await project(named, for: caller, to: "offer a dataset to")
        for f in inventory.files { try Self.checkRelativePath(f.path) }
        guard DatasetInventory(files: inventory.files).root == inventory.root else {
            throw MedGridError(.invalidInput, "the inventory's root \(inventory.root) does not match its files")
        }
        _ = try keys.ensureDatasetKey(project: project, inventory: inventory, now: Date().timeIntervalSince1970)
        try audit(caller, project: project, action: "offer-dataset", object: "dataset \(inventory.root.prefix(16))… (\(inventory.files.count) files)")
        return try await missingFiles(of: inventory, in: project)
    }

    /// The sealed store of a project's dataset.
    /// - Throws: `conflict` when the dataset was not offered to the project (or was purged).
    public nonisolated func datasetStore(project: String, root: String) throws -> (keyID: String, store: BlobStore) {
        guard let keyID = try keys.datasetKeyID(project: project, root: root) else {
            throw MedGridError(.conflict, "dataset \(root.prefix(16))… has not been offered to project \(project) (or was purged); offer it first (medgrid submit does)")
        }
        return (keyID, try keys.blobStore(keyID: keyID))
    }

    /// The files of `inventory` that `project` does not hold (or holds a corrupt copy of).
    nonisolated func missingFiles(of inventory: DatasetInventory, in project: String) async throws -> API.DatasetNeeds {
        for f in inventory.files { try Self.checkRelativePath(f.path) }
        let (keyID, sealed) = try datasetStore(project: project, root: inventory.root)
        var missing: [String] = []
        var seen = Set<String>()
        for f in inventory.files where seen.insert(f.sha256).inserted {
            let held = try store.read { try $0.datasetHolds(keyID: keyID, sha256: f.sha256) }
            // A stored copy that no longer matches its hash is quarantined and asked for again.
            if !held || !sealed.contains(f.sha256) { missing.append(f.sha256); continue }
            do { try await ensureVerified(f.sha256, in: sealed, keyID: keyID) } catch { missing.append(f.sha256) }
        }
        return API.DatasetNeeds(root: inventory.root, missing: missing)
    }

    /// Records that a project uploaded a blob of one of its datasets, its bytes checked against its hash, and
    /// turns the upload's claim on the quota into stored bytes (none when the project already held the blob).
    func recordUpload(_ record: BlobRecord, project: String, keyID: String, claim: ProjectQuotas.Claim) throws {
        let added = try store.write { [now] tx in
            try tx.addDatasetBlob(keyID: keyID, sha256: record.sha256, size: record.size)
            return try tx.addProjectBlob(project: project, sha256: record.sha256, size: record.size, now: now)
        }
        claim.finish(stored: added ? record.size : Int64(0))
    }

    /// The bytes a project may still upload under its quota: less what it stores and what its uploads in
    /// progress have received so far.
    public nonisolated func remainingQuota(of project: String) throws -> Int64 {
        try quotas.remaining(project)
    }

    /// A worker's labels as the coordinator trusts them: every label its certificate carries, plus the
    /// ones it claims with `--label` except the data-access keys (``Configuration/certificateOnlyLabels``),
    /// which only a certificate grants. Returns the trusted labels and the claims that were dropped.
    public nonisolated func trustedLabels(claimed: [String: String], certified: [String: String]) -> (labels: [String: String], dropped: [String]) {
        var labels = certified
        var dropped: [String] = []
        for (k, v) in claimed.sorted(by: { $0.key < $1.key }) {
            if let c = certified[k] {
                if c != v { dropped.append("\(k)=\(v)") }
            } else if configuration.certificateOnlyLabels.contains(k) {
                dropped.append("\(k)=\(v)")
            } else {
                labels[k] = v
            }
        }
        return (labels, dropped)
    }

    /// Whether a worker may download a blob now: only while it holds a lease on a task that reads it.
    public func workerMayFetch(_ worker: String, sha256: String) -> Bool {
        leasedJob(of: worker, reading: sha256) != nil
    }

    /// The job of a task `worker` holds a lease on that reads `sha256`.
    func leasedJob(of worker: String, reading sha256: String) -> String? {
        scheduler.leasedTasks(of: worker).first { ref in
            guard let plan = plans[ref.job] else { return false }
            return plan.task(at: ref.index).inputs.contains { $0.sha256 == sha256 }
        }?.job
    }

    /// Where the copy of `sha256` that a worker's leased task reads is kept: the sealed store of the job's
    /// dataset, or the store of files uploaded before data keys existed. Nil without such a lease.
    public func blobSource(forWorker worker: String, sha256: String) throws -> BlobStore? {
        guard let job = leasedJob(of: worker, reading: sha256), let plan = plans[job] else { return nil }
        let project = try store.read { try $0.job(job) }?.project ?? ""
        if let keyID = try keys.datasetKeyID(project: project, root: plan.datasetRoot) {
            let sealed = try keys.blobStore(keyID: keyID)
            if sealed.contains(sha256) { return sealed }
        }
        return blobs.contains(sha256) ? blobs : nil
    }
}

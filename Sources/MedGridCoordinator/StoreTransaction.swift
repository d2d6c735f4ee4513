import Foundation
import GRDB
public import MedGridCore

/// The queries of the coordinator, inside one transaction.
public struct StoreTransaction {
    let db: Database
    static let encoder: JSONEncoder = { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]; return e }()

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    /// How plans and round records are stored: format 2 keeps every JSON value in them exactly, as its
    /// canonical text (``JSONValue/codedAsCanonicalText``); format 1, from before, went through Foundation's
    /// number handling, which reads a whole-number double back as an integer.
    static let exactFormat = 2

    static let exactEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.userInfo[JSONValue.codedAsCanonicalText] = true
        return e
    }()

    static func exactJSON(_ value: some Encodable) throws -> String {
        String(decoding: try exactEncoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, format: Int) throws -> T {
        let decoder = JSONDecoder()
        if format >= exactFormat { decoder.userInfo[JSONValue.codedAsCanonicalText] = true }
        return try decoder.decode(T.self, from: Data(text.utf8))
    }

    // MARK: Jobs

    public func nextJobSeq() throws -> Int {
        (try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs")) ?? 1
    }

    public func insertJob(id: String, seq: Int, plan: Plan, project: String = "", submittedBy: String = "", now: Double) throws {
        try db.execute(
            sql: """
                INSERT INTO jobs (id, seq, name, content_key, plan, plan_format, status, submitted_at, project, submitted_by)
                VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)
                """,
            arguments: [id, seq, plan.jobName, plan.contentKey, try Self.exactJSON(plan), Self.exactFormat, now, project, submittedBy])
        let insert = try db.makeStatement(sql: "INSERT INTO tasks (job_id, idx, task_id, phase) VALUES (?, ?, ?, 'pending')")
        for t in plan.tasks { try insert.execute(arguments: [id, t.index, t.id]) }
        try event(job: id, task: nil, kind: "submitted", detail: "\(plan.tasks.count) tasks, dataset \(plan.datasetRoot.prefix(16))…", now: now)
    }

    /// Adds the tasks of another round (their indices follow the job's existing tasks) and the round's record.
    public func insertRound(job id: String, record: RoundRecord, tasks: [PlannedTask], now: Double) throws {
        try db.execute(
            sql: "INSERT INTO job_rounds (job_id, round, record, record_format, at) VALUES (?, ?, ?, ?, ?)",
            arguments: [id, record.round, try Self.exactJSON(record), Self.exactFormat, now])
        let insert = try db.makeStatement(sql: "INSERT INTO tasks (job_id, idx, task_id, phase) VALUES (?, ?, ?, 'pending')")
        for t in tasks { try insert.execute(arguments: [id, t.index, t.id]) }
        if !tasks.isEmpty {
            try event(job: id, task: nil, kind: "round", detail: "round \(record.round): \(tasks.count) tasks for \(record.states.keys.sorted().joined(separator: ", "))", now: now)
        }
    }

    /// The latest round record of a multi-round job.
    public func latestRound(of job: String) throws -> RoundRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT record, record_format FROM job_rounds WHERE job_id = ? ORDER BY round DESC LIMIT 1", arguments: [job]) else { return nil }
        return try Self.decode(RoundRecord.self, row["record"], format: row["record_format"])
    }

    public func jobs(unfinishedOnly: Bool = false) throws -> [StoredJob] {
        let sql = "SELECT * FROM jobs" + (unfinishedOnly ? " WHERE status = 'running'" : "") + " ORDER BY seq"
        return try Row.fetchAll(db, sql: sql).map(Self.job)
    }

    public func job(_ id: String) throws -> StoredJob? {
        try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]).map(Self.job)
    }

    static func job(_ row: Row) throws -> StoredJob {
        StoredJob(
            id: row["id"], seq: row["seq"], name: row["name"], plan: try decode(Plan.self, row["plan"], format: row["plan_format"]),
            status: JobStatus(rawValue: row["status"]) ?? .running, cancelRequested: (row["cancel_requested"] as Int) != 0,
            submittedAt: row["submitted_at"], finishedAt: row["finished_at"], report: row["report"],
            project: row["project"], submittedBy: row["submitted_by"])
    }

    public func finishJob(_ id: String, status: JobStatus, report: String, now: Double) throws {
        try db.execute(sql: "UPDATE jobs SET status = ?, report = ?, finished_at = ? WHERE id = ?", arguments: [status.rawValue, report, now, id])
        try event(job: id, task: nil, kind: "finished", detail: status.rawValue, now: now)
    }

    public func requestCancel(_ id: String, now: Double) throws -> Bool {
        try db.execute(sql: "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'", arguments: [id])
        let changed = db.changesCount > 0
        if changed { try event(job: id, task: nil, kind: "cancel-requested", detail: "", now: now) }
        return changed
    }

    public func cancelRequests() throws -> [String] {
        try String.fetchAll(db, sql: "SELECT id FROM jobs WHERE status = 'running' AND cancel_requested = 1")
    }

    // MARK: Tasks

    public func tasks(of job: String) throws -> [StoredTask] {
        try Row.fetchAll(db, sql: "SELECT * FROM tasks WHERE job_id = ? ORDER BY idx", arguments: [job]).map { row in
            let attempts = try Self.decode([String: Int].self, row["attempts"])
            var byBudget: [RetryBudget: Int] = [:]
            for (k, v) in attempts { if let b = RetryBudget(rawValue: k) { byBudget[b] = v } }
            let state = RestoredTask(
                phase: TaskPhase(rawValue: row["phase"]) ?? .pending, attempts: byBudget,
                failedOn: Set(try Self.decode([String].self, row["failed_on"])), notBefore: row["not_before"],
                lease: row["lease_id"], worker: row["worker"])
            let failure: TaskFailure? = try (row["last_failure"] as String?).map { try Self.decode(TaskFailure.self, $0) }
            return StoredTask(index: row["idx"], taskID: row["task_id"], state: state, lastFailure: failure)
        }
    }

    public func updateTask(job: String, index: Int, state: RestoredTask, lastFailure: TaskFailure?) throws {
        let attempts = JSONValue.object(Dictionary(uniqueKeysWithValues: state.attempts.map { ($0.key.rawValue, JSONValue.int($0.value)) }))
        let failedOn = JSONValue.array(state.failedOn.sorted().map { .string($0) })
        let failure: String? = try lastFailure.map { try CanonicalJSON.compact(JSONValue(encoding: $0)) }
        try db.cachedStatement(sql: """
            UPDATE tasks SET phase = ?, attempts = ?, failed_on = ?, not_before = ?, lease_id = ?, worker = ?,
            last_failure = ? WHERE job_id = ? AND idx = ?
            """).execute(arguments: [
                state.phase.rawValue, CanonicalJSON.compact(attempts), CanonicalJSON.compact(failedOn), state.notBefore,
                state.lease, state.worker, failure, job, index,
            ])
    }

    /// The tasks that ended failed, with the failure that quarantined them.
    public func failures(of job: String) throws -> [Int: TaskFailure] {
        var out: [Int: TaskFailure] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT idx, last_failure FROM tasks WHERE job_id = ? AND phase = 'failed'", arguments: [job]) {
            let text: String? = row["last_failure"]
            out[row["idx"]] = try text.map { try JSONValue(parsing: Data($0.utf8)).decode(TaskFailure.self) }
                ?? TaskFailure(kind: .kernelError, message: "failed")
        }
        return out
    }

    public func phaseCounts(of job: String) throws -> [TaskPhase: Int] {
        var out: [TaskPhase: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT phase, COUNT(*) AS n FROM tasks WHERE job_id = ? GROUP BY phase", arguments: [job]) {
            if let p = TaskPhase(rawValue: row["phase"]) { out[p] = row["n"] }
        }
        return out
    }

    // MARK: Results

    /// The stored output hash of a task, if it has a result.
    public func resultHash(job: String, index: Int) throws -> String? {
        try String.fetchOne(db, sql: "SELECT output_sha256 FROM results WHERE job_id = ? AND idx = ?", arguments: [job, index])
    }

    public func insertResult(job: String, index: Int, output: JSONValue, worker: String, attempt: Int, seconds: Double, now: Double) throws {
        let text = CanonicalJSON.compact(output)
        try db.cachedStatement(sql: "INSERT INTO results (job_id, idx, output, output_sha256, worker, attempt, seconds, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [job, index, text, ContentHash.sha256(Data(text.utf8)), worker, attempt, seconds, now])
    }

    public func outputs(of job: String) throws -> [Int: JSONValue] {
        var out: [Int: JSONValue] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT idx, output FROM results WHERE job_id = ?", arguments: [job]) {
            out[row["idx"]] = try JSONValue(parsing: Data((row["output"] as String).utf8))
        }
        return out
    }

    public func recordNondeterminism(job: String, index: Int, kept: String, other: String, worker: String, now: Double) throws {
        try db.execute(
            sql: "INSERT INTO nondeterminism (job_id, idx, kept_sha256, other_sha256, worker, at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [job, index, kept, other, worker, now])
        try event(job: job, task: index, kind: "nondeterminism", detail: "output \(other.prefix(12))… differs from kept \(kept.prefix(12))…", now: now)
    }

    public func nondeterministicTasks(of job: String) throws -> [Int] {
        try Int.fetchAll(db, sql: "SELECT DISTINCT idx FROM nondeterminism WHERE job_id = ? ORDER BY idx", arguments: [job])
    }

    // MARK: Events, workers, datasets

    public func event(job: String?, task: Int?, kind: String, detail: String, now: Double) throws {
        try db.cachedStatement(sql: "INSERT INTO events (at, job_id, task_idx, kind, detail) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [now, job, task, kind, detail])
    }

    public func events(of job: String, limit: Int = 1000) throws -> [(at: Double, task: Int?, kind: String, detail: String)] {
        try Row.fetchAll(db, sql: "SELECT * FROM events WHERE job_id = ? ORDER BY seq DESC LIMIT ?", arguments: [job, limit]).reversed().map {
            ($0["at"], $0["task_idx"], $0["kind"], $0["detail"])
        }
    }

    /// Events that belong to no job (worker, project and access events), oldest first.
    public func gridEvents(limit: Int = 1000) throws -> [(at: Double, task: Int?, kind: String, detail: String)] {
        try Row.fetchAll(db, sql: "SELECT * FROM events WHERE job_id IS NULL ORDER BY seq DESC LIMIT ?", arguments: [limit]).reversed().map {
            ($0["at"], $0["task_idx"], $0["kind"], $0["detail"])
        }
    }

    public func upsertWorker(name: String, labels: [String: String], slots: Int, now: Double) throws {
        try db.execute(
            sql: """
                INSERT INTO workers (name, labels, slots, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET labels = excluded.labels, slots = excluded.slots, last_seen = excluded.last_seen
                """,
            arguments: [name, try Self.json(labels), slots, now, now])
    }

    /// Registers a dataset's file hashes for one project (each project registers its own).
    public func registerDataset(location: String, project: String, inventory: DatasetInventory, now: Double) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO datasets (project, location, root, inventory, added_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [project, location, inventory.root, try Self.json(inventory), now])
        try event(
            job: nil, task: nil, kind: "dataset-registered",
            detail: "project \(project): root \(inventory.root.prefix(16))…, \(inventory.files.count) files", now: now)
    }

    /// A project's registration of the dataset at `location`.
    public func dataset(location: String, project: String) throws -> (inventory: DatasetInventory, addedAt: Double)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM datasets WHERE project = ? AND location = ?", arguments: [project, location]) else { return nil }
        return (try Self.decode(DatasetInventory.self, row["inventory"]), row["added_at"])
    }

    /// The projects that registered the dataset at `location`.
    public func datasetProjects(location: String) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT project FROM datasets WHERE location = ? ORDER BY project", arguments: [location])
    }
}

extension StoreTransaction {
    /// Publishes a version of a project's leaderboard. Fails if that version exists: history is append-only.
    public func publishLeaderboardVersion(project: String, name: String, version: Int, document: String, now: Double) throws {
        if try Int.fetchOne(
            db, sql: "SELECT 1 FROM leaderboard_versions WHERE project = ? AND name = ? AND version = ?", arguments: [project, name, version]) != nil {
            throw MedGridError(.conflict, "leaderboard \(name) of project \(project) already has a version \(version); published versions are immutable")
        }
        try db.execute(
            sql: "INSERT INTO leaderboard_versions (project, name, version, published_at, document) VALUES (?, ?, ?, ?, ?)",
            arguments: [project, name, version, now, document])
        try event(job: nil, task: nil, kind: "leaderboard-published", detail: "project \(project): \(name) version \(version)", now: now)
    }

    /// A project's leaderboard's versions, oldest first: (version, published at, canonical JSON document).
    public func leaderboardVersions(project: String, name: String) throws -> [(version: Int, publishedAt: Double, document: String)] {
        try Row.fetchAll(
            db, sql: "SELECT version, published_at, document FROM leaderboard_versions WHERE project = ? AND name = ? ORDER BY version",
            arguments: [project, name]
        ).map { ($0["version"], $0["published_at"], $0["document"]) }
    }

    /// Every leaderboard with its project and latest version number, by project then name.
    public func leaderboards() throws -> [(project: String, name: String, latest: Int)] {
        try Row.fetchAll(
            db, sql: "SELECT project, name, MAX(version) AS latest FROM leaderboard_versions GROUP BY project, name ORDER BY project, name"
        ).map { ($0["project"], $0["name"], $0["latest"]) }
    }
}

extension StoreTransaction {
    /// Runs raw SQL; for tests and maintenance only.
    public func rawExecute(_ sql: String) throws {
        try db.execute(sql: sql)
    }
}

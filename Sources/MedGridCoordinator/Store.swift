public import Foundation
import GRDB
public import MedGridCore

/// The coordinator's durable state: SQLite through GRDB, in WAL mode, with `synchronous = FULL` so a
/// committed transaction survives a crash of the process or the machine.
///
/// Tables: `jobs` (the plan, status, report), `tasks` (phase, attempts per budget, backoff, lease),
/// `results` (one output per task, with its hash), `nondeterminism` (two executions that disagreed),
/// `events` (the append-only trail; triggers refuse UPDATE and DELETE), `workers`, `datasets`.
/// Only this type knows SQL.
public final class Store: Sendable {
    let pool: DatabasePool
    public let path: String

    /// Opens (creating if needed) the store in `stateDirectory` and brings its schema up to date, or only
    /// up to the migration named `migratedUpTo` (for tests of the upgrade from an older store).
    public init(stateDirectory: URL, migratedUpTo lastMigration: String? = nil) throws {
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        path = stateDirectory.appendingPathComponent("medgrid.sqlite").path
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Deleted rows are overwritten with zeros, so a purge leaves no copy in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw MedGridError(.io, "\(path): cannot open the coordinator's state database", cause: error)
        }
        if let lastMigration { try migrator.migrate(pool, upTo: lastMigration) } else { try migrator.migrate(pool) }
        chmod(path, 0o600)
    }

    private var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, name TEXT NOT NULL, content_key TEXT NOT NULL,
                    plan TEXT NOT NULL, status TEXT NOT NULL, cancel_requested INTEGER NOT NULL DEFAULT 0,
                    submitted_at REAL NOT NULL, finished_at REAL, report TEXT);
                CREATE TABLE tasks (
                    job_id TEXT NOT NULL REFERENCES jobs(id), idx INTEGER NOT NULL, task_id TEXT NOT NULL,
                    phase TEXT NOT NULL, attempts TEXT NOT NULL DEFAULT '{}', failed_on TEXT NOT NULL DEFAULT '[]',
                    not_before REAL NOT NULL DEFAULT 0, lease_id TEXT, worker TEXT, last_failure TEXT,
                    PRIMARY KEY (job_id, idx));
                CREATE TABLE results (
                    job_id TEXT NOT NULL, idx INTEGER NOT NULL, output TEXT NOT NULL, output_sha256 TEXT NOT NULL,
                    worker TEXT NOT NULL, attempt INTEGER NOT NULL, seconds REAL NOT NULL, recorded_at REAL NOT NULL,
                    PRIMARY KEY (job_id, idx));
                CREATE TABLE nondeterminism (
                    job_id TEXT NOT NULL, idx INTEGER NOT NULL, kept_sha256 TEXT NOT NULL, other_sha256 TEXT NOT NULL,
                    worker TEXT NOT NULL, at REAL NOT NULL);
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, job_id TEXT, task_idx INTEGER,
                    kind TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
                CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
                    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
                CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
                    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
                CREATE TABLE workers (
                    name TEXT PRIMARY KEY, labels TEXT NOT NULL, slots INTEGER NOT NULL,
                    first_seen REAL NOT NULL, last_seen REAL NOT NULL);
                CREATE TABLE datasets (
                    location TEXT PRIMARY KEY, root TEXT NOT NULL, inventory TEXT NOT NULL, added_at REAL NOT NULL);
                """)
        }
        // Registered in name order. (Until 2026-12 v3 was registered before v2; the two are independent and
        // every store has both, so the order stores applied them in does not matter.)
        // Leaderboards: every published version is kept; a version is never changed or removed.
        m.registerMigration("v2-leaderboards") { db in
            try db.execute(sql: """
                CREATE TABLE leaderboard_versions (
                    name TEXT NOT NULL, version INTEGER NOT NULL, published_at REAL NOT NULL, document TEXT NOT NULL,
                    PRIMARY KEY (name, version));
                CREATE TRIGGER leaderboard_versions_immutable_update BEFORE UPDATE ON leaderboard_versions
                    BEGIN SELECT RAISE(ABORT, 'published leaderboard versions are immutable'); END;
                CREATE TRIGGER leaderboard_versions_immutable_delete BEFORE DELETE ON leaderboard_versions
                    BEGIN SELECT RAISE(ABORT, 'published leaderboard versions are immutable'); END;
                """)
        }
        // Multi-round jobs: one row per round, with the states broadcast and the results of finished steps.
        m.registerMigration("v3-rounds") { db in
            try db.execute(sql: """
                CREATE TABLE job_rounds (
                    job_id TEXT NOT NULL REFERENCES jobs(id), round INTEGER NOT NULL, record TEXT NOT NULL, at REAL NOT NULL,
                    PRIMARY KEY (job_id, round));
                """)
        }
        // Projects: who may see which jobs, datasets, reports and blobs. A job belongs to one project; a
        // blob is referenced by each project that uploaded it (datasets are de-duplicated within a project only).
        m.registerMigration("v4-projects") { db in
            try db.execute(sql: """
                CREATE TABLE projects (name TEXT PRIMARY KEY, created_at REAL NOT NULL, created_by TEXT NOT NULL);
                CREATE TABLE project_members (
                    project TEXT NOT NULL REFERENCES projects(name), user TEXT NOT NULL, added_at REAL NOT NULL,
                    PRIMARY KEY (project, user));
                CREATE TABLE project_blobs (
                    project TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, added_at REAL NOT NULL,
                    PRIMARY KEY (project, sha256));
                ALTER TABLE jobs ADD COLUMN project TEXT NOT NULL DEFAULT '';
                ALTER TABLE jobs ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';
                """)
        }
        // Leaderboards and registered datasets belong to a project too. Those from before projects go to
        // the project `unassigned` (see ``Project/unassigned``), which only admins see until one creates it.
        m.registerMigration("v5-project-leaderboards-datasets") { db in
            try db.execute(sql: """
                CREATE TABLE leaderboard_versions_v5 (
                    project TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, published_at REAL NOT NULL,
                    document TEXT NOT NULL, PRIMARY KEY (project, name, version));
                INSERT INTO leaderboard_versions_v5 (project, name, version, published_at, document)
                    SELECT 'unassigned', name, version, published_at, document FROM leaderboard_versions;
                DROP TABLE leaderboard_versions;
                ALTER TABLE leaderboard_versions_v5 RENAME TO leaderboard_versions;
                CREATE TRIGGER leaderboard_versions_immutable_update BEFORE UPDATE ON leaderboard_versions
                    BEGIN SELECT RAISE(ABORT, 'published leaderboard versions are immutable'); END;
                CREATE TRIGGER leaderboard_versions_immutable_delete BEFORE DELETE ON leaderboard_versions
                    BEGIN SELECT RAISE(ABORT, 'published leaderboard versions are immutable'); END;
                CREATE TABLE datasets_v5 (
                    project TEXT NOT NULL, location TEXT NOT NULL, root TEXT NOT NULL, inventory TEXT NOT NULL,
                    added_at REAL NOT NULL, PRIMARY KEY (project, location));
                INSERT INTO datasets_v5 (project, location, root, inventory, added_at)
                    SELECT 'unassigned', location, root, inventory, added_at FROM datasets;
                DROP TABLE datasets;
                ALTER TABLE datasets_v5 RENAME TO datasets;
                """)
        }
        // Plans and round records stored exactly (see ``StoreTransaction/exactFormat``); older rows keep format 1.
        m.registerMigration("v6-exact-plans") { db in
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN plan_format INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE job_rounds ADD COLUMN record_format INTEGER NOT NULL DEFAULT 1;
                """)
        }
        // The audit trail: who did what to which object, as a hash chain (see ``AuditRecord``).
        m.registerMigration("v7-audit") { db in
            try db.execute(sql: """
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY, at REAL NOT NULL, subject TEXT NOT NULL, serial TEXT NOT NULL, role TEXT NOT NULL,
                    project TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL, outcome TEXT NOT NULL,
                    previous TEXT NOT NULL, sha256 TEXT NOT NULL);
                CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
                    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
                CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
                    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
                """)
        }
        // Crypto-shredding: one data key per dataset of a project, wrapped by the coordinator's key; which
        // blobs each dataset holds; the purges done (with their certificates); hashes purged, for workers.
        m.registerMigration("v8-dataset-keys-purges") { db in
            try db.execute(sql: """
                CREATE TABLE dataset_keys (
                    key_id TEXT PRIMARY KEY, project TEXT NOT NULL, root TEXT NOT NULL, wrapped BLOB, wrap_version INTEGER NOT NULL,
                    inventory TEXT NOT NULL, created_at REAL NOT NULL, purged_at REAL, purged_by TEXT);
                CREATE UNIQUE INDEX dataset_keys_live ON dataset_keys(project, root) WHERE purged_at IS NULL;
                CREATE TABLE dataset_blobs (key_id TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (key_id, sha256));
                CREATE TABLE purges (
                    seq INTEGER PRIMARY KEY, at REAL NOT NULL, target TEXT NOT NULL, project TEXT NOT NULL, root TEXT,
                    purged_by TEXT NOT NULL, certificate TEXT NOT NULL);
                CREATE TABLE purged_blobs (sha256 TEXT PRIMARY KEY, purged_at REAL NOT NULL);
                """)
        }
        return m
    }

    /// After a purge: copies the write-ahead log into the database and truncates it, then rebuilds the file
    /// (VACUUM), so neither the log nor free pages keep what was deleted.
    public func compact() throws {
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        } catch {
            throw MedGridError(.io, "\(path): compacting after a purge failed", cause: error)
        }
    }

    /// Runs `body` in one write transaction.
    public func write<T: Sendable>(_ body: @Sendable (StoreTransaction) throws -> T) throws -> T {
        do {
            return try pool.write { db in try body(StoreTransaction(db: db)) }
        } catch let e as MedGridError {
            throw e
        } catch {
            throw MedGridError(.io, "\(path): write failed", cause: error)
        }
    }

    /// Runs `body` with a read-only view.
    public func read<T: Sendable>(_ body: @Sendable (StoreTransaction) throws -> T) throws -> T {
        do {
            return try pool.read { db in try body(StoreTransaction(db: db)) }
        } catch let e as MedGridError {
            throw e
        } catch {
            throw MedGridError(.io, "\(path): read failed", cause: error)
        }
    }
}

/// A job as stored.
public struct StoredJob: Sendable {
    public var id: String
    public var seq: Int
    public var name: String
    public var plan: Plan
    public var status: JobStatus
    public var cancelRequested: Bool
    public var submittedAt: Double
    public var finishedAt: Double?
    public var report: String?
    /// The project the job belongs to (empty for jobs stored before projects existed: admins only).
    public var project: String = ""
    /// Who submitted it (a certificate's name, or the local user).
    public var submittedBy: String = ""
}

/// A task row as stored.
public struct StoredTask: Sendable {
    public var index: Int
    public var taskID: String
    public var state: RestoredTask
    public var lastFailure: TaskFailure?
}

public import Foundation
import GRDB
public import MedGridCore

/// A dataset's data key as stored: wrapped by the coordinator's key (``wrapped`` nil once purged).
public struct StoredDatasetKey: Sendable {
    public var keyID: String
    public var project: String
    public var root: String
    public var wrapped: Data?
    public var wrapVersion: Int
    public var inventory: DatasetInventory
    public var createdAt: Double
    public var purgedAt: Double?
}

/// A purge as stored, with its certificate of destruction.
public struct StoredPurge: Sendable {
    public var seq: Int
    public var at: Double
    public var target: String
    public var project: String
    public var root: String?
    public var purgedBy: String
    public var certificate: String
}

extension StoreTransaction {
    // MARK: Dataset keys

    func datasetKey(from row: Row) throws -> StoredDatasetKey {
        StoredDatasetKey(
            keyID: row["key_id"], project: row["project"], root: row["root"], wrapped: row["wrapped"], wrapVersion: row["wrap_version"],
            inventory: try JSONDecoder().decode(DatasetInventory.self, from: Data((row["inventory"] as String).utf8)),
            createdAt: row["created_at"], purgedAt: row["purged_at"])
    }

    /// The live (not purged) data key of a project's dataset.
    public func liveDatasetKey(project: String, root: String) throws -> StoredDatasetKey? {
        try Row.fetchOne(db, sql: "SELECT * FROM dataset_keys WHERE project = ? AND root = ? AND purged_at IS NULL", arguments: [project, root])
            .map(datasetKey(from:))
    }

    public func datasetKey(id: String) throws -> StoredDatasetKey? {
        try Row.fetchOne(db, sql: "SELECT * FROM dataset_keys WHERE key_id = ?", arguments: [id]).map(datasetKey(from:))
    }

    /// Every live data key (for rewrapping), or those of one project.
    public func liveDatasetKeys(project: String? = nil) throws -> [StoredDatasetKey] {
        let rows = try project.map {
            try Row.fetchAll(db, sql: "SELECT * FROM dataset_keys WHERE purged_at IS NULL AND project = ? ORDER BY created_at", arguments: [$0])
        } ?? Row.fetchAll(db, sql: "SELECT * FROM dataset_keys WHERE purged_at IS NULL ORDER BY created_at")
        return try rows.map(datasetKey(from:))
    }

    public func insertDatasetKey(_ key: StoredDatasetKey) throws {
        let inventory = String(decoding: try JSONEncoder().encode(key.inventory), as: UTF8.self)
        try db.execute(
            sql: "INSERT INTO dataset_keys (key_id, project, root, wrapped, wrap_version, inventory, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [key.keyID, key.project, key.root, key.wrapped, key.wrapVersion, inventory, key.createdAt])
    }

    /// Replaces a live key's wrapping (after the coordinator's key was rotated).
    public func rewrap(keyID: String, wrapped: Data, version: Int) throws {
        try db.execute(sql: "UPDATE dataset_keys SET wrapped = ?, wrap_version = ? WHERE key_id = ? AND purged_at IS NULL", arguments: [wrapped, version, keyID])
    }

    /// The highest wrapping version in use, or nil when no live key exists.
    public func currentWrapVersion() throws -> Int? {
        try Int.fetchOne(db, sql: "SELECT MAX(wrap_version) FROM dataset_keys WHERE purged_at IS NULL")
    }

    /// Records that a dataset holds a blob (checked against its hash).
    public func addDatasetBlob(keyID: String, sha256: String, size: Int64) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO dataset_blobs (key_id, sha256, size) VALUES (?, ?, ?)", arguments: [keyID, sha256, size])
    }

    public func datasetHolds(keyID: String, sha256: String) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT 1 FROM dataset_blobs WHERE key_id = ? AND sha256 = ?", arguments: [keyID, sha256]) != nil
    }

    public func datasetBlobs(keyID: String) throws -> [(sha256: String, size: Int64)] {
        try Row.fetchAll(db, sql: "SELECT sha256, size FROM dataset_blobs WHERE key_id = ? ORDER BY sha256", arguments: [keyID]).map { ($0["sha256"], $0["size"]) }
    }

    // MARK: Purging

    /// Destroys a dataset's data key and its blob rows; gives the project's quota back for blobs no other
    /// live dataset of the project holds. Returns the hashes whose project copy is gone.
    public func purgeDatasetKey(_ keyID: String, project: String, by: String, now: Double) throws -> [String] {
        try db.execute(sql: "UPDATE dataset_keys SET wrapped = NULL, purged_at = ?, purged_by = ? WHERE key_id = ?", arguments: [now, by, keyID])
        let shas = try String.fetchAll(db, sql: "SELECT sha256 FROM dataset_blobs WHERE key_id = ?", arguments: [keyID])
        try db.execute(sql: "DELETE FROM dataset_blobs WHERE key_id = ?", arguments: [keyID])
        var released: [String] = []
        for sha in shas {
            let elsewhere = try Int.fetchOne(db, sql: """
                SELECT 1 FROM dataset_blobs b JOIN dataset_keys k ON k.key_id = b.key_id
                WHERE b.sha256 = ? AND k.project = ? AND k.purged_at IS NULL
                """, arguments: [sha, project]) != nil
            if !elsewhere {
                try db.execute(sql: "DELETE FROM project_blobs WHERE project = ? AND sha256 = ?", arguments: [project, sha])
                released.append(sha)
            }
            try db.execute(sql: "INSERT OR REPLACE INTO purged_blobs (sha256, purged_at) VALUES (?, ?)", arguments: [sha, now])
        }
        return released
    }

    /// Deletes a job and everything derived from it: tasks, results, rounds, disagreements, its report.
    /// Its events stay (they are append-only and hold no data); a `job-purged` event is added.
    public func purgeJob(_ id: String, by: String, now: Double) throws {
        for table in ["results", "nondeterminism", "job_rounds", "tasks"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE job_id = ?", arguments: [id])
        }
        try db.execute(sql: "DELETE FROM jobs WHERE id = ?", arguments: [id])
        try event(job: id, task: nil, kind: "job-purged", detail: "by \(by)", now: now)
    }

    /// Deletes the local registrations of a dataset (by Merkle root) in a project; returns their locations.
    public func purgeRegistrations(project: String, root: String) throws -> [String] {
        let locations = try String.fetchAll(db, sql: "SELECT location FROM datasets WHERE project = ? AND root = ?", arguments: [project, root])
        try db.execute(sql: "DELETE FROM datasets WHERE project = ? AND root = ?", arguments: [project, root])
        return locations
    }

    /// The projects that hold a blob.
    public func projectsHolding(sha256: String) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT project FROM project_blobs WHERE sha256 = ? ORDER BY project", arguments: [sha256])
    }

    /// Every local dataset registration: project, location and root.
    public func registrations() throws -> [(project: String, location: String, root: String)] {
        try Row.fetchAll(db, sql: "SELECT project, location, root FROM datasets ORDER BY project, location").map { ($0["project"], $0["location"], $0["root"]) }
    }

    /// Every dataset key ever made (live and purged).
    public func allDatasetKeys() throws -> [StoredDatasetKey] {
        try Row.fetchAll(db, sql: "SELECT * FROM dataset_keys ORDER BY created_at").map(datasetKey(from:))
    }

    public func insertPurge(at: Double, target: String, project: String, root: String?, by: String, certificate: String) throws {
        try db.execute(
            sql: "INSERT INTO purges (at, target, project, root, purged_by, certificate) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [at, target, project, root, by, certificate])
    }

    public func purges(project: String? = nil) throws -> [StoredPurge] {
        let rows = try project.map { try Row.fetchAll(db, sql: "SELECT * FROM purges WHERE project = ? ORDER BY seq", arguments: [$0]) }
            ?? Row.fetchAll(db, sql: "SELECT * FROM purges ORDER BY seq")
        return rows.map {
            StoredPurge(seq: $0["seq"], at: $0["at"], target: $0["target"], project: $0["project"], root: $0["root"], purgedBy: $0["purged_by"], certificate: $0["certificate"])
        }
    }

    /// The Merkle roots purged from a project (leaderboard versions over them are shown as purged).
    public func purgedRoots(project: String) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT root FROM purges WHERE project = ? AND root IS NOT NULL", arguments: [project]))
    }

    /// Hashes purged since `time`, for workers to drop from their caches.
    public func purgedBlobs(since time: Double = 0) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT sha256 FROM purged_blobs WHERE purged_at >= ? ORDER BY sha256", arguments: [time])
    }
}

import Foundation
import GRDB
public import MedGridCore

/// A project as stored: its name and members.
public struct StoredProject: Sendable, Hashable, Codable {
    public var name: String
    public var members: [String]
    public var createdAt: Double
    public var createdBy: String
}

extension StoreTransaction {
    // MARK: Projects

    public func insertProject(name: String, createdBy: String, now: Double) throws {
        if try Int.fetchOne(db, sql: "SELECT 1 FROM projects WHERE name = ?", arguments: [name]) != nil {
            throw MedGridError(.conflict, "project \(name) exists already")
        }
        try db.execute(sql: "INSERT INTO projects (name, created_at, created_by) VALUES (?, ?, ?)", arguments: [name, now, createdBy])
        try event(job: nil, task: nil, kind: "project-created", detail: "\(name) by \(createdBy)", now: now)
    }

    public func projectExists(_ name: String) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT 1 FROM projects WHERE name = ?", arguments: [name]) != nil
    }

    /// Adds a member; returns false when the user was one already.
    public func addMember(project: String, user: String, by: String, now: Double) throws -> Bool {
        if try isMember(project: project, user: user) { return false }
        try db.execute(sql: "INSERT INTO project_members (project, user, added_at) VALUES (?, ?, ?)", arguments: [project, user, now])
        try event(job: nil, task: nil, kind: "member-added", detail: "\(user) to \(project) by \(by)", now: now)
        return true
    }

    /// Removes a member; returns false when the user was not one.
    public func removeMember(project: String, user: String, by: String, now: Double) throws -> Bool {
        guard try isMember(project: project, user: user) else { return false }
        try db.execute(sql: "DELETE FROM project_members WHERE project = ? AND user = ?", arguments: [project, user])
        try event(job: nil, task: nil, kind: "member-removed", detail: "\(user) from \(project) by \(by)", now: now)
        return true
    }

    public func isMember(project: String, user: String) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT 1 FROM project_members WHERE project = ? AND user = ?", arguments: [project, user]) != nil
    }

    /// The projects (created with `medgrid project create`) a user is a member of.
    public func memberships(of user: String) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT project FROM project_members WHERE user = ?", arguments: [user]))
    }

    /// Every created project with its members, by name.
    public func projects() throws -> [StoredProject] {
        let members = try Row.fetchAll(db, sql: "SELECT project, user FROM project_members ORDER BY project, user")
        var byProject: [String: [String]] = [:]
        for row in members { byProject[row["project"], default: []].append(row["user"]) }
        return try Row.fetchAll(db, sql: "SELECT * FROM projects ORDER BY name").map {
            StoredProject(name: $0["name"], members: byProject[$0["name"]] ?? [], createdAt: $0["created_at"], createdBy: $0["created_by"])
        }
    }

    // MARK: Blob references

    /// Records that a project holds a blob (after the project uploaded it and its hash was checked).
    /// Records that a project holds a blob; false when it already did.
    @discardableResult
    public func addProjectBlob(project: String, sha256: String, size: Int64, now: Double) throws -> Bool {
        try db.execute(
            sql: "INSERT OR IGNORE INTO project_blobs (project, sha256, size, added_at) VALUES (?, ?, ?, ?)",
            arguments: [project, sha256, size, now])
        return db.changesCount > 0
    }

    public func projectHolds(project: String, sha256: String) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT 1 FROM project_blobs WHERE project = ? AND sha256 = ?", arguments: [project, sha256]) != nil
    }

    /// The plain bytes of every blob a project references (what counts against its quota).
    public func projectBytes(_ project: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM project_blobs WHERE project = ?", arguments: [project]) ?? 0
    }
}

import Foundation
import GRDB
public import MedGridCore

/// One audit record: who (certificate subject, serial, role) did what (action) to which object, in which
/// project, with which outcome, and when. Records hold names, job IDs and hashes, never patient
/// identifiers or cell values. Each record holds the SHA-256 of the one before it (`previous`), and its own
/// `sha256` covers its fields and that link, so editing, removing or inserting a record breaks the chain.
public struct AuditRecord: Codable, Sendable, Equatable {
    public var seq: Int
    public var at: Double
    public var subject: String
    public var serial: String
    public var role: String
    public var project: String
    public var action: String
    public var object: String
    public var outcome: String
    public var previous: String
    public var sha256: String

    /// The link before the first record.
    public static let genesis = String(repeating: "0", count: 64)

    /// The SHA-256 of the record's canonical JSON (every field but `sha256`).
    public var computedSHA256: String {
        let fields: JSONValue = [
            "seq": .int(seq), "at": .double(at), "subject": .string(subject), "serial": .string(serial), "role": .string(role),
            "project": .string(project), "action": .string(action), "object": .string(object), "outcome": .string(outcome),
            "previous": .string(previous),
        ]
        return ContentHash.sha256(Data(CanonicalJSON.compact(fields).utf8))
    }
}

/// What an audit record says about who acted.
public struct AuditActor: Sendable, Equatable {
    public var subject: String
    public var serial: String
    public var role: String

    public init(subject: String, serial: String, role: String) {
        self.subject = subject
        self.serial = serial
        self.role = role
    }
}

extension StoreTransaction {
    /// Appends a record to the audit chain.
    public func audit(_ actor: AuditActor, project: String, action: String, object: String, outcome: String, now: Double) throws {
        let last = try Row.fetchOne(db, sql: "SELECT seq, sha256 FROM audit ORDER BY seq DESC LIMIT 1")
        var record = AuditRecord(
            seq: (last?["seq"] as Int? ?? 0) + 1, at: now, subject: actor.subject, serial: actor.serial, role: actor.role,
            project: project, action: action, object: object, outcome: outcome,
            previous: last?["sha256"] ?? AuditRecord.genesis, sha256: "")
        record.sha256 = record.computedSHA256
        try db.execute(
            sql: """
                INSERT INTO audit (seq, at, subject, serial, role, project, action, object, outcome, previous, sha256)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [record.seq, record.at, record.subject, record.serial, record.role, record.project, record.action,
                        record.object, record.outcome, record.previous, record.sha256])
    }

    /// Audit records in order, optionally of one project and from a time on.
    public func auditRecords(project: String? = nil, since: Double? = nil) throws -> [AuditRecord] {
        var sql = "SELECT * FROM audit"
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let project { conditions.append("project = ?"); arguments.append(project) }
        if let since { conditions.append("at >= ?"); arguments.append(since) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY seq"
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
            AuditRecord(
                seq: row["seq"], at: row["at"], subject: row["subject"], serial: row["serial"], role: row["role"],
                project: row["project"], action: row["action"], object: row["object"], outcome: row["outcome"],
                previous: row["previous"], sha256: row["sha256"])
        }
    }
}

/// Checks an audit chain from its first record.
public enum AuditChain {
    /// The first broken link: the record's sequence number and what is wrong with it.
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        public var seq: Int
        public var problem: String
        public var description: String { "audit record \(seq): \(problem)" }
    }

    /// Nil when every record is intact and linked to the one before it.
    public static func firstBreak(_ records: [AuditRecord]) -> Break? {
        var previous = AuditRecord.genesis
        var expectedSeq = 1
        for r in records {
            if r.seq != expectedSeq {
                return Break(seq: r.seq, problem: "expected record \(expectedSeq) here; records \(expectedSeq)…\(r.seq - 1) are missing")
            }
            if r.previous != previous {
                return Break(seq: r.seq, problem: "its link to the record before (\(r.previous.prefix(12))…) is not that record's hash (\(previous.prefix(12))…)")
            }
            let computed = r.computedSHA256
            if computed != r.sha256 {
                return Break(seq: r.seq, problem: "its content was changed after it was written (stored hash \(r.sha256.prefix(12))…, content hashes to \(computed.prefix(12))…)")
            }
            previous = r.sha256
            expectedSeq += 1
        }
        return nil
    }
}

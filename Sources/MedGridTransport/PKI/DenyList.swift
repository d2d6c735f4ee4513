public import Foundation
import MedGridCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The certificates this grid no longer trusts, by serial number: the file `medgrid tls revoke` writes and the
/// coordinator reloads while it runs (``RevocationList``).
///
/// `revoked.json` beside `ca.pem` by default:
///
/// ```json
/// {
///   "format" : "medgrid-deny-list/1",
///   "revoked" : [
///     { "serial" : "4a1f…", "subject" : "CN=bob,OU=user,O=MedGrid", "reason" : "laptop lost",
///       "revokedAt" : "2026-12-05T08:00:00Z", "notAfter" : "2027-01-04T08:00:00Z" }
///   ]
/// }
/// ```
///
/// Only `serial` is required (lower-case hex without separators, see ``CertificateSerial``); the rest is for people
/// and the audit log. The file holds no secret (serials and names are in the certificates themselves), so it is
/// written 0644: the coordinator often runs as another user than the admin who revokes, and must be able to read
/// it. It is replaced atomically (a new file renamed over the old one), so a coordinator reloading it never sees
/// half of it.
public struct DenyList: Codable, Sendable, Hashable {
    /// The file name `medgrid tls revoke` and the coordinator use beside `ca.pem`.
    public static let defaultFileName = "revoked.json"
    /// The `format` this version writes and reads.
    public static let formatName = "medgrid-deny-list/1"
    /// A deny-list file larger than this is refused (a million entries fit in about 200 MB; 64 MiB is ~300,000).
    public static let maximumFileBytes = 64 << 20

    /// One revoked certificate.
    public struct Entry: Codable, Sendable, Hashable {
        /// Lower-case hex, no separators.
        public var serial: String
        /// The certificate's subject, when it was revoked from its file (`CN=bob,OU=user,O=MedGrid`).
        public var subject: String?
        /// Why, in the revoker's words.
        public var reason: String?
        /// When it was added to the list (ISO 8601, UTC).
        public var revokedAt: String?
        /// When the certificate would have expired anyway; after that the entry may be pruned.
        public var notAfter: String?

        public init(serial: String, subject: String? = nil, reason: String? = nil, revokedAt: String? = nil, notAfter: String? = nil) {
            self.serial = serial
            self.subject = subject
            self.reason = reason
            self.revokedAt = revokedAt
            self.notAfter = notAfter
        }
    }

    public var format: String
    public var revoked: [Entry]

    public init(revoked: [Entry] = []) {
        self.format = Self.formatName
        self.revoked = revoked
    }

    /// The default deny-list path for a CA certificate file: `revoked.json` in the same folder.
    public static func defaultURL(besideCA caFile: URL) -> URL {
        caFile.deletingLastPathComponent().appendingPathComponent(defaultFileName)
    }

    /// The entry for a serial (any spelling ``CertificateSerial/normalize(_:)`` accepts), if it is revoked.
    public func entry(forSerial serial: String) -> Entry? {
        guard let normalized = try? CertificateSerial.normalize(serial) else { return nil }
        return revoked.first { $0.serial == normalized }
    }

    // MARK: Reading and writing

    /// Reads a deny-list file. Errors name the file and, for bad JSON, what was expected.
    public static func read(_ url: URL) throws -> DenyList {
        let path = url.path
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? NSNumber, size.intValue > maximumFileBytes {
                throw MedGridError(.invalidInput, "deny-list \(path) is \(size.intValue) bytes (at most \(maximumFileBytes) expected)")
            }
            data = try Data(contentsOf: url)
        } catch let error as MedGridError {
            throw error
        } catch {
            if !FileManager.default.fileExists(atPath: path) {
                throw MedGridError(.notFound, "deny-list \(path) does not exist (medgrid tls revoke creates it)")
            }
            throw MedGridError(.io, "cannot read deny-list \(path) (check its permissions)", cause: error)
        }
        var list: DenyList
        do {
            list = try JSONDecoder().decode(DenyList.self, from: data)
        } catch {
            throw MedGridError(
                .invalidInput,
                "deny-list \(path) is not a MedGrid deny-list (expected JSON {\"format\": \"\(formatName)\", \"revoked\": [{\"serial\": \"hex\", …}]}): \(describeDecodingError(error))"
            )
        }
        guard list.format == formatName else {
            throw MedGridError(.invalidInput, "deny-list \(path): format \"\(list.format)\" (expected \"\(formatName)\")")
        }
        for (index, entry) in list.revoked.enumerated() {
            do {
                list.revoked[index].serial = try CertificateSerial.normalize(entry.serial)
            } catch {
                throw MedGridError(.invalidInput, "deny-list \(path): revoked[\(index)].serial: \(error)")
            }
        }
        return list
    }

    /// Writes the list to `url`, atomically (a temporary file in the same folder, flushed, then renamed over it),
    /// mode 0644.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        let directory = url.deletingLastPathComponent()
        try PEMFile.makeDirectory(directory)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0 ... .max)).tmp")
        try PEMFile.createFile(text, at: temporary, mode: 0o644, overwrite: false)
        // Not secret, and the coordinator may run as another user: readable whatever the umask.
        _ = chmod(temporary.path, 0o644)
        guard rename(temporary.path, url.path) == 0 else {
            let message = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw MedGridError(.io, "cannot replace deny-list \(url.path): \(message)")
        }
        let descriptor = open(directory.path, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
    }

    /// Adds `entry` to the deny-list file at `url` (creating it), holding a lock beside it so that two revocations
    /// at once both land. Returns false when the serial was already revoked (the file is left unchanged).
    @discardableResult
    public static func add(_ entry: Entry, to url: URL) throws -> Bool {
        var entry = entry
        entry.serial = try CertificateSerial.normalize(entry.serial)
        try PEMFile.makeDirectory(url.deletingLastPathComponent())
        let lockPath = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).lock").path
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else {
            throw MedGridError(.io, "cannot create the lock file \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else {
            throw MedGridError(.io, "cannot lock \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { _ = flock(lock, LOCK_UN) }
        var list = FileManager.default.fileExists(atPath: url.path) ? try read(url) : DenyList()
        guard !list.revoked.contains(where: { $0.serial == entry.serial }) else { return false }
        list.revoked.append(entry)
        try list.write(to: url)
        return true
    }
}

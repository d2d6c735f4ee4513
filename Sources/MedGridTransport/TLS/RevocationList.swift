public import Foundation
import MedGridCore

/// The deny-list a running coordinator enforces, reloaded from its file without a restart: on SIGHUP
/// (``reload()``) and whenever the file's modification time, size or inode change (``reloadIfChanged()``, which
/// the coordinator calls every few seconds).
///
/// Failing safe: a file that cannot be read or parsed, or that disappears, leaves the last good list in force
/// (and the outcome says why), so a typo never un-revokes anyone. A file that does not exist yet is an empty list,
/// picked up as soon as `medgrid tls revoke` creates it.
public final class RevocationList: @unchecked Sendable {
    /// The deny-list file watched.
    public let file: URL
    private let lock = NSLock()
    private var entries: [String: DenyList.Entry] = [:]
    private var stamp: Stamp?

    /// What a reload did.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// The file has not changed since the last load.
        case unchanged
        /// The file was read; `count` certificates are now revoked (`added` new, `removed` dropped).
        case reloaded(count: Int, added: Int, removed: Int)
        /// The file does not exist (yet, or any more); the last good list stays in force.
        case missing(count: Int)
        /// The file could not be read or parsed; the last good list stays in force.
        case failed(String)

        public var description: String {
            switch self {
            case .unchanged: return "unchanged"
            case .reloaded(let count, let added, let removed): return "\(count) revoked (\(added) added, \(removed) removed)"
            case .missing(let count): return "no file; \(count) revoked as before"
            case .failed(let why): return "kept the previous list: \(why)"
            }
        }
    }

    /// What identifies one version of the file.
    struct Stamp: Equatable {
        var modified: Date?
        var size: Int64
        var inode: UInt64
    }

    /// Loads `file`. A missing file is an empty list (the coordinator starts before anyone is revoked); an unreadable
    /// or malformed one is an error, so a coordinator never starts while silently ignoring its deny-list.
    public init(file: URL) throws {
        self.file = file
        if FileManager.default.fileExists(atPath: file.path) {
            let list = try DenyList.read(file)
            entries = Dictionary(list.revoked.map { ($0.serial, $0) }, uniquingKeysWith: { first, _ in first })
            stamp = Self.stamp(of: file)
        }
    }

    /// An in-memory list, for tests and the one-machine mode.
    public init(entries list: DenyList, file: URL) {
        self.file = file
        entries = Dictionary(list.revoked.map { ($0.serial, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The entry for `serial` (lower-case hex, as ``PeerIdentity/serial``), if that certificate is revoked.
    public func entry(forSerial serial: String) -> DenyList.Entry? {
        let key = (try? CertificateSerial.normalize(serial)) ?? serial
        return lock.withLock { entries[key] }
    }

    /// How many certificates are revoked.
    public var count: Int { lock.withLock { entries.count } }

    /// Reads the file if its modification time, size or inode changed since the last load.
    public func reloadIfChanged() -> Outcome {
        let current = Self.stamp(of: file)
        let previous = lock.withLock { stamp }
        if current == previous { return .unchanged }
        return load(stamp: current)
    }

    /// Reads the file now, changed or not (SIGHUP).
    @discardableResult
    public func reload() -> Outcome {
        load(stamp: Self.stamp(of: file))
    }

    private func load(stamp current: Stamp?) -> Outcome {
        guard current != nil else {
            return lock.withLock {
                stamp = nil
                return .missing(count: entries.count)
            }
        }
        do {
            let list = try DenyList.read(file)
            let fresh = Dictionary(list.revoked.map { ($0.serial, $0) }, uniquingKeysWith: { first, _ in first })
            return lock.withLock {
                let added = fresh.keys.filter { entries[$0] == nil }.count
                let removed = entries.keys.filter { fresh[$0] == nil }.count
                entries = fresh
                stamp = current
                return .reloaded(count: fresh.count, added: added, removed: removed)
            }
        } catch {
            // Remember the stamp so that a broken file is reported once, not every few seconds.
            lock.withLock { stamp = current }
            return .failed(String(describing: error))
        }
    }

    static func stamp(of url: URL) -> Stamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { return nil }
        return Stamp(
            modified: attributes[.modificationDate] as? Date,
            size: (attributes[.size] as? NSNumber)?.int64Value ?? -1,
            inode: (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        )
    }
}

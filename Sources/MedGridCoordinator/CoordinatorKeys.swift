public import Foundation
public import Crypto
public import MedGridCore
public import MedGridTransport

/// The coordinator's own keys, in `<state>/secrets/` (folder 0700, files 0600):
/// - `wrapping.key` — the key that wraps every dataset's data key (AES-256-GCM key wrap). It is replaced at
///   every purge: the live data keys are rewrapped under a new one and the old one is overwritten, so a
///   backup of `medgrid.sqlite` taken before the purge holds the purged dataset's key wrapped under a key
///   that no longer exists. Keep this folder out of backups of the state directory.
/// - `signing-key.pem` — the P-256 key that signs certificates of destruction.
///
/// Data keys are 256-bit AES keys, one per (project, dataset root), kept in the store only wrapped.
public final class CoordinatorKeys: @unchecked Sendable {
    let directory: URL
    let store: Store
    private let lock = NSLock()
    private var wrapping: (version: Int, key: SymmetricKey)
    private var unwrapped: [String: SymmetricKey] = [:]
    private var blobStores: [String: BlobStore] = [:]
    let blobsDirectory: URL
    /// The key that signs certificates of destruction.
    public let signingKey: P256.Signing.PrivateKey

    public init(stateDirectory: URL, store: Store) throws {
        directory = stateDirectory.appendingPathComponent("secrets", isDirectory: true)
        blobsDirectory = stateDirectory.appendingPathComponent("blobs/datasets", isDirectory: true)
        self.store = store
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(directory.path, 0o700)
        let signingURL = directory.appendingPathComponent("signing-key.pem")
        if let pem = try? String(contentsOf: signingURL, encoding: .utf8) {
            do { signingKey = try P256.Signing.PrivateKey(pemRepresentation: pem) } catch {
                throw MedGridError(.invalidInput, "\(signingURL.path): not a P-256 private key in PEM form", cause: error)
            }
        } else {
            signingKey = P256.Signing.PrivateKey()
            try Self.writePrivate(Data(signingKey.pemRepresentation.utf8), to: signingURL)
        }
        let inUse = try store.read { try $0.currentWrapVersion() }
        wrapping = try Self.loadWrappingKey(in: directory, version: inUse)
    }

    static func writePrivate(_ data: Data, to url: URL) throws {
        let temp = url.appendingPathExtension("tmp")
        unlink(temp.path)
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MedGridError(.io, "\(temp.path): cannot create (errno \(errno))") }
        let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        close(fd)
        guard ok, rename(temp.path, url.path) == 0 else { unlink(temp.path); throw MedGridError(.io, "\(url.path): cannot write") }
    }

    /// `v<version> <64 hex digits>`.
    static func parseWrappingKey(_ text: String) -> (Int, SymmetricKey)? {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard parts.count == 2, parts[0].hasPrefix("v"), let version = Int(parts[0].dropFirst()), parts[1].count == 64 else { return nil }
        var bytes = [UInt8]()
        var i = parts[1].startIndex
        while i < parts[1].endIndex {
            let j = parts[1].index(i, offsetBy: 2)
            guard let b = UInt8(parts[1][i..<j], radix: 16) else { return nil }
            bytes.append(b)
            i = j
        }
        return (version, SymmetricKey(data: bytes))
    }

    static func wrappingKeyText(_ version: Int, _ key: SymmetricKey) -> String {
        "v\(version) " + key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() } + "\n"
    }

    /// Loads `wrapping.key` (or a `wrapping.key.next` left by a rotation the store already committed),
    /// creating one when the store holds no wrapped key yet.
    static func loadWrappingKey(in directory: URL, version inUse: Int?) throws -> (version: Int, key: SymmetricKey) {
        let current = directory.appendingPathComponent("wrapping.key"), next = directory.appendingPathComponent("wrapping.key.next")
        let candidates = [current, next].compactMap { url in (try? String(contentsOf: url, encoding: .utf8)).flatMap(parseWrappingKey).map { (url, $0.0, $0.1) } }
        if let inUse {
            guard let found = candidates.first(where: { $0.1 == inUse }) else {
                throw MedGridError(.integrity, "\(current.path): the store's data keys are wrapped under key version \(inUse), which is not in \(directory.path); without it no uploaded dataset can be read")
            }
            if found.0 == next { guard rename(next.path, current.path) == 0 else { throw MedGridError(.io, "\(next.path): cannot finish a key rotation") } }
            unlink(next.path)
            return (found.1, found.2)
        }
        if let existing = candidates.first(where: { $0.0 == current }) { unlink(next.path); return (existing.1, existing.2) }
        let key = SymmetricKey(size: .bits256)
        try writePrivate(Data(wrappingKeyText(1, key).utf8), to: current)
        return (1, key)
    }

    // MARK: Data keys

    func wrap(_ key: SymmetricKey, keyID: String, under kek: SymmetricKey) throws -> Data {
        let raw = key.withUnsafeBytes { Data($0) }
        return try AES.GCM.seal(raw, using: kek, authenticating: Data("medgrid-data-key \(keyID)".utf8)).combined!
    }

    func unwrap(_ wrapped: Data, keyID: String, under kek: SymmetricKey) throws -> SymmetricKey {
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return SymmetricKey(data: try AES.GCM.open(box, using: kek, authenticating: Data("medgrid-data-key \(keyID)".utf8)))
        } catch {
            throw MedGridError(.integrity, "data key \(keyID) does not unwrap with the coordinator's key (destroyed, or the key file was replaced)")
        }
    }

    /// The live data key of a project's dataset, created (with the offered inventory) when absent.
    public func ensureDatasetKey(project: String, inventory: DatasetInventory, now: Double) throws -> String {
        try lock.withLock {
            if let existing = try store.read({ try $0.liveDatasetKey(project: project, root: inventory.root) }) { return existing.keyID }
            let keyID = SymmetricKey(size: .bits128).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
            let key = SymmetricKey(size: .bits256)
            let record = StoredDatasetKey(
                keyID: keyID, project: project, root: inventory.root, wrapped: try wrap(key, keyID: keyID, under: wrapping.key),
                wrapVersion: wrapping.version, inventory: inventory, createdAt: now, purgedAt: nil)
            try store.write { try $0.insertDatasetKey(record) }
            unwrapped[keyID] = key
            return keyID
        }
    }

    /// The raw bytes of a live data key (sent to workers holding a lease on the dataset's tasks).
    public func dataKeyBytes(keyID: String) throws -> Data {
        _ = try blobStore(keyID: keyID)  // unwraps and checks it is live
        return try lock.withLock {
            guard let key = unwrapped[keyID] else { throw MedGridError(.notFound, "dataset key \(keyID) was purged") }
            return key.withUnsafeBytes { Data($0) }
        }
    }

    /// The live key ID of a project's dataset, or nil.
    public func datasetKeyID(project: String, root: String) throws -> String? {
        try store.read { try $0.liveDatasetKey(project: project, root: root) }?.keyID
    }

    /// The sealed blob store of a live dataset key.
    /// - Throws: `notFound` when the key was purged or never existed.
    public func blobStore(keyID: String) throws -> BlobStore {
        try lock.withLock {
            if let s = blobStores[keyID] { return s }
            guard let record = try store.read({ try $0.datasetKey(id: keyID) }), record.purgedAt == nil, let wrapped = record.wrapped else {
                throw MedGridError(.notFound, "dataset key \(keyID) was purged: its files are destroyed")
            }
            let key = try unwrapped[keyID] ?? unwrap(wrapped, keyID: keyID, under: wrapping.key)
            unwrapped[keyID] = key
            let s = try BlobStore(directory: blobsDirectory.appendingPathComponent(keyID, isDirectory: true), sealingKey: key)
            blobStores[keyID] = s
            return s
        }
    }

    /// Destroys a data key: forgets it, deletes its sealed files, and rotates the wrapping key so that no
    /// copy of the wrapped key (in a backup of the store) can be unwrapped any more. The store's rows are
    /// changed by the caller's purge transaction first.
    public func destroy(keyID: String) throws -> (files: Int, bytes: Int64) {
        try lock.withLock {
            unwrapped[keyID] = nil
            blobStores[keyID] = nil
            let folder = blobsDirectory.appendingPathComponent(keyID, isDirectory: true)
            var files = 0, bytes: Int64 = 0
            if let e = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.fileSizeKey]) {
                for case let url as URL in e {
                    if let size = try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize { files += 1; bytes += Int64(size) }
                }
            }
            try? FileManager.default.removeItem(at: folder)
            try rotateLocked()
            return (files, bytes)
        }
    }

    /// A new wrapping key: written as `wrapping.key.next`, every live data key rewrapped under it in one
    /// transaction, then renamed over `wrapping.key` (a crash between is finished at the next start).
    private func rotateLocked() throws {
        let next = (version: wrapping.version + 1, key: SymmetricKey(size: .bits256))
        let nextURL = directory.appendingPathComponent("wrapping.key.next")
        try Self.writePrivate(Data(Self.wrappingKeyText(next.version, next.key).utf8), to: nextURL)
        let oldBytes = wrapping.key.withUnsafeBytes { Data($0) }, nextBytes = next.key.withUnsafeBytes { Data($0) }, nextVersion = next.version
        try store.write { tx in
            let old = SymmetricKey(data: oldBytes), new = SymmetricKey(data: nextBytes)
            for record in try tx.liveDatasetKeys() {
                guard let wrapped = record.wrapped else { continue }
                let key = try self.unwrap(wrapped, keyID: record.keyID, under: old)
                try tx.rewrap(keyID: record.keyID, wrapped: try self.wrap(key, keyID: record.keyID, under: new), version: nextVersion)
            }
        }
        guard rename(nextURL.path, directory.appendingPathComponent("wrapping.key").path) == 0 else {
            throw MedGridError(.io, "\(nextURL.path): cannot replace the wrapping key")
        }
        wrapping = next
    }

    /// Tries to unwrap a stored data key with the current wrapping key: what anyone holding a backup of the
    /// store and this coordinator's key could do. Nil when it cannot be unwrapped.
    public func unwrapForInspection(_ wrapped: Data, keyID: String) -> SymmetricKey? {
        lock.withLock { try? unwrap(wrapped, keyID: keyID, under: wrapping.key) }
    }

    /// The fingerprint of the signing key (SHA-256 of its DER public key), to pin when verifying certificates.
    public var signingFingerprint: String {
        SHA256.hash(data: signingKey.publicKey.derRepresentation).map { String(format: "%02x", $0) }.joined()
    }
}

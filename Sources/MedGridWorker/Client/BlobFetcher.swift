import Crypto
import Foundation
public import Logging
public import MedGridCore
public import MedGridTransport

/// Brings a task's inputs into the worker's cache before it runs: each by hash, zstd on the wire,
/// verified before it is kept. A download whose bytes do not hash right is fetched again (twice more);
/// a corrupt cache entry is dropped and fetched again.
public struct BlobFetcher: Sendable {
    public let client: CoordinatorClient
    public let cache: BlobCache
    let logger: Logger

    public init(client: CoordinatorClient, cache: BlobCache, logger: Logger) {
        self.client = client
        self.cache = cache
        self.logger = logger
        // Plain copies opened for tasks that ended with a crash of this worker.
        try? FileManager.default.removeItem(at: inputsDirectory)
    }

    /// Where inputs of sealed datasets are opened for the tasks running now (deleted when each ends).
    var inputsDirectory: URL { cache.directory.deletingLastPathComponent().appendingPathComponent("task-inputs", isDirectory: true) }

    /// The folder a task's opened inputs go to.
    func inputFolder(_ a: TaskAssignment) -> URL {
        inputsDirectory.appendingPathComponent(ContentHash.sha256(Data("\(a.job) \(a.task) \(a.lease) \(a.attempt)".utf8)), isDirectory: true)
    }

    /// Deletes the plain copies opened for a task (call when it has ended).
    public func release(_ a: TaskAssignment) {
        try? FileManager.default.removeItem(at: inputFolder(a))
    }

    /// The assignment with ``TaskAssignment/localFiles`` filled in and its data key removed. Inputs of a
    /// dataset with a data key are cached sealed under it and opened into a private folder for this task only.
    public func prepare(_ assignment: TaskAssignment) async throws -> TaskAssignment {
        guard assignment.datasetLocation == nil else { return assignment }
        var a = assignment
        a.dataKey = nil
        let key = assignment.dataKey.flatMap { Data(base64Encoded: $0) }.map { SymmetricKey(data: $0) }
        let folder = inputFolder(assignment)
        var files: [String: String] = [:]
        for (i, input) in a.inputs.enumerated() {
            let name = (input.path as NSString).lastPathComponent
            // Each input in its own sub-folder, so two inputs with one file name do not collide.
            let into = folder.appendingPathComponent("\(i)", isDirectory: true)
            func cached() -> URL? {
                if let key { return cache.openSealed(sha256: input.sha256, fileName: name, key: key, into: into) }
                return cache.lookup(sha256: input.sha256, fileName: name)
            }
            if let hit = cached() {
                files[input.path] = hit.path
                continue
            }
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let (url, _) = try await client.download(sha256: input.sha256, fileName: name, into: cache, sealingKey: key)
                    guard key != nil else { files[input.path] = url.path; break }
                    guard let opened = cached() else { throw DataPlaneError(.integrity, "\(input.path): the sealed cache entry does not open") }
                    files[input.path] = opened.path
                    break
                } catch let e as DataPlaneError {
                    logger.warning("a downloaded dataset file failed verification; fetching again", metadata: ["medgrid.blob": "\(input.sha256.prefix(12))", "medgrid.attempt": "\(attempt)"])
                    if attempt >= 3 {
                        throw MedGridError(.integrity, "\(input.path): the coordinator's copy does not match its SHA-256 after \(attempt) downloads (\(e))")
                    }
                } catch let e as MedGridError where e.code == .unavailable && attempt < 3 {
                    try await Task.sleep(for: .milliseconds(200 * attempt))
                } catch let e as MedGridError where e.code == .conflict {
                    throw MedGridError(.integrity, "\(input.path): \(e.message)")
                }
            }
        }
        a.localFiles = files
        return a
    }
}

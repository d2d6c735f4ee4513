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
    }

    /// The assignment with ``TaskAssignment/localFiles`` filled in.
    public func prepare(_ assignment: TaskAssignment) async throws -> TaskAssignment {
        guard assignment.datasetLocation == nil else { return assignment }
        var a = assignment
        var files: [String: String] = [:]
        for input in a.inputs {
            let name = (input.path as NSString).lastPathComponent
            if let hit = cache.lookup(sha256: input.sha256, fileName: name) {
                files[input.path] = hit.path
                continue
            }
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let (url, _) = try await client.download(sha256: input.sha256, fileName: name, into: cache)
                    files[input.path] = url.path
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

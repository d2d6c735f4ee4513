import MedGridCore
import Synchronization

/// Every project's quota use as uploads see it: the bytes it stores plus the bytes its uploads still
/// streaming have decompressed so far. An upload claims its bytes here as they arrive, so several uploads
/// to one project at once cannot together pass its quota, however they interleave. A finished upload's
/// claim becomes stored bytes once it is recorded; a failed one's is given back.
///
/// The coordinator is the only writer of a project's stored blobs, so the stored total is read from the
/// store once per project and kept up to date here from then on.
final class ProjectQuotas: Sendable {
    private struct Use {
        var stored: Int64
        var streaming: Int64
    }

    let quota: Int64
    private let readStored: @Sendable (String) throws -> Int64
    private let uses = Mutex<[String: Use]>([:])

    init(quota: Int64, readStored: @escaping @Sendable (String) throws -> Int64) {
        self.quota = quota
        self.readStored = readStored
    }

    /// The bytes `project` may still claim: its quota less what it stores and what its uploads hold.
    func remaining(_ project: String) throws -> Int64 {
        try uses.withLock { uses in
            let use = try Self.use(of: project, in: &uses, readStored)
            return max(0, quota - use.stored - use.streaming)
        }
    }

    /// Gives back `bytes` of a project's stored total (a purge destroyed them).
    func release(_ project: String, bytes: Int64) {
        uses.withLock { uses in
            if var use = uses[project] {
                use.stored = max(0, use.stored - bytes)
                uses[project] = use
            }
        }
    }

    /// Starts one upload's claim on `project`.
    func startUpload(to project: String) throws -> Claim {
        // Read the stored total now, so a claim never works from a total read after other uploads began.
        _ = try remaining(project)
        return Claim(project: project, ledger: self)
    }

    /// One upload's share of its project's quota.
    final class Claim: Sendable {
        let project: String
        var quota: Int64 { ledger.quota }
        private let ledger: ProjectQuotas
        private let claimed = Mutex<Int64>(0)

        fileprivate init(project: String, ledger: ProjectQuotas) {
            self.project = project
            self.ledger = ledger
        }

        /// Raises the claim to `total` bytes; false, claiming nothing more, when that would pass the quota.
        func grow(to total: Int64) -> Bool {
            claimed.withLock { claimed in
                let delta = total - claimed
                guard delta > 0 else { return true }
                let granted = ledger.uses.withLock { uses -> Bool in
                    guard var use = uses[project], use.stored + use.streaming + delta <= ledger.quota else { return false }
                    use.streaming += delta
                    uses[project] = use
                    return true
                }
                if granted { claimed = total }
                return granted
            }
        }

        /// Ends the claim: `stored` bytes (0 when the project already held the blob, nil when the upload
        /// failed) join the project's stored total, and the streaming claim is given back.
        func finish(stored: Int64?) {
            claimed.withLock { claimed in
                ledger.uses.withLock { uses in
                    guard var use = uses[project] else { return }
                    use.streaming -= claimed
                    use.stored += stored ?? 0
                    uses[project] = use
                }
                claimed = 0
            }
        }

        deinit {
            // An upload that ended without finishing (a thrown error) gives its claim back.
            finish(stored: nil)
        }
    }

    private static func use(of project: String, in uses: inout [String: Use], _ read: (String) throws -> Int64) throws -> Use {
        if let use = uses[project] { return use }
        let use = Use(stored: try read(project), streaming: 0)
        uses[project] = use
        return use
    }
}

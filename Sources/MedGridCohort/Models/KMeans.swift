public import MedGridCore

/// Settings of ``KMeans``.
public struct KMeansSettings: Sendable, Hashable, Codable {
    /// How the first centres are chosen.
    public enum Initialisation: Sendable, Hashable, Codable {
        /// Explicit centres, `k × features`.
        case centres(FeatureMatrix)
        /// k-means++ (Arthur & Vassilvitskii 2007) seeded with ``Xoshiro256StarStar``: the first centre is a
        /// uniformly drawn row; each next centre is row `i` with probability `D(i)² / ΣD²` (D the distance
        /// to the nearest centre chosen so far; one candidate per step, not scikit-learn's greedy variant, so
        /// the centres differ from scikit-learn's for the same seed).
        case kMeansPlusPlus(seed: UInt64)
    }

    public var clusterCount: Int
    public var initialisation: Initialisation
    public var maxIterations: Int
    /// Stop when the total squared centre shift `Σ‖c_new − c_old‖²` is at most this (absolute; scikit-learn
    /// scales its `tol` by the mean feature variance). 0 means: stop only when the centres no longer change.
    public var tolerance: Double

    /// Lloyd k-means with `clusterCount` clusters; `tolerance` 0 runs to exact convergence.
    public init(clusterCount: Int, initialisation: Initialisation, maxIterations: Int = 300, tolerance: Double = 0) {
        self.clusterCount = clusterCount
        self.initialisation = initialisation
        self.maxIterations = maxIterations
        self.tolerance = tolerance
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        var initJSON: JSONValue
        switch initialisation {
        case .centres(let c): initJSON = ["method": "explicit centres", "centres": .array((0..<c.rowCount).map { r in .array((0..<c.columnCount).map { .number(c[r, $0]) }) })]
        case .kMeansPlusPlus(let seed): initJSON = ["method": "k-means++ (one candidate per step, xoshiro256**)", "seed": .string(String(seed))]
        }
        return [
            "clusters": .int(clusterCount), "initialisation": initJSON, "max_iterations": .int(maxIterations),
            "tolerance": .number(tolerance), "algorithm": "Lloyd", "distance": "squared Euclidean",
            "ties": "lowest cluster index", "empty_cluster": "keeps its previous centre",
        ]
    }
}

/// One shard's contribution to a Lloyd iteration at broadcast centres.
///
/// Each row is assigned to the nearest centre by squared Euclidean distance `Σⱼ (xⱼ − cⱼ)²` (summed in
/// feature order; ties go to the lowest cluster index). `sums[k·d + j]` is the ``ExactSum`` of feature `j` over
/// rows assigned to cluster `k`, `counts[k]` their number, `inertia` the ``ExactSum`` of the squared distances.
/// Merging in any grouping gives bitwise the same statistics.
public struct KMeansShardStatistics: Sendable, Hashable, Codable {
    public var centres: FeatureMatrix
    public var n: Int
    public var counts: [Int]
    public var sums: [ExactSum]
    public var inertia: ExactSum

    /// Zero statistics at `centres`.
    public init(centres: FeatureMatrix) {
        self.centres = centres
        n = 0
        counts = Array(repeating: 0, count: centres.rowCount)
        sums = Array(repeating: ExactSum(), count: centres.rowCount * centres.columnCount)
        inertia = ExactSum()
    }

    /// - Throws: ``CohortError`` `invalidArgument` if the centres have another number of features.
    public init(_ x: FeatureMatrix, centres: FeatureMatrix) throws {
        try self.init(x, rows: 0..<x.rowCount, centres: centres, labels: nil)
    }

    init(_ x: FeatureMatrix, rows: Range<Int>, centres: FeatureMatrix, labels: UnsafeMutableBufferPointer<Int>?) throws {
        guard x.columnCount == centres.columnCount else {
            throw CohortError(file: "<matrix>", code: .invalidArgument, message: "data have \(x.columnCount) features but the centres \(centres.columnCount)")
        }
        self.init(centres: centres)
        let d = x.columnCount, k = centres.rowCount
        n = rows.count
        var counts = self.counts, sums = self.sums, inertia = ExactSum()
        x.values.withUnsafeBufferPointer { v in
            centres.values.withUnsafeBufferPointer { c in
                sums.withUnsafeMutableBufferPointer { s in
                    for r in rows {
                        let row = r * d
                        var best = 0
                        var bestDistance = Double.infinity
                        for cluster in 0..<k {
                            var dist = 0.0
                            let base = cluster * d
                            for j in 0..<d {
                                let diff = v[row + j] - c[base + j]
                                dist += diff * diff
                            }
                            if dist < bestDistance {
                                bestDistance = dist
                                best = cluster
                            }
                        }
                        counts[best] += 1
                        inertia.add(bestDistance)
                        let base = best * d
                        for j in 0..<d { s[base + j].add(v[row + j]) }
                        labels?[r - rows.lowerBound] = best
                    }
                }
            }
        }
        self.counts = counts
        self.sums = sums
        self.inertia = inertia
    }

    /// Adds another shard's statistics computed at the same centres.
    public mutating func merge(_ other: KMeansShardStatistics) throws {
        guard other.centres == centres else {
            throw CohortError(file: "<shards>", code: .invalidArgument, message: "cannot merge k-means statistics computed at different centres")
        }
        n += other.n
        for k in counts.indices { counts[k] += other.counts[k] }
        for i in sums.indices { sums[i].add(other.sums[i]) }
        inertia.add(other.inertia)
    }

    /// The updated centres: each cluster's mean (its exact sum rounded once, divided by its count); an empty
    /// cluster keeps its centre.
    public func nextCentres() -> FeatureMatrix {
        let d = centres.columnCount
        var out = centres.values
        for k in counts.indices where counts[k] > 0 {
            for j in 0..<d { out[k * d + j] = sums[k * d + j].value / Double(counts[k]) }
        }
        return FeatureMatrix(unchecked: centres.rowCount, d, out)
    }
}

/// The result of ``KMeans/fit(shards:settings:)``.
public struct KMeansResult: Sendable, Hashable, Codable {
    /// Final centres, `k × features`.
    public var centres: FeatureMatrix
    /// 0-based cluster of each row (shards concatenated in order), nearest to the final centres.
    public var labels: [Int]
    /// Σ squared distance of each row to its final centre.
    public var inertia: Double
    public var clusterSizes: [Int]
    /// Lloyd iterations (assignment + update), counted like scikit-learn's `n_iter_`.
    public var iterations: Int
    /// Whether the centres stopped changing (or moved less than the tolerance) within `maxIterations`.
    public var converged: Bool
    public var initialCentres: FeatureMatrix
    public var settings: KMeansSettings

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "model": "k-means", "settings": settings.json(),
            "centres": .array((0..<centres.rowCount).map { r in .array((0..<centres.columnCount).map { .number(centres[r, $0]) }) }),
            "initial_centres": .array((0..<initialCentres.rowCount).map { r in .array((0..<initialCentres.columnCount).map { .number(initialCentres[r, $0]) }) }),
            "inertia": .number(inertia), "cluster_sizes": .array(clusterSizes.map { .int($0) }),
            "iterations": .int(iterations), "converged": .bool(converged), "rows": .int(labels.count),
        ]
    }
}

/// k-means clustering of rows by Lloyd's algorithm on exactly merged shard statistics.
///
/// Round t broadcasts centres `c_t`; shards return ``KMeansShardStatistics``; the merged statistics give
/// `c_{t+1}` (``KMeansShardStatistics/nextCentres()``). It stops when `c_{t+1} == c_t` bitwise (the
/// assignment is stable: scikit-learn's "strict convergence"), when the squared shift is ≤ `tolerance`, or
/// after `maxIterations`; in the latter two cases a last assignment round at the final centres gives the
/// labels and inertia (as scikit-learn re-runs its E-step). Results are bitwise identical for any partition
/// of the rows. Matches scikit-learn `KMeans(init=centres, n_init=1, algorithm="lloyd", tol=0)` up to
/// rounding (scikit-learn computes distances as ‖x‖² − 2x·c + ‖c‖² on centred data).
public enum KMeans {
    /// Fits on shards in-process (blocks processed concurrently; thread count does not change the result).
    ///
    /// - Throws: ``CohortError`` `invalidArgument` for k < 1, more clusters than rows, mismatched widths, or
    ///   non-finite values.
    public static func fit(shards: [FeatureMatrix], settings: KMeansSettings) throws -> KMeansResult {
        guard let d = shards.first?.columnCount else {
            throw CohortError(file: "<matrix>", code: .invalidArgument, message: "no shards to cluster")
        }
        for s in shards {
            guard s.columnCount == d else {
                throw CohortError(file: "<matrix>", code: .invalidArgument, message: "shards have \(d) and \(s.columnCount) features (expected equal)")
            }
            try s.requireFinite("k-means")
        }
        let total = shards.reduce(0) { $0 + $1.rowCount }
        let k = settings.clusterCount
        guard k >= 1, k <= total else {
            throw CohortError(file: "<matrix>", code: .invalidArgument, message: "\(k) clusters for \(total) rows (expected 1 ≤ k ≤ rows)")
        }
        let initial: FeatureMatrix
        switch settings.initialisation {
        case .centres(let c):
            guard c.rowCount == k, c.columnCount == d else {
                throw CohortError(file: "<matrix>", code: .invalidArgument, message: "initial centres are \(c.rowCount) × \(c.columnCount) (expected \(k) × \(d))")
            }
            try c.requireFinite("initial centres")
            initial = c
        case .kMeansPlusPlus(let seed):
            let all = shards.count == 1 ? shards[0] : FeatureMatrix(unchecked: total, d, shards.flatMap(\.values))
            initial = plusPlusCentres(all, clusterCount: k, seed: seed)
        }
        let block = 65_536
        var blocks: [(Int, Range<Int>)] = []
        for (s, shard) in shards.enumerated() {
            var lo = 0
            while lo < shard.rowCount {
                blocks.append((s, lo..<min(shard.rowCount, lo + block)))
                lo += block
            }
        }
        let items = blocks
        func round(_ centres: FeatureMatrix) throws -> KMeansShardStatistics {
            let parts = try parallelMap(items.count) { i in
                try KMeansShardStatistics(shards[items[i].0], rows: items[i].1, centres: centres, labels: nil)
            }
            var merged = KMeansShardStatistics(centres: centres)
            for p in parts { try merged.merge(p) }
            return merged
        }
        var centres = initial
        var iterations = 0
        var converged = false
        var final: KMeansShardStatistics? = nil
        while iterations < settings.maxIterations {
            let stats = try round(centres)
            iterations += 1
            let next = stats.nextCentres()
            if next == centres {
                converged = true
                final = stats
                break
            }
            var shift = 0.0
            for i in next.values.indices { shift += (next.values[i] - centres.values[i]) * (next.values[i] - centres.values[i]) }
            centres = next
            if shift <= settings.tolerance {
                converged = true
                break
            }
        }
        // Labels (and, if needed, inertia) at the final centres.
        let finalCentres = centres
        let labelled = try parallelMap(items.count) { i -> (KMeansShardStatistics, [Int]) in
            var labels = [Int](repeating: 0, count: items[i].1.count)
            let stats = try labels.withUnsafeMutableBufferPointer {
                try KMeansShardStatistics(shards[items[i].0], rows: items[i].1, centres: finalCentres, labels: $0)
            }
            return (stats, labels)
        }
        var merged = KMeansShardStatistics(centres: finalCentres)
        var labels: [Int] = []
        labels.reserveCapacity(total)
        for (stats, l) in labelled {
            try merged.merge(stats)
            labels.append(contentsOf: l)
        }
        let stats = final ?? merged
        return KMeansResult(
            centres: centres, labels: labels, inertia: stats.inertia.value, clusterSizes: merged.counts,
            iterations: iterations, converged: converged, initialCentres: initial, settings: settings
        )
    }

    /// Fits on one matrix.
    public static func fit(_ x: FeatureMatrix, settings: KMeansSettings) throws -> KMeansResult {
        try fit(shards: [x], settings: settings)
    }

    /// Seeded k-means++ centres (see ``KMeansSettings/Initialisation/kMeansPlusPlus(seed:)``); `clusterCount`
    /// must be between 1 and the row count. Duplicate rows can make a later draw repeat a centre only when all
    /// remaining distances are 0, in which case a uniformly drawn row is used.
    public static func plusPlusCentres(_ x: FeatureMatrix, clusterCount k: Int, seed: UInt64) -> FeatureMatrix {
        var rng = Xoshiro256StarStar(seed: seed)
        let n = x.rowCount, d = x.columnCount
        guard n > 0, k > 0 else { return FeatureMatrix(unchecked: 0, d, []) }
        var chosen = [rng.below(n)]
        var nearest = [Double](repeating: .infinity, count: n)
        while chosen.count < k {
            let c = chosen[chosen.count - 1]
            var total = 0.0
            x.values.withUnsafeBufferPointer { v in
                for r in 0..<n {
                    var dist = 0.0
                    for j in 0..<d {
                        let diff = v[r * d + j] - v[c * d + j]
                        dist += diff * diff
                    }
                    if dist < nearest[r] { nearest[r] = dist }
                    total += nearest[r]
                }
            }
            var pick = nearest.lastIndex(where: { $0 > 0 }) ?? (n - 1)
            if total > 0 {
                let target = rng.unit() * total
                var cumulative = 0.0
                for r in 0..<n {
                    cumulative += nearest[r]
                    if cumulative > target {
                        pick = r
                        break
                    }
                }
            } else {
                pick = rng.below(n)
            }
            chosen.append(pick)
        }
        var values: [Double] = []
        for r in chosen { values.append(contentsOf: x.values[r * d..<(r + 1) * d]) }
        return FeatureMatrix(unchecked: k, d, values)
    }
}

import MedGridCore

/// k-means clustering of voxel intensities (1-D Lloyd), giving a label map ordered by centre intensity.
///
/// Conventions:
/// - **Data**: every voxel value that is not NaN, as Double. NaN voxels get label 0 and do not move
///   any centre.
/// - **Assignment**: each value goes to the centre minimising `c² − 2·x·c` (the squared distance less
///   the constant `x²`, evaluated exactly as scikit-learn's Lloyd step does); ties go to the centre listed
///   first.
/// - **Update**: each centre becomes the mean of its values (sums in Double over fixed chunks, combined
///   in chunk order, so results do not depend on threads). A centre that loses all its values keeps its
///   position (scikit-learn would relocate it to a far point instead).
/// - **Stopping**: when an assignment equals the previous one (scikit-learn's "strict convergence",
///   its behaviour with `tol=0`), or after `maxIterations` assignment/update rounds. The reported
///   centres are the means of the last assignment; when `maxIterations` ran out, the labels are assigned
///   once more to those centres (as scikit-learn does).
/// - **Labels**: ranked by final centre, darkest 0 … brightest `k − 1` (equal centres keep their
///   initial order), stored as uint8 with the input geometry.
/// - **Initial centres**: explicit (any order), or from quantiles: centre `i` of `k` is the
///   `(i + 0.5) / k` quantile of the values (linear interpolation, numpy's default).
/// Matches `sklearn.cluster.KMeans(n_clusters=k, init=centres, n_init=1, tol=0, algorithm="lloyd")`
/// fitted on the voxel values, up to the last bits of the centres.
public enum KMeansClustering {
    /// Result of k-means clustering.
    public struct Result: Sendable, Equatable {
        /// Final centres, ascending (index = label).
        public var centres: [Double]
        /// Label map `0..<k` ordered by centre intensity.
        public var labels: Volume
        /// Number of assignment/update rounds run.
        public var iterations: Int
        /// Whether the assignment stopped changing before `maxIterations`.
        public var converged: Bool
        /// Voxels in each class (index = label).
        public var voxelCounts: [Int]
    }

    /// Clusters with explicit initial centres.
    ///
    /// - Throws: `MedGridError` `.invalidInput` if there are fewer than 1 or more than 255 centres, a
    ///   centre is not finite, `maxIterations < 1`, or every voxel is NaN.
    public static func cluster(_ image: Volume, initialCentres: [Double], maxIterations: Int = 300) throws -> Result {
        let k = initialCentres.count
        guard (1...255).contains(k) else {
            throw MedGridError(.invalidInput, "k-means: \(k) initial centres (expected 1...255)")
        }
        for (i, c) in initialCentres.enumerated() where !c.isFinite {
            throw MedGridError(.invalidInput, "k-means: initialCentres[\(i)] is \(c) (expected a finite value)")
        }
        guard maxIterations >= 1 else {
            throw MedGridError(.invalidInput, "k-means: maxIterations is \(maxIterations) (expected >= 1)")
        }
        let n = image.voxels.count
        let chunkSize = 1 << 16
        let chunks = (n + chunkSize - 1) / chunkSize
        var centres = initialCentres
        var assignment = [UInt8](repeating: 0, count: n)
        var sums = [Double](repeating: 0, count: chunks * k)
        var counts = [Int](repeating: 0, count: chunks * k)
        var changed = [Bool](repeating: false, count: chunks)
        var iterations = 0
        var converged = false
        var totalCounts = [Int](repeating: 0, count: k)

        while iterations < maxIterations {
            iterations += 1
            let any = assign(image, centres, &assignment, &sums, &counts, &changed, first: iterations == 1)
            var totalSums = [Double](repeating: 0, count: k)
            totalCounts = [Int](repeating: 0, count: k)
            for chunk in 0..<chunks {
                for j in 0..<k {
                    totalSums[j] += sums[chunk * k + j]
                    totalCounts[j] += counts[chunk * k + j]
                }
            }
            for j in 0..<k where totalCounts[j] > 0 { centres[j] = totalSums[j] / Double(totalCounts[j]) }
            if !any {
                converged = true
                break
            }
        }
        if !converged {
            // Like scikit-learn: a last assignment so that the labels match the final centres.
            _ = assign(image, centres, &assignment, &sums, &counts, &changed, first: false)
            totalCounts = [Int](repeating: 0, count: k)
            for chunk in 0..<chunks {
                for j in 0..<k { totalCounts[j] += counts[chunk * k + j] }
            }
        }
        guard totalCounts.reduce(0, +) > 0 else {
            throw MedGridError(.invalidInput, "k-means: the image has no voxel that is not NaN")
        }

        // Rank by centre (stable), then relabel.
        let order = (0..<k).sorted { centres[$0] != centres[$1] ? centres[$0] < centres[$1] : $0 < $1 }
        var rank = [Float](repeating: 0, count: k)
        for (r, j) in order.enumerated() { rank[j] = Float(r) }
        var out = image
        out.voxels.withUnsafeMutableBufferPointer { b in
            assignment.withUnsafeBufferPointer { a in
                for i in b.indices { b[i] = b[i].isNaN ? 0 : rank[Int(a[i])] }
            }
        }
        out.storedType = .uint8
        return Result(
            centres: order.map { centres[$0] }, labels: out, iterations: iterations, converged: converged,
            voxelCounts: order.map { totalCounts[$0] })
    }

    /// Clusters into `classes` clusters with centres initialised from quantiles: centre `i` is the
    /// `(i + 0.5) / classes` quantile of the non-NaN values (numpy "linear").
    ///
    /// - Throws: as ``cluster(_:initialCentres:maxIterations:)``.
    public static func cluster(_ image: Volume, classes: Int, maxIterations: Int = 300) throws -> Result {
        guard (1...255).contains(classes) else {
            throw MedGridError(.invalidInput, "k-means: classes is \(classes) (expected 1...255)")
        }
        var values = image.voxels.filter { !$0.isNaN }
        guard !values.isEmpty else {
            throw MedGridError(.invalidInput, "k-means: the image has no voxel that is not NaN")
        }
        values.sort()
        let centres = (0..<classes).map { quantile(sorted: values, (Double($0) + 0.5) / Double(classes)) }
        return try cluster(image, initialCentres: centres, maxIterations: maxIterations)
    }

    /// One assignment pass over fixed chunks: nearest centre per voxel, per-chunk sums and counts.
    /// Returns whether any assignment changed (always `true` on the first pass).
    private static func assign(
        _ image: Volume, _ centres: [Double], _ assignment: inout [UInt8], _ sums: inout [Double],
        _ counts: inout [Int], _ changed: inout [Bool], first: Bool
    ) -> Bool {
        let k = centres.count
        let n = image.voxels.count
        let chunkSize = 1 << 16
        let chunks = (n + chunkSize - 1) / chunkSize
        let squares = centres.map { $0 * $0 }
        image.voxels.withUnsafeBufferPointer { v in
            centres.withUnsafeBufferPointer { c in
                squares.withUnsafeBufferPointer { cc in
                    assignment.withUnsafeMutableBufferPointer { a in
                        sums.withUnsafeMutableBufferPointer { s in
                            counts.withUnsafeMutableBufferPointer { m in
                                changed.withUnsafeMutableBufferPointer { ch in
                                    SegmentationSupport.forEachChunk(chunks) { chunk in
                                        let sp = s.baseAddress! + chunk * k, mp = m.baseAddress! + chunk * k
                                        for j in 0..<k { sp[j] = 0; mp[j] = 0 }
                                        var any = false
                                        for i in (chunk * chunkSize)..<min(n, (chunk + 1) * chunkSize) {
                                            let x = Double(v[i])
                                            if x.isNaN { continue }
                                            var best = 0
                                            var bestDistance = cc[0] - 2 * (x * c[0])
                                            for j in 1..<k {
                                                let d = cc[j] - 2 * (x * c[j])
                                                if d < bestDistance { bestDistance = d; best = j }
                                            }
                                            if first || a[i] != UInt8(best) { any = true }
                                            a[i] = UInt8(best)
                                            sp[best] += x
                                            mp[best] += 1
                                        }
                                        ch[chunk] = any
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return changed.contains(true)
    }

    /// numpy "linear" quantile (q in 0...1) of sorted values, with numpy's two-sided lerp.
    static func quantile(sorted: [Float], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = min(Int(position.rounded(.down)), sorted.count - 1)
        let upper = min(lower + 1, sorted.count - 1)
        let t = position - Double(lower)
        let a = Double(sorted[lower]), b = Double(sorted[upper])
        let difference = b - a
        return t >= 0.5 ? b - difference * (1 - t) : a + difference * t
    }
}

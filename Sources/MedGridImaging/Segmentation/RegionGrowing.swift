import MedGridCore

/// Region growing from seed voxels.
///
/// Conventions shared by both methods:
/// - Seeds are voxel indices `(x, y, z)`; a seed outside the image throws (SimpleITK would skip it).
/// - The result is a 0/1 mask (uint8) with the image's geometry: the voxels inside the intensity
///   interval that are connected to at least one seed through voxels inside the interval. A seed whose
///   own value is outside the interval grows nothing.
/// - Interval bounds are inclusive and compared in Float (SimpleITK casts them to the float pixel
///   type). NaN voxels are never inside.
/// - Implemented as connected-run labelling of the interval (parallel over fixed z-slabs, so the
///   result does not depend on threads) and keeping the components that hold a seed.
public enum RegionGrowing {
    /// Connected threshold: voxels with `lower <= value <= upper` connected to a seed — SimpleITK
    /// `ConnectedThreshold(image, seedList, lower, upper, replaceValue=1, connectivity)` with
    /// `FaceConnectivity` (6) or `FullConnectivity` (26); 18 is also accepted.
    ///
    /// - Throws: `MedGridError` `.invalidInput` when there are no seeds, a seed is outside the image,
    ///   a bound is NaN or `lower > upper`.
    public static func connectedThreshold(
        _ image: Volume, seeds: [SIMD3<Int>], lower: Float, upper: Float, connectivity: Connectivity = .face
    ) throws -> Volume {
        guard !lower.isNaN, !upper.isNaN, lower <= upper else {
            throw MedGridError(.invalidInput, "connected threshold lower \(lower) / upper \(upper): expected lower <= upper, neither NaN")
        }
        try SegmentationSupport.checkVoxelCount(image, "connected threshold")
        guard !seeds.isEmpty else { throw MedGridError(.invalidInput, "connected threshold: seeds is empty (expected at least one voxel)") }
        for (i, s) in seeds.enumerated() { _ = try SegmentationSupport.seedIndex(s, in: image, position: i) }
        return grow(image, seeds: seeds, lower: lower, upper: upper, connectivity: connectivity)
    }

    /// Keeps the interval components holding a seed.
    static func grow(
        _ image: Volume, seeds: [SIMD3<Int>], lower: Float, upper: Float, connectivity: Connectivity,
        slabDepth: Int = RunLabeling.defaultSlabDepth
    ) -> Volume {
        let runs = RunLabeling.label(image, .interval(lower, upper), connectivity, slabDepth: slabDepth)
        var marked = [Bool](repeating: false, count: runs.runCount)
        for s in seeds {
            if let r = runs.run(containing: s.x, s.y, s.z) { marked[Int(runs.root[r])] = true }
        }
        var output = [Float](repeating: 0, count: image.voxelCount)
        marked.withUnsafeBufferPointer { m in
            runs.root.withUnsafeBufferPointer { root in
                runs.paint(into: &output, slabDepth: slabDepth) { m[Int(root[$0])] ? 1 : 0 }
            }
        }
        var out = image
        out.voxels = output
        out.storedType = .uint8
        return out
    }

    /// Result of confidence-connected region growing.
    public struct ConfidenceResult: Sendable, Equatable {
        /// 0/1 mask of the grown region.
        public var mask: Volume
        /// Mean of the statistics that set the last interval.
        public var mean: Double
        /// Sample variance (divide by n − 1) of the statistics that set the last interval.
        public var variance: Double
        /// Lower bound of the last interval used (inclusive, the Float compared against).
        public var lower: Float
        /// Upper bound of the last interval used (inclusive, the Float compared against).
        public var upper: Float
    }

    /// Confidence connected — SimpleITK `ConfidenceConnected(image, seedList, numberOfIterations,
    /// multiplier, initialNeighborhoodRadius, replaceValue=1)` (ITK 5.4), face (6) connectivity by default.
    ///
    /// Algorithm (ITK's):
    /// 1. Initial statistics. With radius r > 0: for each seed the mean and the sum of squares over the
    ///    `(2r+1)³` box around it (voxels past the border repeat the edge voxel, ITK's zero-flux
    ///    boundary); `mean` = average of the seed means; `variance = (Σ sumsOfSquares − mean²·M) / (M − 1)`
    ///    with `M = seeds × (2r+1)³`. With r = 0: mean and sample variance of the seed values.
    /// 2. Interval `mean ± multiplier·√variance`, widened to contain every seed's value, clamped to the
    ///    Float range and rounded to Float; grow the connected region from the seeds.
    /// 3. `iterations` times: mean and sample variance of the voxels in the current region (sums in
    ///    Double, raster order); stop early if the variance is zero (within 0.1·ε); otherwise recompute
    ///    the interval as in 2 and grow again from the seeds.
    ///
    /// Divergence: with a single seed and radius 0 the seed variance is 0/0; ITK then grows nothing,
    /// here the interval collapses to the seed's value. A NaN seed value throws.
    ///
    /// - Throws: `MedGridError` `.invalidInput` for no seeds, a seed outside the image, a NaN seed value,
    ///   a negative radius or iteration count, or a multiplier that is not finite.
    public static func confidenceConnected(
        _ image: Volume, seeds: [SIMD3<Int>], iterations: Int = 4, multiplier: Double = 4.5,
        initialNeighborhoodRadius: Int = 1, connectivity: Connectivity = .face
    ) throws -> ConfidenceResult {
        try SegmentationSupport.checkVoxelCount(image, "confidence connected")
        guard !seeds.isEmpty else { throw MedGridError(.invalidInput, "confidence connected: seeds is empty (expected at least one voxel)") }
        guard iterations >= 0 else { throw MedGridError(.invalidInput, "confidence connected: iterations is \(iterations) (expected >= 0)") }
        guard multiplier.isFinite else { throw MedGridError(.invalidInput, "confidence connected: multiplier is \(multiplier) (expected a finite value)") }
        let radius = initialNeighborhoodRadius
        guard radius >= 0, radius <= 1000 else {
            throw MedGridError(.invalidInput, "confidence connected: initialNeighborhoodRadius is \(radius) (expected 0...1000)")
        }
        var seedValues: [Double] = []
        for (i, s) in seeds.enumerated() {
            let v = image.voxels[try SegmentationSupport.seedIndex(s, in: image, position: i)]
            guard !v.isNaN else { throw MedGridError(.invalidInput, "confidence connected: seeds[\(i)] is a NaN voxel") }
            seedValues.append(Double(v))
        }

        var mean = 0.0, variance = 0.0
        if radius > 0 {
            let size = image.size
            var sumOfSquares = 0.0
            for s in seeds {
                var sum = 0.0, squares = 0.0
                for dz in -radius...radius {
                    let z = min(max(s.z + dz, 0), size.z - 1)
                    for dy in -radius...radius {
                        let y = min(max(s.y + dy, 0), size.y - 1)
                        for dx in -radius...radius {
                            let x = min(max(s.x + dx, 0), size.x - 1)
                            let v = Double(image.voxels[image.index(x, y, z)])
                            sum += v
                            squares += v * v
                        }
                    }
                }
                let neighbourhood = Double((2 * radius + 1) * (2 * radius + 1) * (2 * radius + 1))
                mean += sum / neighbourhood
                sumOfSquares += squares
            }
            let total = Double(seeds.count) * Double((2 * radius + 1) * (2 * radius + 1) * (2 * radius + 1))
            mean /= Double(seeds.count)
            variance = (sumOfSquares - mean * mean * total) / (total - 1)
        } else {
            var sum = 0.0, squares = 0.0
            for v in seedValues { sum += v; squares += v * v }
            let n = Double(seeds.count)
            mean = sum / n
            variance = (squares - sum * sum / n) / (n - 1)
        }
        let lowestSeed = seedValues.min()!, highestSeed = seedValues.max()!

        func interval(_ mean: Double, _ variance: Double) -> (Float, Float) {
            var lower = mean - multiplier * variance.squareRoot()
            var upper = mean + multiplier * variance.squareRoot()
            if lower > lowestSeed || lower.isNaN { lower = lowestSeed }
            if upper < highestSeed || upper.isNaN { upper = highestSeed }
            lower = max(lower, -Double(Float.greatestFiniteMagnitude))
            upper = min(upper, Double(Float.greatestFiniteMagnitude))
            return (Float(lower), Float(upper))
        }

        var (lower, upper) = interval(mean, variance)
        var mask = grow(image, seeds: seeds, lower: lower, upper: upper, connectivity: connectivity)
        for _ in 0..<iterations {
            var sum = 0.0, squares = 0.0, count = 0
            image.voxels.withUnsafeBufferPointer { v in
                mask.voxels.withUnsafeBufferPointer { m in
                    for i in v.indices where m[i] != 0 {
                        let x = Double(v[i])
                        sum += x
                        squares += x * x
                        count += 1
                    }
                }
            }
            mean = sum / Double(count)
            variance = (squares - sum * sum / Double(count)) / (Double(count) - 1)
            if abs(variance) <= 0.1 * Double.ulpOfOne { break }
            (lower, upper) = interval(mean, variance)
            mask = grow(image, seeds: seeds, lower: lower, upper: upper, connectivity: connectivity)
        }
        return ConfidenceResult(mask: mask, mean: mean, variance: variance, lower: lower, upper: upper)
    }
}

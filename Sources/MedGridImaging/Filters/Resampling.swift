import Foundation
import MedGridCore

/// How ``Volume/resampled(toSpacing:interpolation:defaultValue:)`` reads the input between voxel centres.
public enum ResamplingInterpolation: String, Sendable, CaseIterable {
    /// Trilinear interpolation (SimpleITK `sitkLinear`), for images. The result is stored as `.float32`.
    case linear
    /// The nearest voxel, ties rounded up (SimpleITK `sitkNearestNeighbor`), for masks and label maps.
    /// The stored type is kept.
    case nearest
}

extension Volume {
    /// The largest number of voxels a resampled volume may have (2³⁰, 4 GiB of Float).
    static let maximumResampledVoxels = 1 << 30

    /// Resamples onto a grid with the same origin and direction and a new spacing.
    ///
    /// Convention (that of SimpleITK `ResampleImageFilter` with an identity transform, output origin and
    /// direction equal to the input's, output spacing `newSpacing` and the given size; the reference tests
    /// hold `.linear` to 1e-4 and `.nearest` exactly):
    /// - **output size** per axis is `max(1, round(size · spacing / newSpacing))`, rounding halves away from
    ///   zero; **origin** (the centre of voxel 0) and **direction** are unchanged, so the first voxel centre
    ///   stays put and the grid may end short of, or run past, the old extent;
    /// - output voxel `i` along an axis lies at continuous input index `c = i · newSpacing / spacing`
    ///   (the physical point mapped back, which is exact for any invertible direction);
    /// - a voxel is **inside** when `-0.5 ≤ c < size - 0.5` on every axis (ITK's `IsInsideBuffer`), and is
    ///   `defaultValue` otherwise;
    /// - `.linear`: ITK's trilinear formula on the 8 neighbours `⌊c⌋` and `⌊c⌋ + 1`, with indices clamped to
    ///   the image (so the half-voxel rim copies the edge), in Double, stored as `.float32`;
    /// - `.nearest`: the voxel `⌊c + 0.5⌋` (half up, ITK's `RoundHalfIntegerUp`); the stored type is kept.
    ///
    /// When `c` lands exactly on `size - 0.5` (for example halving the spacing: the last new voxel sits half a
    /// voxel past the last old centre) the voxel is outside. SimpleITK decides such ties, and the `.nearest`
    /// ties `c = m + 0.5`, with its own rounding errors, so it can disagree there.
    ///
    /// Parallel over output rows; the result does not depend on the number of threads.
    ///
    /// - Throws: `MedGridError(.invalidInput)` for a non-finite or non-positive `newSpacing` or input spacing,
    ///   a non-finite `defaultValue`, or an output of more than 2³⁰ voxels.
    public func resampled(
        toSpacing newSpacing: SIMD3<Double>, interpolation: ResamplingInterpolation = .linear,
        defaultValue: Float = 0
    ) throws -> Volume {
        try resampled(
            toSpacing: newSpacing, interpolation: interpolation, defaultValue: defaultValue,
            parallel: .standard)
    }

    /// The output size ``resampled(toSpacing:interpolation:defaultValue:)`` produces, or an error naming the axis.
    public func resampledSize(toSpacing newSpacing: SIMD3<Double>) throws -> SIMD3<Int> {
        let names = ["x", "y", "z"]
        let spacing = try validatedSpacing(for: "resampled")
        var newSize = SIMD3<Int>(1, 1, 1)
        for axis in 0..<3 {
            guard newSpacing[axis].isFinite && newSpacing[axis] > 0 else {
                throw MedGridError(
                    .invalidInput,
                    "resampled: newSpacing.\(names[axis]) is \(newSpacing[axis]) (expected a finite spacing > 0 mm)")
            }
            let extent = (Double(size[axis]) * spacing[axis] / newSpacing[axis]).rounded(.toNearestOrAwayFromZero)
            guard extent <= Double(Self.maximumResampledVoxels) else {
                throw MedGridError(
                    .invalidInput,
                    "resampled: output size along \(names[axis]) would be \(extent) voxels (expected at most 2^30)")
            }
            newSize[axis] = max(1, Int(extent))
        }
        let (xy, o1) = newSize.x.multipliedReportingOverflow(by: newSize.y)
        let (xyz, o2) = xy.multipliedReportingOverflow(by: newSize.z)
        guard !o1, !o2, xyz <= Self.maximumResampledVoxels else {
            throw MedGridError(
                .invalidInput,
                "resampled: output would be \(newSize.x)x\(newSize.y)x\(newSize.z) voxels (expected at most 2^30)")
        }
        return newSize
    }

    /// ``resampled(toSpacing:interpolation:defaultValue:)`` with an explicit number of worker threads (tests).
    func resampled(
        toSpacing newSpacing: SIMD3<Double>, interpolation: ResamplingInterpolation, defaultValue: Float,
        parallel: FilterParallel
    ) throws -> Volume {
        guard defaultValue.isFinite else {
            throw MedGridError(.invalidInput, "resampled: defaultValue is \(defaultValue) (expected a finite value)")
        }
        let newSize = try resampledSize(toSpacing: newSpacing)
        // Per axis: for every output index the lower neighbour, the upper neighbour (clamped), the weight of
        // the upper one, and whether the position is inside the buffer.
        var lower: [[Int]] = [], upper: [[Int]] = [], weight: [[Double]] = [], inside: [[Bool]] = []
        for axis in 0..<3 {
            let n = size[axis]
            var lo = [Int](repeating: 0, count: newSize[axis])
            var hi = lo
            var wt = [Double](repeating: 0, count: newSize[axis])
            var ok = [Bool](repeating: false, count: newSize[axis])
            for i in 0..<newSize[axis] {
                let c = Double(i) * newSpacing[axis] / spacing[axis]
                guard c >= -0.5 && c < Double(n) - 0.5 else { continue }
                ok[i] = true
                switch interpolation {
                case .nearest:
                    lo[i] = min(max(Int((c + 0.5).rounded(.down)), 0), n - 1)
                    hi[i] = lo[i]
                case .linear:
                    var base = Int(c.rounded(.down))
                    var distance = c - Double(base)
                    if base < 0 {
                        base = 0
                        distance = 0
                    }
                    lo[i] = base
                    hi[i] = min(base + 1, n - 1)
                    wt[i] = distance
                }
            }
            lower.append(lo)
            upper.append(hi)
            weight.append(wt)
            inside.append(ok)
        }
        let nx = size.x, planeIn = size.x * size.y
        let ox = newSize.x, oy = newSize.y, oz = newSize.z
        let count = ox * oy * oz
        let result = makeFloatArray(count: count) { outBuffer in
            let out = SharedOutput(base: outBuffer.baseAddress!, count: outBuffer.count)
            voxels.withUnsafeBufferPointer { src in
                parallel.forEachRowChunk(rows: oy * oz, rowCost: ox) { chunk in
                    for row in chunk {
                        let j = row % oy, k = row / oy
                        let o = out.base + row * ox
                        guard inside[1][j] && inside[2][k] else {
                            for i in 0..<ox { o[i] = defaultValue }
                            continue
                        }
                        let y0 = lower[1][j] * nx, y1 = upper[1][j] * nx, dy = weight[1][j]
                        let z0 = lower[2][k] * planeIn, z1 = upper[2][k] * planeIn, dz = weight[2][k]
                        let lowerX = lower[0], upperX = upper[0], weightX = weight[0], insideX = inside[0]
                        for i in 0..<ox {
                            guard insideX[i] else {
                                o[i] = defaultValue
                                continue
                            }
                            let x0 = lowerX[i]
                            switch interpolation {
                            case .nearest:
                                o[i] = src[x0 + y0 + z0]
                            case .linear:
                                let x1 = upperX[i], dx = weightX[i]
                                // ITK LinearInterpolateImageFunction's order of lerps: x, then y, then z.
                                let v000 = Double(src[x0 + y0 + z0]), v100 = Double(src[x1 + y0 + z0])
                                let v010 = Double(src[x0 + y1 + z0]), v110 = Double(src[x1 + y1 + z0])
                                let v001 = Double(src[x0 + y0 + z1]), v101 = Double(src[x1 + y0 + z1])
                                let v011 = Double(src[x0 + y1 + z1]), v111 = Double(src[x1 + y1 + z1])
                                let vx00 = v000 + (v100 - v000) * dx
                                let vx10 = v010 + (v110 - v010) * dx
                                let vx01 = v001 + (v101 - v001) * dx
                                let vx11 = v011 + (v111 - v011) * dx
                                let vxy0 = vx00 + (vx10 - vx00) * dy
                                let vxy1 = vx01 + (vx11 - vx01) * dy
                                o[i] = Float(vxy0 + (vxy1 - vxy0) * dz)
                            }
                        }
                    }
                }
            }
        }
        return Volume(
            size: newSize, spacing: newSpacing, origin: origin, direction: direction, voxels: result,
            storedType: interpolation == .linear ? .float32 : storedType)
    }
}

import Foundation
import MedGridCore

/// How a filter extends an image beyond its edges, named after `scipy.ndimage`'s `mode`.
public enum FilterBoundary: String, Sendable, CaseIterable {
    /// Replicate the edge voxel: `a a a | a b c d | d d d` (scipy `mode='nearest'`, ITK zero-flux Neumann).
    case nearest
    /// Half-sample symmetric reflection, repeated as often as needed: `c b a | a b c d | d c b`
    /// (scipy `mode='reflect'`, numpy `pad(mode='symmetric')`).
    case reflect

    /// The in-image index that out-of-range index `i` of a line of length `n` reads.
    @inline(__always)
    func map(_ i: Int, _ n: Int) -> Int {
        if i >= 0 && i < n { return i }
        switch self {
        case .nearest:
            return i < 0 ? 0 : n - 1
        case .reflect:
            let period = 2 * n
            var m = i % period
            if m < 0 { m += period }
            return m < n ? m : period - 1 - m
        }
    }
}

extension Volume {
    /// The sampled Gaussian kernel half used by ``gaussianSmoothed(sigmaMM:truncate:boundary:)``:
    /// `w[j] = exp(-0.5 / σ² · j²)` for `j = 0...R`, normalised so that `w[0] + 2·Σ_{j≥1} w[j] = 1`, with
    /// `R = Int(truncate · σ + 0.5)` — the radius and weights of `scipy.ndimage.gaussian_filter1d`.
    static func gaussianKernelHalf(sigmaVoxels sigma: Double, truncate: Double) -> [Double] {
        let radius = Int(truncate * sigma + 0.5)
        let sigma2 = sigma * sigma
        var w = [Double](repeating: 0, count: radius + 1)
        for j in 0...radius { w[j] = exp(-0.5 / sigma2 * Double(j * j)) }
        var sum = w[0]
        for j in stride(from: radius, through: 1, by: -1) { sum += 2 * w[j] }
        for j in 0...radius { w[j] /= sum }
        return w
    }

    /// Gaussian smoothing with a standard deviation given in millimetres per axis.
    ///
    /// Definition (matches `scipy.ndimage.gaussian_filter(image, sigma=σ_mm / spacing, truncate=truncate,
    /// mode=boundary)` on a float32 array; the reference tests hold it to 1e-5 relative):
    /// - per axis, `σ_voxels = σ_mm / spacing`; an axis with `σ_voxels ≤ 1e-15` is left alone;
    /// - the kernel is the **sampled** Gaussian `exp(-j² / (2σ²))` for `|j| ≤ R`, `R = Int(truncate·σ + 0.5)`
    ///   (scipy's radius), normalised to sum 1 — not the ITK "discrete Gaussian" (Bessel) kernel and not a
    ///   recursive IIR approximation, so SimpleITK's `DiscreteGaussian` / `SmoothingRecursiveGaussian` agree
    ///   only approximately (see Reference/filters/README.md);
    /// - separable: the axes are filtered z, then y, then x (scipy's axis order for a `[z, y, x]` array); each
    ///   1-D pass accumulates in Double and stores Float, as scipy does for float32 input;
    /// - beyond the edges the image is extended by `boundary` (default `.nearest`, scipy `mode='nearest'`).
    ///
    /// Geometry is unchanged; the result is stored as `.float32`. NaN voxels spread NaN within the kernel.
    /// Cost: `O(N · Σ_axes R)`, parallel over rows; the result does not depend on the number of threads.
    ///
    /// - Parameters:
    ///   - sigmaMM: standard deviation along x, y, z in millimetres (each finite and `≥ 0`).
    ///   - truncate: kernel radius in standard deviations (finite, `> 0`; scipy's default 4.0).
    ///   - boundary: edge extension (`.nearest` by default).
    /// - Throws: `MedGridError(.invalidInput)` for a negative or non-finite sigma or truncate, a non-positive
    ///   spacing, or a kernel radius above 100 000 voxels.
    public func gaussianSmoothed(
        sigmaMM: SIMD3<Double>, truncate: Double = 4.0, boundary: FilterBoundary = .nearest
    ) throws -> Volume {
        try gaussianSmoothed(
            sigmaMM: sigmaMM, truncate: truncate, boundary: boundary,
            parallel: .standard)
    }

    /// Isotropic Gaussian smoothing: ``gaussianSmoothed(sigmaMM:truncate:boundary:)`` with the same σ (mm) on
    /// every axis.
    public func gaussianSmoothed(
        sigmaMM: Double, truncate: Double = 4.0, boundary: FilterBoundary = .nearest
    ) throws -> Volume {
        try gaussianSmoothed(sigmaMM: SIMD3(repeating: sigmaMM), truncate: truncate, boundary: boundary)
    }

    /// ``gaussianSmoothed(sigmaMM:truncate:boundary:)`` with an explicit number of worker threads (tests).
    func gaussianSmoothed(
        sigmaMM: SIMD3<Double>, truncate: Double, boundary: FilterBoundary, parallel: FilterParallel
    ) throws -> Volume {
        let names = ["x", "y", "z"]
        for axis in 0..<3 where !(sigmaMM[axis].isFinite && sigmaMM[axis] >= 0) {
            throw MedGridError(
                .invalidInput, "gaussianSmoothed: sigmaMM.\(names[axis]) is \(sigmaMM[axis]) (expected finite and >= 0)")
        }
        guard truncate.isFinite && truncate > 0 else {
            throw MedGridError(.invalidInput, "gaussianSmoothed: truncate is \(truncate) (expected finite and > 0)")
        }
        let spacing = try validatedSpacing(for: "gaussianSmoothed")
        var kernels: [[Double]?] = [nil, nil, nil]
        for axis in 0..<3 {
            let sigma = sigmaMM[axis] / spacing[axis]
            guard sigma > 1e-15 else { continue }
            let radius = truncate * sigma + 0.5
            guard radius <= 100_000 else {
                throw MedGridError(
                    .invalidInput,
                    "gaussianSmoothed: kernel radius along \(names[axis]) would be \(radius.rounded(.down)) voxels "
                        + "(sigma \(sigma) voxels × truncate \(truncate); expected at most 100000)")
            }
            kernels[axis] = Self.gaussianKernelHalf(sigmaVoxels: sigma, truncate: truncate)
        }
        var data = voxels
        // scipy filters axis 0 of a [z, y, x] array first: z, then y, then x.
        for axis in [2, 1, 0] {
            guard let w = kernels[axis], w.count > 1 else { continue }
            data = Self.correlateSymmetric(
                data, size: size, axis: axis, halfKernel: w, boundary: boundary, parallel: parallel)
        }
        return withVoxels(data, storedType: .float32)
    }

    /// One separable pass: `out = w[0]·c + Σ_{j=R…1} w[j]·(left_j + right_j)` in Double, written as Float
    /// (the summation order of scipy's symmetric `correlate1d`). Vectorised along x for every axis.
    static func correlateSymmetric(
        _ input: [Float], size: SIMD3<Int>, axis: Int, halfKernel w: [Double], boundary: FilterBoundary,
        parallel: FilterParallel
    ) -> [Float] {
        let nx = size.x, ny = size.y, nz = size.z
        let rows = ny * nz
        let radius = w.count - 1
        return makeFloatArray(count: input.count) { outBuffer in
            let out = SharedOutput(base: outBuffer.baseAddress!, count: outBuffer.count)
            input.withUnsafeBufferPointer { src in
                w.withUnsafeBufferPointer { w in
                    parallel.forEachRowChunk(rows: rows, rowCost: nx * (radius + 1)) { chunk in
                        let padLength = axis == 0 ? nx + 2 * radius : 0
                        var acc = [Double](repeating: 0, count: nx)
                        var pad = [Double](repeating: 0, count: padLength)
                        acc.withUnsafeMutableBufferPointer { acc in
                            pad.withUnsafeMutableBufferPointer { pad in
                                for row in chunk {
                                    let y = row % ny, z = row / ny
                                    let rowStart = row * nx
                                    let o = out.base + rowStart
                                    switch axis {
                                    case 0:
                                        for p in 0..<padLength {
                                            pad[p] = Double(src[rowStart + boundary.map(p - radius, nx)])
                                        }
                                        let w0 = w[0]
                                        for x in 0..<nx { acc[x] = pad[x + radius] * w0 }
                                        for j in stride(from: radius, through: 1, by: -1) {
                                            let wj = w[j]
                                            for x in 0..<nx { acc[x] += (pad[x + radius - j] + pad[x + radius + j]) * wj }
                                        }
                                    default:
                                        let n = axis == 1 ? ny : nz
                                        let i = axis == 1 ? y : z
                                        let step = axis == 1 ? nx : nx * ny
                                        let centre = src.baseAddress! + rowStart
                                        let w0 = w[0]
                                        for x in 0..<nx { acc[x] = Double(centre[x]) * w0 }
                                        for j in stride(from: radius, through: 1, by: -1) {
                                            let wj = w[j]
                                            let left = centre + (boundary.map(i - j, n) - i) * step
                                            let right = centre + (boundary.map(i + j, n) - i) * step
                                            for x in 0..<nx { acc[x] += (Double(left[x]) + Double(right[x])) * wj }
                                        }
                                    }
                                    for x in 0..<nx { o[x] = Float(acc[x]) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

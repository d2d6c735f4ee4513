import MedGridCore

extension Volume {
    /// Median filter over a box neighbourhood of `(2·radius.x + 1) × (2·radius.y + 1) × (2·radius.z + 1)` voxels.
    ///
    /// Definition (matches SimpleITK `MedianImageFilter` with `SetRadius(radius)` exactly, bit for bit):
    /// - the neighbourhood of voxel `(x, y, z)` is every `(x+i, y+j, z+k)` with `|i| ≤ radius.x`,
    ///   `|j| ≤ radius.y`, `|k| ≤ radius.z`; it always holds an odd number `n` of values;
    /// - **boundary**: indices outside the image are clamped to the nearest edge voxel (replicate edge = ITK's
    ///   zero-flux Neumann condition, scipy `median_filter(mode='nearest')`), so edge voxels count several times;
    /// - the result is the `(n / 2)`-th smallest value (0-based) — the exact middle, no averaging, which is
    ///   ITK's `nth_element` at `n / 2`. `-0.0` and `+0.0` compare equal, so either may be returned.
    ///
    /// Geometry and `storedType` are unchanged (the median is always one of the input values).
    ///
    /// Algorithm: along each row the `(2·radius.y+1)(2·radius.z+1)` values of every yz-column are sorted once
    /// by a Batcher sorting network run on whole rows (branch-free, vectorised along x; 26 compare-exchanges
    /// for radius 1), and each window's median is selected from its `2·radius.x+1` sorted columns by a
    /// branch-free multi-way merge of `n/2` steps — `O(n · radius.x)` per voxel, no allocation per voxel.
    /// Parallel over rows; the result does not depend on the number of threads or chunks.
    ///
    /// - Throws: `MedGridError(.invalidInput)` if a radius component is negative or above 50, or the image
    ///   contains NaN (which has no place in an order; the message names the first NaN voxel).
    public func medianFiltered(radius: SIMD3<Int>) throws -> Volume {
        try medianFiltered(radius: radius, parallel: .standard)
    }

    /// ``medianFiltered(radius:)-(SIMD3<Int>)`` with the same radius (in voxels) on every axis.
    public func medianFiltered(radius: Int) throws -> Volume {
        try medianFiltered(radius: SIMD3(repeating: radius))
    }

    /// ``medianFiltered(radius:)-(SIMD3<Int>)`` with an explicit number of worker threads (tests).
    func medianFiltered(radius: SIMD3<Int>, parallel: FilterParallel) throws -> Volume {
        let names = ["x", "y", "z"]
        for axis in 0..<3 where !(0...50).contains(radius[axis]) {
            throw MedGridError(
                .invalidInput, "medianFiltered: radius.\(names[axis]) is \(radius[axis]) (expected 0...50 voxels)")
        }
        if let nan = voxels.firstIndex(where: { $0.isNaN }) {
            let x = nan % size.x, y = (nan / size.x) % size.y, z = nan / (size.x * size.y)
            throw MedGridError(
                .invalidInput, "medianFiltered: voxel (\(x), \(y), \(z)) is NaN (expected no NaN values)")
        }
        if radius == SIMD3(repeating: 0) { return self }
        let result = Self.median(voxels, size: size, radius: radius, parallel: parallel)
        return withVoxels(result, storedType: storedType)
    }

    /// Knuth's Algorithm 5.2.2M (Batcher's merge exchange): a sorting network for any `n`, as compare-exchange
    /// pairs `(i, j)`, `i < j`, after which position `i` holds the smaller value. 26 pairs for `n = 9`.
    static func batcherSortingNetwork(_ n: Int) -> [(Int, Int)] {
        guard n > 1 else { return [] }
        var pairs: [(Int, Int)] = []
        let t = Int.bitWidth - (n - 1).leadingZeroBitCount
        var p = 1 << (t - 1)
        while p > 0 {
            var q = 1 << (t - 1), r = 0, d = p
            while true {
                for i in 0..<(n - d) where i & p == r { pairs.append((i, i + d)) }
                if q == p { break }
                d = q - p
                q >>= 1
                r = p
            }
            p >>= 1
        }
        return pairs
    }

    /// The median filter on raw voxels (no NaN). For each row of output voxels:
    /// 1. the `m = (2ry+1)(2rz+1)` clamped neighbour rows are copied into an `(m + 1) × (nx + 2rx)` scratch
    ///    matrix (x padded by replicating the edge voxels), and every column is sorted by a Batcher network
    ///    applied to whole rows at once (branch-free min/max, vectorised along x); row `m` is +∞, a sentinel;
    /// 2. the window of output voxel `x` is the `2rx + 1` sorted columns `x … x + 2rx`; its `k`-th value
    ///    (`k = n / 2`) is found by popping the smallest column head `k` times, branch-free, then taking the
    ///    smallest head. A +∞ sentinel is only popped when every head is +∞, so the answer is still right.
    static func median(_ input: [Float], size: SIMD3<Int>, radius: SIMD3<Int>, parallel: FilterParallel) -> [Float] {
        let nx = size.x, ny = size.y, nz = size.z
        let rx = radius.x, ry = radius.y, rz = radius.z
        let m = (2 * ry + 1) * (2 * rz + 1)
        let lists = 2 * rx + 1
        let k = (lists * m) / 2
        let width = nx + 2 * rx
        let network = batcherSortingNetwork(m)
        return makeFloatArray(count: input.count) { outBuffer in
            let out = SharedOutput(base: outBuffer.baseAddress!, count: outBuffer.count)
            input.withUnsafeBufferPointer { src in
                network.withUnsafeBufferPointer { network in
                    parallel.forEachRowChunk(rows: ny * nz, rowCost: nx * (network.count / 4 + k * lists)) { chunk in
                        let sorted = UnsafeMutablePointer<Float>.allocate(capacity: (m + 1) * width)
                        let heads = UnsafeMutablePointer<Int>.allocate(capacity: lists)
                        defer {
                            sorted.deallocate()
                            heads.deallocate()
                        }
                        for p in 0..<width { sorted[m * width + p] = .infinity }
                        for row in chunk {
                            let y = row % ny, z = row / ny
                            var c = 0
                            for dz in -rz...rz {
                                let zz = min(max(z + dz, 0), nz - 1)
                                for dy in -ry...ry {
                                    let yy = min(max(y + dy, 0), ny - 1)
                                    let line = src.baseAddress! + nx * (yy + ny * zz)
                                    let target = sorted + c * width
                                    for p in 0..<rx { target[p] = line[0] }
                                    for x in 0..<nx { target[rx + x] = line[x] }
                                    for p in 0..<rx { target[rx + nx + p] = line[nx - 1] }
                                    c += 1
                                }
                            }
                            for (i, j) in network {
                                let a = sorted + i * width, b = sorted + j * width
                                for p in 0..<width {
                                    let u = a[p], v = b[p]
                                    a[p] = min(u, v)
                                    b[p] = max(u, v)
                                }
                            }
                            let o = out.base + row * nx
                            if lists == 1 {
                                let middle = sorted + k * width
                                for x in 0..<nx { o[x] = middle[x] }
                            } else if lists == 3 {
                                // Four voxels at a time: independent merge chains hide the load latency.
                                var x = 0
                                if (m + 1) * width + 8 < Int(Int32.max) {
                                    let step = SIMD4<Int32>(repeating: Int32(width))
                                    let cap = SIMD4<Int32>(repeating: Int32(m * width))
                                    let zero = SIMD4<Int32>(repeating: 0)
                                    while x + 4 <= nx {
                                        let base = sorted + x
                                        var ha = zero, hb = zero, hc = zero
                                        for _ in 0..<k {
                                            let a = SIMD4<Float>(
                                                base[Int(ha[0])], base[Int(ha[1]) + 1], base[Int(ha[2]) + 2],
                                                base[Int(ha[3]) + 3])
                                            let b = SIMD4<Float>(
                                                base[Int(hb[0]) + 1], base[Int(hb[1]) + 2], base[Int(hb[2]) + 3],
                                                base[Int(hb[3]) + 4])
                                            let c = SIMD4<Float>(
                                                base[Int(hc[0]) + 2], base[Int(hc[1]) + 3], base[Int(hc[2]) + 4],
                                                base[Int(hc[3]) + 5])
                                            let aFirst = (a .<= b) .& (a .<= c)
                                            let bFirst = .!aFirst .& (b .<= c)
                                            let cFirst = .!(aFirst .| bFirst)
                                            ha = pointwiseMin(ha &+ zero.replacing(with: step, where: aFirst), cap)
                                            hb = pointwiseMin(hb &+ zero.replacing(with: step, where: bFirst), cap)
                                            hc = pointwiseMin(hc &+ zero.replacing(with: step, where: cFirst), cap)
                                        }
                                        for q in 0..<4 {
                                            o[x + q] = min(
                                                base[Int(ha[q]) + q], base[Int(hb[q]) + q + 1], base[Int(hc[q]) + q + 2])
                                        }
                                        x += 4
                                    }
                                }
                                while x < nx {
                                    let base = sorted + x
                                    var ha = 0, hb = 0, hc = 0
                                    for _ in 0..<k {
                                        let a = base[ha], b = base[hb + 1], c = base[hc + 2]
                                        let aFirst = (a <= b ? 1 : 0) & (a <= c ? 1 : 0)
                                        let bFirst = (1 - aFirst) & (b <= c ? 1 : 0)
                                        let cFirst = 1 - aFirst - bFirst
                                        ha = min(ha + aFirst * width, m * width)
                                        hb = min(hb + bFirst * width, m * width)
                                        hc = min(hc + cFirst * width, m * width)
                                    }
                                    o[x] = min(base[ha], base[hb + 1], base[hc + 2])
                                    x += 1
                                }
                            } else {
                                for x in 0..<nx {
                                    let base = sorted + x
                                    for l in 0..<lists { heads[l] = l }
                                    for _ in 0..<k {
                                        var best = 0
                                        var bestValue = base[heads[0]]
                                        for l in 1..<lists {
                                            let v = base[heads[l]]
                                            let better = v < bestValue
                                            best = better ? l : best
                                            bestValue = better ? v : bestValue
                                        }
                                        heads[best] = min(heads[best] + width, m * width + best)
                                    }
                                    var answer = base[heads[0]]
                                    for l in 1..<lists { answer = min(answer, base[heads[l]]) }
                                    o[x] = answer
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

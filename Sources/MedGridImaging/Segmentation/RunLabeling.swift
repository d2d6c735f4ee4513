/// Which voxels the run-based labeller treats as foreground.
enum RunForeground: Sendable {
    /// Mask foreground: value != 0 and not NaN.
    case nonzero
    /// Mask background: value == 0 or NaN.
    case zero
    /// `lower <= value <= upper` (both inclusive, compared in Float; NaN is outside).
    case interval(Float, Float)
}

/// Connected runs of a 3-D image: the shared engine behind components, hole filling and region growing.
///
/// A *run* is a maximal stretch of foreground voxels along x in one row `(y, z)`. Runs are numbered in
/// raster order (row `y + ny * z`, then x). Runs are joined with a union-find whose root is always the
/// smallest run index of the set, so a component's root is the run holding its first voxel in raster
/// order and the roots do not depend on the order of unions.
///
/// Parallelism: rows are split into z-slabs of a fixed depth (independent of the thread count). Each slab
/// finds and joins its runs on its own; the joins across slab boundaries follow, serially, in slab order.
/// The final roots are canonical (minimum index), so the result is identical for any thread count.
struct RunLabeling {
    /// x of the first voxel of each run.
    var start: [Int32]
    /// x of the last voxel of each run (inclusive).
    var end: [Int32]
    /// `rowFirst[r] ..< rowFirst[r + 1]` are the runs of row `r = y + ny * z`.
    var rowFirst: [Int32]
    /// Root run of each run (the smallest run index of its component).
    var root: [Int32]
    var size: SIMD3<Int>

    var runCount: Int { start.count }

    /// Default z-slab depth; fixed, so chunk boundaries never depend on the machine.
    static let defaultSlabDepth = 8

    /// Neighbour rows earlier in raster order, as (dy, dz, x tolerance): runs in those rows touch a run
    /// when their x ranges, widened by the tolerance, overlap.
    static func neighbourRows(_ connectivity: Connectivity) -> [(dy: Int, dz: Int, tolerance: Int32)] {
        switch connectivity {
        case .face: return [(-1, 0, 0), (0, -1, 0)]
        case .edge: return [(-1, 0, 1), (0, -1, 1), (-1, -1, 0), (1, -1, 0)]
        case .vertex: return [(-1, 0, 1), (0, -1, 1), (-1, -1, 1), (1, -1, 1)]
        }
    }

    /// Per-slab results (local run indices), filled by one worker each.
    private final class Slab: @unchecked Sendable {
        var start: [Int32] = []
        var end: [Int32] = []
        var rowFirst: [Int32] = []
        var parent: [Int32] = []
    }

    @inline(__always)
    private static func find(_ parent: UnsafeMutablePointer<Int32>, _ i: Int32) -> Int32 {
        var x = i
        while parent[Int(x)] != x {
            let p = parent[Int(parent[Int(x)])]
            parent[Int(x)] = p
            x = p
        }
        return x
    }

    @inline(__always)
    private static func union(_ parent: UnsafeMutablePointer<Int32>, _ a: Int32, _ b: Int32) {
        let ra = find(parent, a), rb = find(parent, b)
        if ra < rb { parent[Int(rb)] = ra } else if rb < ra { parent[Int(ra)] = rb }
    }

    /// Joins the runs `a0..<a1` of one row with the touching runs `b0..<b1` of a neighbour row.
    @inline(__always)
    private static func joinRows(
        _ start: UnsafePointer<Int32>, _ end: UnsafePointer<Int32>, _ parent: UnsafeMutablePointer<Int32>,
        _ a0: Int, _ a1: Int, _ b0: Int, _ b1: Int, _ tolerance: Int32
    ) {
        var i = a0, j = b0
        while i < a1 && j < b1 {
            if end[i] + tolerance < start[j] {
                i += 1
            } else if end[j] + tolerance < start[i] {
                j += 1
            } else {
                union(parent, Int32(i), Int32(j))
                if end[i] < end[j] { i += 1 } else { j += 1 }
            }
        }
    }

    /// Appends the runs of one row of `values` (x fastest) to the slab.
    @inline(__always)
    private static func scanRow(_ row: UnsafePointer<Float>, _ nx: Int, _ rule: RunForeground, _ slab: Slab) {
        var x = 0
        switch rule {
        case .nonzero:
            while x < nx {
                while x < nx && !(row[x] != 0 && !row[x].isNaN) { x += 1 }
                if x == nx { break }
                let s = x
                while x < nx && row[x] != 0 && !row[x].isNaN { x += 1 }
                slab.start.append(Int32(s)); slab.end.append(Int32(x - 1))
            }
        case .zero:
            while x < nx {
                while x < nx && row[x] != 0 && !row[x].isNaN { x += 1 }
                if x == nx { break }
                let s = x
                while x < nx && !(row[x] != 0 && !row[x].isNaN) { x += 1 }
                slab.start.append(Int32(s)); slab.end.append(Int32(x - 1))
            }
        case .interval(let lower, let upper):
            while x < nx {
                while x < nx && !(row[x] >= lower && row[x] <= upper) { x += 1 }
                if x == nx { break }
                let s = x
                while x < nx && row[x] >= lower && row[x] <= upper { x += 1 }
                slab.start.append(Int32(s)); slab.end.append(Int32(x - 1))
            }
        }
    }

    /// Labels the runs of `image` selected by `rule` under `connectivity`.
    /// The caller has checked that the voxel count fits in `Int32`.
    static func label(
        _ image: Volume, _ rule: RunForeground, _ connectivity: Connectivity, slabDepth: Int = defaultSlabDepth
    ) -> RunLabeling {
        let nx = image.size.x, ny = image.size.y, nz = image.size.z
        let depth = max(1, slabDepth)
        let slabCount = (nz + depth - 1) / depth
        let slabs = (0..<slabCount).map { _ in Slab() }
        let neighbours = neighbourRows(connectivity)

        image.voxels.withUnsafeBufferPointer { voxels in
            let base = voxels.baseAddress!
            SegmentationSupport.forEachChunk(slabCount) { s in
                let slab = slabs[s]
                let z0 = s * depth, z1 = min(nz, z0 + depth)
                let rows = (z1 - z0) * ny
                slab.rowFirst.reserveCapacity(rows + 1)
                // Pass 1: runs of every row of the slab.
                for r in 0..<rows {
                    slab.rowFirst.append(Int32(slab.start.count))
                    scanRow(base + (z0 * ny + r) * nx, nx, rule, slab)
                }
                slab.rowFirst.append(Int32(slab.start.count))
                slab.parent = (0..<Int32(slab.start.count)).map { $0 }
                // Pass 2: join with earlier rows inside the slab.
                slab.start.withUnsafeBufferPointer { st in
                    slab.end.withUnsafeBufferPointer { en in
                        slab.parent.withUnsafeMutableBufferPointer { pa in
                            slab.rowFirst.withUnsafeBufferPointer { rf in
                                guard let stp = st.baseAddress, let enp = en.baseAddress, let pap = pa.baseAddress else { return }
                                for r in 0..<rows {
                                    let a0 = Int(rf[r]), a1 = Int(rf[r + 1])
                                    if a0 == a1 { continue }
                                    let y = r % ny, zl = r / ny
                                    for n in neighbours {
                                        let yy = y + n.dy, zz = zl + n.dz
                                        if yy < 0 || yy >= ny || zz < 0 { continue }
                                        let rr = zz * ny + yy
                                        joinRows(stp, enp, pap, a0, a1, Int(rf[rr]), Int(rf[rr + 1]), n.tolerance)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        // Concatenate the slabs (global run indices in raster order).
        var offsets = [Int](repeating: 0, count: slabCount + 1)
        for s in 0..<slabCount { offsets[s + 1] = offsets[s] + slabs[s].start.count }
        let total = offsets[slabCount]
        var start = [Int32](); start.reserveCapacity(total)
        var end = [Int32](); end.reserveCapacity(total)
        var parent = [Int32](); parent.reserveCapacity(total)
        var rowFirst = [Int32](); rowFirst.reserveCapacity(ny * nz + 1)
        for s in 0..<slabCount {
            let slab = slabs[s], off = Int32(offsets[s])
            start.append(contentsOf: slab.start)
            end.append(contentsOf: slab.end)
            for p in slab.parent { parent.append(p + off) }
            for r in 0..<(slab.rowFirst.count - 1) { rowFirst.append(slab.rowFirst[r] + off) }
        }
        rowFirst.append(Int32(total))

        // Joins across slab boundaries, serially in slab order, then flatten to roots.
        start.withUnsafeBufferPointer { st in
            end.withUnsafeBufferPointer { en in
                parent.withUnsafeMutableBufferPointer { pa in
                    guard let stp = st.baseAddress, let enp = en.baseAddress, let pap = pa.baseAddress else { return }
                    for s in 1..<max(1, slabCount) {
                        let z = s * depth
                        for y in 0..<ny {
                            let r = z * ny + y
                            let a0 = Int(rowFirst[r]), a1 = Int(rowFirst[r + 1])
                            if a0 == a1 { continue }
                            for n in neighbours where n.dz == -1 {
                                let yy = y + n.dy
                                if yy < 0 || yy >= ny { continue }
                                let rr = (z - 1) * ny + yy
                                joinRows(stp, enp, pap, a0, a1, Int(rowFirst[rr]), Int(rowFirst[rr + 1]), n.tolerance)
                            }
                        }
                    }
                    // parent[i] <= i always holds, so one forward pass yields every root.
                    for i in 0..<total { pap[i] = pap[Int(pap[i])] }
                }
            }
        }
        return RunLabeling(start: start, end: end, rowFirst: rowFirst, root: parent, size: image.size)
    }

    /// The run containing voxel `(x, y, z)`, if it is foreground.
    func run(containing x: Int, _ y: Int, _ z: Int) -> Int? {
        let r = y + size.y * z
        var lo = Int(rowFirst[r]), hi = Int(rowFirst[r + 1])
        // Binary search for the last run starting at or before x.
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(start[mid]) <= x { lo = mid + 1 } else { hi = mid }
        }
        let candidate = lo - 1
        guard candidate >= Int(rowFirst[r]), Int(end[candidate]) >= x else { return nil }
        return candidate
    }

    /// Writes `value(run)` into every voxel of every run for which it is non-zero; other voxels keep
    /// their value in `output`. Parallel over the same fixed z-slabs (disjoint output).
    func paint(into output: inout [Float], slabDepth: Int = defaultSlabDepth, _ value: (Int) -> Float) {
        let nx = size.x, ny = size.y, nz = size.z
        let depth = max(1, slabDepth)
        let slabCount = (nz + depth - 1) / depth
        output.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            SegmentationSupport.forEachChunk(slabCount) { s in
                let r0 = s * depth * ny, r1 = min(nz, (s + 1) * depth) * ny
                for r in r0..<r1 {
                    let rowBase = o + r * nx
                    for i in Int(rowFirst[r])..<Int(rowFirst[r + 1]) {
                        let v = value(i)
                        if v == 0 { continue }
                        for x in Int(start[i])...Int(end[i]) { rowBase[x] = v }
                    }
                }
            }
        }
    }
}

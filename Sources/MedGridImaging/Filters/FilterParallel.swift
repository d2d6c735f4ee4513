import Foundation
import MedGridCore

/// How the volume filters split their work: deterministic parallel loops over rows.
///
/// Work is split into **fixed chunks** of rows whose boundaries depend only on the problem size and
/// `chunkVoxels`, never on the number of threads. Every output voxel is written by exactly one chunk and
/// computed by the same sequence of floating-point operations whatever chunk it falls in, so results are
/// bitwise identical for any `concurrency` and any `chunkVoxels` (the tests compare 1 thread and one chunk
/// against several threads and one-row chunks).
struct FilterParallel: Sendable {
    /// Maximum number of worker threads.
    var concurrency: Int
    /// Approximate number of voxels (of work) per chunk.
    var chunkVoxels: Int

    /// The active processor count and chunks of about 16 Ki voxels.
    static var standard: FilterParallel {
        FilterParallel(concurrency: max(1, ProcessInfo.processInfo.activeProcessorCount), chunkVoxels: 16_384)
    }

    /// Calls `body` once for each fixed chunk of rows `[c·n, min((c+1)·n, rows))`, where `n` is
    /// `max(1, chunkVoxels / rowCost)`, using at most `concurrency` workers (worker `w` handles chunks
    /// `w, w + workers, …`).
    func forEachRowChunk(rows: Int, rowCost: Int, _ body: (Range<Int>) -> Void) {
        guard rows > 0 else { return }
        let size = max(1, chunkVoxels / max(1, rowCost))
        let chunks = (rows + size - 1) / size
        let workers = max(1, min(concurrency, chunks))
        if workers == 1 {
            for c in 0..<chunks { body(c * size..<min(rows, (c + 1) * size)) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The chunks write disjoint outputs; `concurrentPerform` returns only when all are done.
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var c = w
                while c < chunks {
                    work.value(c * size..<min(rows, (c + 1) * size))
                    c += workers
                }
            }
        }
    }
}

// `UncheckedSendable` (Support/UncheckedSendable.swift) carries a chunk body borrowing buffers into `concurrentPerform`.

/// A pointer to an output buffer that parallel chunks write disjoint parts of.
///
/// Only used inside ``FilterParallel/forEachRowChunk(rows:rowCost:_:)`` bodies, which never
/// write the same element from two chunks.
struct SharedOutput<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let count: Int
}

extension Volume {
    /// Checks that every spacing component is finite and positive, naming the offending axis.
    func validatedSpacing(for operation: String) throws -> SIMD3<Double> {
        let names = ["x", "y", "z"]
        for axis in 0..<3 where !(spacing[axis].isFinite && spacing[axis] > 0) {
            throw MedGridError(
                .invalidInput,
                "\(operation): spacing.\(names[axis]) is \(spacing[axis]) (expected a finite spacing > 0 mm)")
        }
        return spacing
    }

    /// A copy of this volume's geometry holding `voxels` (which must have the same count).
    func withVoxels(_ voxels: [Float], storedType: VoxelType) -> Volume {
        Volume(
            size: size, spacing: spacing, origin: origin, direction: direction, voxels: voxels,
            storedType: storedType)
    }
}

/// Fills a new `[Float]` of `count` elements by running `fill` on its storage, without initialising it first.
@inline(__always)
func makeFloatArray(count: Int, _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialised in
        fill(buffer)
        initialised = count
    }
}

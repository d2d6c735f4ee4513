import Dispatch
import MedGridCore

/// Which voxels count as neighbours in 3-D.
///
/// - ``face``: the 6 voxels sharing a face (SimpleITK `fullyConnected=False`, `FaceConnectivity`;
///   scipy `generate_binary_structure(3, 1)`).
/// - ``edge``: the 18 voxels sharing a face or an edge (scipy `generate_binary_structure(3, 2)`;
///   SimpleITK has no 18-neighbourhood).
/// - ``vertex``: all 26 voxels sharing a face, edge or corner (SimpleITK `fullyConnected=True`,
///   `FullConnectivity`; scipy `generate_binary_structure(3, 3)`).
///
/// Neighbourhoods are defined on voxel indices, whatever the spacing.
public enum Connectivity: Int, Sendable, CaseIterable, Codable {
    case face = 6
    case edge = 18
    case vertex = 26

    /// The connectivity with this neighbour count (6, 18 or 26).
    public init(neighbours: Int) throws {
        guard let value = Connectivity(rawValue: neighbours) else {
            throw MedGridError(.invalidInput, "connectivity is \(neighbours) (expected 6, 18 or 26)")
        }
        self = value
    }
}

/// Shared helpers of the segmentation code (validation, fixed-chunk parallel loops).
enum SegmentationSupport {
    /// Largest label a `Float` voxel holds exactly (2^24).
    static let largestExactLabel = 16_777_216

    /// Checks that a seed lies inside the image; returns its linear index.
    static func seedIndex(_ seed: SIMD3<Int>, in image: Volume, position: Int) throws -> Int {
        let s = image.size
        guard seed.x >= 0, seed.y >= 0, seed.z >= 0, seed.x < s.x, seed.y < s.y, seed.z < s.z else {
            throw MedGridError(
                .invalidInput,
                "seeds[\(position)] = (\(seed.x), \(seed.y), \(seed.z)) is outside the image "
                    + "(expected 0..<\(s.x), 0..<\(s.y), 0..<\(s.z))")
        }
        return image.index(seed.x, seed.y, seed.z)
    }

    /// Checks that the voxel count fits the 32-bit run indices used internally.
    static func checkVoxelCount(_ image: Volume, _ what: String) throws {
        guard image.voxelCount == image.voxels.count else {
            throw MedGridError(
                .invalidInput,
                "\(what): voxels holds \(image.voxels.count) values but size \(image.size.x)x\(image.size.y)x\(image.size.z) needs \(image.voxelCount)")
        }
        guard image.voxelCount < Int(Int32.max) else {
            throw MedGridError(.unsupported, "\(what): \(image.voxelCount) voxels is more than the supported 2^31 - 1")
        }
    }

    /// Runs `body(chunk)` for `chunks` fixed chunks, in parallel when there is more than one.
    /// Callers give each chunk disjoint output, so the result never depends on the thread count.
    /// The closure may capture buffers; each chunk must only write its own part of them.
    static func forEachChunk(_ chunks: Int, _ body: (Int) -> Void) {
        if chunks <= 1 {
            for c in 0..<chunks { body(c) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let shared = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { shared.value($0) }
        }
    }

    /// `true` when `a` and `b` are within one unit in the last place, or closer than a tenth of the
    /// double epsilon: ITK's `Math::FloatAlmostEqual(a, b, maxUlps, 0.1 * epsilon)`.
    static func almostEqual(_ a: Double, _ b: Double, maxUlps: Int64) -> Bool {
        if abs(a - b) <= 0.1 * Double.ulpOfOne { return true }
        if a.sign != b.sign { return false }
        let ia = Int64(bitPattern: a.bitPattern), ib = Int64(bitPattern: b.bitPattern)
        let (difference, overflow) = ia.subtractingReportingOverflow(ib)
        return !overflow && abs(difference) <= maxUlps
    }
}

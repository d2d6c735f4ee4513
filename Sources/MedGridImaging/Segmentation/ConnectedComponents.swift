import MedGridCore

/// Connected components of a mask, as a label map.
///
/// Conventions:
/// - **Foreground** is every voxel whose value is non-zero and not NaN (any label of a label map
///   counts as foreground, like SimpleITK `ConnectedComponent` with background 0).
/// - **Connectivity** is 6 (face), 18 (edge) or 26 (vertex) on voxel indices; see ``Connectivity``.
/// - **Numbering** (``Ordering/raster``, the default): components are numbered 1, 2, … in raster order
///   of their first voxel (x fastest, then y, then z) — the numbering of SimpleITK `ConnectedComponent`
///   and `scipy.ndimage.label`. ``Ordering/sizeDescending`` numbers by voxel count, largest first, ties
///   in raster order — SimpleITK `RelabelComponent(sortByObjectSize=True)`.
/// - **labels** keeps the mask's geometry (size, spacing, origin, direction); background is 0. Labels
///   are stored in `Float`, exact up to 2^24 components (more throws `.unsupported`); `storedType` is
///   the smallest integer type that holds the largest label.
/// - **Determinism**: run-length labelling over fixed z-slabs, merged across slab boundaries; the
///   numbering is canonical, so it is identical for any thread count.
public struct ConnectedComponents: Sendable, Equatable {
    /// How components are numbered.
    public enum Ordering: String, Sendable, Codable, CaseIterable {
        /// By first voxel in raster order (SimpleITK `ConnectedComponent`, scipy `label`).
        case raster
        /// By voxel count, largest first; equal counts keep raster order (SimpleITK `RelabelComponent`).
        case sizeDescending
    }

    /// Label map: 0 for background, `1...count` for the components.
    public var labels: Volume
    /// Voxel count of each component; `voxelCounts[i]` belongs to label `i + 1`.
    public var voxelCounts: [Int]
    /// Connectivity the components were found with.
    public var connectivity: Connectivity

    /// Number of components.
    public var count: Int { voxelCounts.count }

    /// Volume of each component in mm³ (voxel count times the voxel volume), index `i` for label `i + 1`.
    public var volumesMM3: [Double] {
        let v = labels.voxelVolume
        return voxelCounts.map { Double($0) * v }
    }

    /// Labels the connected components of `mask`.
    ///
    /// - Parameters:
    ///   - mask: a binary mask or label map; voxels that are non-zero and not NaN are foreground.
    ///   - connectivity: neighbourhood of the foreground (default 26, SimpleITK `fullyConnected=True`).
    ///   - ordering: numbering of the components (default raster order of the first voxel).
    ///   - minimumVoxelCount: components with fewer voxels are removed (set to 0) before numbering,
    ///     like SimpleITK `RelabelComponent(minimumObjectSize:)` (a component of exactly this size stays).
    ///   - minimumVolumeMM3: components whose volume (voxels × voxel volume) is below this are removed.
    /// - Throws: `MedGridError` `.invalidInput` for a negative or non-finite minimum,
    ///   `.unsupported` for more than 2^24 components or 2^31 - 1 voxels.
    public static func label(
        _ mask: Volume, connectivity: Connectivity = .vertex, ordering: Ordering = .raster,
        minimumVoxelCount: Int = 0, minimumVolumeMM3: Double = 0
    ) throws -> ConnectedComponents {
        try label(
            mask, connectivity: connectivity, ordering: ordering, minimumVoxelCount: minimumVoxelCount,
            minimumVolumeMM3: minimumVolumeMM3, slabDepth: RunLabeling.defaultSlabDepth)
    }

    /// `label(_:…)` with an explicit slab depth (tests use it to check thread/slab independence).
    static func label(
        _ mask: Volume, connectivity: Connectivity, ordering: Ordering, minimumVoxelCount: Int,
        minimumVolumeMM3: Double, slabDepth: Int
    ) throws -> ConnectedComponents {
        try SegmentationSupport.checkVoxelCount(mask, "connected components")
        guard minimumVoxelCount >= 0 else {
            throw MedGridError(.invalidInput, "minimumVoxelCount is \(minimumVoxelCount) (expected >= 0)")
        }
        guard minimumVolumeMM3.isFinite, minimumVolumeMM3 >= 0 else {
            throw MedGridError(.invalidInput, "minimumVolumeMM3 is \(minimumVolumeMM3) (expected a finite value >= 0)")
        }
        let runs = RunLabeling.label(mask, .nonzero, connectivity, slabDepth: slabDepth)
        let n = runs.runCount

        // Components in raster order of their root run; voxel counts from the run lengths.
        var rasterLabel = [Int32](repeating: 0, count: n)
        var counts: [Int] = []
        for i in 0..<n {
            let root = Int(runs.root[i])
            if root == i {
                counts.append(0)
                rasterLabel[i] = Int32(counts.count)
            } else {
                rasterLabel[i] = rasterLabel[root]
            }
            counts[Int(rasterLabel[i]) - 1] += Int(runs.end[i] - runs.start[i]) + 1
        }

        // Size filter, then the final numbering.
        let voxelVolume = mask.voxelVolume
        var order = Array(0..<counts.count).filter {
            counts[$0] >= minimumVoxelCount && Double(counts[$0]) * voxelVolume >= minimumVolumeMM3
        }
        if ordering == .sizeDescending {
            order.sort { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        }
        guard order.count <= SegmentationSupport.largestExactLabel else {
            throw MedGridError(
                .unsupported,
                "\(order.count) components: labels above 2^24 cannot be stored exactly in a Float volume")
        }
        var final = [Float](repeating: 0, count: counts.count)
        for (newIndex, old) in order.enumerated() { final[old] = Float(newIndex + 1) }

        var output = [Float](repeating: 0, count: mask.voxelCount)
        rasterLabel.withUnsafeBufferPointer { rl in
            final.withUnsafeBufferPointer { fl in
                runs.paint(into: &output, slabDepth: slabDepth) { fl[Int(rl[$0]) - 1] }
            }
        }
        var labels = mask
        labels.voxels = output
        labels.storedType = order.count <= 255 ? .uint8 : order.count <= 65535 ? .uint16 : .uint32
        return ConnectedComponents(
            labels: labels, voxelCounts: order.map { counts[$0] }, connectivity: connectivity)
    }

    /// Binary mask (0/1, stored as uint8) of component `label` (1...count); all zeros for any other value.
    public func mask(ofLabel label: Int) -> Volume {
        var out = labels
        let exists = label >= 1 && label <= count
        let target = Float(label)
        out.voxels.withUnsafeMutableBufferPointer { b in
            for i in b.indices { b[i] = exists && b[i] == target ? 1 : 0 }
        }
        out.storedType = .uint8
        return out
    }

    /// Binary mask (0/1) of the component with the most voxels; ties go to the first in raster order of
    /// this numbering. All zeros when there is no foreground.
    public func largestComponentMask() -> Volume {
        var best = 0
        for i in voxelCounts.indices where voxelCounts[i] > voxelCounts[best] { best = i }
        return mask(ofLabel: voxelCounts.isEmpty ? 0 : best + 1)
    }

    /// Keeps the largest connected component of `mask` (SimpleITK `RelabelComponent(...) == 1` after
    /// `ConnectedComponent`): a 0/1 mask with the mask's geometry; ties go to the component whose first
    /// voxel comes first in raster order.
    public static func keepLargest(_ mask: Volume, connectivity: Connectivity = .vertex) throws -> Volume {
        try label(mask, connectivity: connectivity).largestComponentMask()
    }
}

import MedGridCore

/// Hole filling of binary masks.
public enum HoleFilling {
    /// Fills the holes of `mask`: background components that do not touch the image border.
    ///
    /// Conventions:
    /// - **Foreground** is non-zero and not NaN; background is 0 (or NaN).
    /// - **Connectivity is that of the background**. `.face` (default) — background 6-connected, so the
    ///   foreground is in effect 26-connected and a cavity open to the outside only through an edge or a
    ///   corner is filled — matches SimpleITK `BinaryFillhole(fullyConnected=False)` and
    ///   `scipy.ndimage.binary_fill_holes` with its default structure. `.vertex` (background
    ///   26-connected) matches `BinaryFillhole(fullyConnected=True)` and scipy with
    ///   `generate_binary_structure(3, 3)`; `.edge` matches scipy with `generate_binary_structure(3, 2)`.
    /// - **Border** means any of the six faces of the image box (so with one slice nothing is a hole).
    /// - **Output**: the mask's geometry and values, with hole voxels set to 1 (for a 0/1 mask this is
    ///   exactly SimpleITK's / scipy's result).
    /// - Parallel over fixed z-slabs; the result does not depend on threads.
    public static func fill(_ mask: Volume, backgroundConnectivity: Connectivity = .face) throws -> Volume {
        try fill(mask, backgroundConnectivity: backgroundConnectivity, slabDepth: RunLabeling.defaultSlabDepth)
    }

    static func fill(_ mask: Volume, backgroundConnectivity: Connectivity, slabDepth: Int) throws -> Volume {
        try SegmentationSupport.checkVoxelCount(mask, "hole filling")
        let runs = RunLabeling.label(mask, .zero, backgroundConnectivity, slabDepth: slabDepth)
        let nx = mask.size.x, ny = mask.size.y, nz = mask.size.z
        var touches = [Bool](repeating: false, count: runs.runCount)
        for r in 0..<(ny * nz) {
            let y = r % ny, z = r / ny
            let edgeRow = y == 0 || y == ny - 1 || z == 0 || z == nz - 1
            for i in Int(runs.rowFirst[r])..<Int(runs.rowFirst[r + 1])
            where edgeRow || runs.start[i] == 0 || Int(runs.end[i]) == nx - 1 {
                touches[Int(runs.root[i])] = true
            }
        }
        var out = mask
        touches.withUnsafeBufferPointer { t in
            runs.root.withUnsafeBufferPointer { root in
                runs.paint(into: &out.voxels, slabDepth: slabDepth) { t[Int(root[$0])] ? 0 : 1 }
            }
        }
        return out
    }
}

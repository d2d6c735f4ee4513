/// The on-disk voxel type of a NIfTI image (the header's `datatype` code).
public enum VoxelType: Int16, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 2
    case int16 = 4
    case int32 = 8
    case float32 = 16
    case float64 = 64
    case int8 = 256
    case uint16 = 512
    case uint32 = 768

    /// Bytes per stored voxel.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8: 1
        case .int16, .uint16: 2
        case .int32, .uint32, .float32: 4
        case .float64: 8
        }
    }

    /// Whether values are rounded when quantised to this type.
    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// The representable range, used to reject values that would not fit.
    var range: ClosedRange<Double> {
        switch self {
        case .uint8: 0...255
        case .int8: -128...127
        case .int16: -32768...32767
        case .uint16: 0...65535
        case .int32: -2_147_483_648...2_147_483_647
        case .uint32: 0...4_294_967_295
        case .float32: -Double(Float.greatestFiniteMagnitude)...Double(Float.greatestFiniteMagnitude)
        case .float64: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        }
    }

    public var description: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .int16: "int16"
        case .uint16: "uint16"
        case .int32: "int32"
        case .uint32: "uint32"
        case .float32: "float32"
        case .float64: "float64"
        }
    }
}

/// A 3-D scalar image in physical space.
///
/// Geometry follows the ITK / DICOM **LPS** convention, the one SimpleITK reports: a voxel at index
/// `(i, j, k)` lies at the physical point `origin + D * (spacing ⊙ (i, j, k))` where `D` is `direction`
/// read as a 3×3 row-major matrix whose columns are unit vectors, and physical +x points to the
/// patient's Left, +y to Posterior and +z to Superior. NIfTI's qform/sform map to RAS (+x Right,
/// +y Anterior, +z Superior), so readers negate the first two rows of the NIfTI affine (and so the
/// first two origin components) and writers undo that.
///
/// `voxels` holds `size.x * size.y * size.z` values with x fastest, then y, then z, already in real
/// units (`scl_slope` and `scl_inter` applied); `storedType` records how they were stored on disk.
public struct Volume: Sendable, Equatable {
    /// Voxel counts along x, y and z.
    public var size: SIMD3<Int>
    /// Distance between voxel centres along each index axis, in millimetres.
    public var spacing: SIMD3<Double>
    /// Physical (LPS) position of the centre of voxel (0, 0, 0), in millimetres.
    public var origin: SIMD3<Double>
    /// Direction cosines, 3×3 row-major, LPS; column `c` is the physical direction of index axis `c`.
    public var direction: [Double]
    /// Voxel values in real units, x fastest.
    public var voxels: [Float]
    /// The voxel type the values were stored as (or should be, by default, when written).
    public var storedType: VoxelType

    /// Creates a volume; `voxels` must hold exactly `size.x * size.y * size.z` values.
    public init(
        size: SIMD3<Int>,
        spacing: SIMD3<Double> = [1, 1, 1],
        origin: SIMD3<Double> = [0, 0, 0],
        direction: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1],
        voxels: [Float],
        storedType: VoxelType = .float32
    ) {
        precondition(size.x > 0 && size.y > 0 && size.z > 0, "Volume size must be positive")
        precondition(voxels.count == size.x * size.y * size.z, "voxels.count must equal the voxel count")
        precondition(direction.count == 9, "direction must be a 3x3 row-major matrix")
        self.size = size
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
        self.voxels = voxels
        self.storedType = storedType
    }

    /// Creates a volume filled with one value.
    public init(
        size: SIMD3<Int>,
        spacing: SIMD3<Double> = [1, 1, 1],
        origin: SIMD3<Double> = [0, 0, 0],
        direction: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1],
        filledWith value: Float,
        storedType: VoxelType = .float32
    ) {
        self.init(
            size: size, spacing: spacing, origin: origin, direction: direction,
            voxels: [Float](repeating: value, count: size.x * size.y * size.z), storedType: storedType
        )
    }

    /// Number of voxels, `size.x * size.y * size.z`.
    public var voxelCount: Int { size.x * size.y * size.z }

    /// Volume of one voxel in cubic millimetres (product of the spacing).
    public var voxelVolume: Double { spacing.x * spacing.y * spacing.z }

    /// Linear index into `voxels` of voxel `(x, y, z)` (x fastest).
    @inlinable
    public func index(_ x: Int, _ y: Int, _ z: Int) -> Int {
        x + size.x * (y + size.y * z)
    }

    /// Physical LPS position of the centre of voxel `(x, y, z)`, in millimetres.
    public func physicalPoint(_ x: Int, _ y: Int, _ z: Int) -> SIMD3<Double> {
        let s = SIMD3<Double>(Double(x), Double(y), Double(z)) * spacing
        let d = direction
        return origin + SIMD3(
            d[0] * s.x + d[1] * s.y + d[2] * s.z,
            d[3] * s.x + d[4] * s.y + d[5] * s.z,
            d[6] * s.x + d[7] * s.y + d[8] * s.z
        )
    }
}

import MedGridCore

extension Volume {
    /// Clips every voxel to `[lower, upper]`.
    ///
    /// Definition (SimpleITK `ClampImageFilter` / numpy `clip`): `v < lower → lower`, `v > upper → upper`,
    /// otherwise `v` unchanged; NaN stays NaN. Geometry is unchanged. The stored type is kept when it can hold
    /// the bounds (integer bounds for an integer type), otherwise it becomes `.float32`.
    ///
    /// - Throws: `MedGridError(.invalidInput)` if a bound is NaN or `lower > upper`.
    public func clipped(lower: Float, upper: Float) throws -> Volume {
        guard !lower.isNaN, !upper.isNaN, lower <= upper else {
            throw MedGridError(
                .invalidInput, "clipped: bounds [\(lower), \(upper)] are not an interval (expected lower <= upper, no NaN)")
        }
        let result = voxels.map { v -> Float in v < lower ? lower : (v > upper ? upper : v) }
        let keepsType =
            !storedType.isInteger
            || (lower.rounded() == lower && upper.rounded() == upper
                && storedType.range.contains(Double(lower)) && storedType.range.contains(Double(upper)))
        return withVoxels(result, storedType: keepsType ? storedType : .float32)
    }

    /// Applies a display window given as level (centre) and width.
    ///
    /// Definition: the window is `[level − width/2, level + width/2]`. With `rescaleToUnit` (the default)
    /// values are mapped linearly onto `[0, 1]` — `v ≤ min → 0`, `v ≥ max → 1`, otherwise
    /// `(v − min) / width` computed in Double as `v · scale + shift` with `scale = 1 / width`,
    /// `shift = −min · scale` (SimpleITK `IntensityWindowingImageFilter(windowMinimum: min, windowMaximum: max,
    /// outputMinimum: 0, outputMaximum: 1)`); without it values are only clipped to the window. This is the
    /// plain linear window, not DICOM's VOI LUT formula (which uses `width − 1` and a half-unit shift).
    /// NaN stays NaN. Geometry is unchanged; the result is stored as `.float32`.
    ///
    /// - Throws: `MedGridError(.invalidInput)` if `level` or `width` is not finite or `width ≤ 0`.
    public func windowed(level: Double, width: Double, rescaleToUnit: Bool = true) throws -> Volume {
        guard level.isFinite, width.isFinite, width > 0 else {
            throw MedGridError(
                .invalidInput, "windowed: level \(level), width \(width) (expected finite values with width > 0)")
        }
        let low = level - width / 2, high = level + width / 2
        guard rescaleToUnit else {
            let clippedVolume = try clipped(lower: Float(low), upper: Float(high))
            return clippedVolume.withVoxels(clippedVolume.voxels, storedType: .float32)
        }
        let scale = 1 / (high - low)
        let shift = -low * scale
        let result = voxels.map { v -> Float in
            let d = Double(v)
            if d < low { return 0 }
            if d > high { return 1 }
            return Float(d * scale + shift)
        }
        return withVoxels(result, storedType: .float32)
    }
}

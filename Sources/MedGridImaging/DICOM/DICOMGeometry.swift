/// One 2-D slice of a series: a frame of a file, with the geometry and rescale that apply to it.
struct DICOMSlice: Sendable {
    var fileIndex: Int
    var frameIndex: Int
    /// ImagePositionPatient (LPS, mm) of the first transmitted pixel.
    var position: SIMD3<Double>
    var rowCosine: SIMD3<Double>
    var columnCosine: SIMD3<Double>
    /// PixelSpacing as stored: (row spacing, column spacing).
    var pixelSpacing: SIMD2<Double>
    var spacingBetweenSlices: Double?
    var rescale: DICOMRescale
    var instanceNumber: Int
    /// Byte offset of the element the position came from, for messages.
    var positionOffset: Int?
}

enum DICOMGeometry {
    private static func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }

    private static func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }

    private static func vector3(_ ds: DICOMDataset, _ tag: DICOMTag, _ name: String, path: String) throws -> SIMD3<Double>? {
        let v = try ds.doubles(tag)
        if v.isEmpty { return nil }
        guard v.count == 3 else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: ds[tag]?.valueOffset, "\(name) \(tag) has \(v.count) values, expected 3")
        }
        return SIMD3(v[0], v[1], v[2])
    }

    private static func orientation(_ ds: DICOMDataset, path: String) throws -> (SIMD3<Double>, SIMD3<Double>)? {
        let v = try ds.doubles(.imageOrientationPatient)
        if v.isEmpty { return nil }
        let offset = ds[.imageOrientationPatient]?.valueOffset
        guard v.count == 6 else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: offset, "ImageOrientationPatient has \(v.count) values, expected 6")
        }
        var row = SIMD3(v[0], v[1], v[2]), column = SIMD3(v[3], v[4], v[5])
        let rn = dot(row, row).squareRoot(), cn = dot(column, column).squareRoot()
        guard rn > 0.5, rn < 1.5, cn > 0.5, cn < 1.5 else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: offset, "ImageOrientationPatient \(v) does not hold two unit vectors")
        }
        row /= rn
        column /= cn
        guard abs(dot(row, column)) < 1e-3 else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: offset, "ImageOrientationPatient \(v): row and column cosines are not orthogonal")
        }
        return (row, column)
    }

    private static func pixelSpacing(_ ds: DICOMDataset, path: String) throws -> SIMD2<Double>? {
        let v = try ds.doubles(.pixelSpacing)
        if v.isEmpty { return nil }
        guard v.count == 2, v[0] > 0, v[1] > 0 else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: ds[.pixelSpacing]?.valueOffset, "PixelSpacing is \(v), expected two positive values")
        }
        return SIMD2(v[0], v[1])
    }

    private static func rescale(_ ds: DICOMDataset, fallback: DICOMRescale, path: String) throws -> DICOMRescale {
        var r = fallback
        if let s = try ds.double(.rescaleSlope) { r.slope = s }
        if let i = try ds.double(.rescaleIntercept) { r.intercept = i }
        return r
    }

    /// The slices of one file: one per frame.
    static func slices(of file: DICOMFile, format: DICOMPixelFormat, fileIndex: Int) throws -> [DICOMSlice] {
        let ds = file.dataset, path = file.path
        let topOrientation = try orientation(ds, path: path)
        var base = DICOMSlice(
            fileIndex: fileIndex, frameIndex: 0,
            position: try vector3(ds, .imagePositionPatient, "ImagePositionPatient", path: path) ?? .zero,
            rowCosine: topOrientation?.0 ?? SIMD3(1, 0, 0), columnCosine: topOrientation?.1 ?? SIMD3(0, 1, 0),
            pixelSpacing: try pixelSpacing(ds, path: path) ?? SIMD2(1, 1),
            spacingBetweenSlices: try ds.double(.spacingBetweenSlices),
            rescale: try rescale(ds, fallback: DICOMRescale(), path: path),
            instanceNumber: try ds.int(.instanceNumber) ?? 0,
            positionOffset: ds[.imagePositionPatient]?.valueOffset)
        let perFrame = ds.items(.perFrameFunctionalGroupsSequence)
        if ds.contains(.perFrameFunctionalGroupsSequence) || ds.contains(.sharedFunctionalGroupsSequence) {
            guard perFrame.isEmpty || perFrame.count == format.frames else {
                throw ImagingError(
                    .malformedHeader, path: path, byteOffset: ds[.perFrameFunctionalGroupsSequence]?.offset,
                    "PerFrameFunctionalGroupsSequence has \(perFrame.count) items for \(format.frames) frames")
            }
            let shared = ds.items(.sharedFunctionalGroupsSequence).first
            var out = [DICOMSlice]()
            out.reserveCapacity(format.frames)
            for k in 0..<format.frames {
                let own = perFrame.isEmpty ? nil : perFrame[k]
                func macro(_ tag: DICOMTag) -> DICOMDataset? {
                    own?.items(tag).first ?? shared?.items(tag).first
                }
                var s = base
                s.frameIndex = k
                if let m = macro(.planePositionSequence),
                    let p = try vector3(m, .imagePositionPatient, "ImagePositionPatient", path: path)
                {
                    s.position = p
                    s.positionOffset = m[.imagePositionPatient]?.valueOffset
                }
                if let m = macro(.planeOrientationSequence), let o = try orientation(m, path: path) {
                    (s.rowCosine, s.columnCosine) = o
                }
                if let m = macro(.pixelMeasuresSequence) {
                    if let ps = try pixelSpacing(m, path: path) { s.pixelSpacing = ps }
                    if let sb = try m.double(.spacingBetweenSlices) { s.spacingBetweenSlices = sb }
                }
                if let m = macro(.pixelValueTransformationSequence) {
                    s.rescale = try rescale(m, fallback: base.rescale, path: path)
                }
                out.append(s)
            }
            return out
        }
        guard format.frames > 1 else { return [base] }
        // Classic multi-frame: frames stacked along the normal.
        let normal = cross(base.rowCosine, base.columnCosine)
        let offsets: [Double]
        let grid = try ds.doubles(.gridFrameOffsetVector)
        if !grid.isEmpty {
            guard grid.count == format.frames else {
                throw ImagingError(
                    .malformedHeader, path: path, byteOffset: ds[.gridFrameOffsetVector]?.valueOffset,
                    "GridFrameOffsetVector has \(grid.count) values for \(format.frames) frames")
            }
            offsets = grid.map { $0 - grid[0] }
        } else {
            let step = try base.spacingBetweenSlices ?? ds.double(.sliceThickness) ?? 1
            offsets = (0..<format.frames).map { Double($0) * step }
        }
        var out = [DICOMSlice]()
        for k in 0..<format.frames {
            base.frameIndex = k
            var s = base
            s.position = base.position + offsets[k] * normal
            out.append(s)
        }
        return out
    }

    /// The slice order and volume geometry: slices sorted by position along the normal.
    static func arrange(_ slices: [DICOMSlice], files: [DICOMFile]) throws
        -> (order: [Int], origin: SIMD3<Double>, spacing: SIMD3<Double>, direction: [Double], rescaled: Bool)
    {
        let first = slices[0]
        let rescaled = slices.contains { $0.rescale != DICOMRescale() }
        for s in slices.dropFirst() {
            let path = files[s.fileIndex].path
            guard simd_distance(s.rowCosine, first.rowCosine) < 1e-4, simd_distance(s.columnCosine, first.columnCosine) < 1e-4 else {
                throw ImagingError(
                    .unsupported, path: path,
                    "frame \(s.frameIndex) has orientation \(s.rowCosine), \(s.columnCosine) but \(files[first.fileIndex].path) has "
                        + "\(first.rowCosine), \(first.columnCosine); slices of one volume must share ImageOrientationPatient")
            }
            let d = s.pixelSpacing - first.pixelSpacing
            guard max(abs(d.x) / first.pixelSpacing.x, abs(d.y) / first.pixelSpacing.y) <= DICOM.spacingTolerance else {
                throw ImagingError(
                    .unsupported, path: path,
                    "frame \(s.frameIndex) has PixelSpacing \(s.pixelSpacing) but \(files[first.fileIndex].path) has \(first.pixelSpacing)")
            }
        }
        let normal = cross(first.rowCosine, first.columnCosine)
        let direction = [
            first.rowCosine.x, first.columnCosine.x, normal.x,
            first.rowCosine.y, first.columnCosine.y, normal.y,
            first.rowCosine.z, first.columnCosine.z, normal.z,
        ]
        if slices.count == 1 {
            let z = first.spacingBetweenSlices.flatMap { $0 > 0 ? $0 : nil } ?? 1
            return ([0], first.position, SIMD3(first.pixelSpacing.y, first.pixelSpacing.x, z), direction, rescaled)
        }
        let along = slices.map { dot($0.position, normal) }
        let order = slices.indices.sorted {
            (along[$0], slices[$0].instanceNumber, slices[$0].fileIndex, slices[$0].frameIndex)
                < (along[$1], slices[$1].instanceNumber, slices[$1].fileIndex, slices[$1].frameIndex)
        }
        let n = slices.count
        let z = (along[order[n - 1]] - along[order[0]]) / Double(n - 1)
        func label(_ i: Int) -> String { "\(files[slices[i].fileIndex].path) frame \(slices[i].frameIndex)" }
        var worst = 0, worstDeviation = -1.0
        for k in 0..<(n - 1) {
            let gap = along[order[k + 1]] - along[order[k]]
            guard gap > 1e-6 * max(1, abs(z)) else {
                throw ImagingError(
                    .unsupported, path: files[slices[order[k + 1]].fileIndex].path,
                    byteOffset: slices[order[k + 1]].positionOffset,
                    "\(label(order[k])) and \(label(order[k + 1])) lie at the same position along the slice normal "
                        + "(\(along[order[k]]) mm); a series with repeated positions (several acquisitions or time points) "
                        + "cannot be read as one volume")
            }
            if abs(gap - z) > worstDeviation {
                worstDeviation = abs(gap - z)
                worst = k
            }
        }
        if worstDeviation > DICOM.spacingTolerance * z {
            let k = worst, gap = along[order[k + 1]] - along[order[k]]
            throw ImagingError(
                .unsupported, path: files[slices[order[k + 1]].fileIndex].path,
                byteOffset: slices[order[k + 1]].positionOffset,
                "slice spacing is not uniform: the gap between \(label(order[k])) and \(label(order[k + 1])) is \(gap) mm "
                    + "but the mean gap over \(n) slices is \(z) mm (tolerance \(DICOM.spacingTolerance) relative); "
                    + "missing or irregular slices")
        }
        let origin = slices[order[0]].position
        return (order, origin, SIMD3(first.pixelSpacing.y, first.pixelSpacing.x, z), direction, rescaled)
    }

    private static func simd_distance(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double {
        let d = a - b
        return dot(d, d).squareRoot()
    }
}

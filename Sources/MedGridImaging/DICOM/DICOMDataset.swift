/// One element of a DICOM data set: its tag, value representation, where it sits in the file and its value.
public struct DICOMElement: Sendable {
    /// What the value holds.
    public enum Content: Sendable {
        /// The raw value bytes (indices are byte offsets in the parsed stream).
        case bytes(ArraySlice<UInt8>)
        /// The items of a sequence (VR `SQ`, or `UN` of undefined length read as implicit VR).
        case sequence([DICOMDataset])
        /// Encapsulated pixel data: the basic offset table item first, then the fragments.
        case fragments([ArraySlice<UInt8>])
    }

    /// The attribute tag.
    public let tag: DICOMTag
    /// The value representation: explicit in the file, or from the built-in dictionary for implicit VR
    /// (`UN` for tags not in it).
    public let vr: String
    /// Byte offset of the element's tag (in the inflated stream for the deflated transfer syntax).
    public let offset: Int
    /// The value.
    public let content: Content
    /// Whether binary numbers in the value are big endian (explicit VR big endian transfer syntax).
    public let bigEndian: Bool

    /// The raw value bytes, or `nil` for sequences and encapsulated data.
    public var bytes: ArraySlice<UInt8>? {
        if case .bytes(let b) = content { return b }
        return nil
    }

    /// Byte offset of the first value byte (the element's offset when the value is not plain bytes).
    public var valueOffset: Int { bytes?.startIndex ?? offset }
}

/// A parsed DICOM data set: elements by tag, with typed accessors that follow PS3.5 value encoding.
///
/// Text values (`DS`, `IS`, `CS`, `UI`, …) are split on backslashes and stripped of the space and NUL
/// padding; `DS`/`IS` are parsed as decimal numbers; binary numeric VRs (`US`, `SS`, `UL`, `SL`, `FL`,
/// `FD`) are decoded in the data set's byte order. Malformed numbers throw an ``ImagingError`` naming the
/// tag and byte offset.
public struct DICOMDataset: Sendable {
    /// The elements, by tag.
    public let elements: [DICOMTag: DICOMElement]
    /// The file the data set came from, for error messages.
    public let path: String?

    init(elements: [DICOMTag: DICOMElement], path: String?) {
        self.elements = elements
        self.path = path
    }

    /// The element with `tag`, if present.
    public subscript(tag: DICOMTag) -> DICOMElement? { elements[tag] }

    /// Whether the element is present.
    public func contains(_ tag: DICOMTag) -> Bool { elements[tag] != nil }

    /// The whole text value with trailing/leading space and NUL padding removed (`nil` if absent).
    public func string(_ tag: DICOMTag) -> String? {
        guard let b = elements[tag]?.bytes else { return nil }
        let s = String(decoding: b, as: UTF8.self)
        return s.trimmingPadding()
    }

    /// The backslash-separated text values, each stripped of padding (empty if absent).
    public func strings(_ tag: DICOMTag) -> [String] {
        elements[tag]?.bytes.map(Self.splitText) ?? []
    }

    /// The numeric values of `tag`: decimal text for `DS`/`IS`, binary for `US`/`SS`/`UL`/`SL`/`FL`/`FD`
    /// (and for `UN`/`OW` of length 2 read as unsigned 16-bit). Empty if absent or empty.
    public func doubles(_ tag: DICOMTag) throws -> [Double] {
        guard let e = elements[tag], let b = e.bytes else { return [] }
        func binary<T: FixedWidthInteger>(_: T.Type, _ convert: (T) -> Double) -> [Double] {
            let n = MemoryLayout<T>.size
            return stride(from: b.startIndex, to: b.endIndex - n + 1, by: n).map { i in
                var v: T = 0
                for k in 0..<n { v |= T(truncatingIfNeeded: b[i + k]) << (8 * k) }
                return convert(e.bigEndian ? v.byteSwapped : v)
            }
        }
        switch e.vr {
        case "US": return binary(UInt16.self) { Double($0) }
        case "SS": return binary(UInt16.self) { Double(Int16(bitPattern: $0)) }
        case "UL": return binary(UInt32.self) { Double($0) }
        case "SL": return binary(UInt32.self) { Double(Int32(bitPattern: $0)) }
        case "FL": return binary(UInt32.self) { Double(Float(bitPattern: $0)) }
        case "FD": return binary(UInt64.self) { Double(bitPattern: $0) }
        case let vr where ["OW", "OB", "UN"].contains(vr) && b.count == 2: return binary(UInt16.self) { Double($0) }
        case let vr where ["OW", "OB", "UN"].contains(vr) && b.count == 4: return binary(UInt32.self) { Double($0) }
        default:
            var values = [Double]()
            for text in strings(tag) {
                guard !text.isEmpty else { continue }
                guard let v = Double(text), v.isFinite else {
                    throw ImagingError(
                        .malformedHeader, path: path, byteOffset: e.valueOffset,
                        "\(tag) (VR \(e.vr)) holds \"\(text.prefix(40))\", expected a decimal number"
                    )
                }
                values.append(v)
            }
            return values
        }
    }

    /// The first numeric value of `tag`, or `nil` if absent or empty.
    public func double(_ tag: DICOMTag) throws -> Double? { try doubles(tag).first }

    /// The first numeric value of `tag` as an integer; throws if it is not a whole number in `Int32` range.
    public func int(_ tag: DICOMTag) throws -> Int? {
        guard let v = try double(tag) else { return nil }
        guard v == v.rounded(), abs(v) <= 2_147_483_647 else {
            throw ImagingError(
                .malformedHeader, path: path, byteOffset: elements[tag]?.valueOffset,
                "\(tag) is \(v), expected a whole number"
            )
        }
        return Int(v)
    }

    /// The items of the sequence `tag` (empty if absent or not a sequence).
    public func items(_ tag: DICOMTag) -> [DICOMDataset] {
        if case .sequence(let items)? = elements[tag]?.content { return items }
        return []
    }
}

extension String {
    /// Drops the leading/trailing spaces and NULs DICOM uses to pad values to even length.
    func trimmingPadding() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex, end = scalars.endIndex
        while start < end, scalars[start] == " " || scalars[start] == "\0" { start = scalars.index(after: start) }
        while end > start {
            let before = scalars.index(before: end)
            guard scalars[before] == " " || scalars[before] == "\0" else { break }
            end = before
        }
        return String(scalars[start..<end])
    }
}

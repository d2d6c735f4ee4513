/// A DICOM attribute tag `(gggg,eeee)`: group and element numbers.
public struct DICOMTag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The group number (`gggg`).
    public var group: UInt16
    /// The element number (`eeee`).
    public var element: UInt16

    /// Creates the tag `(group,element)`.
    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// The tag as one 32-bit number, group in the high half (the order tags are sorted in a data set).
    public var value: UInt32 { UInt32(group) << 16 | UInt32(element) }

    public static func < (a: DICOMTag, b: DICOMTag) -> Bool { a.value < b.value }

    /// `(gggg,eeee)` in upper-case hexadecimal, as DICOM tools print it.
    public var description: String {
        func hex(_ v: UInt16) -> String {
            let s = String(v, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - s.count) + s
        }
        return "(\(hex(group)),\(hex(element)))"
    }
}

/// Tags the reader uses, named as in PS3.6 (the keyword with a lower-case first letter).
extension DICOMTag {
    // File meta information (group 0002).
    /// (0002,0010) Transfer Syntax UID.
    public static let transferSyntaxUID = DICOMTag(0x0002, 0x0010)
    /// (0002,0002) Media Storage SOP Class UID.
    public static let mediaStorageSOPClassUID = DICOMTag(0x0002, 0x0002)
    // Identification.
    /// (0008,0016) SOP Class UID.
    public static let sopClassUID = DICOMTag(0x0008, 0x0016)
    /// (0008,0018) SOP Instance UID.
    public static let sopInstanceUID = DICOMTag(0x0008, 0x0018)
    /// (0008,0060) Modality.
    public static let modality = DICOMTag(0x0008, 0x0060)
    /// (0008,103E) Series Description.
    public static let seriesDescription = DICOMTag(0x0008, 0x103E)
    /// (0020,000D) Study Instance UID.
    public static let studyInstanceUID = DICOMTag(0x0020, 0x000D)
    /// (0020,000E) Series Instance UID.
    public static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    /// (0020,0011) Series Number.
    public static let seriesNumber = DICOMTag(0x0020, 0x0011)
    /// (0020,0013) Instance Number.
    public static let instanceNumber = DICOMTag(0x0020, 0x0013)
    // Geometry.
    /// (0018,0050) Slice Thickness.
    public static let sliceThickness = DICOMTag(0x0018, 0x0050)
    /// (0018,0088) Spacing Between Slices.
    public static let spacingBetweenSlices = DICOMTag(0x0018, 0x0088)
    /// (0020,0032) Image Position Patient.
    public static let imagePositionPatient = DICOMTag(0x0020, 0x0032)
    /// (0020,0037) Image Orientation Patient.
    public static let imageOrientationPatient = DICOMTag(0x0020, 0x0037)
    /// (0028,0030) Pixel Spacing.
    public static let pixelSpacing = DICOMTag(0x0028, 0x0030)
    /// (3004,000C) Grid Frame Offset Vector.
    public static let gridFrameOffsetVector = DICOMTag(0x3004, 0x000C)
    // Image pixel module.
    /// (0028,0002) Samples Per Pixel.
    public static let samplesPerPixel = DICOMTag(0x0028, 0x0002)
    /// (0028,0004) Photometric Interpretation.
    public static let photometricInterpretation = DICOMTag(0x0028, 0x0004)
    /// (0028,0006) Planar Configuration.
    public static let planarConfiguration = DICOMTag(0x0028, 0x0006)
    /// (0028,0008) Number Of Frames.
    public static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    /// (0028,0010) Rows.
    public static let rows = DICOMTag(0x0028, 0x0010)
    /// (0028,0011) Columns.
    public static let columns = DICOMTag(0x0028, 0x0011)
    /// (0028,0100) Bits Allocated.
    public static let bitsAllocated = DICOMTag(0x0028, 0x0100)
    /// (0028,0101) Bits Stored.
    public static let bitsStored = DICOMTag(0x0028, 0x0101)
    /// (0028,0102) High Bit.
    public static let highBit = DICOMTag(0x0028, 0x0102)
    /// (0028,0103) Pixel Representation.
    public static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    /// (0028,0120) Pixel Padding Value.
    public static let pixelPaddingValue = DICOMTag(0x0028, 0x0120)
    /// (0028,0121) Pixel Padding Range Limit.
    public static let pixelPaddingRangeLimit = DICOMTag(0x0028, 0x0121)
    /// (0028,1052) Rescale Intercept.
    public static let rescaleIntercept = DICOMTag(0x0028, 0x1052)
    /// (0028,1053) Rescale Slope.
    public static let rescaleSlope = DICOMTag(0x0028, 0x1053)
    /// (7FE0,0010) Pixel Data.
    public static let pixelData = DICOMTag(0x7FE0, 0x0010)
    // Enhanced multi-frame functional groups.
    /// (5200,9229) Shared Functional Groups Sequence.
    public static let sharedFunctionalGroupsSequence = DICOMTag(0x5200, 0x9229)
    /// (5200,9230) Per Frame Functional Groups Sequence.
    public static let perFrameFunctionalGroupsSequence = DICOMTag(0x5200, 0x9230)
    /// (0028,9110) Pixel Measures Sequence.
    public static let pixelMeasuresSequence = DICOMTag(0x0028, 0x9110)
    /// (0020,9113) Plane Position Sequence.
    public static let planePositionSequence = DICOMTag(0x0020, 0x9113)
    /// (0020,9116) Plane Orientation Sequence.
    public static let planeOrientationSequence = DICOMTag(0x0020, 0x9116)
    /// (0028,9145) Pixel Value Transformation Sequence.
    public static let pixelValueTransformationSequence = DICOMTag(0x0028, 0x9145)
    // Sequence encoding.
    static let item = DICOMTag(0xFFFE, 0xE000)
    static let itemDelimitation = DICOMTag(0xFFFE, 0xE00D)
    static let sequenceDelimitation = DICOMTag(0xFFFE, 0xE0DD)
}

/// The value representations this reader knows, with how explicit-VR encoding lays out their length.
enum DICOMVR {
    /// VRs whose explicit encoding has 2 reserved bytes and a 4-byte length (PS3.5 §7.1.2).
    static let longForm: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]

    /// The VR of the tags the reader needs when the transfer syntax is implicit VR (PS3.6); other
    /// tags read as `UN` (kept as bytes, or parsed as a sequence when their length is undefined).
    static func implicit(_ tag: DICOMTag) -> String {
        if tag.element == 0x0000 { return "UL" }  // group length
        if tag.group == 0x0002 {
            switch tag.element {
            case 0x0001: return "OB"
            case 0x0002, 0x0003, 0x0010, 0x0012: return "UI"
            default: return "SH"
            }
        }
        return table[tag.value] ?? "UN"
    }

    private static let table: [UInt32: String] = [
        0x0008_0005: "CS", 0x0008_0008: "CS", 0x0008_0016: "UI", 0x0008_0018: "UI", 0x0008_0020: "DA",
        0x0008_0060: "CS", 0x0008_0070: "LO", 0x0008_103E: "LO", 0x0008_1140: "SQ", 0x0008_1150: "UI",
        0x0008_1155: "UI", 0x0008_9205: "CS",
        0x0010_0010: "PN", 0x0010_0020: "LO",
        0x0018_0050: "DS", 0x0018_0088: "DS", 0x0018_5100: "CS",
        0x0020_000D: "UI", 0x0020_000E: "UI", 0x0020_0011: "IS", 0x0020_0012: "IS", 0x0020_0013: "IS",
        0x0020_0032: "DS", 0x0020_0037: "DS", 0x0020_0052: "UI", 0x0020_1041: "DS",
        0x0020_9113: "SQ", 0x0020_9116: "SQ", 0x0020_9111: "SQ", 0x0020_9157: "UL",
        0x0028_0002: "US", 0x0028_0004: "CS", 0x0028_0006: "US", 0x0028_0008: "IS", 0x0028_0009: "AT",
        0x0028_0010: "US", 0x0028_0011: "US", 0x0028_0030: "DS", 0x0028_0100: "US", 0x0028_0101: "US",
        0x0028_0102: "US", 0x0028_0103: "US", 0x0028_0120: "US", 0x0028_0121: "US", 0x0028_1050: "DS",
        0x0028_1051: "DS", 0x0028_1052: "DS", 0x0028_1053: "DS", 0x0028_1054: "LO",
        0x0028_9110: "SQ", 0x0028_9132: "SQ", 0x0028_9145: "SQ",
        0x3004_0002: "CS", 0x3004_0004: "CS", 0x3004_000A: "CS", 0x3004_000C: "DS", 0x3004_000E: "DS",
        0x5200_9229: "SQ", 0x5200_9230: "SQ",
        0x7FE0_0008: "OF", 0x7FE0_0009: "OD", 0x7FE0_0010: "OW",
    ]

    /// The DICOM name of a transfer syntax UID, for messages.
    static func transferSyntaxName(_ uid: String) -> String {
        transferSyntaxNames[uid] ?? "unknown transfer syntax"
    }

    private static let transferSyntaxNames: [String: String] = [
        "1.2.840.10008.1.2": "Implicit VR Little Endian",
        "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
        "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
        "1.2.840.10008.1.2.5": "RLE Lossless",
        "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
        "1.2.840.10008.1.2.4.70": "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
        "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless)",
        "1.2.840.10008.1.2.4.90": "JPEG 2000 Image Compression (Lossless Only)",
        "1.2.840.10008.1.2.4.91": "JPEG 2000 Image Compression",
        "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component (Lossless Only)",
        "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component",
        "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
        "1.2.840.10008.1.2.4.101": "MPEG2 Main Profile / High Level",
        "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
        "1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
        "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
        "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
        "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
        "1.2.840.10008.1.2.8.1": "JPEG XL Lossless",
        "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
    ]
}

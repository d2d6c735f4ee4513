/// Writes DICOM Part 10 files (PS3.10 §7): a zeroed 128-byte preamble, "DICM", the file meta group in
/// explicit VR little endian with its group length, then the data set in the chosen encoding.
///
/// Elements are written in tag order. Sequences and their items are written with undefined length and
/// delimiters, which is valid in every transfer syntax and needs no second pass; encapsulated pixel data
/// keeps its fragments byte for byte. Plain values are written as they are held (already in the stream's
/// byte order), padded to even length (space for text, NUL for UIDs and binary values). Group length
/// elements (gggg,0000) of the data set are dropped: they are retired and would be wrong after any change.
enum DICOMWriter {
    /// How the data set after the meta group is encoded.
    struct Encoding: Equatable {
        var explicitVR: Bool
        var bigEndian: Bool

        static let explicitLittle = Encoding(explicitVR: true, bigEndian: false)

        /// The encoding of a transfer syntax this writer can produce: implicit LE, explicit LE and BE, and
        /// every encapsulated syntax (explicit LE). Deflated explicit LE has none: callers write it as explicit LE.
        static func of(transferSyntax uid: String) -> Encoding? {
            switch uid {
            case DICOMTransferSyntax.implicitLittle: Encoding(explicitVR: false, bigEndian: false)
            case DICOMTransferSyntax.explicitBig: Encoding(explicitVR: true, bigEndian: true)
            case DICOMTransferSyntax.deflatedExplicitLittle: nil
            default: .explicitLittle
            }
        }
    }

    /// The bytes of a Part 10 file with `meta` (group 0002 elements other than the group length, which is
    /// computed) and `dataset` in `encoding`.
    static func file(meta: [DICOMElement], dataset: DICOMDataset, encoding: Encoding) -> [UInt8] {
        var body = [UInt8]()
        for e in meta.sorted(by: { $0.tag < $1.tag }) where e.tag.group == 0x0002 && e.tag.element != 0 {
            write(e, into: &body, .explicitLittle)
        }
        var out = [UInt8](repeating: 0, count: 128)
        out += Array("DICM".utf8)
        let groupLength = DICOMElement(
            tag: DICOMTag(0x0002, 0x0000), vr: "UL", offset: 0,
            content: .bytes(ArraySlice(le32(UInt32(body.count)))), bigEndian: false)
        write(groupLength, into: &out, .explicitLittle)
        out += body
        write(dataset, into: &out, encoding)
        return out
    }

    /// Appends the elements of `dataset` (group lengths dropped) in tag order.
    static func write(_ dataset: DICOMDataset, into out: inout [UInt8], _ encoding: Encoding) {
        for tag in dataset.elements.keys.sorted() where tag.element != 0x0000 {
            write(dataset.elements[tag]!, into: &out, encoding)
        }
    }

    static func write(_ e: DICOMElement, into out: inout [UInt8], _ encoding: Encoding) {
        switch e.content {
        case .bytes(let value):
            let padded = value.count % 2 == 0 ? Array(value) : Array(value) + [padByte(e.vr)]
            header(e.tag, vr: e.vr == "SQ" ? "UN" : e.vr, length: UInt32(padded.count), into: &out, encoding)
            out += padded
        case .sequence(let items):
            header(e.tag, vr: "SQ", length: 0xFFFF_FFFF, into: &out, encoding)
            for item in items {
                tagBytes(.item, into: &out, encoding)
                out += u32(0xFFFF_FFFF, encoding)
                write(item, into: &out, encoding)
                tagBytes(.itemDelimitation, into: &out, encoding)
                out += u32(0, encoding)
            }
            tagBytes(.sequenceDelimitation, into: &out, encoding)
            out += u32(0, encoding)
        case .fragments(let fragments):
            header(e.tag, vr: e.vr == "OW" ? "OW" : "OB", length: 0xFFFF_FFFF, into: &out, encoding)
            for fragment in fragments {
                tagBytes(.item, into: &out, encoding)
                out += u32(UInt32(fragment.count), encoding)
                out += fragment
            }
            tagBytes(.sequenceDelimitation, into: &out, encoding)
            out += u32(0, encoding)
        }
    }

    /// Tag, VR and length in `encoding`. A short-form VR whose value does not fit 16 bits is written as UN.
    private static func header(_ tag: DICOMTag, vr: String, length: UInt32, into out: inout [UInt8], _ encoding: Encoding) {
        tagBytes(tag, into: &out, encoding)
        guard encoding.explicitVR else {
            out += u32(length, encoding)
            return
        }
        var vr = vr.utf8.count == 2 ? vr : "UN"
        if !DICOMVR.longForm.contains(vr) && length > 0xFFFF { vr = "UN" }
        out += Array(vr.utf8)
        if DICOMVR.longForm.contains(vr) {
            out += [0, 0]
            out += u32(length, encoding)
        } else {
            out += u16(UInt16(length), encoding)
        }
    }

    private static func tagBytes(_ tag: DICOMTag, into out: inout [UInt8], _ encoding: Encoding) {
        out += u16(tag.group, encoding)
        out += u16(tag.element, encoding)
    }

    private static func u16(_ v: UInt16, _ encoding: Encoding) -> [UInt8] {
        let x = encoding.bigEndian ? v.byteSwapped : v
        return [UInt8(x & 0xFF), UInt8(x >> 8)]
    }

    private static func u32(_ v: UInt32, _ encoding: Encoding) -> [UInt8] {
        encoding.bigEndian ? le32(v.byteSwapped) : le32(v)
    }

    static func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)]
    }

    /// The byte that pads a value of `vr` to even length (PS3.5 §6.2).
    static func padByte(_ vr: String) -> UInt8 {
        textVRs.contains(vr) ? 0x20 : 0x00
    }

    /// VRs whose values are character strings padded with a space.
    static let textVRs: Set<String> = ["AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"]
}

/// A parsed DICOM Part 10 file: its file meta information, transfer syntax and data set.
public struct DICOMFile: Sendable {
    /// The file, as the caller named it.
    public let path: String
    /// The transfer syntax UID from the file meta information (0002,0010).
    public let transferSyntaxUID: String
    /// The file meta information group (0002,xxxx), always explicit VR little endian.
    public let meta: DICOMDataset
    /// The data set after the meta group, decoded in the transfer syntax (inflated first if deflated).
    public let dataset: DICOMDataset

    /// The DICOM name of the transfer syntax (for example "Explicit VR Little Endian").
    public var transferSyntaxName: String { DICOMVR.transferSyntaxName(transferSyntaxUID) }

    /// Whether the data set was deflated, so that element offsets count bytes of the inflated stream.
    public var isDeflated: Bool { transferSyntaxUID == DICOMTransferSyntax.deflatedExplicitLittle }
}

/// Transfer syntax UIDs the reader decodes.
enum DICOMTransferSyntax {
    static let implicitLittle = "1.2.840.10008.1.2"
    static let explicitLittle = "1.2.840.10008.1.2.1"
    static let deflatedExplicitLittle = "1.2.840.10008.1.2.1.99"
    static let explicitBig = "1.2.840.10008.1.2.2"
    static let rleLossless = "1.2.840.10008.1.2.5"
    static let supported: Set<String> = [implicitLittle, explicitLittle, deflatedExplicitLittle, explicitBig, rleLossless]
}

/// Reads the element structure of a Part 10 stream (PS3.10 §7, PS3.5 §7).
///
/// Every length is checked against the bytes that remain before it is used, nesting is limited to
/// ``maximumDepth`` levels, and nothing is allocated from a declared length, so truncated or corrupt
/// files throw an ``ImagingError`` naming the byte offset rather than crashing.
struct DICOMParser {
    static let maximumDepth = 32

    let bytes: [UInt8]
    let path: String
    var explicitVR: Bool
    var bigEndian: Bool
    /// Appended to error messages, e.g. to say offsets count bytes of the inflated stream.
    var offsetNote = ""

    func error(_ code: ImagingError.Code, _ offset: Int, _ message: String) -> ImagingError {
        ImagingError(code, path: path, byteOffset: offset, message + offsetNote)
    }

    func u16(_ p: Int) -> UInt16 {
        let v = UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8
        return bigEndian ? v.byteSwapped : v
    }

    func u32(_ p: Int) -> UInt32 {
        let v = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }

    func tag(at p: Int) -> DICOMTag { DICOMTag(u16(p), u16(p + 2)) }

    /// Parses elements from `start` up to `limit`, or, when `untilItemDelimiter`, up to the item
    /// delimitation item (consumed). Returns the data set and the offset after it.
    /// `stopBeforeGroup` ends the data set at the first tag of a different group (for the meta group).
    func dataset(
        from start: Int, limit: Int, untilItemDelimiter: Bool = false, depth: Int = 0, onlyGroup: UInt16? = nil
    ) throws -> (DICOMDataset, Int) {
        guard depth <= Self.maximumDepth else {
            throw error(.malformedHeader, start, "sequences are nested more than \(Self.maximumDepth) levels deep")
        }
        var elements = [DICOMTag: DICOMElement]()
        var p = start
        while true {
            if p == limit {
                if untilItemDelimiter {
                    throw error(.truncated, p, "an undefined-length item ends without an item delimitation item (FFFE,E00D)")
                }
                break
            }
            guard p + 8 <= limit else {
                throw error(.truncated, p, "data element header needs 8 bytes but only \(limit - p) remain")
            }
            let t = tag(at: p)
            if let onlyGroup, t.group != onlyGroup { break }
            if t == .itemDelimitation {
                guard untilItemDelimiter else {
                    throw error(.malformedHeader, p, "item delimitation item (FFFE,E00D) outside an undefined-length item")
                }
                return (DICOMDataset(elements: elements, path: path), p + 8)
            }
            if t == .sequenceDelimitation || t == .item {
                throw error(.malformedHeader, p, "\(t) found where a data element was expected")
            }
            let element: DICOMElement
            (element, p) = try self.element(at: p, tag: t, limit: limit, depth: depth)
            elements[t] = element
        }
        return (DICOMDataset(elements: elements, path: path), p)
    }

    /// Parses one element whose tag is at `p`.
    private func element(at p: Int, tag t: DICOMTag, limit: Int, depth: Int) throws -> (DICOMElement, Int) {
        var vr: String
        var length: UInt32
        var valueStart: Int
        if explicitVR {
            let c0 = bytes[p + 4], c1 = bytes[p + 5]
            guard (65...90).contains(c0), (65...90).contains(c1) else {
                throw error(
                    .malformedHeader, p + 4,
                    "\(t) has value representation bytes \(c0) \(c1), expected two upper-case letters (explicit VR)")
            }
            vr = String(decoding: [c0, c1], as: UTF8.self)
            if DICOMVR.longForm.contains(vr) {
                guard p + 12 <= limit else {
                    throw error(.truncated, p, "\(t) \(vr) header needs 12 bytes but only \(limit - p) remain")
                }
                length = u32(p + 8)
                valueStart = p + 12
            } else {
                length = UInt32(u16(p + 6))
                valueStart = p + 8
            }
        } else {
            vr = DICOMVR.implicit(t)
            length = u32(p + 4)
            valueStart = p + 8
        }
        if length == 0xFFFF_FFFF {
            if t == .pixelData {
                let (fragments, next) = try self.fragments(from: valueStart, limit: limit, tag: t)
                return (DICOMElement(tag: t, vr: vr, offset: p, content: .fragments(fragments), bigEndian: bigEndian), next)
            }
            guard vr == "SQ" || vr == "UN" else {
                throw error(.malformedHeader, p, "\(t) with VR \(vr) has undefined length (only SQ, UN and Pixel Data may)")
            }
            // PS3.5 §6.2.2: UN of undefined length is a sequence encoded as implicit VR little endian.
            var inner = self
            if vr == "UN" && explicitVR {
                inner.explicitVR = false
                inner.bigEndian = false
            }
            let (items, next) = try inner.sequence(from: valueStart, limit: limit, defined: false, depth: depth + 1)
            return (DICOMElement(tag: t, vr: vr, offset: p, content: .sequence(items), bigEndian: bigEndian), next)
        }
        let count = Int(length)
        guard count <= limit - valueStart else {
            throw error(
                .truncated, p,
                "\(t) \(vr) declares a \(count)-byte value at byte \(valueStart) but only \(limit - valueStart) bytes remain")
        }
        let end = valueStart + count
        if vr == "SQ" {
            let (items, _) = try sequence(from: valueStart, limit: end, defined: true, depth: depth + 1)
            return (DICOMElement(tag: t, vr: vr, offset: p, content: .sequence(items), bigEndian: bigEndian), end)
        }
        // Implicit VR: an unknown (e.g. private) element whose value starts with an item tag is most likely
        // a defined-length sequence; read it as one if it parses, else keep the bytes.
        if vr == "UN", !explicitVR, count >= 8, tag(at: valueStart) == .item,
            let (items, _) = try? sequence(from: valueStart, limit: end, defined: true, depth: depth + 1)
        {
            return (DICOMElement(tag: t, vr: "SQ", offset: p, content: .sequence(items), bigEndian: bigEndian), end)
        }
        return (DICOMElement(tag: t, vr: vr, offset: p, content: .bytes(bytes[valueStart..<end]), bigEndian: bigEndian), end)
    }

    /// Parses sequence items; `defined` sequences end at `limit`, undefined ones at the sequence delimiter.
    private func sequence(from start: Int, limit: Int, defined: Bool, depth: Int) throws -> ([DICOMDataset], Int) {
        var items = [DICOMDataset]()
        var p = start
        while true {
            if defined && p == limit { return (items, p) }
            guard p + 8 <= limit else {
                throw error(.truncated, p, "sequence item header needs 8 bytes but only \(limit - p) remain")
            }
            let t = tag(at: p)
            let length = u32(p + 4)
            if t == .sequenceDelimitation {
                return (items, p + 8)
            }
            guard t == .item else {
                throw error(.malformedHeader, p, "found \(t) in a sequence, expected an item (FFFE,E000) or a sequence delimiter")
            }
            if length == 0xFFFF_FFFF {
                let (item, next) = try dataset(from: p + 8, limit: limit, untilItemDelimiter: true, depth: depth)
                items.append(item)
                p = next
            } else {
                let count = Int(length)
                guard count <= limit - (p + 8) else {
                    throw error(.truncated, p, "sequence item declares \(count) bytes but only \(limit - p - 8) remain")
                }
                let (item, _) = try dataset(from: p + 8, limit: p + 8 + count, depth: depth)
                items.append(item)
                p += 8 + count
            }
        }
    }

    /// Parses encapsulated pixel data items (PS3.5 §A.4) up to the sequence delimiter.
    private func fragments(from start: Int, limit: Int, tag: DICOMTag) throws -> ([ArraySlice<UInt8>], Int) {
        var out = [ArraySlice<UInt8>]()
        var p = start
        while true {
            guard p + 8 <= limit else {
                throw error(.truncated, p, "encapsulated pixel data item header needs 8 bytes but only \(limit - p) remain")
            }
            let t = self.tag(at: p)
            let length = u32(p + 4)
            if t == .sequenceDelimitation { return (out, p + 8) }
            guard t == .item else {
                throw error(.malformedHeader, p, "found \(t) in encapsulated pixel data, expected an item (FFFE,E000)")
            }
            guard length != 0xFFFF_FFFF, Int(length) <= limit - (p + 8) else {
                throw error(
                    .truncated, p,
                    "pixel data fragment declares \(length == 0xFFFF_FFFF ? "undefined" : String(length)) bytes but only \(limit - p - 8) remain")
            }
            out.append(bytes[(p + 8)..<(p + 8 + Int(length))])
            p += 8 + Int(length)
        }
    }

    /// Reads a whole Part 10 file: preamble, "DICM", meta group, then the data set in its transfer syntax.
    static func parseFile(_ bytes: [UInt8], path: String) throws -> DICOMFile {
        guard bytes.count >= 132 else {
            throw ImagingError(.truncated, path: path, byteOffset: 0, "file has \(bytes.count) bytes; a DICOM Part 10 file starts with a 128-byte preamble and \"DICM\"")
        }
        guard bytes[128] == 0x44, bytes[129] == 0x49, bytes[130] == 0x43, bytes[131] == 0x4D else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: 128, "expected \"DICM\" after the 128-byte preamble; not a DICOM Part 10 file")
        }
        let metaParser = DICOMParser(bytes: bytes, path: path, explicitVR: true, bigEndian: false)
        let (meta, dataStart) = try metaParser.dataset(from: 132, limit: bytes.count, onlyGroup: 0x0002)
        guard let uid = meta.string(.transferSyntaxUID), !uid.isEmpty else {
            throw ImagingError(.malformedHeader, path: path, byteOffset: 132, "file meta information has no Transfer Syntax UID (0002,0010)")
        }
        let dataset: DICOMDataset
        switch uid {
        case DICOMTransferSyntax.implicitLittle:
            let parser = DICOMParser(bytes: bytes, path: path, explicitVR: false, bigEndian: false)
            dataset = try parser.dataset(from: dataStart, limit: bytes.count).0
        case DICOMTransferSyntax.explicitLittle, DICOMTransferSyntax.rleLossless:
            let parser = DICOMParser(bytes: bytes, path: path, explicitVR: true, bigEndian: false)
            dataset = try parser.dataset(from: dataStart, limit: bytes.count).0
        case DICOMTransferSyntax.explicitBig:
            let parser = DICOMParser(bytes: bytes, path: path, explicitVR: true, bigEndian: true)
            dataset = try parser.dataset(from: dataStart, limit: bytes.count).0
        case DICOMTransferSyntax.deflatedExplicitLittle:
            // Deflate expands at most ~1032:1, so this bound never rejects a valid stream.
            let limit = min((bytes.count - dataStart) * 1032 + 1024, 1 << 31)
            let inflated: [UInt8]
            do {
                inflated = try Inflate.inflate(bytes, from: dataStart, limit: limit)
            } catch var e as ImagingError {
                e.path = path
                e.message += " (deflated data set starting at byte \(dataStart))"
                throw e
            }
            var parser = DICOMParser(bytes: inflated, path: path, explicitVR: true, bigEndian: false)
            parser.offsetNote = " (offset in the inflated data set, which starts at file byte \(dataStart))"
            dataset = try parser.dataset(from: 0, limit: inflated.count).0
        default:
            // Parse the structure anyway (all remaining syntaxes are explicit VR little endian) so that
            // metadata is available, but pixel data will be refused with the transfer syntax's name.
            let parser = DICOMParser(bytes: bytes, path: path, explicitVR: true, bigEndian: false)
            do {
                dataset = try parser.dataset(from: dataStart, limit: bytes.count).0
            } catch let e as ImagingError {
                throw ImagingError(
                    .unsupported, path: path, byteOffset: e.byteOffset,
                    "transfer syntax \(uid) (\(DICOMVR.transferSyntaxName(uid))) is not supported, and its data set "
                        + "could not be read as explicit VR little endian: \(e.message)")
            }
        }
        return DICOMFile(path: path, transferSyntaxUID: uid, meta: meta, dataset: dataset)
    }
}

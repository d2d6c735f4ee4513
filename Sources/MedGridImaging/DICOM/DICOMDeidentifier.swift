import Crypto

/// What a de-identification may keep beyond the Basic profile (PS3.15 Annex E options).
public struct DeidentificationOptions: Sendable, Equatable {
    /// How dates and times named by the profile are treated.
    public enum Dates: Sendable, Equatable {
        /// The Basic profile's action (most dates and times are removed or emptied).
        case basic
        /// Retain Longitudinal Temporal Information With Full Dates Option (code 113106): kept as they are.
        case keep
        /// Retain Longitudinal Temporal Information With Modified Dates Option (code 113107): every date
        /// moved by the same number of days, times kept, so intervals between studies survive.
        case shift(days: Int)
    }

    /// The secret of the keyed UID remapping: the same key and input UID always give the same new UID.
    public var key: [UInt8]
    public var dates: Dates
    /// Whether a file flagged `BurnedInAnnotation` = YES may be written (its pixels are not changed).
    public var allowBurnedIn: Bool

    public init(key: [UInt8], dates: Dates = .basic, allowBurnedIn: Bool = false) {
        self.key = key
        self.dates = dates
        self.allowBurnedIn = allowBurnedIn
    }

    /// The PS3.16 CID 7050 codes of the profile and options used, in order: 113100 first.
    public var codes: [(value: String, meaning: String)] {
        var codes = [(DICOMDeidentifier.basicProfileCode, "Basic Application Confidentiality Profile")]
        switch dates {
        case .basic: break
        case .keep: codes.append(("113106", "Retain Longitudinal Temporal Information Full Dates Option"))
        case .shift: codes.append(("113107", "Retain Longitudinal Temporal Information Modified Dates Option"))
        }
        return codes
    }
}

/// One attribute the de-identifier acted on: where it was, its keyword and what was done.
public struct DeidentificationAction: Sendable, Equatable, Codable {
    /// The tag path, e.g. `(0010,0010)` or `(0008,1140)[0](0008,1155)` inside a sequence item.
    public var path: String
    /// The PS3.6 keyword (`Private` for private elements).
    public var keyword: String
    /// `X` removed, `Z` emptied, `D` replaced by a dummy, `U` UID remapped, `K` kept (date option),
    /// `S` date shifted, `P` private element removed, `G` curve or overlay group removed.
    public var action: String
}

/// A file after de-identification.
public struct DeidentifiedFile: Sendable {
    /// The Part 10 bytes to write.
    public var bytes: [UInt8]
    /// Every attribute acted on, in the order met (tag order, depth first).
    public var actions: [DeidentificationAction]
    /// Old UID → new UID, for every UID remapped in this file.
    public var uids: [String: String]
    /// The new Study, Series and SOP Instance UIDs (nil when the input had none).
    public var studyInstanceUID: String?
    public var seriesInstanceUID: String?
    public var sopInstanceUID: String?
    /// The transfer syntax written: the input's, except deflated, which is written as explicit VR little endian.
    public var transferSyntaxUID: String
    /// Whether the input was flagged BurnedInAnnotation = YES (only written under `allowBurnedIn`).
    public var burnedInAnnotation: Bool
}

/// De-identifies DICOM data sets following PS3.15 Annex E, the Basic Application Level Confidentiality
/// Profile, with ``BasicProfile/rows`` as the table of actions.
///
/// - Every element whose tag is a row of the table gets the row's action, at any depth of sequence nesting:
///   X removes it, Z empties it (a sequence loses its items), D replaces it with a dummy of its VR
///   (`ANONYMOUS` for text, `19000101` for a date, 0 for numbers, one empty item for a sequence), U remaps
///   each UID with ``remapUID(_:key:)``. Sequences not in the table are walked item by item.
/// - Private elements (odd group), curve data (50xx,xxxx), overlay data and comments (60xx,3000/4000) and
///   group lengths are removed.
/// - PatientIdentityRemoved (0012,0062) is set to YES, DeidentificationMethod (0012,0063) and
///   DeidentificationMethodCodeSequence (0012,0064) name the profile (code 113100) and the options,
///   LongitudinalTemporalInformationModified (0028,0303) says what happened to dates.
/// - The file meta group is rebuilt (the preamble zeroed, source AE titles and private meta dropped).
/// - Pixel data is written byte for byte as read. The transfer syntax is kept, except that a deflated file
///   is written as explicit VR little endian.
/// - A file whose BurnedInAnnotation (0028,0301) is YES is refused unless ``DeidentificationOptions/allowBurnedIn``.
///
/// Error messages name the file and the tag, never a value.
public enum DICOMDeidentifier {
    /// PS3.16 CID 7050 code of the Basic Application Confidentiality Profile.
    public static let basicProfileCode = "113100"
    /// MedGrid's Implementation Class UID (0002,0012): a `2.25.` UID from a fixed version-8 UUID.
    public static let implementationClassUID = "2.25.145412309960137803565557701287956447233"
    /// Implementation Version Name (0002,0013).
    public static let implementationVersionName = "MEDGRID_1"

    static let patientIdentityRemoved = DICOMTag(0x0012, 0x0062)
    static let deidentificationMethod = DICOMTag(0x0012, 0x0063)
    static let deidentificationMethodCodeSequence = DICOMTag(0x0012, 0x0064)
    static let burnedInAnnotation = DICOMTag(0x0028, 0x0301)
    static let longitudinalTemporalInformationModified = DICOMTag(0x0028, 0x0303)
    static let codeValue = DICOMTag(0x0008, 0x0100)
    static let codingSchemeDesignator = DICOMTag(0x0008, 0x0102)
    static let codeMeaning = DICOMTag(0x0008, 0x0104)
    /// Patient's Birth Date and Birth Time keep the Basic action under the date options: a birth date is a
    /// direct identifier, and the options are about intervals between events.
    static let birthDateTags: Set<DICOMTag> = [DICOMTag(0x0010, 0x0030), DICOMTag(0x0010, 0x0032)]

    /// The table rows by tag.
    static let rowsByTag: [DICOMTag: BasicProfileRow] = Dictionary(
        uniqueKeysWithValues: BasicProfile.rows.map { (DICOMTag($0.group, $0.element), $0) })

    /// Whether `file` is flagged as having burned-in annotation (BurnedInAnnotation = YES).
    public static func hasBurnedInAnnotation(_ file: DICOMFile) -> Bool {
        file.dataset.string(burnedInAnnotation)?.uppercased() == "YES"
    }

    /// The new UID for `uid` under `key`: `2.25.` and the decimal value of a version-8 UUID whose 122 free
    /// bits are the first bits of HMAC-SHA256(key, uid). Deterministic for one key, unrelated across keys,
    /// at most 44 characters.
    public static func remapUID(_ uid: String, key: [UInt8]) -> String {
        let mac = Array(HMAC<SHA256>.authenticationCode(for: Array(uid.utf8), using: SymmetricKey(data: key)))
        var b = Array(mac.prefix(16))
        b[6] = (b[6] & 0x0F) | 0x80  // version 8 (RFC 9562, custom)
        b[8] = (b[8] & 0x3F) | 0x80  // variant 10
        var value: UInt128 = 0
        for byte in b { value = value << 8 | UInt128(byte) }
        return "2.25.\(value)"
    }

    /// De-identifies `file`.
    /// - Throws: ``ImagingError`` `.unsupported` for burned-in annotation without `allowBurnedIn`.
    public static func deidentify(_ file: DICOMFile, options: DeidentificationOptions) throws -> DeidentifiedFile {
        let burnedIn = hasBurnedInAnnotation(file)
        if burnedIn && !options.allowBurnedIn {
            throw ImagingError(
                .unsupported, path: file.path,
                "BurnedInAnnotation (0028,0301) is YES: the pixels may show patient identifiers, which de-identification "
                    + "does not change; refused (check the pixels, then pass --allow-burned-in)")
        }
        let encoding = DICOMWriter.Encoding.of(transferSyntax: file.transferSyntaxUID) ?? .explicitLittle
        let outputSyntax = file.isDeflated ? DICOMTransferSyntax.explicitLittle : file.transferSyntaxUID
        var walker = Walker(options: options, bigEndian: encoding.bigEndian)
        var dataset = walker.clean(file.dataset, path: "")
        dataset = walker.marked(dataset)

        var meta = [DICOMElement]()
        func metaElement(_ element: UInt16, _ vr: String, _ value: [UInt8]) {
            meta.append(DICOMElement(tag: DICOMTag(0x0002, element), vr: vr, offset: 0, content: .bytes(ArraySlice(value)), bigEndian: false))
        }
        metaElement(0x0001, "OB", [0x00, 0x01])
        // PS3.10 §7.1: the meta's SOP Class and Instance UIDs equal the data set's; some files disagree
        // (pydicom's rtdose.dcm), and the data set's then win.
        let sopClass = nonEmpty(file.dataset.string(.sopClassUID)) ?? file.meta.string(.mediaStorageSOPClassUID)
        if let sopClass { metaElement(0x0002, "UI", Walker.uidBytes(sopClass)) }
        if let instance = nonEmpty(file.dataset.string(.sopInstanceUID)) ?? nonEmpty(file.meta.string(DICOMTag(0x0002, 0x0003))) {
            metaElement(0x0003, "UI", Walker.uidBytes(walker.remap(instance)))
        }
        metaElement(0x0010, "UI", Walker.uidBytes(outputSyntax))
        metaElement(0x0012, "UI", Walker.uidBytes(implementationClassUID))
        metaElement(0x0013, "SH", Array(implementationVersionName.utf8) + (implementationVersionName.utf8.count % 2 == 1 ? [0x20] : []))

        let bytes = DICOMWriter.file(meta: meta, dataset: dataset, encoding: encoding)
        return DeidentifiedFile(
            bytes: bytes, actions: walker.actions, uids: walker.uids,
            studyInstanceUID: dataset.string(.studyInstanceUID), seriesInstanceUID: dataset.string(.seriesInstanceUID),
            sopInstanceUID: dataset.string(.sopInstanceUID), transferSyntaxUID: outputSyntax, burnedInAnnotation: burnedIn)
    }

    static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }

    /// Walks a data set applying the profile, collecting actions and the UID mapping.
    struct Walker {
        let options: DeidentificationOptions
        let bigEndian: Bool
        var actions = [DeidentificationAction]()
        var uids = [String: String]()

        init(options: DeidentificationOptions, bigEndian: Bool) {
            self.options = options
            self.bigEndian = bigEndian
        }

        mutating func remap(_ uid: String) -> String {
            if let known = uids[uid] { return known }
            let new = DICOMDeidentifier.remapUID(uid, key: options.key)
            uids[uid] = new
            return new
        }

        static func uidBytes(_ uid: String) -> [UInt8] {
            let b = Array(uid.utf8)
            return b.count % 2 == 1 ? b + [0] : b
        }

        static func textBytes(_ text: String) -> [UInt8] {
            let b = Array(text.utf8)
            return b.count % 2 == 1 ? b + [0x20] : b
        }

        func element(_ tag: DICOMTag, _ vr: String, _ content: DICOMElement.Content) -> DICOMElement {
            DICOMElement(tag: tag, vr: vr, offset: 0, content: content, bigEndian: bigEndian)
        }

        /// The data set with every element de-identified; `path` prefixes the tag paths recorded.
        mutating func clean(_ dataset: DICOMDataset, path: String) -> DICOMDataset {
            var out = [DICOMTag: DICOMElement]()
            for tag in dataset.elements.keys.sorted() {
                let e = dataset.elements[tag]!
                let here = path + tag.description
                if tag.element == 0x0000 { continue }  // group length: recomputed nowhere, dropped
                if tag.group % 2 == 1 {
                    actions.append(DeidentificationAction(path: here, keyword: "Private", action: "P"))
                    continue
                }
                if tag.group & 0xFF00 == 0x5000 || (tag.group & 0xFF00 == 0x6000 && (tag.element == 0x3000 || tag.element == 0x4000)) {
                    actions.append(DeidentificationAction(path: here, keyword: tag.group & 0xFF00 == 0x5000 ? "CurveData" : "OverlayDataOrComments", action: "G"))
                    continue
                }
                guard let row = DICOMDeidentifier.rowsByTag[tag] else {
                    if case .sequence(let items) = e.content {
                        let cleaned = items.enumerated().map { clean($0.element, path: "\(here)[\($0.offset)]") }
                        out[tag] = element(tag, e.vr, .sequence(cleaned))
                    } else {
                        out[tag] = e
                    }
                    continue
                }
                if let (kept, action) = dated(e, row: row) {
                    out[tag] = kept
                    actions.append(DeidentificationAction(path: here, keyword: row.keyword, action: action))
                    continue
                }
                switch row.action {
                case .x:
                    actions.append(DeidentificationAction(path: here, keyword: row.keyword, action: "X"))
                case .z:
                    if case .sequence = e.content {
                        out[tag] = element(tag, "SQ", .sequence([]))
                    } else {
                        out[tag] = element(tag, vr(of: e, row), .bytes([]))
                    }
                    actions.append(DeidentificationAction(path: here, keyword: row.keyword, action: "Z"))
                case .d:
                    out[tag] = dummy(e, row)
                    actions.append(DeidentificationAction(path: here, keyword: row.keyword, action: "D"))
                case .u:
                    guard let bytes = e.bytes else {
                        // A UID attribute holding a sequence is malformed: remove rather than guess.
                        actions.append(DeidentificationAction(path: here, keyword: row.keyword, action: "X"))
                        continue
                    }
                    let values = DICOMDataset.splitText(bytes)
                    let mapped = values.map { $0.isEmpty ? $0 : remap($0) }.joined(separator: "\\")
                    out[tag] = element(tag, "UI", .bytes(ArraySlice(Self.uidBytes(mapped))))
                    actions.append(DeidentificationAction(path: here, keyword: row.keyword, action: "U"))
                case .k:
                    out[tag] = e
                    actions.append(DeidentificationAction(path: here, keyword: row.keyword, action: "K"))
                case .c:
                    // No row of the Basic profile is C; cleaning needs knowledge of the value, so replace.
                    out[tag] = dummy(e, row)
                    actions.append(DeidentificationAction(path: here, keyword: row.keyword, action: "D"))
                }
            }
            return DICOMDataset(elements: out, path: dataset.path)
        }

        /// The VR to write: the element's own when it is known, else the table's (first of "US or SS").
        func vr(of e: DICOMElement, _ row: BasicProfileRow) -> String {
            if e.vr != "UN" { return e.vr }
            return String(row.vr.prefix(2))
        }

        /// Under a date option, the element kept (K) or shifted (S) instead of the profile's action; nil when
        /// the Basic action applies (no option, not a date/time, a birth date, or a value that does not parse).
        func dated(_ e: DICOMElement, row: BasicProfileRow) -> (DICOMElement, String)? {
            let vr = vr(of: e, row)
            guard ["DA", "DT", "TM"].contains(vr), !DICOMDeidentifier.birthDateTags.contains(e.tag),
                  let bytes = e.bytes else { return nil }
            switch options.dates {
            case .basic: return nil
            case .keep: return (e, "K")
            case .shift(let days):
                if vr == "TM" { return (e, "K") }
                var shifted = [String]()
                for value in DICOMDataset.splitText(bytes) {
                    if value.isEmpty { shifted.append(value); continue }
                    guard let s = DICOMDates.shift(value, days: days) else { return nil }
                    shifted.append(s)
                }
                return (element(e.tag, vr, .bytes(ArraySlice(Self.textBytes(shifted.joined(separator: "\\"))))), "S")
            }
        }

        /// A non-empty dummy value consistent with the VR (PS3.15 action D).
        func dummy(_ e: DICOMElement, _ row: BasicProfileRow) -> DICOMElement {
            if case .sequence = e.content {
                return element(e.tag, "SQ", .sequence([DICOMDataset(elements: [:], path: nil)]))
            }
            let vr = vr(of: e, row)
            let value: [UInt8]
            switch vr {
            case "DA": value = Self.textBytes("19000101")
            case "DT": value = Self.textBytes("19000101000000.000000")
            case "TM": value = Self.textBytes("000000.00")
            case "DS", "IS": value = Self.textBytes("0")
            case "AS": value = Self.textBytes("000Y")
            case "UI": value = Self.uidBytes("2.25.0")
            case "UR": value = Self.textBytes("urn:medgrid:removed")
            case "AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT": value = Self.textBytes("ANONYMOUS")
            case "FD", "SV", "UV", "OD", "OV": value = [UInt8](repeating: 0, count: 8)
            case "UL", "SL", "FL", "AT", "OL", "OF": value = [UInt8](repeating: 0, count: 4)
            case "SQ": return element(e.tag, "SQ", .sequence([DICOMDataset(elements: [:], path: nil)]))
            default: value = [0, 0]  // US, SS, OB, OW, UN
            }
            return element(e.tag, vr, .bytes(ArraySlice(value)))
        }

        /// The data set with PatientIdentityRemoved, DeidentificationMethod(+CodeSequence) and
        /// LongitudinalTemporalInformationModified set.
        func marked(_ dataset: DICOMDataset) -> DICOMDataset {
            var elements = dataset.elements
            let codes = options.codes
            elements[DICOMDeidentifier.patientIdentityRemoved] = element(
                DICOMDeidentifier.patientIdentityRemoved, "CS", .bytes(ArraySlice(Self.textBytes("YES"))))
            var methods = dataset.strings(DICOMDeidentifier.deidentificationMethod).filter { !$0.isEmpty }
            let ours = "MedGrid: PS3.15 E " + codes.map(\.value).joined(separator: " ")
            if !methods.contains(ours) { methods.append(ours) }
            elements[DICOMDeidentifier.deidentificationMethod] = element(
                DICOMDeidentifier.deidentificationMethod, "LO", .bytes(ArraySlice(Self.textBytes(methods.joined(separator: "\\")))))
            var items = dataset.items(DICOMDeidentifier.deidentificationMethodCodeSequence)
            for code in codes where !items.contains(where: { $0.string(DICOMDeidentifier.codeValue) == code.value }) {
                items.append(DICOMDataset(elements: [
                    DICOMDeidentifier.codeValue: element(DICOMDeidentifier.codeValue, "SH", .bytes(ArraySlice(Self.textBytes(code.value)))),
                    DICOMDeidentifier.codingSchemeDesignator: element(DICOMDeidentifier.codingSchemeDesignator, "SH", .bytes(ArraySlice(Self.textBytes("DCM")))),
                    DICOMDeidentifier.codeMeaning: element(DICOMDeidentifier.codeMeaning, "LO", .bytes(ArraySlice(Self.textBytes(code.meaning)))),
                ], path: nil))
            }
            elements[DICOMDeidentifier.deidentificationMethodCodeSequence] = element(
                DICOMDeidentifier.deidentificationMethodCodeSequence, "SQ", .sequence(items))
            let temporal: String
            switch options.dates {
            case .basic: temporal = "REMOVED"
            case .keep: temporal = "UNMODIFIED"
            case .shift: temporal = "MODIFIED"
            }
            elements[DICOMDeidentifier.longitudinalTemporalInformationModified] = element(
                DICOMDeidentifier.longitudinalTemporalInformationModified, "CS", .bytes(ArraySlice(Self.textBytes(temporal))))
            return DICOMDataset(elements: elements, path: dataset.path)
        }
    }
}

extension DICOMDataset {
    /// The backslash-separated text values of raw bytes, each stripped of padding.
    static func splitText(_ bytes: ArraySlice<UInt8>) -> [String] {
        let s = String(decoding: bytes, as: UTF8.self).trimmingPadding()
        guard !s.isEmpty else { return [] }
        return s.split(separator: "\\", omittingEmptySubsequences: false).map { String($0).trimmingPadding() }
    }
}

/// Proleptic Gregorian date arithmetic on DICOM DA (`YYYYMMDD`) and the date part of DT values.
enum DICOMDates {
    /// `value` (DA, or DT starting with a full date) moved by `days`; nil when it does not start with a valid
    /// YYYYMMDD date or the result leaves years 0001–9999.
    static func shift(_ value: String, days: Int) -> String? {
        let chars = Array(value.utf8)
        guard chars.count >= 8, chars[0..<8].allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        func number(_ r: Range<Int>) -> Int { chars[r].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        let y = number(0..<4), m = number(4..<6), d = number(6..<8)
        guard (1...12).contains(m), d >= 1, d <= daysInMonth(y, m) else { return nil }
        let (ny, nm, nd) = civil(fromDays: daysFromCivil(y, m, d) + days)
        guard (1...9999).contains(ny) else { return nil }
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(ny, 4) + pad(nm, 2) + pad(nd, 2) + String(decoding: chars[8...], as: UTF8.self)
    }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

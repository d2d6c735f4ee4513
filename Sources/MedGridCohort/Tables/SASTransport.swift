public import Foundation

/// A reader for SAS transport (XPORT) version 5 files, the format the FDA accepts for submissions
/// (SAS Technical Support document TS-140).
///
/// Conventions:
/// - The file is a sequence of 80-byte records: a library header (3 records), then for each member (data set)
///   a member header, a descriptor header, two member records, a NAMESTR header, the namestr records (136 or
///   140 bytes each, as the member header says, packed and blank-padded to a multiple of 80), an OBS header
///   and the observations, packed end to end and blank-padded to a multiple of 80.
/// - Names are up to 8 characters, labels up to 40, trailing blanks removed. Text is UTF-8 when the bytes are
///   valid UTF-8, otherwise ISO-8859-1 (Latin-1), one character per byte.
/// - Numeric values are IBM System/360 hexadecimal floating point, big-endian, stored in 1–8 bytes (a short
///   value is the leading bytes of the 8-byte form). The value `(-1)^s × 0.F × 16^(e−64)` is converted to the
///   nearest `Double` (ties to even): exact whenever the 56-bit fraction has at most 53 significant bits, which
///   includes every value SAS writes from an IEEE double. Unnormalised fractions are handled; a zero fraction
///   is ±0. (pandas' `read_sas` truncates instead of rounding and assumes normalised fractions, so it can
///   differ by one unit in the last place on values that are not exactly representable.)
/// - The 28 SAS missing values (`.`, `._`, `.A`–`.Z`: first byte `.`, `_` or `A`–`Z`, all other bytes zero)
///   become NaN. Character values that are all blanks become `nil`.
/// - Observation count: the observation bytes of a member run to the next member header or the end of the
///   file; whole observations are counted, and trailing observations that lie in the last 80-byte record and
///   consist only of blanks are padding, not data (the rule pandas applies).
/// - Every error is a ``CohortError`` with code `unreadableFile`, the 0-based `byteOffset` of the offending
///   record or field and what was expected. Header counts and lengths are checked against the bytes present
///   before anything is allocated, so a lying or truncated file gives an error, never a crash or a huge
///   allocation. CPORT (`**COMPRESSED**`) and version 8/9 (`LIBV8`) files are rejected as unsupported.
public enum SASTransport {
    /// One variable of a member, from its namestr record.
    public struct Variable: Sendable, Hashable, Codable {
        public var name: String
        public var label: String
        public var kind: AnalysisTable.ColumnKind
        /// Bytes per value (1–8 for numeric).
        public var length: Int
        /// Byte offset of the value within an observation.
        public var position: Int
        /// The SAS format name (`nform`), e.g. `DATE`; `""` if none.
        public var format: String
    }

    /// One member (data set) of a transport file.
    public struct Member: Sendable, Hashable, Codable {
        public var name: String
        public var label: String
        /// The data set type field (usually blank).
        public var type: String
        public var variables: [Variable]
        /// The number of observations (rows).
        public var observationCount: Int
        /// Byte offset of the member header record.
        public var headerOffset: Int
        /// Byte offset of the first observation.
        public var dataOffset: Int
        /// Bytes per observation.
        public var observationLength: Int
    }

    /// Reads the file at `url` and returns the member named `member` (case-insensitive; the first member when
    /// `nil`) as a table whose source is the file's last path component.
    public static func read(contentsOf url: URL, member: String? = nil) throws -> AnalysisTable {
        let file = url.lastPathComponent
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CohortError(file: file, code: .unreadableFile, message: "cannot read file (\(error.localizedDescription))")
        }
        return try read(data, member: member, file: file)
    }

    /// Parses transport bytes and returns one member as a table; `file` names the source in errors.
    public static func read(_ data: Data, member: String? = nil, file: String = "<xpt>") throws -> AnalysisTable {
        try data.withUnsafeBytes { raw in
            let members = try scan(raw, file: file)
            guard !members.isEmpty else {
                throw CohortError(file: file, byteOffset: 240, code: .unreadableFile, message: "the file holds no members (expected a MEMBER header record)")
            }
            let chosen: Member
            if let member {
                guard let m = members.first(where: { $0.name.uppercased() == member.uppercased() }) else {
                    throw CohortError(
                        file: file, code: .unreadableFile,
                        message: "no member named \(member); members found: \(members.map(\.name).joined(separator: ", "))"
                    )
                }
                chosen = m
            } else {
                chosen = members[0]
            }
            return try table(of: chosen, raw, file: file)
        }
    }

    /// Lists the members of a transport file without decoding the observations.
    public static func members(in data: Data, file: String = "<xpt>") throws -> [Member] {
        try data.withUnsafeBytes { try scan($0, file: file) }
    }

    /// Converts the leading `bytes.count` (1–8) bytes of a big-endian IBM hexadecimal float to the nearest
    /// `Double` (see ``SASTransport``); missing-value codes are not special here. More than 8 bytes: the
    /// first 8 are used.
    public static func ibmToDouble(_ bytes: [UInt8]) -> Double {
        bytes.withUnsafeBytes { ibm(UnsafeRawBufferPointer(rebasing: $0[0..<min(8, $0.count)])) }
    }

    // MARK: - Implementation

    static let recordLength = 80
    static let libraryPrefix = Array("HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!".utf8)
    static let memberPrefix = Array("HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!".utf8)
    static let descriptorPrefix = Array("HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!".utf8)
    static let namestrPrefix = Array("HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!".utf8)
    static let obsPrefix = Array("HEADER RECORD*******OBS     HEADER RECORD!!!!!!!".utf8)

    @inline(__always)
    static func ibm(_ p: UnsafeRawBufferPointer) -> Double {
        var bits: UInt64 = 0
        for k in 0..<8 { bits = bits << 8 | UInt64(k < p.count ? p[k] : 0) }
        let negative = bits >> 63 == 1
        let exponent = Int((bits >> 56) & 0x7F)
        let fraction = bits & 0x00FF_FFFF_FFFF_FFFF
        if fraction == 0 { return negative ? -0.0 : 0.0 }
        // fraction × 2^(4(e − 64) − 56): one rounding in Double(UInt64); the scaling is exact (normal range).
        return Double(sign: negative ? .minus : .plus, exponent: 4 * (exponent - 64) - 56, significand: Double(fraction))
    }

    @inline(__always)
    static func isMissingCode(_ p: UnsafeRawBufferPointer) -> Bool {
        guard let first = p.first else { return false }
        guard first == 0x2E || first == 0x5F || (first >= 0x41 && first <= 0x5A) else { return false }
        for k in 1..<p.count where p[k] != 0 { return false }
        return true
    }

    static func text(_ p: UnsafeRawBufferPointer) -> String {
        var end = p.count
        while end > 0, p[end - 1] == 0x20 || p[end - 1] == 0 { end -= 1 }
        let bytes = UnsafeRawBufferPointer(rebasing: p[0..<end])
        let view = bytes.bindMemory(to: UInt8.self)
        if let s = String(validatingUTF8Bytes: view) { return s }
        return String(String.UnicodeScalarView(view.map { Unicode.Scalar($0) }))
    }

    static func startsWith(_ raw: UnsafeRawBufferPointer, at offset: Int, _ prefix: [UInt8]) -> Bool {
        guard offset + prefix.count <= raw.count else { return false }
        for k in 0..<prefix.count where raw[offset + k] != prefix[k] { return false }
        return true
    }

    static func record(_ raw: UnsafeRawBufferPointer, at offset: Int, file: String, expected: String) throws -> UnsafeRawBufferPointer {
        guard offset + recordLength <= raw.count else {
            throw CohortError(
                file: file, byteOffset: offset, code: .unreadableFile,
                message: "file ends after \(raw.count) bytes (expected \(expected), an 80-byte record)"
            )
        }
        return UnsafeRawBufferPointer(rebasing: raw[offset..<offset + recordLength])
    }

    static func expectHeader(_ raw: UnsafeRawBufferPointer, at offset: Int, _ prefix: [UInt8], file: String, expected: String) throws {
        _ = try record(raw, at: offset, file: file, expected: expected)
        guard startsWith(raw, at: offset, prefix) else {
            // Name what is there only when it is another header record: other bytes may be observation data.
            let found = text(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 48]))
            let what = found.hasPrefix("HEADER RECORD*******") ? "\"\(found)\"" : "bytes that are not a header record (not shown)"
            throw CohortError(file: file, byteOffset: offset, code: .unreadableFile, message: "expected \(expected), found \(what)")
        }
    }

    /// Reads `count` ASCII digits at `offset` (leading blanks allowed) as a non-negative integer.
    static func digits(_ raw: UnsafeRawBufferPointer, at offset: Int, count: Int) -> Int? {
        var v = 0
        var any = false
        for k in offset..<offset + count {
            let c = raw[k]
            if c == 0x20, !any { continue }
            guard c >= 0x30, c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
            any = true
        }
        return any ? v : nil
    }

    static func int16(_ raw: UnsafeRawBufferPointer, _ offset: Int) -> Int {
        Int(Int16(bitPattern: UInt16(raw[offset]) << 8 | UInt16(raw[offset + 1])))
    }

    static func int32(_ raw: UnsafeRawBufferPointer, _ offset: Int) -> Int {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 8 | UInt32(raw[offset + k]) }
        return Int(Int32(bitPattern: v))
    }

    static func scan(_ raw: UnsafeRawBufferPointer, file: String) throws -> [Member] {
        _ = try record(raw, at: 0, file: file, expected: "the library header record")
        if startsWith(raw, at: 0, Array("**COMPRESSED**".utf8)) || text(UnsafeRawBufferPointer(rebasing: raw[0..<80])).contains("**COMPRESSED**") {
            throw CohortError(file: file, byteOffset: 0, code: .unreadableFile, message: "this is a CPORT file, not XPORT (unsupported; expected a SAS transport version 5 file)")
        }
        if startsWith(raw, at: 0, Array("HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!".utf8)) {
            throw CohortError(file: file, byteOffset: 0, code: .unreadableFile, message: "this is a SAS transport version 8/9 file (unsupported; expected version 5, LIBRARY header)")
        }
        try expectHeader(raw, at: 0, libraryPrefix, file: file, expected: "the library header \"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!\"")
        _ = try record(raw, at: 80, file: file, expected: "the first real header record")
        guard startsWith(raw, at: 80, Array("SAS     SAS     SASLIB  ".utf8)) else {
            throw CohortError(file: file, byteOffset: 80, code: .unreadableFile, message: "expected \"SAS     SAS     SASLIB  \" at the start of the first real header record")
        }
        _ = try record(raw, at: 160, file: file, expected: "the second real header record")

        var members: [Member] = []
        var offset = 240
        while offset < raw.count {
            let memberOffset = offset
            try expectHeader(raw, at: offset, memberPrefix, file: file, expected: "a MEMBER header record")
            guard let namestrLength = digits(raw, at: offset + 74, count: 4), namestrLength == 136 || namestrLength == 140 else {
                throw CohortError(file: file, byteOffset: offset + 74, code: .unreadableFile, message: "namestr length must be 0136 or 0140 (bytes 74–77 of the MEMBER header)")
            }
            offset += 80
            try expectHeader(raw, at: offset, descriptorPrefix, file: file, expected: "a DSCRPTR header record")
            offset += 80
            let m1 = try record(raw, at: offset, file: file, expected: "the first member record")
            guard startsWith(raw, at: offset, Array("SAS     ".utf8)) else {
                throw CohortError(file: file, byteOffset: offset, code: .unreadableFile, message: "expected \"SAS     \" at the start of the first member record")
            }
            let name = text(UnsafeRawBufferPointer(rebasing: m1[8..<16]))
            offset += 80
            let m2 = try record(raw, at: offset, file: file, expected: "the second member record")
            let label = text(UnsafeRawBufferPointer(rebasing: m2[32..<72]))
            let type = text(UnsafeRawBufferPointer(rebasing: m2[72..<80]))
            offset += 80
            try expectHeader(raw, at: offset, namestrPrefix, file: file, expected: "a NAMESTR header record")
            guard let count = digits(raw, at: offset + 54, count: 4) else {
                throw CohortError(file: file, byteOffset: offset + 54, code: .unreadableFile, message: "expected the variable count as 4 digits (bytes 54–57 of the NAMESTR header)")
            }
            offset += 80
            var namestrBytes = count * namestrLength
            if namestrBytes % 80 != 0 { namestrBytes += 80 - namestrBytes % 80 }
            guard offset + namestrBytes <= raw.count else {
                throw CohortError(
                    file: file, byteOffset: offset, code: .unreadableFile,
                    message: "the NAMESTR header announces \(count) variables (\(namestrBytes) bytes) but only \(raw.count - offset) bytes follow"
                )
            }
            var variables: [Variable] = []
            variables.reserveCapacity(count)
            var names = Set<String>()
            var observationLength = 0
            for v in 0..<count {
                let at = offset + v * namestrLength
                let ntype = int16(raw, at)
                let length = int16(raw, at + 4)
                let vname = text(UnsafeRawBufferPointer(rebasing: raw[at + 8..<at + 16]))
                let vlabel = text(UnsafeRawBufferPointer(rebasing: raw[at + 16..<at + 56]))
                let format = text(UnsafeRawBufferPointer(rebasing: raw[at + 56..<at + 64]))
                let position = int32(raw, at + 84)
                let kind: AnalysisTable.ColumnKind
                switch ntype {
                case 1: kind = .numeric
                case 2: kind = .text
                default:
                    throw CohortError(file: file, byteOffset: at, code: .unreadableFile, message: "variable \(v + 1): type \(ntype) (expected 1 numeric or 2 character)")
                }
                if kind == .numeric, !(1...8).contains(length) {
                    throw CohortError(file: file, byteOffset: at + 4, code: .unreadableFile, message: "numeric variable \(vname): length \(length) (expected 1–8)")
                }
                if kind == .text, length < 1 {
                    throw CohortError(file: file, byteOffset: at + 4, code: .unreadableFile, message: "character variable \(vname): length \(length) (expected at least 1)")
                }
                guard !vname.isEmpty else {
                    throw CohortError(file: file, byteOffset: at + 8, code: .unreadableFile, message: "variable \(v + 1) has a blank name (expected 1–8 characters)")
                }
                guard names.insert(vname).inserted else {
                    throw CohortError(file: file, byteOffset: at + 8, code: .unreadableFile, message: "duplicate variable name \(vname)")
                }
                observationLength += length
                variables.append(Variable(name: vname, label: vlabel, kind: kind, length: length, position: position, format: format))
            }
            for (v, variable) in variables.enumerated() where variable.position < 0 || variable.position + variable.length > observationLength {
                throw CohortError(
                    file: file, byteOffset: offset + v * namestrLength + 84, code: .unreadableFile,
                    message: "variable \(variable.name): position \(variable.position) with length \(variable.length) lies outside the \(observationLength)-byte observation"
                )
            }
            offset += namestrBytes
            try expectHeader(raw, at: offset, obsPrefix, file: file, expected: "an OBS header record")
            offset += 80
            let dataOffset = offset
            // Observation bytes run to the next MEMBER header (at a record boundary) or the end of the file.
            var end = offset
            while end < raw.count, !startsWith(raw, at: end, memberPrefix) { end += 80 }
            if end > raw.count {
                throw CohortError(
                    file: file, byteOffset: raw.count, code: .unreadableFile,
                    message: "file ends mid-record (length \(raw.count) is not a multiple of 80; expected blank-padded 80-byte records)"
                )
            }
            let dataLength = end - dataOffset
            var observations = 0
            if observationLength > 0 {
                observations = dataLength / observationLength
                while observations > 0 {
                    let start = dataOffset + (observations - 1) * observationLength
                    guard start >= end - 80 else { break }
                    var blank = true
                    for k in start..<start + observationLength where raw[k] != 0x20 { blank = false; break }
                    guard blank else { break }
                    observations -= 1
                }
                for k in dataOffset + observations * observationLength..<end where raw[k] != 0x20 {
                    throw CohortError(
                        file: file, byteOffset: k, code: .unreadableFile,
                        message: "unexpected data after the last whole observation (expected blank padding; \(observationLength)-byte observations)"
                    )
                }
            }
            members.append(
                Member(
                    name: name, label: label, type: type, variables: variables, observationCount: observations,
                    headerOffset: memberOffset, dataOffset: dataOffset, observationLength: observationLength
                )
            )
            offset = end
        }
        return members
    }

    static func table(of member: Member, _ raw: UnsafeRawBufferPointer, file: String) throws -> AnalysisTable {
        let n = member.observationCount
        var columns: [AnalysisTable.Column] = []
        for variable in member.variables {
            switch variable.kind {
            case .numeric:
                var values = [Double](repeating: .nan, count: n)
                values.withUnsafeMutableBufferPointer { out in
                    for r in 0..<n {
                        let at = member.dataOffset + r * member.observationLength + variable.position
                        let p = UnsafeRawBufferPointer(rebasing: raw[at..<at + variable.length])
                        if !isMissingCode(p) { out[r] = ibm(p) }
                    }
                }
                columns.append(.numeric(values))
            case .text:
                var values: [String?] = []
                values.reserveCapacity(n)
                for r in 0..<n {
                    let at = member.dataOffset + r * member.observationLength + variable.position
                    let s = text(UnsafeRawBufferPointer(rebasing: raw[at..<at + variable.length]))
                    values.append(s.isEmpty ? nil : s)
                }
                columns.append(.text(values))
            }
        }
        return try AnalysisTable(
            names: member.variables.map(\.name), labels: member.variables.map(\.label), columns: columns,
            source: file
        )
    }
}

extension String {
    /// The string if `bytes` are valid UTF-8, otherwise `nil`.
    fileprivate init?(validatingUTF8Bytes bytes: UnsafeBufferPointer<UInt8>) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): scalars.append(s)
            case .emptyInput: self = String(scalars); return
            case .error: return nil
            }
        }
    }
}

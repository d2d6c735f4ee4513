public import Foundation

/// RFC 4180 CSV reading and writing for ``CohortTable``.
///
/// Reading conventions:
/// - Comma-separated; fields may be quoted with `"`, with `""` for a literal quote; quoted fields may hold
///   commas, CR and LF. A `"` inside an unquoted field is kept literally (lenient, as most tools are).
/// - Records end with CRLF, LF or a lone CR; the final line ending is optional. Blank lines are skipped.
/// - An optional UTF-8 byte-order mark is skipped. ``read(contentsOf:)`` rejects invalid UTF-8.
/// - The first record is the header (row 0); names must be unique. Every data row must have exactly as many
///   fields as the header. Cells are kept raw: no trimming and no type conversion.
/// - Errors are ``CohortError``s with code ``CohortError/Code/malformedCSV``, the row (record) number and the
///   0-based byte offset of the offending quote or record.
///
/// Writing conventions: LF line endings with a final LF; a field is quoted only when it holds `,`, `"`, CR or
/// LF (or is empty in a one-column table, so the row survives a round trip).
public enum CSV {
    /// Reads and parses the CSV file at `url`; errors name the file by its last path component.
    public static func read(contentsOf url: URL) throws -> CohortTable {
        let file = url.lastPathComponent
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CohortError(file: file, code: .unreadableFile, message: "cannot read file (\(error.localizedDescription))")
        }
        return try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            if let bad = firstInvalidUTF8(bytes) {
                throw CohortError(file: file, byteOffset: bad, code: .unreadableFile, message: "not valid UTF-8")
            }
            return try parse(bytes: bytes, file: file)
        }
    }

    /// Parses CSV text; `file` is only used to name the source in errors.
    public static func parse(_ text: String, file: String) throws -> CohortTable {
        var text = text
        return try text.withUTF8 { try parse(bytes: $0, file: file) }
    }

    /// Serialises `t` as RFC 4180 CSV (header first, LF line endings, final LF).
    public static func write(_ t: CohortTable) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((t.rows.count + 1) * max(t.columns.count, 1) * 8)
        let quoteEmpty = t.columns.count == 1
        func appendRecord(_ fields: [String]) {
            for (k, field) in fields.enumerated() {
                if k > 0 { out.append(comma) }
                let utf8 = field.utf8
                let needsQuotes = (quoteEmpty && utf8.isEmpty)
                    || utf8.contains { $0 == comma || $0 == quote || $0 == lf || $0 == cr }
                if needsQuotes {
                    out.append(quote)
                    for byte in utf8 {
                        if byte == quote { out.append(quote) }
                        out.append(byte)
                    }
                    out.append(quote)
                } else {
                    out.append(contentsOf: utf8)
                }
            }
            out.append(lf)
        }
        appendRecord(t.columns)
        for row in t.rows { appendRecord(row) }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Implementation

    private static let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\"")
    private static let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

    static func parse(bytes b: UnsafeBufferPointer<UInt8>, file: String) throws -> CohortTable {
        let n = b.count
        var i = 0
        if n >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
        var header: [String]? = nil
        var rows: [[String]] = []
        var scratch: [UInt8] = []
        var rowNumber = 0
        var width = 8

        while i < n {
            // Blank lines are skipped.
            if b[i] == lf { i += 1; continue }
            if b[i] == cr {
                i += 1
                if i < n, b[i] == lf { i += 1 }
                continue
            }
            let recordStart = i
            var record: [String] = []
            record.reserveCapacity(width)
            while true {
                if i < n, b[i] == quote {
                    let open = i
                    i += 1
                    var segmentStart = i
                    var escaped = false
                    scratch.removeAll(keepingCapacity: true)
                    while true {
                        guard i < n else {
                            throw CohortError(
                                file: file, row: rowNumber, byteOffset: open, code: .malformedCSV,
                                message: "unterminated quote (the quoted field opened here never closes)"
                            )
                        }
                        if b[i] != quote { i += 1; continue }
                        if i + 1 < n, b[i + 1] == quote {
                            escaped = true
                            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[segmentStart...i]))
                            i += 2
                            segmentStart = i
                            continue
                        }
                        break
                    }
                    let tail = UnsafeBufferPointer(rebasing: b[segmentStart..<i])
                    if escaped {
                        scratch.append(contentsOf: tail)
                        record.append(String(decoding: scratch, as: UTF8.self))
                    } else {
                        record.append(String(decoding: tail, as: UTF8.self))
                    }
                    i += 1  // closing quote
                    if i < n, b[i] != comma, b[i] != lf, b[i] != cr {
                        throw CohortError(
                            file: file, row: rowNumber, byteOffset: i, code: .malformedCSV,
                            message: "unexpected character after a closing quote (expected a comma or a line end)"
                        )
                    }
                } else {
                    let start = i
                    while i < n {
                        let c = b[i]
                        if c == comma || c == lf || c == cr { break }
                        i += 1
                    }
                    record.append(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self))
                }
                if i < n, b[i] == comma { i += 1; continue }
                if i < n, b[i] == cr {
                    i += 1
                    if i < n, b[i] == lf { i += 1 }
                } else if i < n {
                    i += 1  // LF
                }
                break
            }

            if let header {
                if record.count != header.count {
                    throw CohortError(
                        file: file, row: rowNumber, byteOffset: recordStart, code: .malformedCSV,
                        message: "has \(record.count) fields but the header has \(header.count)"
                    )
                }
                rows.append(record)
            } else {
                var seen = Set<String>()
                for name in record where !seen.insert(name).inserted {
                    throw CohortError(
                        file: file, row: 0, column: name, code: .malformedCSV,
                        message: "duplicate column name in the header"
                    )
                }
                header = record
                width = record.count
            }
            rowNumber += 1
        }
        guard let header else {
            throw CohortError(file: file, code: .malformedCSV, message: "empty file: no header row")
        }
        return CohortTable(columns: header, rows: rows)
    }

    /// The offset of the first byte that does not start a valid UTF-8 sequence, or `nil` if all is valid.
    static func firstInvalidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            let length: Int
            switch c {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + length <= n, b[i + 1] >= low, b[i + 1] <= high else { return i }
            for k in 2..<length where b[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }
}

/// A raw DEFLATE (RFC 1951) decoder, used for the deflated explicit VR little endian transfer syntax
/// (1.2.840.10008.1.2.1.99), whose data set is a raw deflate stream with no zlib or gzip wrapper.
///
/// Supports stored, fixed-Huffman and dynamic-Huffman blocks. Every malformed stream (bad block type,
/// over-subscribed or incomplete code, distance before the start of the output, stream ending early)
/// throws an ``ImagingError`` with code `.compression`, and output beyond `limit` bytes throws `.tooLarge`,
/// so a hostile stream can neither crash the reader nor make it allocate without bound.
enum Inflate {
    /// A canonical Huffman code: `counts[len]` codes of each length and the symbols in code order.
    private struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]

        /// Builds the code from per-symbol code lengths (0 = unused); `nil` if over-subscribed.
        init?(lengths: [Int]) {
            symbols = [Int](repeating: 0, count: lengths.count)
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var left = 1
            for len in 1..<16 {
                left <<= 1
                left -= counts[len]
                if left < 0 { return nil }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }
    }

    private struct BitReader {
        let input: [UInt8]
        var position: Int
        var bitBuffer: UInt64 = 0
        var bitCount = 0

        mutating func bits(_ n: Int) throws -> Int {
            while bitCount < n {
                guard position < input.count else {
                    throw ImagingError(.compression, byteOffset: position, "deflate stream ends unexpectedly")
                }
                bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
                position += 1
                bitCount += 8
            }
            let value = Int(bitBuffer & ((1 << UInt64(n)) - 1))
            bitBuffer >>= UInt64(n)
            bitCount -= n
            return value
        }

        mutating func decode(_ h: Huffman) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1..<16 {
                code |= try bits(1)
                let count = h.counts[len]
                if code - count < first { return h.symbols[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw ImagingError(.compression, byteOffset: position, "deflate stream holds an invalid Huffman code")
        }
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Inflates the raw deflate stream in `input[start...]`; byte offsets in errors are offsets in `input`.
    /// Throws `.tooLarge` once the output would exceed `limit` bytes.
    static func inflate(_ input: [UInt8], from start: Int, limit: Int) throws -> [UInt8] {
        var reader = BitReader(input: input, position: start)
        var out = [UInt8]()
        out.reserveCapacity(min(limit, max(1024, (input.count - start) * 4)))
        let fixedLiteral = Huffman(lengths: (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 })!
        let fixedDistance = Huffman(lengths: [Int](repeating: 5, count: 30))!
        var last = 0
        repeat {
            last = try reader.bits(1)
            let type = try reader.bits(2)
            switch type {
            case 0:
                reader.bitBuffer = 0
                reader.bitCount = 0
                let p = reader.position
                guard p + 4 <= input.count else {
                    throw ImagingError(.compression, byteOffset: p, "deflate stored block header is truncated")
                }
                let len = Int(input[p]) | Int(input[p + 1]) << 8
                let nlen = Int(input[p + 2]) | Int(input[p + 3]) << 8
                guard len == (~nlen & 0xffff) else {
                    throw ImagingError(.compression, byteOffset: p, "deflate stored block length \(len) does not match its complement")
                }
                guard p + 4 + len <= input.count else {
                    throw ImagingError(.compression, byteOffset: p, "deflate stored block of \(len) bytes runs past the end of the file")
                }
                guard out.count + len <= limit else { throw tooLarge(limit, at: p) }
                out.append(contentsOf: input[(p + 4)..<(p + 4 + len)])
                reader.position = p + 4 + len
            case 1:
                try codes(&reader, &out, fixedLiteral, fixedDistance, limit: limit)
            case 2:
                let (literal, distance) = try dynamicTables(&reader)
                try codes(&reader, &out, literal, distance, limit: limit)
            default:
                throw ImagingError(.compression, byteOffset: reader.position, "deflate block type 3 is invalid")
            }
        } while last == 0
        return out
    }

    private static func tooLarge(_ limit: Int, at offset: Int) -> ImagingError {
        ImagingError(.tooLarge, byteOffset: offset, "deflated data set inflates to more than \(limit) bytes; refusing a possible zip bomb")
    }

    private static func dynamicTables(_ r: inout BitReader) throws -> (Huffman, Huffman) {
        let at = r.position
        let nlen = try r.bits(5) + 257
        let ndist = try r.bits(5) + 1
        let ncode = try r.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else {
            throw ImagingError(.compression, byteOffset: at, "deflate dynamic block declares \(nlen) literal or \(ndist) distance codes (at most 286 and 30)")
        }
        var lengths = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { lengths[codeLengthOrder[i]] = try r.bits(3) }
        guard let lencode = Huffman(lengths: lengths) else {
            throw ImagingError(.compression, byteOffset: at, "deflate code-length code is over-subscribed")
        }
        var all = [Int]()
        all.reserveCapacity(nlen + ndist)
        while all.count < nlen + ndist {
            let symbol = try r.decode(lencode)
            if symbol < 16 {
                all.append(symbol)
            } else {
                var value = 0, repeatCount: Int
                if symbol == 16 {
                    guard let previous = all.last else {
                        throw ImagingError(.compression, byteOffset: r.position, "deflate repeat code with no previous length")
                    }
                    value = previous
                    repeatCount = 3 + (try r.bits(2))
                } else if symbol == 17 {
                    repeatCount = 3 + (try r.bits(3))
                } else {
                    repeatCount = 11 + (try r.bits(7))
                }
                guard all.count + repeatCount <= nlen + ndist else {
                    throw ImagingError(.compression, byteOffset: r.position, "deflate code lengths overrun the table")
                }
                all.append(contentsOf: repeatElement(value, count: repeatCount))
            }
        }
        guard all[256] != 0 else {
            throw ImagingError(.compression, byteOffset: r.position, "deflate block has no end-of-block code")
        }
        guard let literal = Huffman(lengths: Array(all[0..<nlen])),
            let distance = Huffman(lengths: Array(all[nlen...]))
        else {
            throw ImagingError(.compression, byteOffset: r.position, "deflate literal or distance code is over-subscribed")
        }
        return (literal, distance)
    }

    private static func codes(
        _ r: inout BitReader, _ out: inout [UInt8], _ literal: Huffman, _ distance: Huffman, limit: Int
    ) throws {
        while true {
            let symbol = try r.decode(literal)
            if symbol < 256 {
                guard out.count < limit else { throw tooLarge(limit, at: r.position) }
                out.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let li = symbol - 257
                guard li < 29 else {
                    throw ImagingError(.compression, byteOffset: r.position, "deflate length symbol \(symbol) is invalid")
                }
                let length = lengthBase[li] + (try r.bits(lengthExtra[li]))
                let di = try r.decode(distance)
                guard di < 30 else {
                    throw ImagingError(.compression, byteOffset: r.position, "deflate distance symbol \(di) is invalid")
                }
                let dist = distanceBase[di] + (try r.bits(distanceExtra[di]))
                guard dist <= out.count else {
                    throw ImagingError(.compression, byteOffset: r.position, "deflate distance \(dist) reaches before the start of the output (\(out.count) bytes)")
                }
                guard out.count + length <= limit else { throw tooLarge(limit, at: r.position) }
                let from = out.count - dist
                for k in 0..<length { out.append(out[from + k]) }
            }
        }
    }
}

import Testing
import Foundation
import MedGridCore
@testable import MedGridReports

/// An independent decoder for the PNGs our encoder writes (8-bit gray or RGBA, filter 0, stored deflate
/// blocks only). Verifies the signature, every chunk CRC, the zlib header check bits, LEN/NLEN of every
/// block and the Adler-32 trailer.
enum PNGTestDecoder {
    struct Failure: Error, CustomStringConvertible { var description: String }
    struct Image: Equatable { var width: Int; var height: Int; var channels: Int; var pixels: [UInt8] }

    static func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// Bitwise CRC-32 (no table), independent of the encoder's table-driven one.
    static func slowCRC32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        }
        return ~c
    }

    static func slowAdler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }

    static func inflateStored(_ z: [UInt8]) throws -> [UInt8] {
        guard z.count >= 6 else { throw Failure(description: "zlib stream too short") }
        guard z[0] & 0x0F == 8, (UInt16(z[0]) << 8 | UInt16(z[1])) % 31 == 0, z[1] & 0x20 == 0 else { throw Failure(description: "bad zlib header") }
        var i = 2
        var out: [UInt8] = []
        while true {
            guard i + 5 <= z.count else { throw Failure(description: "truncated block header at \(i)") }
            let header = z[i]
            guard (header >> 1) & 3 == 0 else { throw Failure(description: "block type \((header >> 1) & 3) is not stored") }
            let len = Int(z[i + 1]) | Int(z[i + 2]) << 8, nlen = Int(z[i + 3]) | Int(z[i + 4]) << 8
            guard len ^ nlen == 0xFFFF else { throw Failure(description: "LEN/NLEN mismatch at \(i)") }
            i += 5
            guard i + len <= z.count else { throw Failure(description: "truncated block data") }
            out += z[i..<(i + len)]
            i += len
            if header & 1 == 1 { break }
        }
        guard i + 4 == z.count else { throw Failure(description: "expected 4 trailer bytes, found \(z.count - i)") }
        guard be32(z, i) == slowAdler32(out) else { throw Failure(description: "Adler-32 mismatch") }
        return out
    }

    static func decode(_ png: [UInt8]) throws -> Image {
        guard png.count > 8, Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw Failure(description: "bad signature") }
        var i = 8
        var width = 0, height = 0, channels = 0
        var idat: [UInt8] = []
        var types: [String] = []
        while i + 12 <= png.count {
            let length = Int(be32(png, i))
            guard i + 12 + length <= png.count else { throw Failure(description: "truncated chunk") }
            let typeAndData = Array(png[(i + 4)..<(i + 8 + length)])
            let type = String(decoding: typeAndData[0..<4], as: UTF8.self)
            guard be32(png, i + 8 + length) == slowCRC32(typeAndData) else { throw Failure(description: "CRC mismatch in \(type)") }
            let data = Array(typeAndData[4...])
            types.append(type)
            switch type {
            case "IHDR":
                width = Int(be32(data, 0)); height = Int(be32(data, 4))
                guard data[8] == 8, data[10] == 0, data[11] == 0, data[12] == 0 else { throw Failure(description: "unsupported IHDR") }
                switch data[9] {
                case 0: channels = 1
                case 6: channels = 4
                default: throw Failure(description: "colour type \(data[9])")
                }
            case "IDAT": idat += data
            default: break
            }
            i += 12 + length
        }
        guard i == png.count, types.first == "IHDR", types.last == "IEND" else { throw Failure(description: "bad chunk layout \(types)") }
        let raw = try inflateStored(idat)
        let row = width * channels
        guard raw.count == (row + 1) * height else { throw Failure(description: "raw size \(raw.count), expected \((row + 1) * height)") }
        var pixels: [UInt8] = []
        for y in 0..<height {
            guard raw[y * (row + 1)] == 0 else { throw Failure(description: "filter \(raw[y * (row + 1)]) on row \(y)") }
            pixels += raw[(y * (row + 1) + 1)..<((y + 1) * (row + 1))]
        }
        return Image(width: width, height: height, channels: channels, pixels: pixels)
    }
}

struct HTMLPNGTests {
    @Test("CRC-32 and Adler-32 check values")
    func checkValues() {
        #expect(PNGEncoder.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(PNGEncoder.crc32([]) == 0)
        #expect(PNGEncoder.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(PNGEncoder.adler32([]) == 1)
        // continuing = checksum of the concatenation
        let a = Array("hello ".utf8), b = Array("world".utf8)
        #expect(PNGEncoder.crc32(b, continuing: PNGEncoder.crc32(a)) == PNGEncoder.crc32(a + b))
    }

    @Test("CRC-32 and Adler-32 equal zlib's values (reference file from Python zlib)")
    func checksumsReference() throws {
        let url = Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("html/checksums.json")
        let json = try JSONValue(parsing: Data(contentsOf: url))
        let cases = try #require(json["cases"]?.arrayValue)
        #expect(cases.count >= 4)
        for c in cases {
            let n = try #require(c["length"]?.intValue)
            let seed = try #require(c["seed"]?.intValue)
            let bytes = Self.bytes(count: n, seed: UInt32(seed))
            #expect(Int(PNGEncoder.crc32(bytes)) == c["crc32"]?.intValue, "length \(n)")
            #expect(Int(PNGEncoder.adler32(bytes)) == c["adler32"]?.intValue, "length \(n)")
            #expect(PNGEncoder.crc32(bytes) == PNGTestDecoder.slowCRC32(bytes))
        }
    }

    /// Deterministic bytes shared with reference-scripts/html_reference.py: x ← (1103515245·x + 12345) mod 2^31, byte = x >> 16 & 0xFF.
    static func bytes(count: Int, seed: UInt32) -> [UInt8] {
        var x = seed
        return (0..<count).map { _ in
            x = (1_103_515_245 &* x &+ 12345) & 0x7FFF_FFFF
            return UInt8((x >> 16) & 0xFF)
        }
    }

    @Test("zlib stored stream: block layout for empty, one-block and multi-block data")
    func zlibStored() throws {
        #expect(PNGEncoder.zlibStored([]) == [0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01])
        for n in [1, 65535, 65536, 200_000] {
            let data = Self.bytes(count: n, seed: 9)
            let z = PNGEncoder.zlibStored(data)
            #expect(z.count == 2 + 4 + 5 * ((n + 65534) / 65535) + n)
            #expect(try PNGTestDecoder.inflateStored(z) == data)
        }
    }

    @Test("Grayscale and RGBA PNGs decode to the input pixels (incl. a multi-block image)")
    func roundTrip() throws {
        for (w, h) in [(1, 1), (3, 2), (300, 250)] {
            let gray = Self.bytes(count: w * h, seed: UInt32(w))
            let g = try PNGTestDecoder.decode(try PNGEncoder.grayscale(width: w, height: h, pixels: gray))
            #expect(g == .init(width: w, height: h, channels: 1, pixels: gray))
            let rgba = Self.bytes(count: 4 * w * h, seed: UInt32(h))
            let c = try PNGTestDecoder.decode(try PNGEncoder.rgba(width: w, height: h, pixels: rgba))
            #expect(c == .init(width: w, height: h, channels: 4, pixels: rgba))
        }
        #expect(throws: MedGridError.self) { try PNGEncoder.grayscale(width: 2, height: 2, pixels: [1, 2, 3]) }
        #expect(throws: MedGridError.self) { try PNGEncoder.grayscale(width: 0, height: 2, pixels: []) }
        #expect(throws: MedGridError.self) { try PNGEncoder.rgba(width: 100_000, height: 1, pixels: []) }
    }

    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Cross-check with Python's zlib (and PIL when installed): chunk CRCs via zlib.crc32, IDAT via
    /// zlib.decompress (which checks Adler-32), pixel bytes compared.
    @Test("Python zlib (and PIL if present) decode the PNG to the same pixels", .enabled(if: python != nil))
    func pythonDecodes() throws {
        let w = 37, h = 290  // > 65535 raw bytes in RGBA → several stored blocks
        let pixels = Self.bytes(count: 4 * w * h, seed: 5)
        let png = try PNGEncoder.rgba(width: w, height: h, pixels: pixels)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("medgrid-html-png-\(getpid()).png")
        try Data(png).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
        import sys, zlib, struct
        b = open(sys.argv[1], 'rb').read()
        assert b[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
        i, idat = 8, b''
        while i < len(b):
            n, = struct.unpack('>I', b[i:i+4]); t = b[i+4:i+8]; d = b[i+8:i+8+n]
            assert struct.unpack('>I', b[i+8+n:i+12+n])[0] == zlib.crc32(t + d), t
            if t == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', d[:10])
            if t == b'IDAT': idat += d
            i += 12 + n
        raw = zlib.decompress(idat)
        stride = w * 4
        px = b''.join(raw[y*(stride+1)+1:(y+1)*(stride+1)] for y in range(h))
        out = [str(w), str(h), px.hex()]
        try:
            from PIL import Image
            im = Image.open(sys.argv[1]); im.load()
            out.append(im.mode + ':' + im.tobytes().hex())
        except ImportError:
            out.append('no-PIL')
        print(' '.join(out))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.python))
        process.arguments = ["-c", script, file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let fields = output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        try #require(fields.count == 4)
        let expected = pixels.map { String(format: "%02x", $0) }.joined()
        #expect(fields[0] == "37" && fields[1] == "290")
        #expect(fields[2] == expected)
        if fields[3] != "no-PIL" { #expect(fields[3] == "RGBA:" + expected) }
    }

}

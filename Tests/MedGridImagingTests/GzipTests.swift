import Foundation
import Testing
@testable import MedGridImaging

/// gzip over the system zlib: round trips, several members, limits, and every damage refused.
struct GzipTests {
    static let plain = Data((0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) })

    @Test("round trip, deterministic header (no time, OS byte 255), two members concatenated, zero padding after")
    func roundTrip() throws {
        let z = try Gzip.compress(Self.plain)
        #expect(Gzip.isGzip(z))
        #expect(z[4..<8].allSatisfy { $0 == 0 } && z[9] == 0xff)
        #expect(try Gzip.compress(Self.plain) == z)
        #expect(try Gzip.decompress(z, limit: Self.plain.count) == Self.plain)
        let two = z + (try Gzip.compress(Data("second".utf8)))
        #expect(try Gzip.decompress(two, limit: 1 << 20) == Self.plain + Data("second".utf8))
        #expect(try Gzip.decompress(z + Data(count: 16), limit: 1 << 20) == Self.plain)
        #expect(try Gzip.decompressPrefix(z, count: 540) == Self.plain.prefix(540))
        #expect(try Gzip.decompress(try Gzip.compress(Data()), limit: 0).isEmpty)
    }

    @Test("a cut stream, a changed trailer, changed data, other bytes after, no magic and a stream past the limit are refused")
    func damage() throws {
        let z = try Gzip.compress(Self.plain)
        func refused(_ data: Data, limit: Int = 1 << 20, _ code: ImagingError.Code = .compression) {
            do {
                _ = try Gzip.decompress(data, limit: limit)
                Issue.record("accepted damaged gzip")
            } catch let e as ImagingError {
                #expect(e.code == code, "\(e)")
            } catch { Issue.record("\(error)") }
        }
        refused(z.prefix(z.count - 4))
        refused(z.prefix(z.count / 2))
        var crc = z
        crc[crc.count - 6] ^= 1
        refused(crc)
        var body = z
        body[body.count / 2] ^= 0x10
        refused(body)
        refused(z + Data("junk".utf8))
        refused(Data("plain text".utf8))
        refused(z, limit: Self.plain.count - 1, .tooLarge)
    }
}

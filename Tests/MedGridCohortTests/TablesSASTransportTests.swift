import Foundation
import MedGridCohort
import MedGridCore
import Testing

@Suite struct TablesSASTransportTests {
    static func bytes(_ name: String) throws -> Data {
        try Data(contentsOf: ModelRef.url("tables/xport/\(name)"))
    }

    static func same(_ a: Double, _ expected: JSONValue?) -> Bool {
        guard let e = expected, let d = e.doubleValue else { return a.isNaN }
        return a.bitPattern == d.bitPattern || (a == 0 && d == 0 && a.sign == d.sign)
    }

    @Test func readsMembersAndExactIBMValues() throws {
        let ref = try ModelRef.json("tables/xport_expected.json")
        let data = try Self.bytes("edge.xpt")
        let members = try SASTransport.members(in: data, file: "edge.xpt")
        #expect(members.map(\.name) == ["EDGE", "ADTTE"])
        #expect(members[0].label == "IBM float edge cases")
        #expect(members[0].variables.map(\.length) == [8, 4, 3, 8])
        let edge = try SASTransport.read(data, file: "edge.xpt")
        let expected = try #require(ref["EDGE"])
        #expect(edge.rowCount == expected["rows"]?.intValue)
        #expect(edge.names == ["VALUE", "SHORT4", "SHORT3", "NAME"])
        #expect(edge.labels == ["Value (8 bytes)", "Value (4 bytes)", "Value (3 bytes)", "Name text"])
        for column in ["VALUE", "SHORT4", "SHORT3"] {
            let got = try edge.numeric(column)
            let want = try #require(expected[column]?.arrayValue)
            try #require(got.count == want.count)
            for r in got.indices { #expect(Self.same(got[r], want[r]), "\(column) row \(r + 1): \(got[r]) vs \(want[r])") }
        }
        let names = try edge.textValues("NAME")
        let wantNames = (expected["NAME"]?.arrayValue ?? []).map(\.stringValue)
        #expect(names == wantNames)
        // All 28 missing codes are missing; the 8-byte column has exactly 28 NaNs.
        #expect(try edge.numeric("VALUE").filter(\.isNaN).count == 28)
    }

    @Test func agreesWithPandasWithinOneULP() throws {
        let ref = try ModelRef.json("tables/xport_expected.json")
        let edge = try SASTransport.read(Self.bytes("edge.xpt"))
        let values = try edge.numeric("VALUE")
        let pandas = try #require(ref["pandas_EDGE"]?["VALUE"]?.arrayValue)
        let exact = try #require(ref["EDGE"]?["VALUE"]?.arrayValue)
        var equal = 0
        for r in values.indices {
            if Self.same(values[r], pandas[r]) { equal += 1; continue }
            // Differences are pandas' truncation (≤ 1 ulp), its non-zero reading of IBM zero, and unnormalised input.
            let e = exact[r].doubleValue ?? .nan
            #expect(Self.same(values[r], exact[r]))
            let p = pandas[r].doubleValue ?? .nan
            #expect(abs(p - e) <= e.ulp || e == 0 || r == values.count - 29, "row \(r + 1)")
        }
        #expect(equal >= 44)
    }

    @Test func picksMembersByNameAndDropsBlankPadding() throws {
        let data = try Self.bytes("edge.xpt")
        let adtte = try SASTransport.read(data, member: "adtte")
        // 7 observations of 5 bytes = 35 bytes in an 80-byte record: 9 blank "observations" of padding.
        #expect(adtte.rowCount == 7)
        #expect(try adtte.textValues("SITEID") == ["S01", "S02", "S03", "S01", "S02", "S03", "S01"])
        #expect(try adtte.numeric("CNSR") == [0, 1, 0, 1, 0, 1, 0])
        let alone = try SASTransport.read(Self.bytes("adtte.xpt"))
        #expect(alone.rowCount == 7)
        do {
            _ = try SASTransport.read(data, member: "NOPE", file: "edge.xpt")
            Issue.record("expected an error")
        } catch let e as CohortError {
            #expect(e.description.contains("EDGE, ADTTE"))
        }
        var frameEx = RowExclusions()
        #expect(try EventIndicator(parsing: "CNSR==0").evaluate(adtte, exclusions: &frameEx) == [1, 0, 1, 0, 1, 0, 1])
    }

    @Test func ibmConversionEdgeCases() {
        #expect(SASTransport.ibmToDouble([0x41, 0x10, 0, 0, 0, 0, 0, 0]) == 1)
        #expect(SASTransport.ibmToDouble([0xC1, 0x10, 0, 0, 0, 0, 0, 0]) == -1)
        #expect(SASTransport.ibmToDouble([0x42, 0x64]) == 100)  // truncated to 2 bytes
        #expect(SASTransport.ibmToDouble([0x40, 0x80, 0, 0, 0, 0, 0, 0]) == 0.5)
        #expect(SASTransport.ibmToDouble([0, 0, 0, 0, 0, 0, 0, 0]) == 0)
        #expect(SASTransport.ibmToDouble([0x80, 0, 0, 0, 0, 0, 0, 0]).sign == .minus)
        // Largest and smallest normalised magnitudes.
        #expect(SASTransport.ibmToDouble([0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == 0x1p252)
        #expect(SASTransport.ibmToDouble([0x00, 0x10, 0, 0, 0, 0, 0, 0]) == 0x1p-260)
        // 0.1 as SAS stores it (0x4019999999999999A) differs from the double 0.1 only below its precision.
        #expect(SASTransport.ibmToDouble([0x40, 0x19, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A]) == 0.1)
    }

    // MARK: - Malformed files

    @Test func everyTruncationIsAnErrorNotACrash() throws {
        let data = try Self.bytes("edge.xpt")
        var errors = 0
        for length in stride(from: 0, to: data.count, by: 7) {
            do {
                _ = try SASTransport.read(data.prefix(length), file: "cut.xpt")
            } catch let e as CohortError {
                errors += 1
                #expect(e.file == "cut.xpt")
                #expect(e.byteOffset != nil, "length \(length): \(e)")
            }
        }
        #expect(errors > 0)
    }

    @Test func lyingHeadersAreErrorsWithOffsets() throws {
        let good = try Self.bytes("edge.xpt")
        func mutated(_ offset: Int, _ text: String) -> Data {
            var d = good
            for (k, b) in text.utf8.enumerated() { d[offset + k] = b }
            return d
        }
        func error(_ d: Data) -> CohortError? {
            do { _ = try SASTransport.read(d, file: "bad.xpt"); return nil } catch let e as CohortError { return e } catch { return nil }
        }
        // Member header starts at 240; its NAMESTR header at 240 + 320 = 560, count at 560 + 54.
        let hugeCount = try #require(error(mutated(614, "9999")))
        #expect(hugeCount.byteOffset == 640)
        #expect(hugeCount.description.contains("9999 variables"))
        let badCount = try #require(error(mutated(614, "00x4")))
        #expect(badCount.byteOffset == 614)
        let badLibrary = try #require(error(mutated(0, "HEADER RECORD*******LIBRERY")))
        #expect(badLibrary.byteOffset == 0)
        let badNamestrLength = try #require(error(mutated(314, "0150")))
        #expect(badNamestrLength.byteOffset == 314)
        // First namestr at 640: type 3, then numeric length 9.
        var d = good
        d[641] = 3
        #expect(try #require(error(d)).byteOffset == 640)
        d = good
        d[645] = 9
        #expect(try #require(error(d)).byteOffset == 644)
        // A position beyond the observation.
        d = good
        d[640 + 84] = 0x7F
        #expect(try #require(error(d)).byteOffset == 640 + 84)
        // Version 8 and CPORT files are recognised and refused.
        #expect(try #require(error(mutated(0, "HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"))).description.contains("version 8"))
        #expect(try #require(error(mutated(0, "**COMPRESSED** **COMPRESSED**"))).description.contains("CPORT"))
        // A partial record at the end.
        d = good
        d.append(contentsOf: [UInt8](repeating: 0x41, count: 7))
        #expect(try #require(error(d)).byteOffset == good.count + 7)
    }
}

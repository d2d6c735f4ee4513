import Foundation
import Testing
import MedGridCore

/// JSON values through Foundation's coders, plainly (the wire) and as canonical text (the store).
struct JSONValueCodingTests {
    struct Holder: Codable, Equatable {
        var params: JSONValue
    }

    static let value: JSONValue = ["seconds": 1.0, "count": 1, "sigma": 0.1, "zero": 0.0, "list": [2.0, 3, -0.0], "name": "1.0"]

    @Test("Foundation's coders read a whole-number double back as an integer, so its canonical bytes change")
    func plainCodingLosesWholeDoubles() throws {
        let data = try JSONEncoder().encode(Holder(params: Self.value))
        let back = try JSONDecoder().decode(Holder.self, from: data)
        #expect(back.params["seconds"] == .int(1))
        #expect(CanonicalJSON.encode(back.params) != CanonicalJSON.encode(Self.value))
    }

    @Test("coded as canonical text, every value comes back exactly, with the same canonical bytes")
    func canonicalTextCodingIsExact() throws {
        let encoder = JSONEncoder()
        encoder.userInfo[JSONValue.codedAsCanonicalText] = true
        let decoder = JSONDecoder()
        decoder.userInfo[JSONValue.codedAsCanonicalText] = true
        let back = try decoder.decode(Holder.self, from: try encoder.encode(Holder(params: Self.value)))
        #expect(back == Holder(params: Self.value))
        #expect(back.params["seconds"] == .double(1.0) && back.params["count"] == .int(1) && back.params["name"] == .string("1.0"))
        #expect(CanonicalJSON.encode(back.params) == CanonicalJSON.encode(Self.value))
    }
}

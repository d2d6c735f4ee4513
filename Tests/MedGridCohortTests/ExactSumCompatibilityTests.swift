import Foundation
import Testing

@testable import MedGridCohort

/// The inline-storage ``ExactSum`` must keep the wire format and results of the previous heap-array version:
/// the JSON below (sorted keys) and the `value` bit patterns were produced by that version (main as of this
/// change) for the same terms. Checks: identical encoding bytes, decoding old JSON gives an equal sum (`==`,
/// hash) with the same bitwise `value`.
@Suite struct ExactSumCompatibilityTests {
    static let cases: [(terms: [Double], json: String, valueBits: UInt64)] = [
        ([1.0, -3.25, 1e-300, 7e200],
         #"{"c":[0,1677721600,1,2131485645,2,21944,33,-1179648,52,1006632960,53,-688688680,54,18729]}"#,
         7_611_727_914_871_846_415),
        ([-1.0], #"{"c":[33,-524288]}"#, 13_830_554_455_654_793_216),
        ([0.1, 0.2, -0.3], #"{"c":[31,268435456]}"#, 4_359_484_439_294_640_128),
        ([.greatestFiniteMagnitude, .greatestFiniteMagnitude], #"{"c":[63,-2147483648,65,1048576]}"#,
         9_218_868_437_227_405_312),
        ([5e-324, -2.5e-310, 1e308, -1e-5],
         #"{"c":[0,1187741994,1,-23563,31,633585664,32,-1043161657,33,-5,64,-512036312,65,291645]}"#,
         9_214_871_658_872_686_752),
        ([-.infinity, 2], #"{"c":[33,1048576],"s":2}"#, 18_442_240_474_082_181_120),
        ([.nan, 1], #"{"c":[33,524288],"s":4}"#, 9_221_120_237_041_090_560),
    ]

    @Test func encodingAndValuesMatchPreviousImplementation() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for c in Self.cases {
            let sum = ExactSum(c.terms)
            #expect(String(decoding: try encoder.encode(sum), as: UTF8.self) == c.json)
            #expect(sum.value.bitPattern == c.valueBits, "\(c.terms)")
            let decoded = try JSONDecoder().decode(ExactSum.self, from: Data(c.json.utf8))
            #expect(decoded == sum)
            #expect(decoded.hashValue == sum.hashValue)
            #expect(decoded.value.bitPattern == c.valueBits)
        }
    }

    /// Copies are independent values (no shared storage).
    @Test func copiesAreIndependent() {
        var a = ExactSum([1.0, 2.0])
        let b = a
        a.add(10.0)
        #expect(a.value == 13.0)
        #expect(b.value == 3.0)
        #expect(a != b)
    }
}

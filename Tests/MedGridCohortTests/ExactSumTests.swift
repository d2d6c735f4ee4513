import Foundation
import MedGridCore
import Testing

@testable import MedGridCohort

/// Loads a reference file of the survival topic.
func survivalReferenceURL(_ name: String) -> URL {
    Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("survival/\(name)")
}

private struct FsumCase: Decodable {
    var name: String
    var terms: [String]
    var fsum: String
}

private func fromHex(_ s: String) -> Double {
    Double(bitPattern: UInt64(s, radix: 16) ?? 0)
}

/// A small deterministic generator (SplitMix64) for permutations and partitions.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ExactSumTests {
    private func cases() throws -> [FsumCase] {
        let data = try Data(contentsOf: survivalReferenceURL("exact_sum_fsum.json"))
        return try JSONDecoder().decode([FsumCase].self, from: data)
    }

    @Test func matchesFsumBitwise() throws {
        let all = try cases()
        #expect(all.count >= 25)
        for c in all {
            let terms = c.terms.map(fromHex)
            let expected = fromHex(c.fsum)
            let got = ExactSum(terms).value
            #expect(got.bitPattern == expected.bitPattern || (got == 0 && expected == 0), "\(c.name): \(got) vs \(expected)")
        }
    }

    @Test func permutationsAndPartitionsGiveIdenticalBits() throws {
        var rng = SplitMix64(seed: 7)
        for c in try cases() {
            let terms = c.terms.map(fromHex)
            let reference = ExactSum(terms)
            for _ in 0..<3 {
                let shuffled = terms.shuffled(using: &rng)
                let parts = Int.random(in: 1...9, using: &rng)
                var shards = Array(repeating: ExactSum(), count: parts)
                for t in shuffled { shards[Int.random(in: 0..<parts, using: &rng)].add(t) }
                var merged = ExactSum()
                for s in shards.shuffled(using: &rng) { merged.add(s) }
                #expect(merged.value.bitPattern == reference.value.bitPattern, "\(c.name)")
                #expect(merged == reference)
                #expect(merged.hashValue == reference.hashValue)
            }
        }
    }

    @Test func handPickedRounding() {
        #expect(ExactSum([1e308, 1.0, -1e308]).value == 1.0)
        #expect(ExactSum([1.0, 0x1p-53]).value == 1.0)  // tie to even, down
        #expect(ExactSum([1.0 + 0x1p-52, 0x1p-53]).value == 1.0 + 0x1p-51)  // tie to even, up
        #expect(ExactSum([1.0, 0x1p-53, 0x1p-1074]).value == 1.0 + 0x1p-52)  // sticky bit breaks the tie
        #expect(ExactSum([-1.0, -0x1p-53, -0x1p-1074]).value == -(1.0 + 0x1p-52))
        #expect(ExactSum([Double.leastNonzeroMagnitude, Double.leastNonzeroMagnitude]).value == 2 * Double.leastNonzeroMagnitude)
        // Intermediate overflow is harmless: max + max - max = max.
        #expect(ExactSum([Double.greatestFiniteMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]).value == .greatestFiniteMagnitude)
        // Finite overflow rounds to infinity.
        #expect(ExactSum([Double.greatestFiniteMagnitude, .greatestFiniteMagnitude]).value == .infinity)
        #expect(ExactSum([Double.greatestFiniteMagnitude, 0x1p970]).value == .infinity)  // exactly halfway: ties to "even" = inf
        #expect(ExactSum([Double.greatestFiniteMagnitude, 0x1p969]).value == .greatestFiniteMagnitude)
        #expect(ExactSum([-0.0, -0.0]).value.bitPattern == (0.0).bitPattern)
        #expect(ExactSum().value.bitPattern == (0.0).bitPattern)
        #expect(ExactSum([0.1, 0.2, -0.3]).value == 2.7755575615628914e-17)
    }

    @Test func specials() {
        #expect(ExactSum([1.0, .infinity, 5.0]).value == .infinity)
        #expect(ExactSum([1.0, -.infinity]).value == -.infinity)
        #expect(ExactSum([.infinity, -.infinity]).value.isNaN)
        #expect(ExactSum([1.0, .nan]).value.isNaN)
        let payloadNaN = Double(nan: 123, signaling: false)
        #expect(ExactSum([payloadNaN]).value.bitPattern == Double.nan.bitPattern)
        var a = ExactSum([.infinity])
        a.add(ExactSum([-.infinity]))
        #expect(a.value.isNaN)
    }

    @Test func manyTermsCrossCarryInterval() {
        // 10_000 copies of the largest finite value and then their negatives: chunks must not overflow.
        var s = ExactSum()
        for _ in 0..<10_000 { s.add(.greatestFiniteMagnitude) }
        s.add(1.5)
        for _ in 0..<10_000 { s.add(-.greatestFiniteMagnitude) }
        #expect(s.value == 1.5)
        var t = ExactSum()
        for _ in 0..<100_000 { t.add(0.1) }
        #expect(t.value == 10000.000000000002 || t.value == 10000.0)
        // Exact: 100000 * 0.1 (0.1 = 3602879701896397 / 2^55) correctly rounded.
        #expect(t.value == (Double(3602879701896397) * 100_000 / 0x1p55))
    }

    @Test func codableRoundTripIsCompact() throws {
        let s = ExactSum([1.0, -3.25, 1e-300, 7e200])
        let data = try JSONEncoder().encode(s)
        let back = try JSONDecoder().decode(ExactSum.self, from: data)
        #expect(back == s)
        #expect(back.value == s.value)
        #expect(data.count < 200)
        let negative = try JSONEncoder().encode(ExactSum([-1.0]))
        #expect(negative.count < 40)
        let special = try JSONDecoder().decode(ExactSum.self, from: try JSONEncoder().encode(ExactSum([-.infinity, 2])))
        #expect(special.value == -.infinity)
        let bad = Data(#"{"c":[5,1,3,2]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ExactSum.self, from: bad) }
        let badRange = Data(#"{"c":[5,4294967296]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ExactSum.self, from: badRange) }
    }

    @Test func expansionIsCanonical() {
        var rng = SplitMix64(seed: 11)
        let terms = (0..<500).map { _ in Double.random(in: -1...1, using: &rng) * pow(10, Double(Int.random(in: -40...40, using: &rng))) }
        let e1 = ExactSum(terms).expansion()
        let e2 = ExactSum(terms.shuffled(using: &rng)).expansion()
        #expect(e1 == e2)
        #expect(e1.first == ExactSum(terms).value)
        // The expansion sums back to the same exact value.
        #expect(ExactSum(e1) == ExactSum(terms))
        #expect(ExactSum([2.5]).expansion() == [2.5])
        #expect(ExactSum([0.0, -0.0]).expansion() == [])
    }

    /// Release-mode speed of `add` (reported, not asserted tightly).
    @Test func addThroughput() {
        var rng = SplitMix64(seed: 3)
        let terms = (0..<1_000_000).map { _ in Double.random(in: -1e6...1e6, using: &rng) }
        var s = ExactSum()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<10 { for t in terms { s.add(t) } }
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e7
        print("ExactSum.add: \(ns) ns/add (value \(s.value))")
        #expect(s.value.isFinite)
    }
}

import Foundation
import Testing

@testable import MedGridCohort

/// ``ExactSum/add(contentsOf:)-(UnsafeBufferPointer<Double>)`` must give exactly the state of per-term
/// ``ExactSum/add(_:)-(Double)`` (compared with `==`, bitwise `value` and the JSON encoding), across the carry
/// interval, with specials, zeros, subnormals and extreme exponents; and its release-mode speed (with
/// `MEDGRID_PERF=1`, best of 5 runs of 8 M terms, thread CPU time).
@Suite struct ExactSumBulkTests {
    static func edgyTerms(count: Int, seed: UInt64) -> [Double] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let r = g.next()
            switch r % 16 {
            case 0: return 0.0
            case 1: return -0.0
            case 2: return Double(bitPattern: (r >> 12) | (((r >> 4) & 1) << 63))  // subnormal, random sign
            case 3: return (r & 32) == 0 ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude
            case 4: return Double(sign: (r & 32) == 0 ? .plus : .minus, exponent: Int(r >> 40 & 2047) - 1074, significand: 1.5)
            default:
                let m = 1.0 + Double(r >> 12) * 0x1p-52
                return ((r & 64) == 0 ? m : -m) * pow(2.0, Double(Int(g.next() % 121) - 60)) + Double(i % 3)
            }
        }
    }

    @Test(arguments: [0, 1, 2046, 2047, 2048, 5000, 20_000])
    func bulkEqualsPerTerm(_ count: Int) throws {
        let terms = Self.edgyTerms(count: count, seed: UInt64(count) + 1)
        var single = ExactSum()
        for t in terms { single.add(t) }
        var bulk = ExactSum()
        terms.withUnsafeBufferPointer { bulk.add(contentsOf: $0) }
        #expect(bulk == single)
        #expect(bulk.value.bitPattern == single.value.bitPattern)
        #expect(try JSONEncoder().encode(bulk) == JSONEncoder().encode(single))
        // Mixed: some single adds first (counter mid-way), then bulk in two pieces, then a merge.
        var mixed = ExactSum()
        let cut = count / 3
        for t in terms[0..<cut] { mixed.add(t) }
        terms.withUnsafeBufferPointer { p in
            let rest = UnsafeBufferPointer(rebasing: p[cut...])
            let half = rest.count / 2
            mixed.add(contentsOf: UnsafeBufferPointer(rebasing: rest[..<half]))
            var other = ExactSum()
            other.add(contentsOf: UnsafeBufferPointer(rebasing: rest[half...]))
            mixed.add(other)
        }
        #expect(mixed == single)
        #expect(mixed.hashValue == single.hashValue)
        #expect(ExactSum(terms) == single)
        #expect(ExactSum(terms.lazy.map { $0 }) == single)
    }

    @Test func bulkWithSpecials() {
        let terms: [Double] = [1, .infinity, 2, .nan, -3]
        var bulk = ExactSum()
        terms.withUnsafeBufferPointer { bulk.add(contentsOf: $0) }
        #expect(bulk.value.isNaN)
        #expect(bulk.value.bitPattern == Double.nan.bitPattern)
        var neg = ExactSum()
        neg.add(contentsOf: [1.0, -.infinity, 5.0])
        #expect(neg.value == -.infinity)
    }

    @Test func bulkThroughput() {
        let terms = ExactSumPerformanceTests.terms(exponents: -60...60, seed: 99)
        var best = Double.infinity
        var s = ExactSum()
        for _ in 0..<ExactSumPerformanceTests.runs {
            var t = ExactSum()
            let start = ExactSumPerformanceTests.threadNanos()
            terms.withUnsafeBufferPointer { p in
                for _ in 0..<ExactSumPerformanceTests.repeats { t.add(contentsOf: p) }
            }
            let ns = Double(ExactSumPerformanceTests.threadNanos() - start)
                / Double(ExactSumPerformanceTests.repeats * terms.count)
            best = min(best, ns)
            s = t
        }
        print("ExactSum.add(contentsOf:) mixed 2^-60…2^60: \(String(format: "%.2f", best)) ns/add")
        #expect(s == ExactSumPerformanceTests.reference(terms))
    }
}

import Foundation
import Testing

@testable import MedGridCohort

/// Release-mode throughput of ``ExactSum/add(_:)-(Double)``. With `MEDGRID_PERF=1` each case sums 1 M terms
/// 8 times (best of 5 runs, thread CPU time, is reported in ns per term); otherwise 20 000 terms once (correctness only).
/// Every case also checks that the sum is bitwise independent of the order (forward vs reversed terms), so the
/// timed loop cannot be optimised away and the test can fail.
/// Run: `MEDGRID_PERF=1 swift test -c release -Xswiftc -enable-testing --filter ExactSumPerformanceTests`.
@Suite struct ExactSumPerformanceTests {
    static let perf = ProcessInfo.processInfo.environment["MEDGRID_PERF"] == "1"
    static let termCount = perf ? 1_000_000 : 20_000
    static let repeats = perf ? 8 : 1
    static let runs = perf ? 5 : 1

    /// CPU time of the calling thread in ns (less sensitive than wall time to other load on a shared machine).
    static func threadNanos() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Random sign, random 52-bit fraction and a uniform binary exponent in `exponents`.
    static func terms(exponents: ClosedRange<Int>, seed: UInt64) -> [Double] {
        var g = SplitMix64(seed: seed)
        return (0..<termCount).map { _ in
            let bits = g.next()
            let e = exponents.lowerBound + Int(g.next() % UInt64(exponents.count))
            let m = 1.0 + Double(bits >> 12) * 0x1p-52
            return (bits & 1 == 0 ? m : -m) * pow(2.0, Double(e))
        }
    }

    /// Best-of-`runs` ns per added term for summing `terms` `repeats` times into one accumulator.
    static func timeSingle(_ terms: [Double]) -> (ns: Double, sum: ExactSum) {
        var best = Double.infinity
        var result = ExactSum()
        for _ in 0..<runs {
            var s = ExactSum()
            let start = Self.threadNanos()
            for _ in 0..<repeats { for t in terms { s.add(t) } }
            let ns = Double(Self.threadNanos() - start) / Double(repeats * terms.count)
            best = min(best, ns)
            result = s
        }
        return (best, result)
    }

    static func reference(_ terms: [Double]) -> ExactSum {
        var s = ExactSum()
        for _ in 0..<repeats { for t in terms.reversed() { s.add(t) } }
        return s
    }

    @Test(arguments: [(-60, 60), (-20, 20), (-300, 300), (-1022, 1023)])
    func mixedMagnitude(_ range: (Int, Int)) {
        let terms = Self.terms(exponents: range.0...range.1, seed: 99)
        let (ns, s) = Self.timeSingle(terms)
        print("ExactSum.add mixed 2^\(range.0)…2^\(range.1): \(String(format: "%.2f", ns)) ns/add (value \(s.value))")
        let r = Self.reference(terms)
        #expect(s.value.bitPattern == r.value.bitPattern)
        #expect(s == r)
    }

    @Test func uniformMillion() {
        var rng = SplitMix64(seed: 3)
        let terms = (0..<Self.termCount).map { _ in Double.random(in: -1e6...1e6, using: &rng) }
        let (ns, s) = Self.timeSingle(terms)
        print("ExactSum.add uniform(-1e6, 1e6): \(String(format: "%.2f", ns)) ns/add (value \(s.value))")
        let r = Self.reference(terms)
        #expect(s.value.bitPattern == r.value.bitPattern)
    }

    /// The logistic-regression pattern: an array of accumulators, each receiving a run of 256 terms through
    /// a pointer into the array.
    @Test func accumulatorArrayRuns() {
        let terms = Self.terms(exponents: -30...10, seed: 5)
        let accumulators = 231, run = 256
        var best = Double.infinity
        var sums: [ExactSum] = []
        for _ in 0..<Self.runs {
            var a = Array(repeating: ExactSum(), count: accumulators)
            let start = Self.threadNanos()
            var added = 0
            a.withUnsafeMutableBufferPointer { acc in
                terms.withUnsafeBufferPointer { t in
                    for _ in 0..<Self.repeats {
                        var k = 0, i = 0
                        while i + run <= t.count {
                            let p = acc.baseAddress! + k
                            for j in i..<(i + run) { p.pointee.add(t[j]) }
                            i += run
                            k = k + 1 == accumulators ? 0 : k + 1
                        }
                        added += i
                    }
                }
            }
            let ns = Double(Self.threadNanos() - start) / Double(added)
            best = min(best, ns)
            sums = a
        }
        var total = ExactSum()
        for s in sums { total.add(s) }
        let used = (terms.count / run) * run
        let r = Self.reference(Array(terms[0..<used]))
        print("ExactSum.add via [ExactSum] runs of \(run): \(String(format: "%.2f", best)) ns/add")
        #expect(total.value.bitPattern == r.value.bitPattern)
        #expect(total == r)
    }
}

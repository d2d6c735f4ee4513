import Foundation
import MedGridCore
import Testing

@testable import MedGridCohort

/// Synthetic Cox benchmark: rows × 10 uniform(−1, 1) covariates, exponential event times with
/// β_j = 0.1·(j+1)·(−1)^j and exponential(0.5) censoring, from SplitMix64 (seed 2024) — the same generator
/// as `survival_reference.py --bench`. 100 000 rows when MEDGRID_PERF=1 (release timing), else 10 000.
/// Checks convergence and that β̂ is within 0.1 of the truth (n = 10k: SE ≈ 0.022, so about 4.5 SE).
@Suite struct SurvivalPerformanceTests {
    static func data(rows n: Int, p: Int = 10) -> (time: [Double], event: [Bool], x: [Double], beta: [Double]) {
        var g = SplitMix64(seed: 2024)
        func uniform() -> Double { Double(g.next() >> 11) * 0x1p-53 }
        var beta = [Double](repeating: 0, count: p)
        for j in 0..<p {
            let sign: Double = j % 2 == 0 ? 1 : -1
            beta[j] = 0.1 * Double(j + 1) * sign
        }
        var x = [Double](repeating: 0, count: n * p), time = [Double](repeating: 0, count: n)
        var event = [Bool](repeating: false, count: n)
        for i in 0..<n {
            var eta = 0.0
            for j in 0..<p {
                let v = 2 * uniform() - 1
                x[i * p + j] = v
                eta += beta[j] * v
            }
            let t = -log(1 - uniform()) / exp(eta)
            let c = -log(1 - uniform()) / 0.5
            time[i] = min(t, c)
            event[i] = t <= c
        }
        return (time, event, x, beta)
    }

    @Test func coxEfronBenchmark() throws {
        let n = ProcessInfo.processInfo.environment["MEDGRID_PERF"] == "1" ? 100_000 : 10_000
        let d = Self.data(rows: n)
        let start = Date()
        let shard = try CoxShard(time: d.time, event: d.event, covariates: d.x, covariateCount: 10)
        let model = try CoxModel.fit(shards: [shard], ties: .efron, concordance: false)
        let seconds = Date().timeIntervalSince(start)
        let statsStart = Date()
        _ = try shard.statistics(beta: model.coefficients, center: model.center, ties: .efron)
        let pass = Date().timeIntervalSince(statsStart)
        print("Cox Efron \(n) x 10: \(seconds) s total, \(model.iterations) iterations, one statistics pass \(pass) s, events \(model.events)")
        #expect(model.converged)
        for (b, truth) in zip(model.coefficients, d.beta) { #expect(abs(b - truth) < 0.1, "\(b) vs \(truth)") }
    }
}

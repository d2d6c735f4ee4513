import Foundation
import MedGridCore
import Testing

@testable import MedGridCohort

/// Sharded == pooled, bitwise: Cox (coefficients, SEs, robust SEs, log-likelihood, tests), KM curves and
/// log-rank, for 1, 3 and 7 random row shards and for shards made of whole strata.
@Suite struct SurvivalShardingTests {
    struct Rows {
        var time: [Double]
        var event: [Bool]
        var x: [Double]
        var strata: [String]
    }

    static let names = ["fin", "age", "race", "mar", "paro", "prio"]

    func rossiRows() throws -> Rows {
        let (time, event, t) = try rossiData()
        return Rows(
            time: time, event: event, x: rossiCovariates(t, Self.names),
            strata: t.column("wexp").map { String(Int($0)) }
        )
    }

    func split(_ rows: Rows, into parts: Int, seed: UInt64) -> [Rows] {
        var rng = SplitMix64(seed: seed)
        var out = Array(repeating: Rows(time: [], event: [], x: [], strata: []), count: parts)
        let p = Self.names.count
        for i in rows.time.indices.shuffled(using: &rng) {
            let k = Int.random(in: 0..<parts, using: &rng)
            out[k].time.append(rows.time[i])
            out[k].event.append(rows.event[i])
            out[k].x.append(contentsOf: rows.x[(i * p)..<((i + 1) * p)])
            out[k].strata.append(rows.strata[i])
        }
        return out
    }

    func byStratum(_ rows: Rows) -> [Rows] {
        let p = Self.names.count
        return Set(rows.strata).sorted().map { s in
            let idx = rows.time.indices.filter { rows.strata[$0] == s }
            return Rows(
                time: idx.map { rows.time[$0] }, event: idx.map { rows.event[$0] },
                x: idx.flatMap { rows.x[($0 * p)..<(($0 + 1) * p)] }, strata: idx.map { rows.strata[$0] }
            )
        }
    }

    func fit(_ parts: [Rows], ties: CoxTies, stratified: Bool) throws -> CoxModel {
        let shards = try parts.map {
            try CoxShard(
                time: $0.time, event: $0.event, covariates: $0.x, covariateCount: Self.names.count,
                strata: stratified ? $0.strata : nil
            )
        }
        return try CoxModel.fit(shards: shards, ties: ties, robust: true)
    }

    func bits(_ v: [Double]?) -> [UInt64] { (v ?? []).map(\.bitPattern) }

    func expectIdentical(_ a: CoxModel, _ b: CoxModel, _ what: String) {
        #expect(bits(a.coefficients) == bits(b.coefficients), "\(what) coefficients")
        #expect(bits(a.standardErrors) == bits(b.standardErrors), "\(what) se")
        #expect(bits(a.robustStandardErrors) == bits(b.robustStandardErrors), "\(what) robust se")
        #expect(a.logLikelihood.bitPattern == b.logLikelihood.bitPattern, "\(what) loglik")
        #expect(a.score.bitPattern == b.score.bitPattern && a.wald.bitPattern == b.wald.bitPattern, "\(what) tests")
        #expect(a.concordance == b.concordance, "\(what) concordance")
        #expect(a.iterations == b.iterations)
    }

    @Test(arguments: [CoxTies.efron, .breslow])
    func coxShardedEqualsPooled(ties: CoxTies) throws {
        let rows = try rossiRows()
        for stratified in [false, true] {
            let pooled = try fit([rows], ties: ties, stratified: stratified)
            #expect(pooled.converged)
            for parts in [1, 3, 7] {
                let sharded = try fit(split(rows, into: parts, seed: UInt64(parts * 31)), ties: ties, stratified: stratified)
                expectIdentical(pooled, sharded, "\(ties) stratified=\(stratified) \(parts) shards")
            }
            if stratified {
                expectIdentical(pooled, try fit(byStratum(rows), ties: ties, stratified: true), "\(ties) by stratum")
            }
        }
    }

    @Test func mergedStatisticsEqualPooledStatistics() throws {
        let rows = try rossiRows()
        let beta = [-0.3, -0.05, 0.3, -0.4, -0.1, 0.09]
        let center = [0.5, 24.6, 0.88, 0.12, 0.6, 2.98]
        let pooled = try CoxShard(time: rows.time, event: rows.event, covariates: rows.x, covariateCount: 6, strata: rows.strata)
            .statistics(beta: beta, center: center, ties: .efron)
        let parts = split(rows, into: 5, seed: 99).map {
            try! CoxShard(time: $0.time, event: $0.event, covariates: $0.x, covariateCount: 6, strata: $0.strata)
                .statistics(beta: beta, center: center, ties: .efron)
        }
        let merged = try CoxShardStatistics.merged(parts)
        let mergedReversed = try CoxShardStatistics.merged(parts.reversed())
        #expect(merged == pooled)
        #expect(mergedReversed == pooled)
    }

    @Test func kaplanMeierAndLogRankShardedEqualPooled() throws {
        let rows = try rossiRows()
        let fin = try rossiData().table.column("fin").map { String(Int($0)) }
        let pooledTable = try RiskTable(time: rows.time, event: rows.event)
        let pooledKM = try KaplanMeier(pooledTable)
        let pooledSet = try RiskTableSet(time: rows.time, event: rows.event, group: fin, stratum: rows.strata)
        let pooledLR = try LogRankTest(pooledSet)
        var rng = SplitMix64(seed: 4)
        for parts in [1, 3, 7] {
            var tables = Array(repeating: RiskTable(), count: parts)
            var sets = Array(repeating: RiskTableSet(), count: parts)
            var assignment = [[Int]](repeating: [], count: parts)
            for i in rows.time.indices { assignment[Int.random(in: 0..<parts, using: &rng)].append(i) }
            for k in 0..<parts {
                let idx = assignment[k]
                tables[k] = try RiskTable(time: idx.map { rows.time[$0] }, event: idx.map { rows.event[$0] })
                sets[k] = try RiskTableSet(
                    time: idx.map { rows.time[$0] }, event: idx.map { rows.event[$0] }, group: idx.map { fin[$0] },
                    stratum: idx.map { rows.strata[$0] }
                )
            }
            var merged = RiskTable()
            for t in tables.reversed() { merged.merge(t) }
            #expect(merged == pooledTable)
            let km = try KaplanMeier(merged)
            #expect(bits(km.survival) == bits(pooledKM.survival) && bits(km.lower) == bits(pooledKM.lower))
            var mergedSet = RiskTableSet()
            for s in sets { mergedSet.merge(s) }
            let lr = try LogRankTest(mergedSet)
            #expect(lr.chiSquare.bitPattern == pooledLR.chiSquare.bitPattern)
            let roundTrip = try JSONDecoder().decode(RiskTable.self, from: try JSONEncoder().encode(merged))
            #expect(roundTrip == merged)
        }
    }
}

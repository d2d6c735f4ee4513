import Foundation
import MedGridCohort
import MedGridCore
import Testing

@Suite struct ModelKMeansTests {
    static func matrix(_ path: String) throws -> FeatureMatrix {
        let t = try ModelRef.table(path)
        var rows: [[Double]] = Array(repeating: [], count: t.rowCount)
        for name in t.names {
            let v = try t.numeric(name)
            for r in 0..<t.rowCount { rows[r].append(v[r]) }
        }
        return try FeatureMatrix(rows: rows)
    }

    @Test(arguments: [("iris", "models/iris.csv"), ("blobs", "models/blobs.csv")])
    func matchesScikitLearnLloyd(key: String, path: String) throws {
        let ref = try #require(try ModelRef.json("models/kmeans.json")[key])
        let x = try Self.matrix(path)
        let k = ModelRef.ints(ref["init_rows"]).count
        let initial = try FeatureMatrix(rowCount: k, columnCount: x.columnCount, values: ModelRef.doubles(ref["init"]))
        let result = try KMeans.fit(x, settings: KMeansSettings(clusterCount: k, initialisation: .centres(initial)))
        #expect(result.converged)
        #expect(result.labels == ModelRef.ints(ref["labels"]))
        let centres = ModelRef.doubles(ref["centres"])
        try #require(centres.count == result.centres.values.count)
        for i in centres.indices { #expect(abs(result.centres.values[i] - centres[i]) <= 1e-9 * max(1, abs(centres[i]))) }
        let inertia = try #require(ref["inertia"]?.doubleValue)
        #expect(ModelRef.relativeError(result.inertia, inertia) < 1e-9)
        #expect(result.iterations == ref["n_iter"]?.intValue)
        #expect(result.clusterSizes.reduce(0, +) == x.rowCount)
    }

    @Test(.enabled(if: ModelRef.exactSumIsExact, "needs the exact ExactSum (the stub is plain +=)"))
    func anyPartitionGivesBitwiseTheSameClustering() throws {
        let x = try Self.matrix("models/blobs.csv")
        let settings = KMeansSettings(clusterCount: 6, initialisation: .kMeansPlusPlus(seed: 42))
        let one = try KMeans.fit(shards: [x], settings: settings)
        for k in [3, 7] {
            let shards = (0..<k).map { x.rows(x.rowCount * $0 / k..<x.rowCount * ($0 + 1) / k) }
            let other = try KMeans.fit(shards: shards, settings: settings)
            #expect(ModelRef.bitwiseEqual(other.centres.values, one.centres.values), "\(k) shards")
            #expect(other.inertia.bitPattern == one.inertia.bitPattern)
            #expect(other.labels == one.labels)
            #expect(other.iterations == one.iterations)
        }
        // Shard statistics survive JSON and merge in any order.
        let shards = (0..<4).map { x.rows(x.rowCount * $0 / 4..<x.rowCount * ($0 + 1) / 4) }
        var forward = KMeansShardStatistics(centres: one.initialCentres)
        var backward = KMeansShardStatistics(centres: one.initialCentres)
        let parts = try shards.map { try KMeansShardStatistics($0, centres: one.initialCentres) }
        for p in parts { try forward.merge(JSONDecoder().decode(KMeansShardStatistics.self, from: JSONEncoder().encode(p))) }
        for p in parts.reversed() { try backward.merge(p) }
        #expect(forward.nextCentres() == backward.nextCentres())
        #expect(forward.counts == backward.counts)
    }

    @Test func seededPlusPlusIsDeterministicAndPicksDistinctRows() throws {
        let x = try Self.matrix("models/iris.csv")
        let a = KMeans.plusPlusCentres(x, clusterCount: 3, seed: 7)
        let b = KMeans.plusPlusCentres(x, clusterCount: 3, seed: 7)
        let c = KMeans.plusPlusCentres(x, clusterCount: 3, seed: 8)
        #expect(a == b)
        #expect(a != c)
        // Each centre is a data row, and no two coincide.
        var rows = Set<[Double]>()
        for r in 0..<3 {
            let centre = Array(a.values[r * 4..<(r + 1) * 4])
            #expect((0..<x.rowCount).contains { Array(x.values[$0 * 4..<($0 + 1) * 4]) == centre })
            rows.insert(centre)
        }
        #expect(rows.count == 3)
        // The fit from ++ centres reaches the well-known iris 3-cluster optimum (inertia ≈ 78.851, sklearn).
        let fit = try KMeans.fit(x, settings: KMeansSettings(clusterCount: 3, initialisation: .kMeansPlusPlus(seed: 7)))
        let json = fit.json()
        #expect(json["settings"]?["initialisation"]?["seed"]?.stringValue == "7")
        #expect(fit.inertia >= 78.85144142614 - 1e-9)
    }

    @Test func invalidSettingsAreErrors() throws {
        let x = try FeatureMatrix(rows: [[0, 0], [1, 1]])
        #expect(throws: CohortError.self) { try KMeans.fit(x, settings: KMeansSettings(clusterCount: 3, initialisation: .kMeansPlusPlus(seed: 1))) }
        let wrong = try FeatureMatrix(rows: [[0, 0, 0]])
        #expect(throws: CohortError.self) { try KMeans.fit(x, settings: KMeansSettings(clusterCount: 1, initialisation: .centres(wrong))) }
        let bad = try FeatureMatrix(rows: [[0, .nan], [1, 1]])
        #expect(throws: CohortError.self) { try KMeans.fit(bad, settings: KMeansSettings(clusterCount: 1, initialisation: .kMeansPlusPlus(seed: 1))) }
    }
}

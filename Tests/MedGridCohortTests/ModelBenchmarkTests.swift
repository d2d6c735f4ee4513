import Foundation
import MedGridCohort
import MedGridCore
import Testing

/// Release-mode performance checks on the data written by `reference-scripts/models_benchmark.py`.
/// Run: `MEDGRID_MODELS_BENCH=/tmp/models-bench swift test -c release --filter ModelBenchmarkTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MEDGRID_MODELS_BENCH"] != nil))
struct ModelBenchmarkTests {
    static var directory: URL { URL(fileURLWithPath: ProcessInfo.processInfo.environment["MEDGRID_MODELS_BENCH"] ?? "/tmp") }

    static func doubles(_ name: String) throws -> [Double] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return data.withUnsafeBytes { raw in (0..<data.count / 8).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }.map { Double(bitPattern: UInt64(littleEndian: $0)) } }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    @Test func logisticOneMillionByTwenty() throws {
        let x = try Self.doubles("logistic_X.f64"), y = try Self.doubles("logistic_y.f64")
        let data = try BinaryOutcomeData(features: FeatureMatrix(rowCount: y.count, columnCount: 20, values: x), outcome: y)
        var model: LogisticModel? = nil
        let t = try Self.seconds { model = try LogisticModel.fit(data, settings: .scikitLearn(C: 1)) }
        let m = try #require(model)
        print("BENCH logistic 1M x 20: \(t) s, \(m.iterations) Newton steps, converged \(m.converged)")
        let sk = try JSONValue(parsing: Data(contentsOf: Self.directory.appendingPathComponent("sklearn_times.json")))
        let coef = ModelRef.doubles(sk["logistic_newton-cholesky_coef"])
        for j in coef.indices { #expect(abs(m.coefficients[j] - coef[j]) <= 1e-6 * max(1, abs(coef[j]))) }
    }

    @Test func kMeansOneMillionByTen() throws {
        let x = try FeatureMatrix(rowCount: 1_000_000, columnCount: 10, values: Self.doubles("kmeans_X.f64"))
        let initial = try FeatureMatrix(rowCount: 8, columnCount: 10, values: Self.doubles("kmeans_init.f64"))
        var result: KMeansResult? = nil
        let t = try Self.seconds {
            result = try KMeans.fit(x, settings: KMeansSettings(clusterCount: 8, initialisation: .centres(initial), maxIterations: 50))
        }
        let r = try #require(result)
        print("BENCH k-means 1M x 10, k=8: \(t) s, \(r.iterations) iterations, inertia \(r.inertia)")
        let sk = try JSONValue(parsing: Data(contentsOf: Self.directory.appendingPathComponent("sklearn_times.json")))
        #expect(ModelRef.relativeError(r.inertia, sk["kmeans_inertia"]?.doubleValue ?? .nan) < 1e-6)
    }

    @Test func analysisTableFromOneMillionRowCSV() throws {
        let url = Self.directory.appendingPathComponent("bench.csv")
        var raw: CohortTable? = nil
        let tRead = try Self.seconds { raw = try CSV.read(contentsOf: url) }
        let cohort = try #require(raw)
        var table: AnalysisTable? = nil
        let tType = try Self.seconds { table = try AnalysisTable(cohort, file: "bench.csv") }
        let t = try #require(table)
        print("BENCH CSV 1M x 21: CSV.read \(tRead) s, AnalysisTable typing \(tType) s")
        #expect(t.rowCount == 1_000_000)
        #expect(t.kind(of: "x1") == .numeric)
    }
}

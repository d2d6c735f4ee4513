import Foundation
import MedGridCohort
import MedGridCore
import Testing

/// Shared helpers for the Tables*/Model* tests.
enum ModelRef {
    /// Whether ``ExactSum`` is the real exact accumulator (the package stub is a plain `+=`): the
    /// bitwise partition-independence tests need it.
    static let exactSumIsExact: Bool = {
        var s = ExactSum()
        for x in [1e100, 1.0, -1e100, 0x1p-60] { s.add(x) }
        return s.value == 1.0
    }()

    static func url(_ path: String) -> URL {
        Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent(path)
    }

    static func json(_ path: String) throws -> JSONValue {
        try JSONValue(parsing: Data(contentsOf: url(path)))
    }

    static func doubles(_ v: JSONValue?) -> [Double] {
        (v?.arrayValue ?? []).map { $0.doubleValue ?? .nan }
    }

    static func ints(_ v: JSONValue?) -> [Int] {
        (v?.arrayValue ?? []).map { $0.intValue ?? -1 }
    }

    static func table(_ path: String) throws -> AnalysisTable {
        let u = url(path)
        return try AnalysisTable(CSV.read(contentsOf: u), file: u.lastPathComponent)
    }

    /// Breast-cancer features (named columns) and the target.
    static func breastCancer(_ features: [String]? = nil) throws -> (BinaryOutcomeData, [String]) {
        let t = try table("models/breast_cancer.csv")
        let names = features ?? t.names.filter { $0 != "target" }
        let frame = try t.modelFrame(event: EventIndicator(parsing: "target==1"), covariates: names)
        return (try BinaryOutcomeData(frame), names)
    }

    /// Same bit patterns (so -0 ≠ +0 and NaN == NaN), without printing whole models on failure.
    static func bitwiseEqual(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    static func bitwiseEqual(_ a: LogisticModel, _ b: LogisticModel) -> Bool {
        bitwiseEqual(a.coefficients, b.coefficients) && bitwiseEqual(a.covariance, b.covariance)
            && a.logLikelihood.bitPattern == b.logLikelihood.bitPattern && a.iterations == b.iterations
            && a.converged == b.converged && a.rowCount == b.rowCount
    }

    static func relativeError(_ a: Double, _ b: Double) -> Double {
        abs(a - b) / max(abs(b), 1e-300)
    }
}

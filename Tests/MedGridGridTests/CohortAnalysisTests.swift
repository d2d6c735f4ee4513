import Foundation
import Testing
import MedGridCore
import MedGridTesting

/// Survival and model kernels as grid jobs: a sharded run gives the pooled answer bit for bit, whatever the
/// shard count; CSV and SAS XPORT inputs agree; multi-round fits advance through the coordinator.
struct CohortAnalysisTests {
    static func manifest(rowsPerTask: Int, cohort: String = "../Datasets/trial/cohort.csv", name: String) -> String {
        """
        apiVersion: medgrid/v1
        kind: Job
        metadata: {name: \(name)}
        spec:
          cohort: \(cohort)
          steps:
            - kernel: survival.km
              params: {group: TRT01P, paramcd: OS}
            - kernel: survival.nelson-aalen
              params: {group: TRT01P, paramcd: OS}
            - kernel: survival.logrank
              params: {group: TRT01P, strata: SITEID, paramcd: OS}
            - kernel: survival.cox
              params: {covariates: "TRT01PN,AGE", strata: SITEID, robust: true, ties: breslow, paramcd: OS}
            - kernel: survival.cox
              name: cox-efron
              params: {covariates: "TRT01PN,AGE,ECOG", paramcd: OS}
            - kernel: model.logistic
              params: {outcome: CNSR==0, covariates: "TRT01PN,AGE", paramcd: OS}
            - kernel: model.kmeans
              params: {columns: "AGE,AVAL", k: 3, centres: [40, 200, 60, 600, 75, 1200]}
          shard: {rowsPerTask: \(rowsPerTask)}
          seed: 1
        """
    }

    @Test("1, 3 and 7 row shards give bitwise the same KM, log-rank, Cox and logistic results as each other and as the pooled fit")
    func shardedEqualsPooled() async throws {
        let ws = try TestSupport.workspaceCopy()
        var aggregates: [JSONValue] = []
        for (n, per) in [(1, 600), (3, 200), (7, 86)] {
            let path = try writeManifest(Self.manifest(rowsPerTask: per, name: "shards-\(n)"), named: "shards-\(n)", in: ws)
            let out = try await TestSupport.medgrid(["run", path, "--state-dir", "s\(n)", "--out", "out\(n)", "--workers", "2", "--slots", "1"], in: ws)
            #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
            let report = try JSONValue(parsing: try reportBytes(ws.appendingPathComponent("out\(n)")))
            let a = try #require(report["aggregates"])
            #expect(a["survival.cox"]?["shards"]?.intValue == n)
            aggregates.append(a)
        }
        func strip(_ a: JSONValue) -> JSONValue {
            guard case .object(var o) = a else { return a }
            for k in ["survival.cox", "cox-efron", "model.logistic", "model.kmeans"] {
                if case .object(var step)? = o[k] { step["shards"] = nil; o[k] = .object(step) }
            }
            return .object(o)
        }
        #expect(strip(aggregates[0]) == strip(aggregates[1]))
        #expect(strip(aggregates[0]) == strip(aggregates[2]))

        // The pooled fits (every row in one process) give the same coefficients, bit for bit.
        let pooled = try await TestSupport.medgrid(["kernel", "run", "survival.cox", "--input", "Datasets/trial/cohort.csv", "--param", "covariates=TRT01PN,AGE,ECOG", "--param", "paramcd=OS"], in: ws)
        #expect(pooled.status == 0, "\(pooled.stderr)")
        let pooledCox = try JSONValue(parsing: Data(pooled.stdout.utf8))["result"]
        #expect(pooledCox?["coefficients"] == aggregates[2]["cox-efron"]?["coefficients"])
        #expect(pooledCox?["log_likelihood"] == aggregates[2]["cox-efron"]?["log_likelihood"])
        let logistic = try await TestSupport.medgrid(["kernel", "run", "model.logistic", "--input", "Datasets/trial/cohort.csv", "--param", "outcome=CNSR==0", "--param", "covariates=TRT01PN,AGE", "--param", "paramcd=OS"], in: ws)
        #expect(try JSONValue(parsing: Data(logistic.stdout.utf8))["result"]?["coefficients"] == aggregates[1]["model.logistic"]?["coefficients"])

        // Results name their settings and count excluded rows.
        let cox = try #require(aggregates[0]["survival.cox"])
        #expect(cox["ties"]?.stringValue == "breslow")
        #expect(cox["se_type"]?.stringValue?.contains("robust") == true)
        #expect(cox["excludedRows"] != nil)
        #expect(aggregates[0]["survival.km"]?["band"]?.stringValue == "log-log")
        #expect(aggregates[0]["survival.km"]?["curves"]?.arrayValue?.count == 2)
        #expect(aggregates[0]["model.kmeans"]?["converged"]?.boolValue == true)
    }

    @Test("the same job over the SAS XPORT copy of the cohort gives the same results as over the CSV")
    func xportEqualsCSV() async throws {
        let ws = try TestSupport.workspaceCopy()
        let csv = try writeManifest(Self.manifest(rowsPerTask: 300, name: "from-csv"), named: "from-csv", in: ws)
        let xpt = try writeManifest(Self.manifest(rowsPerTask: 300, cohort: "../Datasets/trial/cohort.xpt", name: "from-xpt"), named: "from-xpt", in: ws)
        #expect(try await TestSupport.medgrid(["run", csv, "--state-dir", "a", "--out", "a-out"], in: ws).status == 0)
        let run = try await TestSupport.medgrid(["run", xpt, "--state-dir", "b", "--out", "b-out"], in: ws)
        #expect(run.status == 0, "\(run.stderr)")
        let a = try JSONValue(parsing: try reportBytes(ws.appendingPathComponent("a-out")))["aggregates"]
        let b = try JSONValue(parsing: try reportBytes(ws.appendingPathComponent("b-out")))["aggregates"]
        #expect(a == b)
    }

    @Test("cohort kernels refuse bad parameters with the column or value named")
    func badParameters() async throws {
        let ws = try TestSupport.workspaceCopy()
        let missing = try await TestSupport.medgrid(["kernel", "run", "survival.cox", "--input", "Datasets/trial/cohort.csv", "--param", "covariates=TRT01PN,WEIGHT"], in: ws)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("WEIGHT"), "\(missing.stderr)")
        let text = try await TestSupport.medgrid(["kernel", "run", "survival.cox", "--input", "Datasets/trial/cohort.csv", "--param", "covariates=TRT01P"], in: ws)
        #expect(text.status == 1)
        #expect(text.stderr.contains("TRT01P is not numeric"), "\(text.stderr)")
        let event = try await TestSupport.medgrid(["kernel", "run", "survival.km", "--input", "Datasets/trial/cohort.csv", "--param", "event=CNSR=>0"], in: ws)
        #expect(event.status == 1)
        #expect(event.stderr.contains("CNSR=>0"), "\(event.stderr)")
    }
}

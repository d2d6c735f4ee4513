/// Builds the canonical job report from a plan and the per-task outputs.
///
/// Only what is the same on every run goes in: no job IDs, times, worker names or attempt counts —
/// those live in the store and in `medgrid status`. Cases come in plan order; aggregates are reduced in
/// plan order, so the report does not depend on worker count, slots, shard size or completion order.
public struct JobReportBuilder: Sendable {
    public var suite: any KernelSuite
    public var medgridVersion: String

    public init(suite: any KernelSuite, medgridVersion: String) {
        self.suite = suite
        self.medgridVersion = medgridVersion
    }

    /// - Parameters:
    ///   - outputs: task index → output, for the tasks that succeeded.
    ///   - failures: task index → the failure that quarantined it.
    ///   - roundResults: the final results of multi-round steps, which replace their reduction.
    public func build(
        plan: Plan, status: JobStatus, outputs: [Int: JSONValue], failures: [Int: TaskFailure], roundResults: [String: JSONValue] = [:]
    ) -> JSONValue {
        var provenance: [String: JSONValue] = [
            "manifestSHA256": .string(plan.manifestSHA256),
            "datasetRoot": .string(plan.datasetRoot),
            "datasetFiles": .int(plan.inventory.files.count),
            "datasetBytes": .int(Int(plan.inventory.totalBytes)),
            "kernels": .array(plan.kernels.map { ["name": .string($0.name), "version": .string($0.version)] }),
            "seed": .int(Int(plan.seed)),
            "medgridVersion": .string(medgridVersion),
            "manifest": plan.document,
        ]
        provenance["steps"] = .array(plan.steps.map { step in
            var o: [String: JSONValue] = ["name": .string(step.name), "params": .object(step.params)]
            if let k = step.kernel { o["kernel"] = .string(k) }
            if let c = step.command { o["command"] = .array(c.map { .string($0) }) }
            return .object(o)
        })
        // Site-local data: what each site's workers read (file hash and row count), in plan order.
        let siteInputs = plan.tasks.compactMap { outputs[$0.index]?["input"] }
        if !siteInputs.isEmpty { provenance["siteInputs"] = .array(siteInputs) }
        var results: [JSONValue] = []
        var aggregates: [String: JSONValue] = [:]
        var scores: [JSONValue]?
        if let metrics = plan.metrics {
            (scores, aggregates) = benchmarkScores(plan: plan, metrics: metrics, outputs: outputs)
            provenance["metricImplementations"] = .object(Dictionary(uniqueKeysWithValues: metrics.map {
                ($0, JSONValue.string(SegmentationMetricName.implementationVersion(of: $0)))
            }))
            if metrics.contains(where: SegmentationMetricName.surface.contains), let options = plan.metricOptions {
                provenance["metricOptions"] = .object(options)
            }
            let convention = plan.metricOptions?["convention"]?.stringValue ?? "surface-elements"
            let tolerance = plan.metricOptions?["nsdTolerance"]?.doubleValue ?? 1
            provenance["metricDefinitions"] = .object(Dictionary(uniqueKeysWithValues: metrics.map {
                ($0, JSONValue.string(SegmentationMetricName.definition(of: $0, convention: convention, nsdTolerance: tolerance)))
            }))
        }
        let resultSteps = plan.metrics != nil ? [] : plan.steps.filter { step in step.command != nil || step.kernel.flatMap { suite.kernel(named: $0)?.output } == .result }
        for step in resultSteps {
            if let r = roundResults[step.name] {
                aggregates[step.name] = r
                continue
            }
            var ordered: [JSONValue] = []
            for task in plan.tasks {
                guard let o = outputs[task.index] else { continue }
                if let cases = o["cases"]?.arrayValue {
                    ordered.append(contentsOf: cases.compactMap { $0["results"]?[step.name] })
                } else if let r = o["steps"]?[step.name] {
                    ordered.append(r)
                }
            }
            do {
                aggregates[step.name] = try suite.reduce(step: step, outputs: ordered)
            } catch {
                aggregates[step.name] = ["error": .string("\(error)")]
            }
        }
        for task in plan.tasks {
            if case .cases = task.unit, let perCase = outputs[task.index]?["cases"]?.arrayValue {
                results.append(contentsOf: perCase)
            }
        }
        let failed: [JSONValue] = failures.keys.sorted().compactMap { index in
            guard let f = failures[index], !plan.tasks.isEmpty else { return nil }
            let task = plan.task(at: index)
            var o: [String: JSONValue] = [
                "task": .string(task.id), "covers": .string(task.unit.summary),
                "kind": .string(f.kind.rawValue), "message": .string(f.message),
            ]
            if let tail = f.stderrTail, !tail.isEmpty { o["stderrTail"] = .string(tail) }
            return .object(o)
        }
        // Counted by case (imaging) so the summary does not depend on the shard size.
        var summary: [String: JSONValue] = ["failedTasks": .int(failures.count)]
        if plan.tasks.contains(where: { if case .cases = $0.unit { true } else { false } }) {
            var total = 0, failedCases = 0
            for task in plan.tasks {
                guard case .cases(let c) = task.unit else { continue }
                total += c.count
                if failures[task.index] != nil { failedCases += c.count }
            }
            summary["cases"] = .int(total)
            summary["casesSucceeded"] = .int(results.count)
            summary["casesFailed"] = .int(failedCases)
        }
        var report: JSONValue = [
            "apiVersion": "medgrid/v1",
            "kind": "JobReport",
            "job": ["name": .string(plan.jobName), "kind": .string(plan.kind)],
            "status": .string(status.rawValue),
            "summary": .object(summary),
            "provenance": .object(provenance),
            "cases": .array(results),
            "aggregates": .object(aggregates),
            "failures": .array(failed),
        ]
        if let scores, case .object(var o) = report {
            o["scores"] = .array(scores)
            report = .object(o)
        }
        return report
    }

    /// A Benchmark's per-case scores in long form (algorithm, case, metric, value: the record every ranking
    /// is derived from), in algorithm, case and metric order; and per algorithm and metric the n, mean,
    /// median, min and max over cases (from sorted values, so independent of completion order).
    func benchmarkScores(plan: Plan, metrics: [String], outputs: [Int: JSONValue]) -> ([JSONValue], [String: JSONValue]) {
        var rows: [JSONValue] = []
        var values: [String: [String: [Double]]] = [:]
        for task in plan.tasks {
            for entry in outputs[task.index]?["cases"]?.arrayValue ?? [] {
                guard let algorithm = entry["algorithm"]?.stringValue, let c = entry["case"]?.stringValue else { continue }
                for m in metrics {
                    let v = entry["scores"]?[m] ?? .null
                    rows.append(["algorithm": .string(algorithm), "case": .string(c), "metric": .string(m), "value": v])
                    if let d = v.doubleValue { values[algorithm, default: [:]][m, default: []].append(d) }
                }
            }
        }
        var aggregates: [String: JSONValue] = [:]
        for step in plan.steps {
            var perMetric: [String: JSONValue] = [:]
            for m in metrics {
                let sorted = (values[step.name]?[m] ?? []).sorted()
                guard !sorted.isEmpty else { perMetric[m] = ["n": 0]; continue }
                var sum = 0.0
                for v in sorted { sum += v }
                let n = sorted.count
                let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
                perMetric[m] = [
                    "n": .int(n), "mean": .number(sum / Double(n)), "median": .number(median),
                    "min": .number(sorted.first!), "max": .number(sorted.last!),
                ]
            }
            aggregates[step.name] = .object(perMetric)
        }
        return (rows, aggregates)
    }
}

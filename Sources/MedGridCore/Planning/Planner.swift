import Foundation

/// Turns a validated manifest and the dataset's inventory into a ``Plan``.
public struct Planner: Sendable {
    public var suite: any KernelSuite

    public init(suite: any KernelSuite) {
        self.suite = suite
    }

    public func plan(_ manifest: Manifest, inventory: DatasetInventory) throws -> Plan {
        var tasks: [PlannedTask] = []
        func add(_ unit: WorkUnit, _ inputs: [TaskInput], algorithm: Int? = nil) {
            let index = tasks.count
            let key = CanonicalJSON.compact([
                "manifest": .string(manifest.sha256), "root": .string(inventory.root),
                "unit": (try? JSONValue(encoding: unit)) ?? .null, "algorithm": algorithm.map { .int($0) } ?? .null,
            ])
            let id = String(format: "%05d-", index) + ContentHash.sha256(Data(key.utf8)).prefix(8)
            tasks.append(PlannedTask(id: id, index: index, unit: unit, inputs: inputs, algorithm: algorithm))
        }
        func input(_ path: String) throws -> TaskInput {
            guard let f = inventory.file(path) else {
                throw MedGridError(.notFound, "\(manifest.inputURL.path): \(path) is listed in dataset.json but is not in the dataset")
            }
            return TaskInput(path: f.path, sha256: f.sha256, size: f.size)
        }
        switch manifest.input {
        case .dataset:
            let dataset = try DecathlonDataset.load(folder: manifest.inputURL)
            let per = manifest.sharding.casesPerTask
            let isBenchmark = manifest.kind == .benchmark
            if isBenchmark, let unlabelled = dataset.cases.first(where: { $0.label == nil }) {
                throw MedGridError(.invalidInput, "\(manifest.inputURL.path): case \(unlabelled.id) has no label, so a Benchmark cannot score it (expected ground truth for every case)")
            }
            // A Benchmark runs every algorithm on every case: tasks are algorithm-major, then cases in order.
            for algorithm in isBenchmark ? Array(manifest.steps.indices).map(Optional.some) : [nil] {
                for start in stride(from: 0, to: dataset.cases.count, by: per) {
                    let cases = Array(dataset.cases[start..<min(start + per, dataset.cases.count)])
                    var inputs: [TaskInput] = []
                    for c in cases {
                        inputs.append(try input(c.image))
                        if let l = c.label { inputs.append(try input(l)) }
                    }
                    add(.cases(cases), inputs, algorithm: algorithm)
                }
            }
        case .sites(let file, let label, let names):
            // One task per site, placed on that site's workers; the coordinator never reads the rows.
            for name in names { add(.cohort(.site(label: label, name: name)), [.siteFile(site: name, file: file)]) }
        case .cohort:
            let file = try input(manifest.inputURL.lastPathComponent)
            let index = try suite.cohortIndex(at: manifest.inputURL, groupBy: manifest.sharding.groupBy)
            if let column = manifest.sharding.groupBy {
                for value in index.groups { add(.cohort(.group(column, value)), [file]) }
            } else {
                let per = manifest.sharding.rowsPerTask
                if index.subjectCount == 0 { add(.cohort(.all), [file]) }
                for start in stride(from: 0, to: index.subjectCount, by: per) {
                    add(.cohort(.subjects(start..<min(start + per, index.subjectCount))), [file])
                }
            }
        }
        var kernels: [KernelRef] = []
        for step in manifest.steps {
            if let name = step.kernel, let k = suite.kernel(named: name), !kernels.contains(where: { $0.name == name }) {
                kernels.append(KernelRef(name: name, version: k.version))
            }
        }
        var plan = Plan(
            jobName: manifest.name, kind: manifest.kind.rawValue, manifestSHA256: manifest.sha256,
            datasetRoot: inventory.root, inventory: inventory, steps: manifest.steps, metrics: manifest.benchmark?.metrics,
            kernels: kernels, tasks: tasks,
            seed: manifest.seed, timeoutSeconds: manifest.timeoutSeconds, retries: manifest.retries,
            priority: manifest.priority, placement: manifest.placement, document: manifest.analysisDocument,
            fullManifestSHA256: CanonicalJSON.sha256(manifest.document),
            inputLocation: manifest.inputURL.path
        )
        plan.metricOptions = manifest.benchmark?.metricOptions
        if case .sites(_, let label, _) = manifest.input {
            plan.taskPlacements = tasks.map { t -> [String: String]? in
                guard case .cohort(let slice) = t.unit, let site = slice.value else { return nil }
                return [label: site]
            }
        }
        return plan
    }
}

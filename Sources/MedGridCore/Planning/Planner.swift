import Foundation

/// Turns a validated manifest and the dataset's inventory into a ``Plan``.
public struct Planner: Sendable {
    public var suite: any KernelSuite

    public init(suite: any KernelSuite) {
        self.suite = suite
    }

    /// The most tasks one job may have: 100,000. A manifest that would cut its input finer is refused at
    /// planning, before any task is made, with the count, this cap and a shard size that fits.
    public static let maximumTasksPerJob = 100_000

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
            let algorithms = isBenchmark ? manifest.steps.count : 1
            try Self.checkTaskCount(algorithms * Self.shards(dataset.cases.count, per), manifest,
                                    advice: Self.shardAdvice("casesPerTask", items: dataset.cases.count, units: algorithms))
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
            try Self.checkTaskCount(names.count, manifest, advice: "list at most \(Self.maximumTasksPerJob) sites in spec.sites.names")
            for name in names { add(.cohort(.site(label: label, name: name)), [.siteFile(site: name, file: file)]) }
        case .cohort:
            let file = try input(manifest.inputURL.lastPathComponent)
            let index = try suite.cohortIndex(at: manifest.inputURL, groupBy: manifest.sharding.groupBy)
            if let column = manifest.sharding.groupBy {
                try Self.checkTaskCount(index.groups.count, manifest,
                                        advice: "group by a column with fewer distinct values than \(column), or shard by rows instead: \(Self.shardAdvice("rowsPerTask", items: index.subjectCount, units: 1))")
                for value in index.groups { add(.cohort(.group(column, value)), [file]) }
            } else {
                let per = manifest.sharding.rowsPerTask
                try Self.checkTaskCount(max(Self.shards(index.subjectCount, per), 1), manifest,
                                        advice: Self.shardAdvice("rowsPerTask", items: index.subjectCount, units: 1))
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

    /// How many shards of `per` items `items` make.
    static func shards(_ items: Int, _ per: Int) -> Int { items / per + (items % per == 0 ? 0 : 1) }

    /// Refuses a plan of `count` tasks when that is over ``maximumTasksPerJob``; `advice` says what to change.
    static func checkTaskCount(_ count: Int, _ manifest: Manifest, advice: String) throws {
        guard count > maximumTasksPerJob else { return }
        throw MedGridError(.invalidInput, "\(manifest.file): the job would have \(count) tasks, over the cap of \(maximumTasksPerJob) tasks per job; \(advice)")
    }

    /// Advice for a shard size that keeps `units` × shards of `items` within the cap.
    static func shardAdvice(_ field: String, items: Int, units: Int) -> String {
        let shardsPerUnit = maximumTasksPerJob / max(units, 1)
        guard shardsPerUnit > 0 else { return "expected at most \(maximumTasksPerJob) algorithms" }
        return "set a larger spec.shard.\(field) (at least \(shards(items, shardsPerUnit)))"
    }
}

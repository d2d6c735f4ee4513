public import Foundation
public import MedGridCore
import MedGridImaging
import MedGridCohort

/// Runs one task: reads its inputs (verified by hash), runs the pipeline's steps, and returns the
/// task's output. Pure computation and file reading; the worker decides where it runs.
///
/// Output shape: imaging tasks give `{"cases": [{"case": ID, "results": {STEP: RESULT}}]}`; cohort
/// tasks give `{"steps": {STEP: RESULT}}`.
public struct TaskRunner: Sendable {
    public var registry: KernelRegistry

    public init(registry: KernelRegistry = .standard) {
        self.registry = registry
    }

    public func run(_ a: TaskAssignment, resolve: (TaskInput) throws -> URL) throws -> JSONValue {
        let kernels: [(Manifest.Step, (any Kernel)?, KernelParameters?)] = try a.steps.map { step in
            guard let name = step.kernel else { return (step, nil, nil) }
            guard let k = registry.implementation(named: name) else {
                throw MedGridError(.notFound, "this worker has no kernel \(name)")
            }
            return (step, k, try KernelParameters(step.params, for: k.description))
        }
        func inputURL(_ path: String) throws -> URL {
            guard let input = a.inputs.first(where: { $0.path == path }) else {
                throw MedGridError(.notFound, "task \(a.taskID) has no input \(path)")
            }
            return try resolve(input)
        }
        switch a.unit {
        case .cases(let cases) where a.benchmark != nil:
            return try runBenchmark(a, cases: cases, kernels: kernels, inputURL: inputURL)
        case .cases(let cases):
            let needsImages = kernels.contains { $0.1?.description.input == .imagingCase }
            var out: [JSONValue] = []
            for c in cases {
                let imageURL = try inputURL(c.image)
                let labelURL = try c.label.map(inputURL)
                var image: Volume?, label: Volume?
                if needsImages {
                    image = try ImageFile.read(contentsOf: imageURL)
                    label = try labelURL.map { try ImageFile.read(contentsOf: $0) }
                }
                var results: [String: JSONValue] = [:]
                for (step, kernel, params) in kernels {
                    if let kernel, let params {
                        let input: KernelInput = image.map { .imagingCase(id: c.id, image: $0, label: label) } ?? .reference(id: c.id)
                        switch try kernel.run(input, parameters: params, seed: a.seed) {
                        case .result(let r): results[step.name] = r
                        case .volume(let v, let summary):
                            image = v
                            if let summary { results[step.name] = summary }
                        }
                    } else if let command = step.command {
                        // The step sees copies of this case's files in its private folder, not the worker's cache.
                        let sandbox = try CommandSandbox()
                        defer { sandbox.remove() }
                        let image = try sandbox.expose(imageURL, as: c.image)
                        var description: [String: JSONValue] = [
                            "case": .string(c.id), "image": .string(image.path), "params": .object(step.params),
                            "seed": .int(Int(a.seed)), "task": .string(a.taskID),
                        ]
                        if let labelURL, let labelPath = c.label { description["label"] = .string(try sandbox.expose(labelURL, as: labelPath).path) }
                        results[step.name] = try ExternalCommand.run(
                            command, task: .object(description), timeout: a.timeoutSeconds,
                            environment: ["MEDGRID_IMAGE": image.path, "MEDGRID_CASE": c.id], sandbox: sandbox)
                    }
                }
                out.append(["case": .string(c.id), "results": .object(results)])
            }
            return ["cases": .array(out)]
        case .cohort(let slice):
            guard let file = a.inputs.first else { throw MedGridError(.invalidInput, "cohort task \(a.taskID) has no input") }
            let url = try resolve(file)
            let full = try CohortFile.read(contentsOf: url, name: file.path)
            let table = try full.selecting(Self.selection(slice))
            var results: [String: JSONValue] = [:]
            for (step, kernel, params) in kernels {
                if let kernel, let params {
                    let input = KernelInput.cohort(table: table, file: file.path)
                    if let state = a.roundStates?[step.name] {
                        guard let iterative = kernel as? any IterativeKernel else {
                            throw MedGridError(.invalidInput, "task \(a.taskID): \(step.name) got a round state but is not a multi-round kernel")
                        }
                        results[step.name] = try iterative.runRound(input, parameters: params, state: state, seed: a.seed)
                    } else if case .result(let r) = try kernel.run(input, parameters: params, seed: a.seed) {
                        results[step.name] = r
                    }
                } else if let command = step.command {
                    let sandbox = try CommandSandbox()
                    defer { sandbox.remove() }
                    let cohort = try sandbox.expose(url, as: file.path)
                    let description: [String: JSONValue] = [
                        "cohort": .string(cohort.path), "selection": (try? JSONValue(encoding: slice)) ?? .null,
                        "params": .object(step.params), "seed": .int(Int(a.seed)), "task": .string(a.taskID),
                    ]
                    results[step.name] = try ExternalCommand.run(command, task: .object(description), timeout: a.timeoutSeconds, sandbox: sandbox)
                }
            }
            var out: [String: JSONValue] = ["steps": .object(results)]
            if let site = file.siteLocal {
                // The site's file is not pinned by the plan; its hash and row count are the record of what was read.
                out["input"] = ["site": .string(site.site), "file": .string(site.file), "sha256": .string(try ContentHash.sha256(fileAt: url).hash), "rows": .int(table.rows.count)]
            }
            return .object(out)
        }
    }

    /// A Benchmark task: the algorithm segments each case's image (it never sees the ground truth), and
    /// the segmentation is scored against the case's label map.
    func runBenchmark(
        _ a: TaskAssignment, cases: [ImagingCase], kernels: [(Manifest.Step, (any Kernel)?, KernelParameters?)],
        inputURL: (String) throws -> URL
    ) throws -> JSONValue {
        guard let scoring = a.benchmark, let (step, kernel, params) = kernels.first else {
            throw MedGridError(.invalidInput, "benchmark task \(a.taskID) has no algorithm")
        }
        var out: [JSONValue] = []
        for c in cases {
            guard let labelPath = c.label else { throw MedGridError(.invalidInput, "case \(c.id) has no ground truth") }
            let imageURL = try inputURL(c.image)
            let reference = try ImageFile.read(contentsOf: try inputURL(labelPath))
            let image = try ImageFile.read(contentsOf: imageURL)
            let prediction: Volume
            if let kernel, let params {
                guard case .volume(let v, _) = try kernel.run(.imagingCase(id: c.id, image: image, label: nil), parameters: params, seed: a.seed) else {
                    throw MedGridError(.kernelFailed, "\(step.name) gave a result, not a segmentation")
                }
                prediction = v
            } else if let command = step.command {
                // The algorithm sees a copy of the image only (never the ground truth) and writes into its private folder.
                let sandbox = try CommandSandbox()
                defer { sandbox.remove() }
                let image = try sandbox.expose(imageURL, as: c.image)
                let predURL = sandbox.outputURL("prediction.nii.gz")
                let description: [String: JSONValue] = [
                    "case": .string(c.id), "image": .string(image.path), "prediction": .string(predURL.path),
                    "params": .object(step.params), "seed": .int(Int(a.seed)), "task": .string(a.taskID),
                ]
                _ = try ExternalCommand.run(command, task: .object(description), timeout: a.timeoutSeconds, environment: [
                    "MEDGRID_IMAGE": image.path, "MEDGRID_PREDICTION": predURL.path, "MEDGRID_CASE": c.id,
                ], sandbox: sandbox)
                guard let written = sandbox.regularOutput("prediction.nii.gz") else {
                    throw MedGridError(.kernelFailed, "\(step.name): the command wrote no segmentation to $MEDGRID_PREDICTION (expected a regular file)")
                }
                prediction = try ImageFile.read(contentsOf: written)
            } else {
                throw MedGridError(.invalidInput, "algorithm \(step.name) has neither a kernel nor a command")
            }
            let overlap = try OverlapMetrics.compute(prediction: prediction, reference: reference)
            var scores: [String: JSONValue] = [:]
            for m in scoring.metrics { scores[m] = .number(overlap.value(of: m)) }
            if scoring.metrics.contains(where: SegmentationMetricName.surface.contains) {
                let convention = SurfaceConvention(rawValue: scoring.options?["convention"]?.stringValue ?? "surface-elements") ?? .surfaceElements
                let tolerance = scoring.options?["nsdTolerance"]?.doubleValue ?? 1
                let all = try SegmentationMetrics.compute(prediction: prediction, reference: reference, tolerance: tolerance, conventions: [convention])
                if let s = all.surface(convention) {
                    // Infinite distances (an empty mask) are missing values for ranking.
                    func finite(_ d: Double) -> JSONValue { d.isFinite ? .double(d) : .null }
                    for m in scoring.metrics {
                        switch m {
                        case "hausdorff": scores[m] = finite(s.hausdorff)
                        case "hd95": scores[m] = finite(s.percentileHausdorff)
                        case "assd": scores[m] = finite(s.averageSymmetricSurfaceDistance)
                        case "nsd": scores[m] = finite(s.normalizedSurfaceDice)
                        default: break
                        }
                    }
                }
            }
            out.append([
                "case": .string(c.id), "algorithm": .string(scoring.algorithm), "scores": .object(scores),
                "volumes": ["predictedMM3": .number(overlap.predictedVolumeMM3), "referenceMM3": .number(overlap.referenceVolumeMM3)],
            ])
        }
        return ["cases": .array(out)]
    }

    /// This program's path, for commands that call `medgrid` back (`$MEDGRID_BIN`).
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func selection(_ s: CohortSlice) -> CohortSelection {
        switch s.kind {
        case .all: return .all
        case .subjects: return .subjects(from: s.from ?? 0, to: s.to ?? 0)
        case .group: return .group(column: s.column ?? "", value: s.value ?? "")
        case .site: return .all
        }
    }
}

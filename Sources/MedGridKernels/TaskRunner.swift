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
        case .cases(let cases):
            let needsImages = kernels.contains { $0.1?.description.input == .imagingCase }
            var out: [JSONValue] = []
            for c in cases {
                let imageURL = try inputURL(c.image)
                let labelURL = try c.label.map(inputURL)
                var image: Volume?, label: Volume?
                if needsImages {
                    image = try NIfTI.read(contentsOf: imageURL)
                    label = try labelURL.map { try NIfTI.read(contentsOf: $0) }
                }
                var results: [String: JSONValue] = [:]
                for (step, kernel, params) in kernels {
                    if let kernel, let params {
                        let input: KernelInput = image.map { .imagingCase(id: c.id, image: $0, label: label) } ?? .reference(id: c.id)
                        switch try kernel.run(input, parameters: params, seed: a.seed) {
                        case .result(let r): results[step.name] = r
                        case .volume(let v): image = v
                        }
                    } else if let command = step.command {
                        var description: [String: JSONValue] = [
                            "case": .string(c.id), "image": .string(imageURL.path), "params": .object(step.params),
                            "seed": .int(Int(a.seed)), "task": .string(a.taskID),
                        ]
                        if let labelURL { description["label"] = .string(labelURL.path) }
                        results[step.name] = try ExternalCommand.run(command, task: .object(description), timeout: a.timeoutSeconds)
                    }
                }
                out.append(["case": .string(c.id), "results": .object(results)])
            }
            return ["cases": .array(out)]
        case .cohort(let slice):
            guard let file = a.inputs.first else { throw MedGridError(.invalidInput, "cohort task \(a.taskID) has no input") }
            let url = try resolve(file)
            let full = try CSV.read(contentsOf: url)
            let table = try full.selecting(Self.selection(slice))
            var results: [String: JSONValue] = [:]
            for (step, kernel, params) in kernels {
                if let kernel, let params {
                    if case .result(let r) = try kernel.run(.cohort(table: table, file: file.path), parameters: params, seed: a.seed) {
                        results[step.name] = r
                    }
                } else if let command = step.command {
                    let description: [String: JSONValue] = [
                        "cohort": .string(url.path), "selection": (try? JSONValue(encoding: slice)) ?? .null,
                        "params": .object(step.params), "seed": .int(Int(a.seed)), "task": .string(a.taskID),
                    ]
                    results[step.name] = try ExternalCommand.run(command, task: .object(description), timeout: a.timeoutSeconds)
                }
            }
            return ["steps": .object(results)]
        }
    }

    static func selection(_ s: CohortSlice) -> CohortSelection {
        switch s.kind {
        case .all: return .all
        case .subjects: return .subjects(from: s.from ?? 0, to: s.to ?? 0)
        case .group: return .group(column: s.column ?? "", value: s.value ?? "")
        }
    }
}

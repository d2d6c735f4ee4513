import Foundation
public import MedGridCore
public import MedGridImaging
public import MedGridCohort

/// What a kernel runs on.
public enum KernelInput: Sendable {
    /// One imaging case: the image (the previous step's output in a pipeline) and its label map, if any.
    case imagingCase(id: String, image: Volume, label: Volume?)
    /// Rows of a cohort table.
    case cohort(table: CohortTable, file: String)
    /// An imaging case that was not loaded, by ID; for kernels that read no voxels (`debug.*`).
    case reference(id: String)
    /// Nothing; for the `debug.*` kernels run alone.
    case none
}

/// What a kernel gives back.
public enum KernelOutput: Sendable {
    case result(JSONValue)
    /// A volume for the next step (or the output file), with an optional summary that becomes the step's
    /// result in the report (e.g. how many components `imaging.components` found).
    case volume(Volume, summary: JSONValue? = nil)
}

/// A kernel: a typed Swift function registered by name and version.
///
/// Kernels never touch the network and never log patient data. `reduce` combines the outputs of all
/// tasks of a job for the report; it receives them in plan order and must give the same answer however
/// the work was sharded.
public protocol Kernel: Sendable {
    var description: KernelDescription { get }
    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput
    /// Combines per-case results (imaging) or per-task partial results (cohort), given in plan order.
    func reduce(_ outputs: [JSONValue]) throws -> JSONValue
}

extension Kernel {
    public func reduce(_ outputs: [JSONValue]) throws -> JSONValue {
        NumericSummary.reduce(outputs)
    }
}

/// A kernel that fits over shards in rounds: the coordinator broadcasts a state (say, the coefficients),
/// every shard's task returns statistics at that state (score and information), and ``advance`` combines
/// them — in shard order — into the next state or the final result. Patient rows stay where the shard is;
/// only statistics travel. Run alone (`medgrid kernel run`, or ``run(_:parameters:seed:)``), it iterates
/// over its one input in-process with the same code, so a sharded fit and a pooled fit are the same
/// computation.
public protocol IterativeKernel: Kernel {
    /// The state round 0 broadcasts.
    func initialState(parameters: KernelParameters) throws -> JSONValue
    /// One shard's statistics at the broadcast state.
    func runRound(_ input: KernelInput, parameters: KernelParameters, state: JSONValue, seed: UInt64) throws -> JSONValue
    /// Combines one round's shard statistics (in shard order): another round, or the final result.
    func advance(state: JSONValue, outputs: [JSONValue], parameters: KernelParameters) throws -> RoundOutcome
}

extension IterativeKernel {
    /// Rounds over one input until ``advance`` finishes (at most 1000 rounds).
    public func iterate(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> JSONValue {
        try iterate(parameters: parameters, maxRounds: 1000) { try runRound(input, parameters: parameters, state: $0, seed: seed) }
    }

    /// Rounds until ``advance`` finishes, each round's one output given by `round` for the current state (a
    /// kernel run alone passes its input already read, so it is not read again every round).
    public func iterate(parameters: KernelParameters, maxRounds: Int, round: (JSONValue) throws -> JSONValue) throws -> JSONValue {
        var state = try initialState(parameters: parameters)
        for _ in 0..<maxRounds {
            switch try advance(state: state, outputs: [try round(state)], parameters: parameters) {
            case .next(let s): state = s
            case .done(let result): return result
            }
        }
        throw MedGridError(.kernelFailed, "\(description.name) did not finish within \(maxRounds) rounds")
    }

    public func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        .result(try iterate(input, parameters: parameters, seed: seed))
    }
}

/// A kernel's parameters with the defaults its description declares filled in.
public struct KernelParameters: Sendable {
    public var values: [String: JSONValue]
    public var kernel: String

    /// Checks values against the description: unknown names, wrong types and missing required ones are errors.
    public init(_ given: [String: JSONValue], for description: KernelDescription) throws {
        var values: [String: JSONValue] = [:]
        for (name, value) in given {
            guard let p = description.parameter(name) else {
                let names = description.parameters.map(\.name)
                throw MedGridError(.invalidInput, "\(description.name) has no parameter \(name)\(DidYouMean.hint(for: name, among: names)); it takes: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
            }
            switch p.check(value) {
            case .success(let v): values[name] = v
            case .failure(let problem):
                throw MedGridError(.invalidInput, "\(description.name): parameter \(name): found \(CanonicalJSON.compact(value)), expected \(problem.expected)")
            }
        }
        for p in description.parameters where values[p.name] == nil {
            if let d = p.defaultValue { values[p.name] = d } else if p.required {
                throw MedGridError(.invalidInput, "\(description.name): parameter \(p.name) is required (\(p.summary))")
            }
        }
        self.values = values
        self.kernel = description.name
    }

    public func double(_ name: String) -> Double? { values[name]?.doubleValue }
    public func int(_ name: String) -> Int? { values[name]?.intValue }
    public func string(_ name: String) -> String? { values[name]?.stringValue }
    public func bool(_ name: String) -> Bool? { values[name]?.boolValue }
    public func doubles(_ name: String) -> [Double]? { values[name]?.arrayValue?.compactMap(\.doubleValue) }
    public func strings(_ name: String) -> [String]? { values[name]?.arrayValue?.compactMap(\.stringValue) }

    /// Parses `key=value` text from the command line: JSON when it parses as JSON, a string otherwise.
    public static func parse(_ pairs: [String]) throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw MedGridError(.invalidInput, "--param \(pair): expected key=value")
            }
            let key = String(pair[..<eq]), text = String(pair[pair.index(after: eq)...])
            if let data = text.data(using: .utf8), let v = try? JSONValue(parsing: data), text.first != "\"" || text.count > 1 {
                out[key] = v
            } else {
                out[key] = .string(text)
            }
        }
        return out
    }
}

/// The default reduction: per numeric field of the per-case results (dotted paths for nested fields),
/// the count, mean, minimum and maximum over cases, summed in plan order.
public enum NumericSummary {
    public static func reduce(_ outputs: [JSONValue]) -> JSONValue {
        var fields: [String: [Double]] = [:]
        for o in outputs { collect(o, prefix: "", into: &fields) }
        var out: [String: JSONValue] = ["count": .int(outputs.count)]
        var summary: [String: JSONValue] = [:]
        for (k, values) in fields {
            var sum = 0.0
            for v in values { sum += v }
            summary[k] = [
                "n": .int(values.count), "mean": .number(sum / Double(values.count)),
                "min": .number(values.min()!), "max": .number(values.max()!),
            ]
        }
        out["fields"] = .object(summary)
        return .object(out)
    }

    static func collect(_ v: JSONValue, prefix: String, into fields: inout [String: [Double]]) {
        switch v {
        case .int, .double:
            fields[prefix, default: []].append(v.doubleValue!)
        case .object(let o):
            for (k, child) in o { collect(child, prefix: prefix.isEmpty ? k : "\(prefix).\(k)", into: &fields) }
        default:
            break
        }
    }
}

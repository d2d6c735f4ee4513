import Foundation

/// What a kernel is, as manifests, `medgrid kernel list` and the planner see it. The implementation
/// lives in MedGridKernels; the core only needs the description to validate and plan.
public struct KernelDescription: Sendable, Hashable {
    /// What a kernel reads.
    public enum InputKind: String, Sendable, Hashable {
        /// One imaging case: an image, optionally its label map as the mask.
        case imagingCase = "imaging case"
        /// Rows of a cohort table.
        case cohort = "cohort"
        /// Anything; used by the `debug.*` kernels.
        case any = "any"
    }

    /// What a kernel gives back.
    public enum OutputKind: String, Sendable, Hashable {
        /// A JSON result for the report.
        case result
        /// A volume that the next pipeline step takes as its image.
        case volume
    }

    public var name: String
    public var version: String
    public var summary: String
    public var input: InputKind
    public var output: OutputKind
    public var parameters: [KernelParameter]
    /// Conventions a reader of the results must know (units, definitions, empty-mask behaviour).
    public var conventions: String

    public init(
        name: String, version: String, summary: String, input: InputKind, output: OutputKind,
        parameters: [KernelParameter], conventions: String = ""
    ) {
        self.name = name
        self.version = version
        self.summary = summary
        self.input = input
        self.output = output
        self.parameters = parameters
        self.conventions = conventions
    }

    public func parameter(_ name: String) -> KernelParameter? { parameters.first { $0.name == name } }
}

/// One parameter of a kernel.
public struct KernelParameter: Sendable, Hashable {
    public enum ValueType: String, Sendable, Hashable {
        case number, integer, string, boolean
        case numberList = "list of numbers"
        case stringList = "list of strings"
    }

    public var name: String
    public var type: ValueType
    public var summary: String
    public var defaultValue: JSONValue?
    public var required: Bool
    /// Allowed values, for string parameters that take one of a few words.
    public var choices: [String]?
    /// Inclusive lower bound for numbers.
    public var minimum: Double?
    /// Inclusive upper bound for numbers.
    public var maximum: Double?

    public init(
        _ name: String, _ type: ValueType, _ summary: String, default defaultValue: JSONValue? = nil,
        required: Bool = false, choices: [String]? = nil, minimum: Double? = nil, maximum: Double? = nil
    ) {
        self.maximum = maximum
        self.name = name
        self.type = type
        self.summary = summary
        self.defaultValue = defaultValue
        self.required = required
        self.choices = choices
        self.minimum = minimum
    }

    /// Checks a value against this parameter; returns it normalised (an integer given for a number stays
    /// usable as either) or a sentence saying what was expected.
    public func check(_ value: JSONValue) -> Result<JSONValue, ParameterProblem> {
        func fail() -> Result<JSONValue, ParameterProblem> {
            .failure(ParameterProblem(found: value, expected: expectation))
        }
        switch type {
        case .number:
            guard let d = value.doubleValue else { return fail() }
            if let minimum, d < minimum { return fail() }
            if let maximum, d > maximum { return fail() }
        case .integer:
            guard let i = value.intValue else { return fail() }
            if let minimum, Double(i) < minimum { return fail() }
            if let maximum, Double(i) > maximum { return fail() }
            return .success(.int(i))
        case .string:
            guard let s = value.stringValue else { return fail() }
            if let choices, !choices.contains(s) { return fail() }
        case .boolean:
            guard value.boolValue != nil else { return fail() }
        case .numberList:
            if let d = value.doubleValue {  // one number is a list of one
                if let minimum, d < minimum { return fail() }
                if let maximum, d > maximum { return fail() }
                return .success(.array([value]))
            }
            // "1,1,2" is accepted for a list of numbers, as "a,b" is for a list of strings (--param sigma=1,1,2).
            if let s = value.stringValue {
                let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                let numbers: [JSONValue] = parts.compactMap { part in
                    if let i = Int(part) { return .int(i) }
                    if let d = Double(part), d.isFinite { return .double(d) }
                    return nil
                }
                guard !parts.isEmpty, numbers.count == parts.count else { return fail() }
                return check(.array(numbers))
            }
            guard let a = value.arrayValue, a.allSatisfy({ $0.doubleValue != nil }) else { return fail() }
            if let minimum, a.contains(where: { $0.doubleValue! < minimum }) { return fail() }
            if let maximum, a.contains(where: { $0.doubleValue! > maximum }) { return fail() }
        case .stringList:
            if let s = value.stringValue {  // "a,b" is accepted for a list of strings
                return .success(.array(s.split(separator: ",").map { .string(String($0)) }))
            }
            guard let a = value.arrayValue, a.allSatisfy({ $0.stringValue != nil }) else { return fail() }
        }
        return .success(value)
    }

    /// The sentence that says what a valid value looks like.
    public var expectation: String {
        var s: String
        switch type {
        case .number: s = "a number"
        case .integer: s = "an integer"
        case .string: s = "a string"
        case .boolean: s = "true or false"
        case .numberList: s = "a list of numbers"
        case .stringList: s = "a list of strings"
        }
        func text(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)" }
        switch (minimum, maximum) {
        case (let lo?, let hi?): s += " from \(text(lo)) to \(text(hi))"
        case (let lo?, nil): s += " >= \(text(lo))"
        case (nil, let hi?): s += " <= \(text(hi))"
        case (nil, nil): break
        }
        if let choices { s += " (one of \(choices.joined(separator: ", ")))" }
        return s
    }
}

/// Why a parameter value was refused.
public struct ParameterProblem: Error, Sendable {
    public var found: JSONValue
    public var expected: String
}

/// The set of kernels a manifest may name. MedGridKernels provides the real one.
public protocol KernelCatalog: Sendable {
    var kernels: [KernelDescription] { get }
}

extension KernelCatalog {
    public func kernel(named name: String) -> KernelDescription? { kernels.first { $0.name == name } }
}

/// Names of the per-case segmentation metrics a Benchmark may ask for.
public enum SegmentationMetricName {
    public static let all = ["dice", "jaccard", "hausdorff", "hd95", "assd", "nsd", "volume-difference"]
    /// The metrics this version computes; the surface-distance ones come with the imaging-metrics kernel.
    public static let available = all
    /// The metrics computed from surface distances (they follow a stated convention, ``surfaceConventions``).
    public static let surface: Set<String> = ["hausdorff", "hd95", "assd", "nsd"]
    /// `spec.metricOptions.convention` values.
    public static let surfaceConventions = ["surface-elements", "boundary-voxels"]

    /// How each metric is defined, for reports (the surface metrics under the given convention).
    public static func definition(of metric: String, convention: String = "surface-elements", nsdTolerance: Double = 1) -> String {
        let surface = convention == "boundary-voxels"
            ? "boundary voxels (MONAI defaults): foreground voxels with a background face neighbour, distances between voxel centres with the voxel spacing"
            : "surface elements (DeepMind surface-distance): surfels on voxel corners weighted by their marching-cubes area, distances with the voxel spacing"
        switch metric {
        case "dice": return "2|P∩R|/(|P|+|R|) over non-zero voxels; 1 when both are empty"
        case "jaccard": return "|P∩R|/|P∪R| over non-zero voxels; 1 when both are empty"
        case "volume-difference": return "(V_P − V_R)/V_R, signed and relative; missing for an empty reference; ranked by its absolute value"
        case "hausdorff": return "largest distance between the two surfaces, by \(surface); missing when a mask is empty"
        case "hd95": return "the larger of the two directed 95th-percentile surface distances, by \(surface); missing when a mask is empty"
        case "assd": return "average symmetric surface distance, by \(surface); missing when a mask is empty"
        case "nsd": return "normalized surface Dice at \(nsdTolerance) mm: share of both surfaces within the tolerance of the other, by \(surface)"
        default: return metric
        }
    }

    /// The version of each metric's implementation. It changes whenever a metric's definition or code
    /// changes what it computes; reports record it and leaderboards re-evaluate their entries when it moves.
    public static func implementationVersion(of metric: String) -> String {
        switch metric {
        case "dice", "jaccard", "volume-difference": "1.0.0"
        default: "1.0.0"
        }
    }

    /// Which way is better for a metric, for ranking: overlap scores are larger-is-better, distances
    /// smaller-is-better, and the signed relative volume difference is ranked by its absolute value.
    public static func direction(of metric: String) -> MetricDirection {
        switch metric {
        case "hausdorff", "hd95", "assd": .smallerIsBetter
        case "volume-difference": .closerToZeroIsBetter
        default: .largerIsBetter
        }
    }
}

/// Which way is better for a score.
public enum MetricDirection: String, Sendable, Codable {
    case largerIsBetter = "larger-is-better"
    case smallerIsBetter = "smaller-is-better"
    /// Ranked by the absolute value, smaller first (a signed error).
    case closerToZeroIsBetter = "closer-to-zero-is-better"
}

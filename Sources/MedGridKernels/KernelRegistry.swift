public import Foundation
public import MedGridCore
import MedGridCohort

/// Every built-in kernel by name. It is the ``KernelSuite`` the planner, the report builder and the
/// worker use.
public struct KernelRegistry: KernelSuite {
    public let all: [any Kernel]

    public init(kernels: [any Kernel]) {
        self.all = kernels.sorted { $0.description.name < $1.description.name }
    }

    /// The kernels MedGrid ships.
    public static let standard = KernelRegistry(kernels: [
        ImagingStatsKernel(), ImagingClipKernel(), ImagingThresholdKernel(), ImagingOtsuKernel(), ImagingKMeansKernel(),
        ImagingRegionGrowKernel(), ImagingComponentsKernel(), ImagingFillHolesKernel(), ImagingDistanceKernel(), ImagingMetricsKernel(), ImagingRadiomicsKernel(),
        ImagingGaussianKernel(), ImagingMedianKernel(), ImagingResampleKernel(), ImagingWindowKernel(), ImagingMorphologyKernel(),
        CohortSummaryKernel(), SurvivalKMKernel(), SurvivalNelsonAalenKernel(), SurvivalLogRankKernel(), SurvivalCoxKernel(),
        ModelLogisticKernel(), ModelKMeansKernel(), ModelCVKernel(),
        DebugNoopKernel(), DebugFailKernel(), DebugTrapKernel(), DebugSleepKernel(), DebugRoundsKernel(),
    ])

    public var kernels: [KernelDescription] { all.map(\.description) }

    public func implementation(named name: String) -> (any Kernel)? {
        all.first { $0.description.name == name }
    }

    public func cohortIndex(at url: URL, groupBy: String?) throws -> CohortIndex {
        let table = try CohortFile.read(contentsOf: url)
        return CohortIndex(
            subjectCount: table.subjectOrder().count,
            groups: try groupBy.map { try table.distinctValues(of: $0) } ?? []
        )
    }

    public func isIterative(step: Manifest.Step) -> Bool {
        step.kernel.flatMap(implementation(named:)) is (any IterativeKernel)
    }

    func iterative(_ step: Manifest.Step) throws -> (any IterativeKernel, KernelParameters) {
        guard let name = step.kernel, let k = implementation(named: name) as? any IterativeKernel else {
            throw MedGridError(.invalidInput, "step \(step.name) is not a multi-round kernel")
        }
        return (k, try KernelParameters(step.params, for: k.description))
    }

    public func initialRoundState(step: Manifest.Step) throws -> JSONValue {
        let (k, p) = try iterative(step)
        return try k.initialState(parameters: p)
    }

    public func advanceRound(step: Manifest.Step, state: JSONValue, outputs: [JSONValue]) throws -> RoundOutcome {
        let (k, p) = try iterative(step)
        return try k.advance(state: state, outputs: outputs, parameters: p)
    }

    public func reduce(step: Manifest.Step, outputs: [JSONValue]) throws -> JSONValue {
        if let name = step.kernel {
            guard let k = implementation(named: name) else {
                throw MedGridError(.notFound, "unknown kernel \(name)")
            }
            return try k.reduce(outputs)
        }
        return NumericSummary.reduce(outputs)
    }
}

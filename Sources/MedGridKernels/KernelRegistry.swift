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
        ImagingStatsKernel(), ImagingClipKernel(), ImagingThresholdKernel(), CohortSummaryKernel(),
        DebugNoopKernel(), DebugFailKernel(), DebugTrapKernel(), DebugSleepKernel(),
    ])

    public var kernels: [KernelDescription] { all.map(\.description) }

    public func implementation(named name: String) -> (any Kernel)? {
        all.first { $0.description.name == name }
    }

    public func cohortIndex(at url: URL, groupBy: String?) throws -> CohortIndex {
        let table = try CSV.read(contentsOf: url)
        return CohortIndex(
            subjectCount: table.subjectOrder().count,
            groups: try groupBy.map { try table.distinctValues(of: $0) } ?? []
        )
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

import ArgumentParser
import Foundation
import MedGridCore
import MedGridKernels

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check manifests without running them.",
        discussion: "Reports every problem at once, each with file, line:column, field path, what was found and what was expected.")

    @Argument(help: ArgumentHelp("Manifest files (YAML or JSON).", valueName: "manifest"))
    var manifests: [String]

    func run() async throws {
        var failed = false
        for path in manifests {
            do {
                let m = try ManifestLoader(catalog: KernelRegistry.standard).load(contentsOf: URL(fileURLWithPath: path))
                print("\(path): ok (\(m.kind.rawValue) \(m.name), \(m.steps.count) step\(m.steps.count == 1 ? "" : "s"))")
            } catch let e as ManifestValidationError {
                printError(e.description)
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the tasks a manifest becomes, without running them.",
        discussion: "Planning is deterministic: the same manifest and data always give the same task IDs in the same order.")

    @Argument(help: ArgumentHelp("The manifest.", valueName: "manifest"))
    var manifest: String

    @Flag(help: "Print the plan as JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let m = try loadManifest(manifest)
            let inventory = m.input.isSiteLocal ? DatasetInventory(files: []) : try DatasetInventory.scan(m.inputURL)
            let plan = try Planner(suite: KernelRegistry.standard).plan(m, inventory: inventory)
            if json {
                print(CanonicalJSON.encode(try JSONValue(encoding: plan)), terminator: "")
                return
            }
            print("job \(plan.jobName): \(plan.tasks.count) tasks; dataset root \(plan.datasetRoot); manifest \(plan.manifestSHA256)")
            for t in plan.tasks { print("  \(t.id)  \(t.unit.summary)  \(t.inputs.count) input file\(t.inputs.count == 1 ? "" : "s")") }
        }
    }
}

import ArgumentParser
import Foundation
import MedGridCore
import MedGridCoordinator
import MedGridKernels

@main
struct MedGrid: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "medgrid",
        abstract: "A research compute grid for medical imaging and clinical-trial analytics.",
        discussion: """
            Submit a job manifest and MedGrid shards the dataset or cohort into tasks, runs them on workers in \
            parallel, and writes a reproducible report. Start with:

              medgrid run Jobs/quickstart.yaml

            Exit status: 0 success; 1 bad input (manifest, file, parameter); 2 the job finished with failed tasks.
            """,
        version: version,
        subcommands: [
            Run.self, Verify.self, Validate.self, Plan.self, Submit.self, Status.self, Report.self, Cancel.self, Workers.self,
            Dataset.self, ProjectCommand.self, Kernel.self, LeaderboardCommand.self, RankCommand.self, TLS.self, CoordinatorCommand.self, WorkerCommand.self, Executor.self, AuditCommand.self, DICOMCommand.self, PurgeCommand.self,
        ]
    )
}

/// Where the coordinator keeps its state.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The coordinator's state directory (SQLite store).", valueName: "dir"))
    var stateDirectory: String = ProcessInfo.processInfo.environment["MEDGRID_STATE_DIR"] ?? ".medgrid"

    var url: URL { URL(fileURLWithPath: stateDirectory).standardizedFileURL }
}

/// The project a local command's leaderboards and dataset registrations belong to. A local command opens
/// the state directory's store itself, so it may act in any project of it; it names one with --project.
struct ProjectOption: ParsableArguments {
    @Option(name: .customLong("project"), help: ArgumentHelp(
        "The project it belongs to (default: your personal project, user-$USER).", valueName: "name"))
    var name: String?

    /// The project named, or the local user's personal project.
    func resolved() throws -> String {
        guard let name else { return Project.personal(Coordinator.localUser) }
        try Project.validate(name)
        return name
    }

    /// The project to write into: a personal project, or one created in `store` (so that a mistyped name
    /// does not start a project of its own).
    func resolved(writingTo store: Store, at state: URL) throws -> String {
        let project = try resolved()
        let exists = try project.hasPrefix(Project.personalPrefix) || store.read { try $0.projectExists(project) }
        guard exists else {
            throw MedGridError(.notFound, "no project \(project) in \(state.path) (an admin creates it: medgrid project create \(project))")
        }
        return project
    }
}

/// Prints a message on stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
}

/// Loads a manifest, or prints every problem and exits with status 1.
func loadManifest(_ path: String) throws -> Manifest {
    do {
        return try ManifestLoader(catalog: KernelRegistry.standard).load(contentsOf: URL(fileURLWithPath: path))
    } catch let e as ManifestValidationError {
        printError(e.description)
        throw ExitCode(1)
    }
}

/// Runs `body`; a MedGrid error is printed in plain words and becomes exit status 1 instead of a crash.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

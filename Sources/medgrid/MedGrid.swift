import ArgumentParser
import Foundation
import MedGridCore
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
            Dataset.self, ProjectCommand.self, Kernel.self, LeaderboardCommand.self, RankCommand.self, TLS.self, CoordinatorCommand.self, WorkerCommand.self, Executor.self,
        ]
    )
}

/// Where the coordinator keeps its state.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The coordinator's state directory (SQLite store).", valueName: "dir"))
    var stateDirectory: String = ProcessInfo.processInfo.environment["MEDGRID_STATE_DIR"] ?? ".medgrid"

    var url: URL { URL(fileURLWithPath: stateDirectory).standardizedFileURL }
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

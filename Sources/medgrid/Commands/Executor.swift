import ArgumentParser
import MedGridWorker

/// The child process a worker runs kernels in; not for people.
struct Executor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run kernels for a worker (internal: one JSON task per line on stdin, one result per line on stdout).",
        shouldDisplay: false)

    func run() throws {
        ExecutorChild.serve()
    }
}

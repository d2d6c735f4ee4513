public import Foundation
public import MedGridCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs an external command kernel: the task description goes to its stdin as JSON (and its path is in
/// `MEDGRID_TASK_FILE`); it must print one JSON result on stdout and exit 0. A non-zero exit, a signal,
/// non-JSON output or running past the time limit fail the attempt, with a bounded, redacted tail of its
/// stderr (see ``tail(_:)``).
///
/// Where and how a step runs:
/// - In a fresh private folder (``CommandSandbox``, mode 0700): its working directory, `HOME` and `TMPDIR`.
///   It sees copies of the inputs it needs there, never the worker's cache, state folder or key. The folder
///   is removed after the run.
/// - With an empty environment apart from ``documentedVariables``: nothing of the worker's environment
///   (its `MEDGRID_KEY`, tokens, proxies) reaches it.
///   - `PATH=/usr/local/bin:/usr/bin:/bin`; a program named without a `/` is looked up there.
///   - `HOME` and `TMPDIR`: the private folder. `LANG=C.UTF-8`.
///   - `MEDGRID_TASK_FILE`: the task description (`task.json` in the private folder, the same JSON as stdin).
///   - `MEDGRID_BIN`: the `medgrid` program, for steps that call it back.
///   - `MEDGRID_CASE`, `MEDGRID_IMAGE`: imaging steps: the case ID and the path of its image (a copy).
///   - `MEDGRID_PREDICTION`: Benchmark algorithms: where to write the segmentation.
/// - When the worker runs as root, as an unprivileged user (``CommandUser``: `nobody`, or
///   `MEDGRID_COMMAND_USER`) with no supplementary groups, no capabilities and `no_new_privs`, switched by
///   util-linux `setpriv`. The program must be executable by that user.
/// - Other open files of the worker are closed in the step; it shares the worker's process group, so a
///   worker that stops the attempt stops the step too.
public enum ExternalCommand {
    /// The variables a command step's environment may hold; every other variable is dropped.
    public static let documentedVariables: [String] = [
        "PATH", "HOME", "TMPDIR", "LANG",
        "MEDGRID_TASK_FILE", "MEDGRID_BIN", "MEDGRID_CASE", "MEDGRID_IMAGE", "MEDGRID_PREDICTION",
    ]
    /// The `PATH` of a command step.
    public static let searchPath = "/usr/local/bin:/usr/bin:/bin"
    /// Most stdout a step may print (its JSON result); more fails the attempt.
    public static let maxStdoutBytes = 256 << 20

    /// Runs `command` in `sandbox` (a fresh one, removed afterwards, when `nil`).
    ///
    /// - Parameter environment: values for the documented `MEDGRID_*` variables; any other key is ignored.
    public static func run(
        _ command: [String], task: JSONValue, timeout: Double, environment: [String: String] = [:], sandbox given: CommandSandbox? = nil
    ) throws -> JSONValue {
        guard let program = command.first, !program.isEmpty else { throw MedGridError(.invalidInput, "empty command") }
        let sandbox = try given ?? CommandSandbox()
        defer { if given == nil { sandbox.remove() } }
        signal(SIGPIPE, SIG_IGN)  // a command that exits without reading its stdin must not take us down
        let taskText = Data(CanonicalJSON.encode(task).utf8)
        try sandbox.writeTaskFile(taskText)

        var argv = [try resolve(program)] + command.dropFirst()
        if let user = sandbox.user {
            guard let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw ExternalCommandFailure(
                    kind: .refused,
                    message: "command \(program) not run: the worker runs as root, and command steps then run as user \(user) through setpriv (util-linux), which is not installed; install util-linux or run the worker as an unprivileged user",
                    stderrTail: "")
            }
            argv = [setpriv, "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--"] + argv
        }
        let env = stepEnvironment(sandbox: sandbox, extra: environment)

        let child: SpawnedStep
        do {
            child = try SpawnedStep(argv: argv, environment: env, directory: sandbox.directory.path)
        } catch {
            throw MedGridError(.kernelFailed, "command \(program) could not be started: \(error)")
        }
        let outcome = child.finish(input: taskText, timeout: timeout)
        sandbox.seal()
        let errTail = tail(outcome.stderr)
        switch outcome.end {
        case .timedOut:
            throw ExternalCommandFailure(kind: .timeout, message: "command \(program) ran past the time limit of \(CanonicalJSON.format(timeout)) s", stderrTail: errTail)
        case .signalled(let sig):
            throw ExternalCommandFailure(kind: .trapped, message: "command \(program) was killed by signal \(sig)", stderrTail: errTail)
        case .exited(let status) where status != 0:
            throw ExternalCommandFailure(kind: .kernelError, message: "command \(program) exited with status \(status)", stderrTail: errTail)
        case .exited:
            break
        }
        if outcome.stdoutOverflow {
            throw ExternalCommandFailure(kind: .kernelError, message: "command \(program) printed more than \(maxStdoutBytes >> 20) MiB on stdout (expected one JSON result)", stderrTail: errTail)
        }
        do {
            return try JSONValue(parsing: outcome.stdout)
        } catch {
            throw ExternalCommandFailure(kind: .kernelError, message: "command \(program) printed no JSON result on stdout (\(outcome.stdout.count) bytes)", stderrTail: errTail)
        }
    }

    /// The whole environment of a step: the fixed part, then the documented `MEDGRID_*` values given.
    static func stepEnvironment(sandbox: CommandSandbox, extra: [String: String]) -> [String: String] {
        var env: [String: String] = [
            "PATH": searchPath, "HOME": sandbox.directory.path, "TMPDIR": sandbox.directory.path, "LANG": "C.UTF-8",
            "MEDGRID_TASK_FILE": sandbox.taskFile.path, "MEDGRID_BIN": TaskRunner.executablePath,
        ]
        for (k, v) in extra where k.hasPrefix("MEDGRID_") && documentedVariables.contains(k) && k != "MEDGRID_TASK_FILE" { env[k] = v }
        return env
    }

    /// The program's path: as given when it holds a `/` (relative to this process's folder), else the first
    /// executable of that name in ``searchPath``.
    static func resolve(_ program: String) throws -> String {
        if program.hasPrefix("/") { return program }
        if program.contains("/") {
            return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(program).standardizedFileURL.path
        }
        for dir in searchPath.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ExternalCommandFailure(
            kind: .kernelError,
            message: "command \(program): not found in PATH=\(searchPath) (command steps get a minimal PATH; give the program's absolute path)",
            stderrTail: "")
    }
}

/// A failed external command, carrying the failure kind and stderr tail to the report.
public struct ExternalCommandFailure: Error, CustomStringConvertible {
    public var kind: TaskFailure.Kind
    public var message: String
    /// Bounded and redacted (``ExternalCommand/tail(_:)``).
    public var stderrTail: String
    public var description: String { message }
}

/// One command-step process started with `posix_spawn`: stdin, stdout and stderr on pipes, every other
/// descriptor closed, the signal mask and `SIGPIPE` reset, in `directory`.
final class SpawnedStep: @unchecked Sendable {
    enum End { case exited(Int32), signalled(Int32), timedOut }
    struct Outcome {
        var end: End
        var stdout: Data
        var stdoutOverflow: Bool
        var stderr: Data
    }

    let pid: pid_t
    private let stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32

    private typealias AddInt = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddPath = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+) and `…_addchdir_np` (2.29+), which Swift's
    /// Glibc module does not show.
    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)
    }

    init(argv: [String], environment: [String: String], directory: String) throws {
        var fds: [[Int32]] = []
        for _ in 0..<3 {
            var p: [Int32] = [0, 0]
            guard pipe(&p) == 0 else {
                for f in fds.joined() { close(f) }
                throw MedGridError(.io, "cannot create pipes (errno \(errno))")
            }
            for f in p { _ = fcntl(f, F_SETFD, FD_CLOEXEC) }
            fds.append(p)
        }
        let (inPipe, outPipe, errPipe) = (fds[0], fds[1], fds[2])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let sym = Self.symbol("posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(sym, to: AddInt.self)(&actions, 3)
        }
        guard let chdirSym = Self.symbol("posix_spawn_file_actions_addchdir_np") else {
            for f in fds.joined() { close(f) }
            throw MedGridError(.unsupported, "this C library has no posix_spawn_file_actions_addchdir_np (glibc 2.29 or newer is needed)")
        }
        _ = directory.withCString { unsafeBitCast(chdirSym, to: AddPath.self)(&actions, $0) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in cEnv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw MedGridError(.io, "\(argv[0]): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        stdinFD = inPipe[1]
        stdoutFD = outPipe[0]
        stderrFD = errPipe[0]
    }

    /// Feeds `input` to stdin, collects stdout (bounded) and the last 64 KiB of stderr, and waits for the
    /// process, stopping it at the deadline (SIGTERM, then SIGKILL 2 s later).
    func finish(input: Data, timeout: Double) -> Outcome {
        let out = Collector(limit: ExternalCommand.maxStdoutBytes, keepTail: false)
        let err = Collector(limit: 64 << 10, keepTail: true)
        let readers = DispatchGroup()
        for (fd, collector) in [(stdoutFD, out), (stderrFD, err)] {
            readers.enter()
            Thread.detachNewThread {
                collector.drain(fd)
                close(fd)
                readers.leave()
            }
        }
        let stdinFD = self.stdinFD
        Thread.detachNewThread {
            input.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(stdinFD, raw.baseAddress! + off, raw.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
            close(stdinFD)
        }
        let exited = DispatchSemaphore(value: 0)
        let status = StatusBox()
        let pid = self.pid
        Thread.detachNewThread {
            var s: Int32 = 0
            while waitpid(pid, &s, 0) < 0, errno == EINTR {}
            status.value = s
            exited.signal()
        }
        var timedOut = false
        if exited.wait(timeout: .now() + max(0, timeout)) == .timedOut {
            timedOut = true
            kill(pid, SIGTERM)
            if exited.wait(timeout: .now() + 2) == .timedOut {
                kill(pid, SIGKILL)
                exited.wait()
            }
            // A grandchild may still hold the pipes open; do not wait for it past a moment.
            _ = readers.wait(timeout: .now() + 1)
        } else {
            readers.wait()
        }
        let end: End
        if timedOut {
            end = .timedOut
        } else {
            let s = status.value
            let sig = s & 0x7f
            end = (sig != 0 && sig != 0x7f) ? .signalled(sig) : .exited((s >> 8) & 0xff)
        }
        return Outcome(end: end, stdout: out.data, stdoutOverflow: out.overflow, stderr: err.data)
    }
}

private final class StatusBox: @unchecked Sendable {
    var value: Int32 = 0
}

/// Reads a descriptor to its end, keeping at most `limit` bytes: the first ones (and noting the overflow),
/// or the last ones.
private final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private var overflowed = false
    let limit: Int
    let keepTail: Bool

    init(limit: Int, keepTail: Bool) {
        self.limit = limit
        self.keepTail = keepTail
    }

    var data: Data { lock.withLock { buffer } }
    var overflow: Bool { lock.withLock { overflowed } }

    func drain(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            lock.withLock {
                if keepTail {
                    chunk.withUnsafeBufferPointer { buffer.append($0.baseAddress!, count: n) }
                    if buffer.count > 2 * limit { buffer = Data(buffer.suffix(limit)) }
                } else if buffer.count + n <= limit {
                    chunk.withUnsafeBufferPointer { buffer.append($0.baseAddress!, count: n) }
                } else {
                    overflowed = true  // keep reading, so the command is not blocked on a full pipe
                }
            }
        }
    }
}

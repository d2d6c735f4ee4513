import Foundation
import MedGridCore
import MedGridKernels
#if canImport(Glibc)
import Glibc
#endif

/// One executor child process in its own process group, spoken to over pipes, one line each way.
final class ExecutorProcess: @unchecked Sendable {
    enum Reply {
        case line(Data)
        case died(String, stderrTail: String)
        case timedOut(stderrTail: String)
    }

    let pid: pid_t
    private let input: Int32
    private let output: Int32
    private let lock = NSLock()
    private var stderrRing = Data()
    private var pending = Data()
    private(set) var alive = true

    init(executable: String, arguments: [String]) throws {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw MedGridError(.io, "cannot create pipes for the executor process (errno \(errno))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in [inPipe[0], inPipe[1], outPipe[0], outPipe[1], errPipe[0], errPipe[1]] {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attr, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        // No backtracer in the child: a trap's own message ("Fatal error: …") is what the report needs.
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in envp { free(p) } }
        let rc = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw MedGridError(.io, "cannot start the executor process \(executable) (error \(rc))")
        }
        self.pid = pid
        self.input = inPipe[1]
        self.output = outPipe[0]
        let errFD = errPipe[0]
        Thread.detachNewThread { [self] in self.drainStderr(errFD) }
    }

    private func drainStderr(_ fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            lock.lock()
            stderrRing.append(contentsOf: buf[0..<n])
            if stderrRing.count > 8192 { stderrRing = Data(stderrRing.suffix(4096)) }
            lock.unlock()
        }
        close(fd)
    }

    private func clearStderr() {
        lock.withLock { stderrRing = Data() }
    }

    /// The last lines the child wrote to stderr, bounded and redacted as a command step's are.
    var stderrTail: String {
        let ring = lock.withLock { stderrRing }
        return ExternalCommand.tail(ring)
    }

    /// Sends one request line and waits for the reply line, killing the process group at the deadline.
    func request(_ line: Data, timeout: Double) async -> Reply {
        clearStderr()
        var data = line
        data.append(0x0a)
        let written = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = write(input, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        if !written { return finishDead(timedOut: false) }
        let state = RequestState()
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
            if state.markTimedOut() { Glibc.kill(-pid, SIGKILL) }
        }
        let got: Data? = await withCheckedContinuation { c in
            Thread.detachNewThread { [self] in c.resume(returning: self.readLine()) }
        }
        let timedOut = state.finish()
        if let got { return .line(got) }
        return finishDead(timedOut: timedOut)
    }

    private func readLine() -> Data? {
        var buf = [UInt8](repeating: 0, count: 65536)
        var scanned = 0  // bytes of `pending` known to hold no newline: a large result is scanned once, not per chunk
        while true {
            if let nl = pending[(pending.startIndex + scanned)...].firstIndex(of: 0x0a) {
                let line = Data(pending[pending.startIndex..<nl])
                pending = Data(pending[(nl + 1)...])
                return line
            }
            scanned = pending.count
            let n = read(output, &buf, buf.count)
            if n <= 0 { return nil }
            buf.withUnsafeBufferPointer { pending.append($0.baseAddress!, count: n) }
        }
    }

    private func finishDead(timedOut: Bool) -> Reply {
        terminate()
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        Thread.sleep(forTimeInterval: 0.02)  // let the stderr drain catch the last lines
        let tail = stderrTail
        if timedOut { return .timedOut(stderrTail: tail) }
        let signalled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        if signalled {
            let sig = status & 0x7f
            return .died("executor process died on signal \(sig) (\(signalName(sig)))", stderrTail: tail)
        }
        return .died("executor process exited with status \((status >> 8) & 0xff)", stderrTail: tail)
    }

    func terminate() {
        guard alive else { return }
        alive = false
        Glibc.kill(-pid, SIGKILL)
        close(input)
        close(output)
    }

    func reap() {
        terminate()
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    private func signalName(_ s: Int32) -> String {
        switch s {
        case SIGILL: return "SIGILL: a trap, such as a failed precondition or an index out of range"
        case SIGTRAP: return "SIGTRAP: a trap"
        case SIGSEGV: return "SIGSEGV: invalid memory access"
        case SIGBUS: return "SIGBUS"
        case SIGABRT: return "SIGABRT: aborted"
        case SIGKILL: return "SIGKILL: killed, possibly by the out-of-memory killer"
        case SIGFPE: return "SIGFPE: arithmetic error"
        default: return "signal \(s)"
        }
    }
}

private final class RequestState: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var timedOut = false

    /// Called by the timer; true if the request was still running.
    func markTimedOut() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if done { return false }
        timedOut = true
        return true
    }

    /// Called when the reply (or EOF) arrived; says whether the timer fired first.
    func finish() -> Bool {
        lock.lock(); defer { lock.unlock() }
        done = true
        return timedOut
    }
}

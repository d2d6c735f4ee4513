import Foundation
import Testing
import MedGridTesting
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The billion-laughs attack on the real `medgrid validate`: a manifest of a few hundred bytes whose ten nested
/// YAML aliases stand for 10^10 values. Before the fix it grew to 12 GB and hung; now it is refused at its
/// first anchor, quickly and in little memory.
struct ManifestLimitsProcessTests {
    /// What one child process did: exit status, wall time from spawn to exit, peak resident memory, stderr.
    struct Measured: CustomStringConvertible {
        var status: Int32
        var seconds: Double
        var maxRSSBytes: Int
        var stderr: String
        var description: String {
            "status \(status), \(String(format: "%.3f", seconds)) s, max RSS \(maxRSSBytes / 1024) KiB, stderr: \(stderr)"
        }
    }

    enum SpawnError: Error { case failed(Int32) }

    /// Runs a program with `posix_spawn` and reaps it with `wait4`, which gives that one child's resource use
    /// (`RUSAGE_CHILDREN` would be the maximum over every child this test process ever had). The wall time
    /// covers the child alone. A child still running at `timeout` is killed (by its pid).
    static func measure(_ arguments: [String], timeout: Double) throws -> Measured {
        let dir = try TestSupport.temporaryDirectory("medgrid-measure")
        let errPath = dir.appendingPathComponent("stderr").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let start = ContinuousClock.now
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard rc == 0 else { throw SpawnError.failed(rc) }
        var status: Int32 = 0
        var usage = rusage()
        let deadline = start + .seconds(timeout)
        var reaped = wait4(pid, &status, WNOHANG, &usage)
        while reaped == 0 {
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                reaped = wait4(pid, &status, 0, &usage)
                break
            }
            usleep(2_000)
            reaped = wait4(pid, &status, WNOHANG, &usage)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #if os(Linux)
        let maxRSS = Int(usage.ru_maxrss) * 1024  // KiB on Linux
        #else
        let maxRSS = Int(usage.ru_maxrss)  // bytes on macOS
        #endif
        // Exited normally: the low 7 bits are 0 and the status is in the next byte; otherwise 128 + signal.
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let stderr = (try? String(contentsOf: URL(fileURLWithPath: errPath), encoding: .utf8)) ?? ""
        return Measured(status: exitStatus, seconds: seconds, maxRSSBytes: maxRSS, stderr: stderr)
    }

    /// Ten levels of ten aliases each, as values (first anchor at 9:9) or with the last one as a mapping key
    /// (which a YAML library hashes, so expands, while checking for duplicate keys).
    static func bomb(aliasAsKey: Bool) -> String {
        var text = "apiVersion: medgrid/v1\nkind: Job\nmetadata:\n  name: lol\nspec:\n  dataset: ../Datasets/phantom\n  kernel: imaging.stats\n  params:\n"
        text += "    l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1...9 {
            text += "    l\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        if aliasAsKey { text += "    ? *a9\n    : 1\n" }
        return text
    }

    @Test("medgrid validate refuses a billion-laughs manifest in under a second and under 100 MB", arguments: [false, true])
    func billionLaughs(aliasAsKey: Bool) throws {
        let dir = try TestSupport.temporaryDirectory("medgrid-bomb")
        let manifest = dir.appendingPathComponent("bomb.yaml")
        try Self.bomb(aliasAsKey: aliasAsKey).write(to: manifest, atomically: true, encoding: .utf8)
        // `ulimit -v` (4 GiB of address space) only guards this machine should the refusal ever regress.
        // Memory is read by GNU time, which forks medgrid from its own small process: Linux counts into a
        // child's peak RSS the peak of the process image it replaced at exec, so a child spawned straight from
        // this (large) test process would report this process's size, not medgrid's.
        let command = [
            "/bin/sh", "-c", "ulimit -v 4194304 && exec /usr/bin/time -f 'medgrid-maxrss-kib=%M' \"$0\" \"$@\"",
            TestSupport.medgridBinary.path, "validate", manifest.path,
        ]
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "GNU time is needed (apt-get install time; .ci/run installs it)")
        // Wall time on a busy machine: the child must finish in under a second in at least one of three runs
        // (a regression does not finish at all); status, message and memory are checked on every run.
        var runs: [Measured] = []
        for _ in 0..<3 {
            var run = try Self.measure(command, timeout: 20)
            let marker = "medgrid-maxrss-kib="
            let reported = run.stderr.split(separator: "\n").last { $0.hasPrefix(marker) }.flatMap { Int($0.dropFirst(marker.count)) }
            run.maxRSSBytes = (reported ?? -1) * 1024
            runs.append(run)
            #expect(run.status == 1, "\(run)")
            #expect(run.stderr.contains("bomb.yaml:9:9: YAML anchors and aliases (&name, *name) are not allowed in manifests"), "\(run)")
            #expect(run.maxRSSBytes > 0 && run.maxRSSBytes < 100 * 1024 * 1024, "\(run)")
            if run.seconds < 1 { break }
        }
        #expect(runs.contains { $0.seconds < 1 }, "no run finished in under a second: \(runs)")
    }
}

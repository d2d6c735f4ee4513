import Foundation
import Testing
@testable import MedGridCore
@testable import MedGridKernels
#if canImport(Glibc)
import Glibc
#endif

/// Command steps run in a private folder with an empty environment, as an unprivileged user when the
/// worker is root, and only a bounded, redacted stderr tail comes back. Each test is an attack the sandbox
/// stops, run for real.
@Suite("Command step sandbox")
struct CommandSandboxTests {
    /// An executable /bin/sh script in `dir` (a 0755 folder, so the step's user can reach it).
    static func script(_ body: String, in dir: TemporaryDirectory, name: String) throws -> String {
        let url = try dir.write(Data("#!/bin/sh\n\(body)\n".utf8), to: name)
        chmod(dir.url.path, 0o755)
        chmod(url.path, 0o755)
        return url.path
    }

    static let runningAsRoot = geteuid() == 0

    @Test("a step sees only the documented environment, in a fresh 0700 folder removed afterwards")
    func environmentAndFolder() throws {
        let dir = try TemporaryDirectory("medgrid-sandbox")
        defer { dir.remove() }
        // A secret in the worker's own environment: the step must not see it.
        let secret = "sandbox-secret-\(UUID().uuidString)"
        setenv("MEDGRID_SANDBOX_TEST_SECRET", secret, 1)
        defer { unsetenv("MEDGRID_SANDBOX_TEST_SECRET") }
        let probe = try Self.script("""
            cat >/dev/null
            keys=$(env | cut -d= -f1 | sort | awk '{printf "%s\\"%s\\"", (NR>1?",":""), $0}')
            leak=$(env | grep -c "\(secret)")
            printf '{"uid":%s,"pwd":"%s","mode":"%s","owner":%s,"home":"%s","tmp":"%s","path":"%s","lang":"%s","task":"%s","keys":[%s],"leak":%s}\\n' \
              "$(id -u)" "$PWD" "$(stat -c %a .)" "$(stat -c %u .)" "$HOME" "$TMPDIR" "$PATH" "$LANG" "$MEDGRID_TASK_FILE" "$keys" "$leak"
            """, in: dir, name: "probe.sh")
        let out = try ExternalCommand.run([probe], task: ["case": "c1"], timeout: 30, environment: [
            "MEDGRID_CASE": "c1", "MEDGRID_KEY": "/etc/medgrid/worker-key.pem", "HTTPS_PROXY": "http://proxy",
        ])
        #expect(out["leak"]?.intValue == 0, "the worker's secret variable reached the step")
        let keys = Set(out["keys"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let allowed = Set(ExternalCommand.documentedVariables + ["PWD"])  // dash exports PWD itself
        #expect(keys.isSubset(of: allowed), "unexpected variables: \(keys.subtracting(allowed).sorted())")
        #expect(!keys.contains("MEDGRID_KEY") && !keys.contains("HTTPS_PROXY"), "only documented MEDGRID_* values pass")
        #expect(keys.contains("MEDGRID_CASE") && keys.contains("MEDGRID_BIN"))
        #expect(out["path"]?.stringValue == "/usr/local/bin:/usr/bin:/bin")
        #expect(out["lang"]?.stringValue == "C.UTF-8")
        let folder = try #require(out["pwd"]?.stringValue)
        #expect(out["home"]?.stringValue == folder && out["tmp"]?.stringValue == folder)
        #expect(out["task"]?.stringValue == folder + "/task.json")
        #expect(out["mode"]?.stringValue == "700")
        #expect(URL(fileURLWithPath: folder).lastPathComponent.hasPrefix("medgrid-step-"))
        if Self.runningAsRoot {
            #expect(out["uid"]?.intValue == 65534, "a root worker runs steps as nobody")
            #expect(out["owner"]?.intValue == 65534, "the folder belongs to the step's user")
        } else {
            #expect(out["uid"]?.intValue == Int(getuid()))
        }
        #expect(!FileManager.default.fileExists(atPath: folder), "the private folder is removed after the run")
    }

    @Test("as root, a step cannot read the worker's 0600 private key", .enabled(if: CommandSandboxTests.runningAsRoot))
    func keyIsUnreadable() throws {
        let dir = try TemporaryDirectory("medgrid-sandbox-key")
        defer { dir.remove() }
        let key = try dir.write(Data("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7workerKey\n-----END PRIVATE KEY-----\n".utf8), to: "worker-key.pem")
        chmod(key.path, 0o600)
        chmod(dir.url.path, 0o755)
        // Exit 0 with the key on stdout if it can read it; exit 7 if not.
        let thief = try Self.script("cat >/dev/null\nif cat '\(key.path)'; then exit 0; else id -u >&2; exit 7; fi", in: dir, name: "thief.sh")
        let error = #expect(throws: ExternalCommandFailure.self) { try ExternalCommand.run([thief], task: [:], timeout: 30) }
        #expect(error?.message.contains("status 7") == true, "the step read the key: \(String(describing: error))")
        #expect(error?.stderrTail.contains("Permission denied") == true, "\(String(describing: error?.stderrTail))")
        #expect(error?.stderrTail.contains("65534") == true)
        #expect(error?.stderrTail.contains("MIIEvQ") == false)
    }

    @Test("as root, a step cannot write outside its folder or keep the folder after the run", .enabled(if: CommandSandboxTests.runningAsRoot))
    func noWritesOutside() throws {
        let dir = try TemporaryDirectory("medgrid-sandbox-write")
        defer { dir.remove() }
        let target = dir.file("planted")
        let planter = try Self.script("cat >/dev/null\ntouch '\(target.path)' 2>/dev/null\necho '{\"ok\":1}'", in: dir, name: "planter.sh")
        _ = try ExternalCommand.run([planter], task: [:], timeout: 30)
        #expect(!FileManager.default.fileExists(atPath: target.path), "the step wrote into a root-owned folder")
    }

    @Test("only a bounded, redacted stderr tail comes back: no PEM block, key line or long secret run")
    func redactedTail() throws {
        let dir = try TemporaryDirectory("medgrid-sandbox-tail")
        defer { dir.remove() }
        let noisy = try Self.script("""
            cat >/dev/null
            i=0; while [ $i -lt 100 ]; do echo "line $i" >&2; i=$((i+1)); done
            printf -- '-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\nAbCdEfGh1234567890\\n-----END PRIVATE KEY-----\\n' >&2
            echo 'aws token=AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMIK7MDENGbPxRfiCY' >&2
            echo 'digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 done' >&2
            echo 'the key: RSA PRIVATE KEY follows' >&2
            exit 1
            """, in: dir, name: "noisy.sh")
        let error = try #require(#expect(throws: ExternalCommandFailure.self) { try ExternalCommand.run([noisy], task: [:], timeout: 30) })
        let tail = error.stderrTail
        #expect(tail.split(separator: "\n", omittingEmptySubsequences: false).count <= ExternalCommand.tailLines)
        #expect(tail.utf8.count <= ExternalCommand.tailBytes)
        for secret in ["MIIEvQ", "BEGIN", "END PRIVATE", "AbCdEfGh1234567890", "AKIAIOSFODNN7", "9f86d081884c7d65", "RSA PRIVATE"] {
            #expect(!tail.contains(secret), "\(secret) reached the tail:\n\(tail)")
        }
        #expect(tail.contains("[redacted]"))
        #expect(tail.contains("line 99") && tail.contains("digest [redacted] done"), "ordinary lines are kept:\n\(tail)")
    }

    @Test("redaction keeps ordinary diagnostics and removes secrets", arguments: [
        ("Fatal error: Index out of range", "Fatal error: Index out of range"),
        ("loading /usr/lib/x86_64-linux-gnu/libstdc++.so.6", "loading /usr/lib/x86_64-linux-gnu/libstdc++.so.6"),
        ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrY\nno end marker", "[redacted]"),
        ("could not load private key from file", "[redacted]"),
        ("sha 0123456789abcdef0123456789abcdef", "sha [redacted]"),
        ("token ghp_16C7e42F292c6912E7710c838347Ae178B4aXYZ0", "token [redacted]"),
    ])
    func redactionRules(input: String, expected: String) {
        #expect(ExternalCommand.redact(input) == expected)
    }

    @Test("a native backtrace is folded so the error above it stays in the tail")
    func stackFramesFolded() {
        let frames = (0..<30).map { "\($0)    libswiftCore.so                    0x00007f761335f130 swift_reportError + 33" }
        let text = (["debug.trap: about to trap", "Swift/ContiguousArrayBuffer.swift:692: Fatal error: Index out of range", "Current stack trace:"] + frames + ["after"])
            .joined(separator: "\n")
        let tail = ExternalCommand.tail(Data(text.utf8))
        #expect(tail.contains("Fatal error: Index out of range"), "\(tail)")
        #expect(tail.contains("[30 stack frames omitted]") && tail.hasSuffix("after"), "\(tail)")
        #expect(!tail.contains("libswiftCore.so"))
    }

    @Test("MEDGRID_COMMAND_USER picks the step's user; root is refused", .enabled(if: CommandSandboxTests.runningAsRoot))
    func commandUser() throws {
        #expect(try CommandUser.automatic(environment: [:]) == .nobody)
        #expect(try CommandUser.automatic(environment: ["MEDGRID_COMMAND_USER": "1234:5678"]) == CommandUser(uid: 1234, gid: 5678))
        #expect(try CommandUser.automatic(environment: ["MEDGRID_COMMAND_USER": "nobody"]) == .nobody)
        #expect(throws: MedGridError.self) { try CommandUser.automatic(environment: ["MEDGRID_COMMAND_USER": "0"]) }
        #expect(throws: MedGridError.self) { try CommandUser.automatic(environment: ["MEDGRID_COMMAND_USER": "no-such-user-here"]) }
    }

    @Test("a program not in the minimal PATH is named in the error, with the fix")
    func minimalPath() throws {
        let error = #expect(throws: ExternalCommandFailure.self) {
            try ExternalCommand.run(["medgrid-no-such-program"], task: [:], timeout: 5)
        }
        #expect(error?.message.contains("PATH=/usr/local/bin:/usr/bin:/bin") == true)
        #expect(error?.message.contains("absolute path") == true)
    }
}

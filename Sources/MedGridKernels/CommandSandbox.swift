public import Foundation
import MedGridCore
#if canImport(Glibc)
import Glibc
#endif

/// The user a command step runs as when the worker runs as root.
///
/// A worker that is not root runs its command steps as its own user (it cannot switch users). A worker
/// running as root never runs a step as root: the step runs as `nobody` (65534:65534), or as the user named
/// in `MEDGRID_COMMAND_USER` (a name, `UID` or `UID:GID`; root is refused).
public struct CommandUser: Sendable, Hashable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// `nobody:nogroup` on Debian and Ubuntu.
    public static let nobody = CommandUser(uid: 65534, gid: 65534)
    /// The worker's environment variable that picks another unprivileged user.
    public static let environmentVariable = "MEDGRID_COMMAND_USER"

    public var description: String { "\(uid):\(gid)" }

    /// The user steps run as in this process: `nil` (this process's own user) unless this process is root.
    public static func automatic(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> CommandUser? {
        guard geteuid() == 0 else { return nil }
        guard let text = environment[environmentVariable]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return .nobody }
        let user = try parse(text)
        guard user.uid != 0, user.gid != 0 else {
            throw MedGridError(.invalidInput, "\(environmentVariable)=\(text): command steps never run as root (expected an unprivileged user: a name, UID or UID:GID)")
        }
        return user
    }

    /// A name (looked up in the user database), `UID` (its group is the same number) or `UID:GID`.
    static func parse(_ text: String) throws -> CommandUser {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count <= 2, let uid = UInt32(parts[0]) {
            if parts.count == 1 { return CommandUser(uid: uid, gid: uid) }
            if let gid = UInt32(parts[1]) { return CommandUser(uid: uid, gid: gid) }
        } else if parts.count == 1, let entry = getpwnam(text) {
            return CommandUser(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
        }
        throw MedGridError(.invalidInput, "\(environmentVariable)=\(text): no such user (expected a user name, UID or UID:GID)")
    }
}

/// A fresh private folder for one run of a command step: its working directory, `HOME` and `TMPDIR`.
///
/// - It is made with `mkdtemp` (mode 0700) under the temporary folder (or `/tmp` when the step's user could
///   not reach that one), and belongs to the step's user when the step runs as another user.
/// - The step sees only copies of the inputs it needs, under `inputs/` (read-only, mode 0444), and the task
///   description `task.json`: never the worker's cache, state folder or key.
/// - ``seal()`` takes the folder back after the step ended, so nothing left running as the step's user can
///   change what the worker then reads from it (the prediction of a Benchmark algorithm).
/// - ``remove()`` deletes it; callers remove it after every run, success or failure.
public final class CommandSandbox: @unchecked Sendable {
    /// The folder.
    public let directory: URL
    /// Who the step runs as; `nil`: this process's user.
    public let user: CommandUser?

    /// A folder for a step run as ``CommandUser/automatic(environment:)``.
    public convenience init() throws {
        try self.init(user: try CommandUser.automatic())
    }

    public init(user: CommandUser?) throws {
        var base = FileManager.default.temporaryDirectory.path
        if user != nil, !Self.traversableByOthers(base) { base = "/tmp" }
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/medgrid-step-XXXXXX".utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let p = mkdtemp(buffer.baseAddress!) else { return nil }
            return String(cString: p)
        }
        guard let path = made else {
            throw MedGridError(.io, "cannot create a private folder for a command step under \(base) (errno \(errno): \(String(cString: strerror(errno))))")
        }
        directory = URL(fileURLWithPath: path, isDirectory: true)
        self.user = user
        do {
            guard chmod(path, 0o700) == 0 else { throw MedGridError(.io, "\(path): cannot set mode 0700 (errno \(errno))") }
            if let user, chown(path, user.uid, user.gid) != 0 {
                throw MedGridError(.io, "\(path): cannot give the command step's folder to user \(user) (errno \(errno))")
            }
            try FileManager.default.createDirectory(at: inputsDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Where the copies of the inputs go.
    public var inputsDirectory: URL { directory.appendingPathComponent("inputs", isDirectory: true) }

    /// The task description's path inside the folder (`MEDGRID_TASK_FILE`).
    public var taskFile: URL { directory.appendingPathComponent("task.json") }

    /// A read-only copy of `file` at `inputs/<relativePath>` (`..` and empty parts dropped); returns its URL.
    /// The same path exposed twice is copied once.
    @discardableResult
    public func expose(_ file: URL, as relativePath: String) throws -> URL {
        let parts = relativePath.split(separator: "/").filter { $0 != "." && $0 != ".." }
        var target = inputsDirectory
        for part in parts.isEmpty ? [Substring(file.lastPathComponent)] : parts { target.appendPathComponent(String(part)) }
        if FileManager.default.fileExists(atPath: target.path) { return target }
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        do {
            try FileManager.default.copyItem(at: file, to: target)
        } catch {
            throw MedGridError(.io, "cannot copy the input \(relativePath) into the command step's private folder: \(error.localizedDescription)")
        }
        chmod(target.path, 0o444)
        return target
    }

    /// Writes the task description (`task.json`, read-only).
    func writeTaskFile(_ data: Data) throws {
        try data.write(to: taskFile)
        chmod(taskFile.path, 0o444)
    }

    /// A path inside the folder the step may write to, e.g. its segmentation.
    public func outputURL(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// The output `name` if the step left a regular file there (not a link, not a folder), else `nil`.
    public func regularOutput(_ name: String) -> URL? {
        let url = outputURL(name)
        var st = stat()
        guard lstat(url.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return url
    }

    /// Gives the folder back to this process's user (mode 0700) once the step ended.
    public func seal() {
        guard user != nil else { return }
        chown(directory.path, geteuid(), getegid())
        chmod(directory.path, 0o700)
    }

    /// Deletes the folder and everything in it.
    public func remove() {
        seal()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Whether every folder from `/` down to `path` lets other users through (the `x` bit for others).
    static func traversableByOthers(_ path: String) -> Bool {
        var url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        while true {
            var st = stat()
            guard stat(url.path, &st) == 0, st.st_mode & 0o001 != 0 else { return false }
            if url.path == "/" { return true }
            url.deleteLastPathComponent()
        }
    }
}

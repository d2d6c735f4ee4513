public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// De-identifies DICOM files and series folders into an output folder: what `medgrid dicom deidentify` and
/// `medgrid dataset add --deidentify` run.
///
/// Layout under the output folder:
/// - `<new SeriesInstanceUID>/<new SOPInstanceUID>.dcm`, one file per input file (names carry no input names,
///   which may hold a patient's name);
/// - `.deidentify/summary.json` (mode 0600, in a folder of mode 0700): per file, the input path, the output path, the actions taken and
///   the mapping of old to new UIDs. It links the output to the patients' data, so it stays with the data's
///   custodian;
/// - `.deidentify/key` (mode 0600), only when no key file was given: 32 random bytes (hex), used again by later
///   runs into the same folder so that UIDs stay consistent.
///
/// Every input is read and checked (DICOM structure, burned-in annotation, output name collisions) before
/// anything is written; each output file is written to a temporary name and renamed into place.
public struct DeidentificationRun: Sendable {
    /// The hidden folder (mode 0700) under the output folder that holds the summary and the generated key.
    /// Dataset inventories skip hidden files, so neither becomes part of a registered dataset or is uploaded.
    public static let privateFolderName = ".deidentify"
    public static let summaryFileName = ".deidentify/summary.json"
    public static let keyFileName = ".deidentify/key"

    /// One file's entry in the summary.
    public struct FileEntry: Codable, Sendable {
        public var input: String
        public var output: String
        public var transferSyntaxUID: String
        public var burnedInAnnotation: Bool
        public var actions: [DeidentificationAction]
        public var uids: [String: String]
    }

    /// The summary written to `.deidentify/summary.json`.
    public struct Summary: Codable, Sendable {
        public var profile: String
        public var codes: [String]
        public var options: [String]
        public var files: [FileEntry]

        /// Counts of each action over all files.
        public var actionCounts: [String: Int] {
            var counts = [String: Int]()
            for f in files { for a in f.actions { counts[a.action, default: 0] += 1 } }
            return counts
        }
    }

    public var inputs: [URL]
    public var output: URL
    /// The key file; nil to use (or create) `.deidentify/key` in the output folder.
    public var keyFile: URL?
    public var dates: DeidentificationOptions.Dates
    public var allowBurnedIn: Bool

    public init(inputs: [URL], output: URL, keyFile: URL?, dates: DeidentificationOptions.Dates = .basic, allowBurnedIn: Bool = false) {
        self.inputs = inputs.map(\.standardizedFileURL)
        self.output = output.standardizedFileURL
        self.keyFile = keyFile?.standardizedFileURL
        self.dates = dates
        self.allowBurnedIn = allowBurnedIn
    }

    /// The input files: each file as given, each folder's regular files recursively (names starting with "."
    /// skipped), in path order.
    /// - Throws: ``ImagingError`` `.invalidArgument` for a missing input, an output folder inside an input
    ///   folder, or no file at all.
    public func inputFiles() throws -> [URL] {
        let fm = FileManager.default
        var files = [URL]()
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: input.path, isDirectory: &isDirectory) else {
                throw ImagingError(.invalidArgument, path: input.path, "no such file or folder")
            }
            guard isDirectory.boolValue else { files.append(input); continue }
            if (output.path + "/").hasPrefix(input.path + "/") {
                throw ImagingError(.invalidArgument, path: input.path, "the output folder \(output.path) is inside this input folder; choose an --out outside it")
            }
            guard let walker = fm.enumerator(at: input, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
                throw ImagingError(.io, path: input.path, "cannot list the folder")
            }
            var found = [URL]()
            for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                found.append(url.standardizedFileURL)
            }
            files += found.sorted { $0.path < $1.path }
        }
        guard !files.isEmpty else {
            throw ImagingError(.invalidArgument, "no input files: name DICOM files or folders of them")
        }
        return files
    }

    /// The key: the key file's bytes (trailing newlines dropped), or the output folder's `.deidentify/key`;
    /// when neither exists, 32 random bytes (hex) that ``run(progress:)`` saves there once the inputs pass.
    /// - Throws: ``ImagingError`` `.invalidArgument` for a missing, unreadable or short (< 16 bytes) key.
    public func loadKey() throws -> (key: [UInt8], file: URL, isNew: Bool) {
        let file = keyFile ?? output.appendingPathComponent(Self.keyFileName)
        if let data = FileManager.default.contents(atPath: file.path) {
            var bytes = [UInt8](data)
            while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
            guard bytes.count >= 16 else {
                throw ImagingError(.invalidArgument, path: file.path, "the key has \(bytes.count) bytes; a de-identification key needs at least 16 (for example: openssl rand -hex 32 > key)")
            }
            return (bytes, file, false)
        }
        guard keyFile == nil else {
            throw ImagingError(.invalidArgument, path: file.path, "cannot read the key file")
        }
        var random = SystemRandomNumberGenerator()
        let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
        return (Array(hex.utf8), file, true)
    }

    /// Where a de-identified file goes, relative to the output folder.
    static func relativeOutputPath(_ d: DeidentifiedFile, input: URL, key: [UInt8]) -> String {
        let name = (d.sopInstanceUID.map { $0.isEmpty ? nil : $0 } ?? nil)
            ?? DICOMDeidentifier.remapUID("file:" + input.path, key: key)
        let series = d.seriesInstanceUID.flatMap { $0.isEmpty ? nil : $0 }
        return (series.map { $0 + "/" } ?? "") + name + ".dcm"
    }

    /// Runs the de-identification, calling `progress(done, total)` after each file written.
    /// - Throws: ``ImagingError`` naming the file (and tag or byte offset) for unreadable input, burned-in
    ///   annotation without `allowBurnedIn`, or two inputs that would write one output; nothing is written then.
    public func run(progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        let files = try inputFiles()
        let (key, keyURL, isNewKey) = try loadKey()
        let options = DeidentificationOptions(key: key, dates: dates, allowBurnedIn: allowBurnedIn)

        // First pass: everything must read and de-identify before anything is written.
        var targets = [String: String]()
        var burnedIn = [String]()
        for url in files {
            let file = try DICOM.read(contentsOf: url)
            if DICOMDeidentifier.hasBurnedInAnnotation(file) && !allowBurnedIn { burnedIn.append(url.path); continue }
            let d = try DICOMDeidentifier.deidentify(file, options: options)
            let target = Self.relativeOutputPath(d, input: url, key: key)
            if let other = targets[target] {
                throw ImagingError(.invalidArgument, path: url.path, "has the same SOP Instance UID as \(other); give each instance once")
            }
            targets[target] = url.path
        }
        if !burnedIn.isEmpty {
            throw ImagingError(
                .unsupported, path: burnedIn[0],
                "BurnedInAnnotation (0028,0301) is YES in \(burnedIn.count) file\(burnedIn.count == 1 ? "" : "s") (\(burnedIn.prefix(5).joined(separator: ", "))"
                    + "\(burnedIn.count > 5 ? ", …" : "")): their pixels may show patient identifiers, which de-identification does not change; "
                    + "nothing was written (check the pixels, then pass --allow-burned-in)")
        }

        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        if isNewKey {
            try Self.makePrivateFolder(output)
            try Self.writePrivate(key + [0x0A], to: keyURL)
        }
        var entries = [FileEntry]()
        for (i, url) in files.enumerated() {
            let d = try DICOMDeidentifier.deidentify(try DICOM.read(contentsOf: url), options: options)
            let target = output.appendingPathComponent(Self.relativeOutputPath(d, input: url, key: key))
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Self.writeAtomically(d.bytes, to: target, mode: 0o644)
            entries.append(FileEntry(
                input: url.path, output: target.path, transferSyntaxUID: d.transferSyntaxUID,
                burnedInAnnotation: d.burnedInAnnotation, actions: d.actions, uids: d.uids))
            progress(i + 1, files.count)
        }
        var optionNames = [String]()
        switch dates {
        case .basic: break
        case .keep: optionNames.append("keep-dates")
        case .shift(let days): optionNames.append("shift-dates \(days)")
        }
        if allowBurnedIn { optionNames.append("allow-burned-in") }
        let summary = Summary(profile: "basic", codes: options.codes.map(\.value), options: optionNames, files: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try Self.makePrivateFolder(output)
        try Self.writePrivate(Array(try encoder.encode(summary)) + [0x0A], to: output.appendingPathComponent(Self.summaryFileName))
        return summary
    }

    /// Creates `.deidentify/` under `output` with mode 0700 (and sets that mode if it exists).
    static func makePrivateFolder(_ output: URL) throws {
        let folder = output.appendingPathComponent(privateFolderName)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(folder.path, 0o700) == 0 else { throw ImagingError(.io, path: folder.path, "cannot make the folder private (errno \(errno))") }
    }

    /// Writes `bytes` to `url` with mode 0600 from the first byte (temporary file, then rename).
    static func writePrivate(_ bytes: [UInt8], to url: URL) throws {
        try writeAtomically(bytes, to: url, mode: 0o600)
    }

    /// Writes through a temporary file created with `mode` (never wider, whatever the umask allows), then
    /// renames it over `url`.
    static func writeAtomically(_ bytes: [UInt8], to url: URL, mode: mode_t) throws {
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ImagingError(.io, path: url.path, "cannot create the file (errno \(errno))") }
        var ok = fchmod(fd, mode) == 0
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while ok && offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; ok = false } else { offset += n }
            }
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temp.path, url.path) == 0 else {
            unlink(temp.path)
            throw ImagingError(.io, path: url.path, "cannot write the file (errno \(errno))")
        }
    }
}

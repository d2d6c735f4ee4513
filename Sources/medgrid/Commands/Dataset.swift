import ArgumentParser
import Foundation
import MedGridCohort
import MedGridCore
import MedGridCoordinator
import MedGridImaging

struct Dataset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register datasets, check their integrity, and make synthetic ones.",
        discussion: """
            A dataset's identity is the Merkle root of the SHA-256 of its files. `add` records every file's hash; \
            `verify` finds any file changed, missing or added since. Jobs record the root they ran on, and a job \
            over a registered dataset refuses to start if the data changed.

            A registration belongs to a project (--project, default your personal project user-$USER): a job \
            checks its data against its own project's registration, never another project's.
            """,
        subcommands: [Add.self, Info.self, Verify.self, Synth.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hash every file of a dataset (folder or CSV) and register it in a project.")
        @Argument(help: ArgumentHelp("Dataset folder or cohort CSV file.", valueName: "path")) var path: String
        @OptionGroup var state: StateOptions
        @OptionGroup var project: ProjectOption
        @Flag(help: "De-identify the DICOM files first (as medgrid dicom deidentify) and register only the de-identified copy.")
        var deidentify = false
        @Option(help: ArgumentHelp("With --deidentify: where the de-identified copy goes (default: PATH-deidentified).", valueName: "dir"))
        var out: String?
        @OptionGroup var deidentification: DICOMCommand.DeidentifyOptions

        func validate() throws {
            if out != nil && !deidentify { throw ValidationError("--out is for --deidentify") }
            if !deidentify && (deidentification.key != nil || deidentification.keepDates || deidentification.shiftDates != nil || deidentification.allowBurnedIn) {
                throw ValidationError("--key, --keep-dates, --shift-dates and --allow-burned-in are for --deidentify")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let given = URL(fileURLWithPath: path).standardizedFileURL
                let store = try Store(stateDirectory: state.url)
                let project = try project.resolved(writingTo: store, at: state.url)
                var url = given
                if deidentify {
                    let target = out ?? given.path + "-deidentified"
                    let (summary, _) = try deidentification.run(inputs: [given.path], out: target)
                    print("de-identified \(summary.files.count) files into \(target) (summary and UID mapping: \(target)/\(DeidentificationRun.summaryFileName), mode 0600)")
                    url = URL(fileURLWithPath: target).standardizedFileURL
                }
                let location = url
                let inventory = try scanWithProgress(url)
                try store.write { tx in try tx.registerDataset(location: location.path, project: project, inventory: inventory, now: Date().timeIntervalSince1970) }
                print("registered \(deidentify ? url.path : path) in project \(project): \(inventory.files.count) files, \(inventory.totalBytes) bytes")
                print("merkle root: \(inventory.root)")
            }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe a dataset: cases, labels, files and Merkle root.")
        @Argument(help: ArgumentHelp("Dataset folder or cohort CSV file.", valueName: "path")) var path: String
        @OptionGroup var state: StateOptions
        @OptionGroup var project: ProjectOption

        func run() async throws {
            try await reportingErrors {
                let url = URL(fileURLWithPath: path).standardizedFileURL
                let project = try project.resolved()
                if DecathlonDataset.isDataset(url) {
                    let d = try DecathlonDataset.load(folder: url)
                    print("imaging dataset \(d.name): \(d.cases.count) cases (\(d.cases.filter { $0.label != nil }.count) with labels)")
                    print("modality: \(d.modality.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
                    print("labels: \(d.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
                } else if url.pathExtension.lowercased() == "csv" {
                    let t = try CohortFile.read(contentsOf: url)
                    print("cohort table: \(t.rows.count) rows, \(t.subjectOrder().count) subjects, columns: \(t.columns.joined(separator: ", "))")
                }
                let inventory = try DatasetInventory.scan(url)
                print("files: \(inventory.files.count), \(inventory.totalBytes) bytes")
                print("merkle root: \(inventory.root)")
                let store = FileManager.default.fileExists(atPath: state.url.appendingPathComponent("medgrid.sqlite").path)
                    ? try Store(stateDirectory: state.url) : nil
                if let store, let reg = try store.read({ try $0.dataset(location: url.path, project: project) }) {
                    let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: reg.addedAt))
                    print("registered in project \(project) \(when) with root \(reg.inventory.root)\(reg.inventory.root == inventory.root ? " (unchanged)" : " (CHANGED since; run medgrid dataset verify)")")
                } else {
                    let others = try store?.read { try $0.datasetProjects(location: url.path) } ?? []
                    print("not registered in project \(project) (medgrid dataset add \(path)\(project == Project.personal(Coordinator.localUser) ? "" : " --project \(project)"))"
                        + (others.isEmpty ? "" : "; registered in \(others.joined(separator: ", "))"))
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a registered dataset against its recorded hashes.",
            discussion: "Exit status 0 when every file matches; 1 when any file changed, is missing or was added (each is listed).")
        @Argument(help: ArgumentHelp("Dataset folder or cohort CSV file.", valueName: "path")) var path: String
        @OptionGroup var state: StateOptions
        @OptionGroup var project: ProjectOption

        func run() async throws {
            try await reportingErrors {
                let url = URL(fileURLWithPath: path).standardizedFileURL
                let project = try project.resolved()
                let store = try Store(stateDirectory: state.url)
                guard let reg = try store.read({ try $0.dataset(location: url.path, project: project) }) else {
                    let others = try store.read { try $0.datasetProjects(location: url.path) }
                    throw MedGridError(
                        .notFound,
                        "\(path) is not registered in project \(project) of \(state.url.path) (medgrid dataset add \(path))"
                            + (others.isEmpty ? "" : "; it is registered in project \(others.joined(separator: ", ")): pass --project"))
                }
                let now = try scanWithProgress(url)
                let changes = reg.inventory.changes(comparedTo: now)
                if changes.isEmpty {
                    print("ok: \(now.files.count) files match; merkle root \(now.root)")
                    return
                }
                printError("\(path): \(changes.count) change\(changes.count == 1 ? "" : "s") since registration:")
                for c in changes { printError("  \(c)") }
                printError("registered root \(reg.inventory.root), now \(now.root)")
                throw ExitCode(1)
            }
        }
    }

    struct Synth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make synthetic data: a CT-like phantom imaging dataset or a multi-site trial cohort.",
            discussion: "Deterministic: the same settings and seed give byte-identical files.",
            subcommands: [Phantom.self, Cohort.self])

        struct Phantom: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A Decathlon-style CT-like phantom dataset with lesion masks.")
            @Option(help: ArgumentHelp("Output folder.", valueName: "dir")) var out: String
            @Option(help: "Number of cases.") var cases: Int = 6
            @Option(help: ArgumentHelp("Voxels per axis, XxYxZ.", valueName: "size")) var size: String = "64x64x24"
            @Option(help: ArgumentHelp("Voxel spacing in mm, XxYxZ.", valueName: "mm")) var spacing: String = "0.8x0.8x2.5"
            @Option(help: "Random seed.") var seed: UInt64 = 1

            func validate() throws {
                guard (1...99_999).contains(cases) else { throw ValidationError("--cases must be from 1 to 99999") }
                guard let s = parseTriple(size, Int.init), s.allSatisfy({ (8...1024).contains($0) }) else {
                    throw ValidationError("--size: expected XxYxZ with each from 8 to 1024, found \(size)")
                }
                guard let p = parseTriple(spacing, Double.init), p.allSatisfy({ $0 > 0 && $0 < 100 }) else {
                    throw ValidationError("--spacing: expected XxYxZ millimetres, found \(spacing)")
                }
            }

            func run() async throws {
                try await reportingErrors {
                    let s = parseTriple(size, Int.init)!, p = parseTriple(spacing, Double.init)!
                    let settings = PhantomSynth.Settings(cases: cases, size: SIMD3(s[0], s[1], s[2]), spacing: SIMD3(p[0], p[1], p[2]), seed: seed)
                    try PhantomSynth.generate(into: URL(fileURLWithPath: out), settings: settings)
                    print("wrote \(cases) phantom cases to \(out)")
                }
            }
        }

        struct Cohort: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A two-arm multi-site ADTTE-like cohort CSV.")
            @Option(help: ArgumentHelp("Output CSV file.", valueName: "file")) var out: String
            @Option(help: "Number of subjects.") var subjects: Int = 600
            @Option(help: "Number of sites.") var sites: Int = 4
            @Option(help: "Random seed.") var seed: UInt64 = 1

            func validate() throws {
                guard (1...50_000_000).contains(subjects) else { throw ValidationError("--subjects must be from 1 to 50000000") }
                guard (1...999).contains(sites) else { throw ValidationError("--sites must be from 1 to 999") }
            }

            func run() async throws {
                try await reportingErrors {
                    let url = URL(fileURLWithPath: out)
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try CohortSynth.write(settings: .init(subjects: subjects, sites: sites, seed: seed), to: url)
                    print("wrote \(subjects) subjects at \(sites) sites to \(out)")
                }
            }
        }
    }
}

func parseTriple<T>(_ text: String, _ make: (String) -> T?) -> [T]? {
    let parts = text.lowercased().split(separator: "x").map { make(String($0)) }
    guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else { return nil }
    return parts.map { $0! }
}

/// Hashes a dataset, showing progress on a terminal.
func scanWithProgress(_ url: URL) throws -> DatasetInventory {
    let tty = isatty(2) == 1
    let inventory = try DatasetInventory.scan(url) { done, total in
        if tty { FileHandle.standardError.write(Data("\rhashing \(done)/\(total) files\u{1B}[K".utf8)) }
    }
    if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    return inventory
}

import ArgumentParser
import Foundation
import MedGridCore
import MedGridCoordinator
import MedGridKernels
import MedGridReports
import MedGridTransport
import MedGridWorker
import NIOHTTP1

struct LeaderboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaderboard",
        abstract: "Show, add to (only self-consistent reports), or re-evaluate a benchmark leaderboard (external command entries only with --allow-commands).",
        discussion: """
            A leaderboard ranks algorithms run in different Benchmark jobs on the same benchmark (same dataset \
            root, metrics and ranking settings), with bootstrap rank intervals. Every change publishes a new \
            version; published versions are never edited. Leaderboards live in the state directory's store.

            A leaderboard belongs to a project (--project; default your personal project user-$USER, or the \
            one project that has a leaderboard of that name). Members of the project read it from anywhere \
            with --coordinator (list, show, --history, --version); others get "no leaderboard". Publishing \
            (--add, --reevaluate) is done where the store is, with --state-dir.

              medgrid leaderboard                          list leaderboards
              medgrid leaderboard NAME                     the latest ranked table
              medgrid leaderboard NAME --add REPORT        add a Benchmark report's algorithms (new version)
              medgrid leaderboard NAME --reevaluate        re-run every entry on the current data and metric
                                                           implementations; publish a version with the rank changes
              medgrid leaderboard NAME --history           every version and why it was published

            --add takes the scores from the report's canonical report.json, and only when the report is what \
            MedGrid wrote: report.json in canonical form, its manifest hash matching its manifest, its ranking \
            the one its scores give, and the scores.csv and run.json beside it agreeing with it. Otherwise it \
            names the file and what differs, and publishes nothing. (A report is not signed: to prove its \
            scores, run medgrid verify on it.)

            --reevaluate runs every entry's algorithm on this machine. An entry that is an external command \
            (`command: [...]`, written by whoever wrote the report it was added from) runs only with \
            --allow-commands; without it, re-evaluation lists the exact commands and refuses before running anything.
            """)

    @Argument(help: ArgumentHelp("The leaderboard's name.", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("Add the algorithms of a Benchmark report (report.json or its folder). Repeatable.", valueName: "report"))
    var add: [String] = []

    @Flag(help: "Re-run every entry's algorithm on the current ground truth and metric implementations and publish the result.")
    var reevaluate = false

    @Option(help: ArgumentHelp("With --reevaluate: the dataset (default: where the latest version's data were).", valueName: "path"))
    var dataset: String?

    @Flag(help: "With --reevaluate: publish even when neither the data nor a metric implementation changed.")
    var force = false

    @Flag(name: .customLong("allow-commands"), help: ArgumentHelp(
        "DANGEROUS, with --reevaluate: run the entries' external command steps: any program the authors of the added reports wrote, as you, with your files, keys and network.",
        discussion: "Off by default: without it, --reevaluate lists the commands and refuses. Give it only when you trust every author."))
    var allowCommands = false

    @Option(help: ArgumentHelp("Show this version instead of the latest.", valueName: "n"))
    var version: Int?

    @Flag(help: "List every version with the reason it was published and its rank changes.")
    var history = false

    @Flag(help: "Print JSON (the version document).")
    var json = false

    @OptionGroup var state: StateOptions

    @OptionGroup var project: ProjectOption

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if connection.isRemote && (!add.isEmpty || reevaluate) {
            throw ValidationError("--add and --reevaluate publish into the store: run them on the coordinator's host with --state-dir (--coordinator only reads leaderboards)")
        }
        if name == nil && (!add.isEmpty || reevaluate || history || version != nil) {
            throw ValidationError("give the leaderboard's name")
        }
        if !add.isEmpty && reevaluate { throw ValidationError("--add and --reevaluate are separate steps; run one, then the other") }
        if allowCommands && !reevaluate { throw ValidationError("--allow-commands only applies to --reevaluate (it lets re-evaluation run the entries' external commands)") }
        if let version, version < 1 { throw ValidationError("--version must be 1 or more") }
    }

    func run() async throws {
        try await reportingErrors {
            if connection.isRemote { return try await remote() }
            try FileManager.default.createDirectory(at: state.url, withIntermediateDirectories: true)
            let store = try Store(stateDirectory: state.url)
            guard let name else {
                let chosen = try self.project.name.map { _ in try self.project.resolved() }
                let all = try store.read { try $0.leaderboards() }.filter { chosen == nil || $0.project == chosen }
                if all.isEmpty { print("no leaderboards in \(state.url.path)\(chosen.map { " for project \($0)" } ?? "") (create one with medgrid leaderboard NAME --add REPORT)") }
                for l in all { print("\(l.name)  version \(l.latest)  project \(l.project)") }
                return
            }
            let project = try leaderboardProject(name, store: store)
            if !add.isEmpty { _ = try self.project.resolved(writingTo: store, at: state.url) }
            let versions = try store.read { try $0.leaderboardVersions(project: project, name: name) }.map { try LeaderboardVersion(document: JSONValue(parsing: Data($0.document.utf8))) }
            if !add.isEmpty {
                // Every report is checked and every version computed before any is published: all or nothing.
                var latest = versions.last
                var next: [LeaderboardVersion] = []
                var commandEntries: [String] = []
                for path in add {
                    let saved = try SavedReport(path: path)
                    try checkIntegrity(saved, leaderboard: name)
                    let (key, entries) = try Leaderboard.entries(fromReport: saved.report, reportSHA256: ContentHash.sha256(saved.data))
                    let job = saved.report["job"]?["name"]?.stringValue ?? "job"
                    let version = try Leaderboard.adding(
                        entries, key: key, to: latest, name: name, datasetLocation: saved.record?.inputLocation,
                        reason: "added \(entries.map(\.algorithm).joined(separator: ", ")) from job \(job)")
                    next.append(version)
                    latest = version
                    commandEntries += entries.filter { $0.step["command"] != nil }.map(\.algorithm)
                }
                for version in next { try publish(version, project: project, store: store) }
                if !commandEntries.isEmpty {
                    printError("note: \(commandEntries.map { ReportTrust.shellQuoted(argument: $0) }.joined(separator: ", ")) \(commandEntries.count == 1 ? "is an external command; medgrid leaderboard \(name) --reevaluate runs it" : "are external commands; medgrid leaderboard \(name) --reevaluate runs them") only with --allow-commands")
                }
                if let latest { show(latest) }
                return
            }
            guard versions.last != nil else {
                throw MedGridError(.notFound, "no leaderboard \(name) in project \(project) of \(state.url.path) (create it with medgrid leaderboard \(name) --add REPORT)")
            }
            if reevaluate {
                let next = try await reevaluated(versions.last!)
                if let next { try publish(next, project: project, store: store); show(next) }
                return
            }
            try display(versions, purged: try store.read { try $0.purgedRoots(project: project) })
        }
    }

    /// Shows the versions read locally or from a coordinator: the history, one version, or the latest.
    /// Versions over a purged dataset keep their rows (history is immutable) and are marked purged.
    func display(_ versions: [LeaderboardVersion], purged: Set<String>) throws {
        guard let latest = versions.last, let name else { return }
        if history {
            for v in versions {
                let moves = v.changes.map { c in "\(c.algorithm) \(c.previous.map(String.init) ?? "new")→\(c.current.map(String.init) ?? "gone")" }
                let mark = purged.contains(v.benchmark.datasetRoot) ? " [purged: its dataset was destroyed]" : ""
                print("v\(v.version): \(v.reason)\(moves.isEmpty ? "" : "; rank changes: " + moves.joined(separator: ", "))\(mark)")
            }
            return
        }
        defer {
            if purged.contains(latest.benchmark.datasetRoot) && !json {
                print("\nnote: dataset \(latest.benchmark.datasetRoot.prefix(16))… was purged on instruction: these scores are kept as history, the data are destroyed (purged)")
            }
        }
        if let version {
            guard let v = versions.first(where: { $0.version == version }) else {
                throw MedGridError(.notFound, "leaderboard \(name) has versions 1 to \(latest.version), not \(version)")
            }
            show(v, purged: purged.contains(v.benchmark.datasetRoot))
        } else {
            show(latest, purged: purged.contains(latest.benchmark.datasetRoot))
            let stale = latest.benchmark.metrics.filter { SegmentationMetricName.implementationVersion(of: $0) != latest.benchmark.metricImplementations[$0] }
            if !stale.isEmpty && !json {
                print("\nnote: this build's implementation of \(stale.joined(separator: ", ")) differs from the one these scores used; run medgrid leaderboard \(name) --reevaluate")
            }
        }
    }

    /// The project of the leaderboard `name` in a local store: --project when given; else the personal
    /// project when it has one of that name (or no project has: a new one goes there); else the one
    /// project that has it.
    func leaderboardProject(_ name: String, store: Store) throws -> String {
        if project.name != nil { return try project.resolved() }
        let personal = try project.resolved()
        let holders = Set(try store.read { try $0.leaderboards() }.filter { $0.name == name }.map(\.project))
        if holders.isEmpty || holders.contains(personal) { return personal }
        guard holders.count == 1, let only = holders.first else {
            throw MedGridError(.invalidInput, "projects \(holders.sorted().joined(separator: ", ")) each have a leaderboard \(name): name one with --project")
        }
        return only
    }

    /// Reads leaderboards from a coordinator, as a member of their project.
    func remote() async throws {
        try await connection.withClient { client in
            guard let name else {
                let list: API.LeaderboardList = try await client.call(.GET, "/v1/leaderboards")
                let chosen = try self.project.name.map { _ in try self.project.resolved() }
                let shown = list.leaderboards.filter { chosen == nil || $0.project == chosen }
                if json { print(CanonicalJSON.encode(try JSONValue(encoding: shown)), terminator: ""); return }
                if shown.isEmpty { print("no leaderboards you may read\(chosen.map { " in project \($0)" } ?? "")") }
                for l in shown { print("\(l.name)  version \(l.latest)  project \(l.project)") }
                return
            }
            var chosen = self.project.name
            if chosen == nil {
                // The one readable project that has a leaderboard of this name.
                let list: API.LeaderboardList = try await client.call(.GET, "/v1/leaderboards")
                let holders = list.leaderboards.filter { $0.name == name }.map(\.project)
                guard holders.count <= 1 else {
                    throw MedGridError(.invalidInput, "projects \(holders.joined(separator: ", ")) each have a leaderboard \(name): name one with --project")
                }
                chosen = holders.first ?? Project.personal(Coordinator.localUser)
            }
            let project = chosen ?? Project.personal(Coordinator.localUser)
            try Project.validate(project)
            let reply: API.LeaderboardVersions = try await client.call(.GET, "/v1/leaderboards/\(project)/\(name)")
            let purged = Set(reply.versions.filter { $0["purged"]?.boolValue == true }.compactMap { $0["benchmark"]?["datasetRoot"]?.stringValue })
            try display(reply.versions.map { try LeaderboardVersion(document: $0) }, purged: purged)
        }
    }

    func show(_ v: LeaderboardVersion, purged: Bool = false) {
        if json {
            var document = v.document
            if purged, case .object(var o) = document { o["purged"] = .bool(true); document = .object(o) }
            print(CanonicalJSON.encode(document), terminator: "")
        } else { print(Leaderboard.table(v)) }
    }

    func publish(_ v: LeaderboardVersion, project: String, store: Store) throws {
        let text = CanonicalJSON.encode(v.document)
        let now = Date().timeIntervalSince1970
        try store.write { tx in try tx.publishLeaderboardVersion(project: project, name: v.name, version: v.version, document: text, now: now) }
        if !json { printError("published \(v.name) version \(v.version) in project \(project): \(v.reason)") }
    }

    /// Refuses a report that is not what MedGrid wrote (see ``ReportTrust/integrityProblems(report:file:scoresCSV:)``),
    /// or whose run.json belongs to another run.
    func checkIntegrity(_ saved: SavedReport, leaderboard: String) throws {
        var problems = ReportTrust.integrityProblems(report: saved.data, file: saved.url.path, scoresCSV: scoresCSV(beside: saved.url))
        if let record = saved.record, let root = saved.report["provenance"]?["datasetRoot"]?.stringValue, record.inventory.root != root {
            problems.append("\(saved.recordURL.path): inventory root \(record.inventory.root) is not report.json's provenance.datasetRoot \(root) (run.json belongs to another run)")
        }
        guard !problems.isEmpty else { return }
        throw MedGridError(.integrity, """
            refusing to add \(saved.url.path) to leaderboard \(leaderboard): it is not the report MedGrid wrote, or a file beside it was changed:
              \(problems.joined(separator: "\n  "))
            Nothing was published. Add the report as medgrid run wrote it (and medgrid verify it to prove its scores).
            """)
    }

    /// Re-runs every entry's algorithm as one Benchmark over the current data with this build's metrics, and
    /// returns the next version (nil when nothing changed and not --force).
    func reevaluated(_ latest: LeaderboardVersion) async throws -> LeaderboardVersion? {
        guard let location = dataset ?? latest.datasetLocation else {
            throw MedGridError(.invalidInput, "leaderboard \(latest.name) does not know where its data are: pass --dataset PATH")
        }
        let input = URL(fileURLWithPath: location).standardizedFileURL
        let inventory = try DatasetInventory.scan(input)
        var why: [String] = []
        if inventory.root != latest.benchmark.datasetRoot {
            why.append("ground truth/data changed (dataset root \(latest.benchmark.datasetRoot.prefix(12))… → \(inventory.root.prefix(12))…)")
        }
        for m in latest.benchmark.metrics {
            let now = SegmentationMetricName.implementationVersion(of: m)
            if latest.benchmark.metricImplementations[m] != now {
                why.append("metric \(m) implementation \(latest.benchmark.metricImplementations[m] ?? "unrecorded") → \(now)")
            }
        }
        if why.isEmpty && !force {
            print("nothing to re-evaluate: the data and the metric implementations are those of version \(latest.version) (use --force to re-run anyway)")
            return nil
        }
        let algorithms: [JSONValue] = latest.entries.map { e in
            var o: [String: JSONValue] = ["name": .string(e.algorithm)]
            if let k = e.step["kernel"] { o["kernel"] = k }
            if let c = e.step["command"] { o["command"] = c }
            if let p = e.step["params"], p != .object([:]) { o["params"] = p }
            return .object(o)
        }
        let document: JSONValue = [
            "apiVersion": "medgrid/v1", "kind": "Benchmark",
            "metadata": ["name": .string("leaderboard-\(latest.name)")],
            "spec": [
                "dataset": .string(input.path), "algorithms": .array(algorithms),
                "metrics": .array(latest.benchmark.metrics.map { .string($0) }),
                "ranking": latest.benchmark.ranking, "seed": .int(Int(latest.benchmark.seed)),
            ],
        ]
        let manifest = try ManifestLoader(catalog: KernelRegistry.standard).load(
            text: CanonicalJSON.encode(document), file: "leaderboard \(latest.name) re-evaluation", baseDirectory: input.deletingLastPathComponent())
        // The entries' commands were written by the authors of the reports they came from: refuse before running anything.
        let commands = ReportTrust.commandSteps(of: manifest)
        if !commands.isEmpty {
            let jobs = Set(commands.compactMap { c in latest.entries.first { $0.algorithm == c.step }?.source["job"]?.stringValue }).sorted()
            let from = jobs.isEmpty ? "" : " (added from the report\(jobs.count == 1 ? "" : "s") of job\(jobs.count == 1 ? "" : "s") \(jobs.joined(separator: ", ")))"
            guard allowCommands else {
                throw MedGridError(.permissionDenied, """
                    refusing to re-evaluate leaderboard \(latest.name): \(commands.count) of its entries \(commands.count == 1 ? "is an external command" : "are external commands")\(from), \
                    and re-evaluating would run \(commands.count == 1 ? "this command" : "these commands") on this machine, as you, with your files, keys and network:
                    \(ReportTrust.listing(commands))
                    Nothing was run and nothing was published. Whoever wrote those reports chose these commands. Read them; \
                    only if you trust the reports' authors, run again with --allow-commands.
                    """)
            }
            printError("warning: --allow-commands: running \(commands.count) external command step\(commands.count == 1 ? "" : "s") of leaderboard \(latest.name) as you:\n\(ReportTrust.listing(commands))")
        }
        let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("medgrid-reevaluate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: stateDir) }
        print("re-evaluating \(latest.entries.count) entries of \(latest.name) on \(input.path) …")
        let outcome = try await LocalRunner(stateDirectory: stateDir, quiet: json, allowCommands: allowCommands).run(manifest)
        guard outcome.status == .succeeded else {
            throw MedGridError(.kernelFailed, "re-evaluation job \(outcome.status.rawValue); no version published")
        }
        var (key, entries) = try Leaderboard.entries(fromReport: try JSONValue(parsing: Data(outcome.report.utf8)), reportSHA256: ContentHash.sha256(Data(outcome.report.utf8)))
        // Each entry keeps the job it came from; the re-evaluation is recorded beside it.
        for i in entries.indices {
            guard let original = latest.entries.first(where: { $0.algorithm == entries[i].algorithm }), case .object(var o) = entries[i].source else { continue }
            o["job"] = original.source["job"] ?? .null
            o["reevaluatedIn"] = .string("\(latest.name) version \(latest.version + 1)")
            entries[i].source = .object(o)
        }
        return try Leaderboard.publish(
            name: latest.name, previous: latest, key: key, entries: entries,
            reason: "re-evaluated: " + (why.isEmpty ? "forced" : why.joined(separator: "; ")), datasetLocation: input.path)
    }
}

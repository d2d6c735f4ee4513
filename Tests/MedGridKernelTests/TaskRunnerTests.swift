import Foundation
import Testing
@testable import MedGridCore
@testable import MedGridImaging
@testable import MedGridCohort
@testable import MedGridKernels

/// `TaskRunner` over a small phantom dataset: built-in kernel steps, pipelines, external command steps and
/// their failures, and a cohort task.
@Suite("TaskRunner")
struct TaskRunnerTests {
    /// A two-case phantom dataset in a temporary folder, with hashed inputs.
    struct Dataset {
        let dir: TemporaryDirectory
        let cases: [ImagingCase]
        let inputs: [TaskInput]

        init() throws {
            dir = try TemporaryDirectory("medgrid-taskrunner")
            // 2 mm x 2 mm x 3 mm voxels: at the default 0.8 mm in-plane spacing a 16x16 slice is too small for
            // PhantomSynth to place any lesion, and the label maps would be empty.
            try PhantomSynth.generate(
                into: dir.url, settings: .init(cases: 2, size: [16, 16, 8], spacing: [2, 2, 3], seed: 5))
            cases = (1...2).map { i in
                let name = "phantom_00\(i)"
                return ImagingCase(id: name, image: "imagesTr/\(name).nii.gz", label: "labelsTr/\(name).nii.gz")
            }
            var inputs: [TaskInput] = []
            for path in cases.flatMap({ [$0.image, $0.label!] }) {
                let (hash, size) = try ContentHash.sha256(fileAt: dir.url.appendingPathComponent(path))
                inputs.append(TaskInput(path: path, sha256: hash, size: size))
            }
            self.inputs = inputs
        }

        func url(_ path: String) -> URL { dir.url.appendingPathComponent(path) }

        /// What `LocalInputResolver` does (it lives in MedGridWorker): join folder and path, check the hash.
        func resolve(_ input: TaskInput) throws -> URL {
            let url = dir.url.appendingPathComponent(input.path)
            let found = try ContentHash.sha256(fileAt: url)
            guard found.hash == input.sha256, found.size == input.size else {
                throw MedGridError(.integrity, "\(input.path): content changed since the job was planned")
            }
            return url
        }

        func assignment(_ steps: [Manifest.Step], timeout: Double = 30, inputs: [TaskInput]? = nil) -> TaskAssignment {
            TaskAssignment(
                job: "job-1", task: TaskRef(job: "job-1", index: 0), taskID: "job-1-t0", lease: "lease-1", attempt: 1,
                steps: steps, unit: .cases(cases), inputs: inputs ?? self.inputs,
                datasetRoot: MerkleTree.root(of: self.inputs.map { (path: $0.path, sha256: $0.sha256) }),
                datasetLocation: dir.url.path, seed: 42, timeoutSeconds: timeout)
        }

        func run(_ a: TaskAssignment) throws -> JSONValue {
            try TaskRunner().run(a) { try resolve($0) }
        }
    }

    static let statsStep = Manifest.Step(name: "s", kernel: "imaging.stats", command: nil, params: [:])

    /// Writes an executable /bin/sh script and returns its path.
    static func script(_ body: String, in dir: TemporaryDirectory, name: String) throws -> String {
        let url = try dir.write(Data("#!/bin/sh\n\(body)\n".utf8), to: name)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url.path
    }

    // MARK: - Built-in kernels

    @Test("an imaging.stats step gives {cases: [{case, results: {s: statistics}}]} in case order")
    func statsStepShape() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        var resolved: [String] = []
        let output = try TaskRunner().run(data.assignment([Self.statsStep])) { input in
            resolved.append(input.path)
            return try data.resolve(input)
        }
        #expect(Set(resolved) == Set(data.inputs.map(\.path)))  // every input is resolved through the callback

        #expect(output.objectValue?.keys.sorted() == ["cases"])
        let cases = try #require(output["cases"]?.arrayValue)
        #expect(cases.map { $0["case"]?.stringValue } == ["phantom_001", "phantom_002"])
        for (entry, c) in zip(cases, data.cases) {
            #expect(entry.objectValue?.keys.sorted() == ["case", "results"])
            #expect(entry["results"]?.objectValue?.keys.sorted() == ["s"])
            let fromRunner = try #require(entry["results"]?["s"]).decode(IntensityStatistics.self)
            let direct = try IntensityStatistics.compute(
                image: try NIfTI.read(contentsOf: data.url(c.image)), percentiles: [5, 25, 50, 75, 95])
            #expect(fromRunner.voxelCount == 16 * 16 * 8)  // exact
            #expect(fromRunner.voxelCount == direct.voxelCount)  // exact
            // tolerance: relative 1e-12 (a JSON text round trip lies between)
            #expect(isClose(fromRunner.mean ?? .nan, direct.mean ?? .infinity, relative: 1e-12))
            #expect(isClose(fromRunner.std ?? .nan, direct.std ?? .infinity, relative: 1e-12))
            #expect(fromRunner.min == direct.min && fromRunner.max == direct.max)  // exact: whole HU values
            #expect(Set(fromRunner.percentiles.keys) == ["p5", "p25", "p50", "p75", "p95"])
        }
    }

    @Test("mask=label reads each case's label map")
    func statsInsideLabel() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        let step = Manifest.Step(name: "lesion", kernel: "imaging.stats", command: nil, params: ["mask": "label"])
        let output = try data.run(data.assignment([step]))
        let cases = try #require(output["cases"]?.arrayValue)
        try #require(cases.count == 2)  // exact
        for (entry, c) in zip(cases, data.cases) {
            let label = try NIfTI.read(contentsOf: data.url(c.label!))
            let inside = label.voxels.filter { $0 > 0 }.count
            #expect(inside > 0)  // exact count
            #expect(entry["results"]?["lesion"]?["voxelCount"]?.intValue == inside)  // exact
        }
    }

    @Test("a clip step feeds its volume to the next step of the pipeline")
    func pipeline() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        let steps = [
            Manifest.Step(name: "before", kernel: "imaging.stats", command: nil, params: [:]),
            Manifest.Step(name: "clip", kernel: "imaging.clip", command: nil, params: ["lower": -100, "upper": 100]),
            Manifest.Step(name: "after", kernel: "imaging.stats", command: nil, params: [:]),
        ]
        let output = try data.run(data.assignment(steps))
        let cases = try #require(output["cases"]?.arrayValue)
        try #require(cases.count == 2)  // exact
        for entry in cases {
            let results = try #require(entry["results"]?.objectValue)
            #expect(results.keys.sorted() == ["after", "before"])  // a volume step leaves no result of its own
            // tolerance: exact (clipping bounds)
            #expect(results["before"]?["min"]?.doubleValue ?? 0 < -100)  // air is about -1000 HU
            #expect(results["after"]?["min"]?.doubleValue == -100)
            #expect(results["after"]?["max"]?.doubleValue ?? .infinity <= 100)
        }
    }

    @Test("an input whose hash no longer matches stops the task with an integrity error")
    func integrity() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        var inputs = data.inputs
        inputs[1].sha256 = String(repeating: "0", count: 64)
        let error = #expect(throws: MedGridError.self) { try data.run(data.assignment([Self.statsStep], inputs: inputs)) }
        #expect(error?.code == .integrity)
        #expect(error?.message.contains(inputs[1].path) == true)
    }

    @Test("a step naming an unknown kernel, or a case without its input, is refused")
    func unknownKernelAndMissingInput() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        let unknown = #expect(throws: MedGridError.self) {
            try data.run(data.assignment([Manifest.Step(name: "x", kernel: "imaging.nope", command: nil, params: [:])]))
        }
        #expect(unknown?.code == .notFound)
        #expect(unknown?.message.contains("imaging.nope") == true)

        let missing = #expect(throws: MedGridError.self) {
            try data.run(data.assignment([Self.statsStep], inputs: Array(data.inputs.dropFirst())))
        }
        #expect(missing?.code == .notFound)
        #expect(missing?.message.contains(data.cases[0].image) == true)
    }

    @Test("bad step parameters are refused before any input is read")
    func badParameters() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        var resolved = 0
        let step = Manifest.Step(name: "s", kernel: "imaging.stats", command: nil, params: ["percentile": [50]])
        #expect(throws: MedGridError.self) {
            try TaskRunner().run(data.assignment([step])) { input in
                resolved += 1
                return try data.resolve(input)
            }
        }
        #expect(resolved == 0)  // exact
    }

    // MARK: - External commands

    @Test("an external command step returns the JSON it prints")
    func externalCommandResult() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        let ok = try Self.script("cat >/dev/null\nprintf '{\"ok\":1}\\n'", in: data.dir, name: "ok.sh")
        let step = Manifest.Step(name: "ext", kernel: nil, command: [ok], params: ["threshold": 3])
        let output = try data.run(data.assignment([step]))
        let cases = try #require(output["cases"]?.arrayValue)
        #expect(cases.count == 2)  // exact
        for entry in cases {
            #expect(entry["results"]?["ext"] == ["ok": 1])  // exact
        }
    }

    @Test("an external command reads the task description on stdin")
    func externalCommandSeesTask() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        let echo = try Self.script("cat", in: data.dir, name: "echo.sh")
        let step = Manifest.Step(name: "echo", kernel: nil, command: [echo], params: ["threshold": 3])
        let output = try data.run(data.assignment([step]))
        let cases = try #require(output["cases"]?.arrayValue)
        for (entry, c) in zip(cases, data.cases) {
            let task = try #require(entry["results"]?["echo"])
            #expect(task["case"] == .string(c.id))
            // Copies in the step's private folder, under their dataset paths; not the worker's files.
            #expect(task["image"]?.stringValue?.hasSuffix("/inputs/\(c.image)") == true)
            #expect(task["label"]?.stringValue?.hasSuffix("/inputs/\(c.label!)") == true)
            #expect(task["image"] != .string(data.url(c.image).path))
            #expect(task["params"] == ["threshold": 3])  // exact
            #expect(task["seed"] == .int(42))  // exact
            #expect(task["task"] == "job-1-t0")
        }
    }

    @Test("a command that exits 3 fails as a kernel error carrying its stderr")
    func externalCommandExitStatus() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        let fail = try Self.script("cat >/dev/null\necho 'loading model' >&2\necho 'fatal: weights missing' >&2\nexit 3", in: data.dir, name: "fail.sh")
        let step = Manifest.Step(name: "ext", kernel: nil, command: [fail], params: [:])
        let error = #expect(throws: ExternalCommandFailure.self) { try data.run(data.assignment([step])) }
        #expect(error?.kind == .kernelError)
        #expect(error?.message.contains("status 3") == true, "\(String(describing: error))")
        #expect(error?.stderrTail.contains("fatal: weights missing") == true, "\(String(describing: error?.stderrTail))")
    }

    @Test("a command that overruns its time limit fails as a timeout, promptly")
    func externalCommandTimeout() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        // `exec` makes sleep the process that receives the termination signal; a plain `sleep 5` child of the
        // shell would keep the output pipes open for the full five seconds after the shell is stopped.
        let slow = try Self.script("echo 'started' >&2\nexec sleep 5", in: data.dir, name: "slow.sh")
        let step = Manifest.Step(name: "ext", kernel: nil, command: [slow], params: [:])
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: ExternalCommandFailure.self) { try data.run(data.assignment([step], timeout: 0.5)) }
        let elapsed = clock.now - start
        #expect(error?.kind == .timeout)
        #expect(error?.message.contains("time limit of 0.5 s") == true, "\(String(describing: error))")
        // tolerance: 4.5 s wall clock; the limit is 0.5 s (plus up to 2 s grace), the script would run 5 s
        #expect(elapsed < .milliseconds(4500), "took \(elapsed)")
    }

    @Test("a command killed by a signal fails as trapped; one printing no JSON fails as a kernel error")
    func externalCommandOtherFailures() throws {
        let data = try Dataset()
        defer { data.dir.remove() }
        let killed = try Self.script("cat >/dev/null\nkill -KILL $$", in: data.dir, name: "killed.sh")
        let trapped = #expect(throws: ExternalCommandFailure.self) {
            try data.run(data.assignment([Manifest.Step(name: "ext", kernel: nil, command: [killed], params: [:])]))
        }
        #expect(trapped?.kind == .trapped)

        let chatty = try Self.script("cat >/dev/null\necho 'not json'", in: data.dir, name: "chatty.sh")
        let noJSON = #expect(throws: ExternalCommandFailure.self) {
            try data.run(data.assignment([Manifest.Step(name: "ext", kernel: nil, command: [chatty], params: [:])]))
        }
        #expect(noJSON?.kind == .kernelError)
        #expect(noJSON?.message.contains("no JSON") == true)
    }

    @Test("ExternalCommand.tail keeps the last 20 lines")
    func stderrTail() {
        let text = (1...30).map { "line \($0)" }.joined(separator: "\n")
        let tail = ExternalCommand.tail(Data(text.utf8))
        let lines = tail.split(separator: "\n").map(String.init)
        #expect(lines.count == 20)  // exact
        #expect(lines.first == "line 11" && lines.last == "line 30")
    }

    // MARK: - Cohort task

    @Test("a cohort task gives {steps: {STEP: partial}} for its subject slice")
    func cohortTask() throws {
        let fixture = Reference.url("cohort/small_adtte.csv")
        let (hash, size) = try ContentHash.sha256(fileAt: fixture)
        let input = TaskInput(path: "small_adtte.csv", sha256: hash, size: size)
        let step = Manifest.Step(name: "summary", kernel: "cohort.summary", command: nil, params: [:])
        let a = TaskAssignment(
            job: "job-2", task: TaskRef(job: "job-2", index: 1), taskID: "job-2-t1", lease: "lease-2", attempt: 1,
            steps: [step], unit: .cohort(.subjects(0..<10)), inputs: [input], datasetRoot: hash,
            datasetLocation: fixture.path, seed: 1, timeoutSeconds: 30)
        let output = try TaskRunner().run(a) { given in
            #expect(given == input)
            return fixture
        }
        #expect(output.objectValue?.keys.sorted() == ["steps"])
        let partial = try #require(output["steps"]?["summary"]).decode(CohortSummaryPartial.self)

        let slice = try CSV.read(contentsOf: fixture).selecting(.subjects(from: 0, to: 10))
        let direct = try CohortSummary.partial(of: slice, file: "small_adtte.csv")
        #expect(partial == direct)  // exact: sorted raw values survive the JSON round trip
        #expect(partial.rowsRead == slice.rows.count)  // exact
        #expect(partial.rowsRead < 40)  // the slice, not the whole table
    }
}

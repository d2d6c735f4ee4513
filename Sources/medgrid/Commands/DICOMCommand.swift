import ArgumentParser
import Foundation
import MedGridImaging

struct DICOMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom",
        abstract: "Work on DICOM files: de-identify them before they enter the grid.",
        subcommands: [Deidentify.self])

    /// The options shared by `dicom deidentify` and `dataset add --deidentify`.
    struct DeidentifyOptions: ParsableArguments {
        @Option(help: ArgumentHelp("Key file for the keyed UID remapping (default: DIR/.deidentify/key, created with a random key).", valueName: "file"))
        var key: String?
        @Option(help: ArgumentHelp("Confidentiality profile of PS3.15 Annex E.", valueName: "name")) var profile: String = "basic"
        @Flag(help: "Keep dates and times the profile would remove (Retain Longitudinal Temporal Information, Full Dates, 113106).")
        var keepDates = false
        @Option(help: ArgumentHelp("Move every date by DAYS and keep times (Modified Dates option, 113107).", valueName: "days"))
        var shiftDates: Int?
        @Flag(help: "Write files flagged BurnedInAnnotation=YES; their pixels are not changed, so check them first.")
        var allowBurnedIn = false

        func validate() throws {
            guard profile == "basic" else { throw ValidationError("--profile: expected basic (the Basic Application Level Confidentiality Profile), found \(profile)") }
            guard !(keepDates && shiftDates != nil) else { throw ValidationError("--keep-dates and --shift-dates exclude each other") }
            if let d = shiftDates, abs(d) > 3_650_000 { throw ValidationError("--shift-dates: expected a number of days within ±3650000, found \(d)") }
        }

        var dates: DeidentificationOptions.Dates {
            if keepDates { return .keep }
            if let d = shiftDates { return .shift(days: d) }
            return .basic
        }

        func run(inputs: [String], out: String) throws -> (DeidentificationRun.Summary, DeidentificationRun) {
            let run = DeidentificationRun(
                inputs: inputs.map { URL(fileURLWithPath: $0) }, output: URL(fileURLWithPath: out),
                keyFile: key.map { URL(fileURLWithPath: $0) }, dates: dates, allowBurnedIn: allowBurnedIn)
            let tty = isatty(2) == 1
            var last = Date.distantPast
            let summary = try run.run { done, total in
                if tty {
                    FileHandle.standardError.write(Data("\rde-identifying \(done)/\(total) files\u{1B}[K".utf8))
                } else if Date().timeIntervalSince(last) >= 2 || done == total {
                    last = Date()
                    FileHandle.standardError.write(Data("de-identifying: \(done)/\(total) files\n".utf8))
                }
            }
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            return (summary, run)
        }
    }

    struct Deidentify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "De-identify DICOM files and series folders (PS3.15 Annex E, Basic profile).",
            discussion: """
                Every attribute of the Basic profile table gets its action (X remove, Z empty, D dummy, U keyed UID \
                remapping to 2.25 UIDs), at every depth of sequences; private elements, curves and overlays are \
                removed; PatientIdentityRemoved is set to YES and DeidentificationMethodCodeSequence names code \
                113100 and the options. Pixel data is copied byte for byte (deflated files are written as explicit \
                VR little endian). A file flagged BurnedInAnnotation=YES is refused unless --allow-burned-in.

                Output: DIR/<series UID>/<instance UID>.dcm. The same key gives the same UIDs, so a series keeps its \
                structure across runs; another key gives unrelated UIDs. DIR/.deidentify/summary.json (mode 0600) \
                lists per file the actions and the old-to-new UID mapping; keep it, and the key, with the data's \
                custodian. DIR/.deidentify/ is hidden, so dataset registrations and uploads skip it. Nothing is written unless every input reads and passes the checks.
                """)
        @Argument(help: ArgumentHelp("DICOM files or folders (searched recursively).", valueName: "in")) var inputs: [String]
        @Option(help: ArgumentHelp("Output folder.", valueName: "dir")) var out: String
        @OptionGroup var options: DeidentifyOptions
        @Flag(help: "Print the summary as JSON (per file: actions counted; the UID mapping stays in the summary file).") var json = false

        func run() async throws {
            try await reportingErrors {
                let (summary, run) = try options.run(inputs: inputs, out: out)
                let summaryPath = run.output.appendingPathComponent(DeidentificationRun.summaryFileName).path
                if json {
                    var files = [[String: Any]]()
                    for f in summary.files {
                        var counts = [String: Int]()
                        for a in f.actions { counts[a.action, default: 0] += 1 }
                        files.append(["input": f.input, "output": f.output, "actions": counts, "remappedUIDs": f.uids.count, "transferSyntaxUID": f.transferSyntaxUID, "burnedInAnnotation": f.burnedInAnnotation])
                    }
                    let object: [String: Any] = ["profile": summary.profile, "codes": summary.codes, "options": summary.options, "summary": summaryPath, "files": files, "actions": summary.actionCounts]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
                    print(String(decoding: data, as: UTF8.self))
                    return
                }
                let counts = summary.actionCounts
                let names = [("X", "removed"), ("Z", "emptied"), ("D", "replaced"), ("U", "UIDs remapped"), ("P", "private removed"), ("G", "curve/overlay removed"), ("S", "dates shifted"), ("K", "kept by option")]
                print("de-identified \(summary.files.count) file\(summary.files.count == 1 ? "" : "s") into \(out) (profile basic, codes \(summary.codes.joined(separator: " ")))")
                print(names.compactMap { code, name in counts[code].map { "\($0) \(name)" } }.joined(separator: ", "))
                print("summary and UID mapping: \(summaryPath) (mode 0600)")
            }
        }
    }
}

import ArgumentParser
import Foundation
import MedGridCohort
import MedGridCore
import MedGridImaging
import MedGridKernels

struct Kernel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List kernels, or run one on local files.",
        subcommands: [List.self, RunOne.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every kernel with its version, parameters and conventions.")
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let kernels = KernelRegistry.standard.kernels
            if json {
                let list: [JSONValue] = kernels.map { k in
                    [
                        "name": .string(k.name), "version": .string(k.version), "summary": .string(k.summary),
                        "input": .string(k.input.rawValue), "output": .string(k.output.rawValue), "conventions": .string(k.conventions),
                        "parameters": .array(k.parameters.map { p in
                            ["name": .string(p.name), "type": .string(p.type.rawValue), "summary": .string(p.summary),
                             "default": p.defaultValue ?? .null, "required": .bool(p.required)]
                        }),
                    ]
                }
                print(CanonicalJSON.encode(.array(list)), terminator: "")
                return
            }
            for k in kernels {
                print("\(k.name) \(k.version) — \(k.summary)")
                print("  reads: \(k.input.rawValue); gives: \(k.output.rawValue)")
                for p in k.parameters {
                    let d = p.defaultValue.map { " (default \(CanonicalJSON.compact($0)))" } ?? (p.required ? " (required)" : "")
                    print("  --param \(p.name)=<\(p.type.rawValue)>\(d): \(p.summary)")
                }
                if !k.conventions.isEmpty { print("  conventions: \(k.conventions)") }
                print("")
            }
        }
    }

    struct RunOne: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run one kernel on local files and print its JSON result.",
            discussion: """
                Imaging kernels take an image (--input, NIfTI) and optionally a mask or label map (a second --input); \
                a kernel that gives a volume writes it to --output. Cohort kernels take a CSV table. Examples:

                  medgrid kernel run imaging.stats --input ct.nii.gz --input mask.nii.gz --param mask=label
                  medgrid kernel run cohort.summary --input trial.csv --param paramcd=OS
                """)

        @Argument(help: ArgumentHelp("Kernel name (see medgrid kernel list).", valueName: "name")) var name: String
        @Option(name: .customLong("input"), help: ArgumentHelp("An input file; repeat for more.", valueName: "path")) var inputs: [String] = []
        @Option(name: .customLong("param"), help: ArgumentHelp("A parameter as key=value (value as JSON or text); repeat for more.", valueName: "key=value")) var params: [String] = []
        @Option(help: ArgumentHelp("Where a volume result is written (.nii or .nii.gz).", valueName: "path")) var output: String?
        @Option(help: "The seed passed to the kernel.") var seed: UInt64 = 0
        @Flag(help: "Also print the kernel's compute time (reading and writing files excluded) as \"seconds\", and the threads used.") var timing = false

        func run() async throws {
            try await reportingErrors {
                guard let kernel = KernelRegistry.standard.implementation(named: name) else {
                    let names = KernelRegistry.standard.kernels.map(\.name)
                    throw MedGridError(.notFound, "unknown kernel \(name)\(DidYouMean.hint(for: name, among: names)); see medgrid kernel list")
                }
                let d = kernel.description
                let parameters = try KernelParameters(try KernelParameters.parse(params), for: d)
                let input: KernelInput
                switch d.input {
                case .imagingCase:
                    guard (1...2).contains(inputs.count) else {
                        throw MedGridError(.invalidInput, "\(name) takes --input IMAGE (NIfTI, a DICOM file, or a folder with one DICOM series) and optionally --input MASK (found \(inputs.count) inputs)")
                    }
                    let image = try ImageFile.read(contentsOf: URL(fileURLWithPath: inputs[0]))
                    let label = try inputs.count > 1 ? ImageFile.read(contentsOf: URL(fileURLWithPath: inputs[1])) : nil
                    input = .imagingCase(id: DecathlonDataset.caseID(forImage: inputs[0]), image: image, label: label)
                case .cohort:
                    guard inputs.count == 1 else { throw MedGridError(.invalidInput, "\(name) takes one --input CSV (found \(inputs.count))") }
                    input = .cohort(table: try CohortFile.read(contentsOf: URL(fileURLWithPath: inputs[0])), file: inputs[0])
                case .any:
                    input = .none
                }
                var result: [String: JSONValue] = [
                    "kernel": .string(d.name), "version": .string(d.version), "params": .object(parameters.values),
                    "inputs": .array(inputs.map { .string($0) }), "seed": .int(Int(seed)),
                ]
                let start = DispatchTime.now().uptimeNanoseconds
                let produced = try kernel.run(input, parameters: parameters, seed: seed)
                var reduced: JSONValue?
                if case .result(let r) = produced, d.input == .cohort { reduced = try kernel.reduce([r]) }
                if timing {
                    result["seconds"] = .double(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    result["threads"] = .int(ProcessInfo.processInfo.activeProcessorCount)
                }
                switch produced {
                case .result(let r):
                    result["result"] = reduced ?? r
                case .volume(let v, let summary):
                    guard let output else { throw MedGridError(.invalidInput, "\(name) gives a volume: pass --output PATH.nii.gz") }
                    try NIfTI.write(v, to: URL(fileURLWithPath: output))
                    result["output"] = .string(output)
                    if let summary { result["result"] = summary }
                }
                print(CanonicalJSON.encode(.object(result)), terminator: "")
            }
        }
    }
}

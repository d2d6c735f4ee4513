import Foundation
import Testing
@testable import MedGridCore
@testable import MedGridImaging
@testable import MedGridKernels

/// `imaging.stats`, `imaging.clip` and the default `NumericSummary` reduction, through the kernel registry.
@Suite("Imaging kernels")
struct ImagingStatsKernelTests {
    static let allPercentiles: JSONValue = [5, 25, 50, 75, 95, 97.5]

    static func kernel(_ name: String) throws -> any Kernel {
        try #require(KernelRegistry.standard.implementation(named: name), "no kernel \(name)")
    }

    static func ctCase() throws -> KernelInput {
        .imagingCase(
            id: "ct",
            image: try NIfTI.read(contentsOf: Reference.url("stats/ct_int16_scaled.nii.gz")),
            label: try NIfTI.read(contentsOf: Reference.url("stats/mask_uint8.nii.gz")))
    }

    static func result(_ output: KernelOutput) -> JSONValue? {
        if case .result(let value) = output { return value }
        return nil
    }

    static func volume(_ output: KernelOutput) -> Volume? {
        if case .volume(let value, _) = output { return value }
        return nil
    }

    /// Both statistics agree: counts exactly, real values to a relative 1e-12 (a JSON text round trip lies between).
    static func expectSame(
        _ a: IntensityStatistics, _ b: IntensityStatistics, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(a.voxelCount == b.voxelCount, sourceLocation: sourceLocation)  // exact
        let pairs: [(String, Double?, Double?)] = [
            ("volumeMM3", a.volumeMM3, b.volumeMM3), ("mean", a.mean, b.mean), ("std", a.std, b.std),
            ("min", a.min, b.min), ("max", a.max, b.max),
        ]
        for (name, x, y) in pairs {
            guard let x, let y else {
                #expect(x == nil && y == nil, "\(name)", sourceLocation: sourceLocation)
                continue
            }
            // tolerance: relative 1e-12
            #expect(isClose(x, y, relative: 1e-12), "\(name): \(x) vs \(y)", sourceLocation: sourceLocation)
        }
        #expect(Set(a.percentiles.keys) == Set(b.percentiles.keys), sourceLocation: sourceLocation)
        for (key, x) in a.percentiles {
            guard let y = b.percentiles[key] else { continue }
            // tolerance: relative 1e-12
            #expect(isClose(x, y, relative: 1e-12), "\(key): \(x) vs \(y)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - imaging.stats

    @Test("imaging.stats inside the label map gives the same numbers as IntensityStatistics and as numpy",
          arguments: [(Int?.none, "ct_in_mask"), (Int?.some(2), "ct_label_2")])
    func statsInsideMask(label: Int?, reference: String) throws {
        let kernel = try Self.kernel("imaging.stats")
        var given: [String: JSONValue] = ["mask": "label", "percentiles": Self.allPercentiles]
        if let label { given["label"] = .int(label) }
        let params = try KernelParameters(given, for: kernel.description)
        let input = try Self.ctCase()
        let json = try #require(Self.result(try kernel.run(input, parameters: params, seed: 1)))
        let fromKernel = try json.decode(IntensityStatistics.self)

        guard case .imagingCase(_, let image, let mask) = input else { return }
        let direct = try IntensityStatistics.compute(
            image: image, mask: mask, label: label, percentiles: [5, 25, 50, 75, 95, 97.5])
        Self.expectSame(fromKernel, direct)

        let expected = try #require(
            try Reference.json("stats/expected.json")["statistics"]?.array?.first { $0["name"]?.string == reference })
        #expect(fromKernel.voxelCount == expected["voxelCount"]?.int)  // exact
        // tolerance: relative 1e-9 (numpy reference, see Reference/stats/README.md)
        #expect(isClose(fromKernel.mean ?? .nan, expected["mean"]?.double ?? .infinity, relative: 1e-9))
        #expect(isClose(fromKernel.percentiles["p97.5"] ?? .nan, expected["percentiles"]?["p97.5"]?.double ?? .infinity, relative: 1e-9))
    }

    @Test("imaging.stats defaults: the whole image and percentiles 5, 25, 50, 75, 95")
    func statsDefaults() throws {
        let kernel = try Self.kernel("imaging.stats")
        let params = try KernelParameters([:], for: kernel.description)
        #expect(params.string("mask") == "none")
        let json = try #require(Self.result(try kernel.run(try Self.ctCase(), parameters: params, seed: 1)))
        let stats = try json.decode(IntensityStatistics.self)
        #expect(stats.voxelCount == 40 * 36 * 12)  // exact: the label map is ignored with mask=none
        #expect(Set(stats.percentiles.keys) == ["p5", "p25", "p50", "p75", "p95"])
        // tolerance: relative 1e-9 against numpy's ct_whole
        #expect(isClose(stats.mean ?? .nan, -481.1601851851852, relative: 1e-9))
    }

    @Test("mask=label on a case without a label map throws a MedGridError naming the case")
    func maskWithoutLabel() throws {
        let kernel = try Self.kernel("imaging.stats")
        let params = try KernelParameters(["mask": "label"], for: kernel.description)
        let image = try NIfTI.read(contentsOf: Reference.url("stats/mr_float32_be.nii"))
        let error = #expect(throws: MedGridError.self) {
            try kernel.run(.imagingCase(id: "mr-007", image: image, label: nil), parameters: params, seed: 1)
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("mr-007") == true, "\(String(describing: error))")
    }

    @Test("a label map of another size is refused with an ImagingError")
    func maskSizeMismatch() throws {
        let kernel = try Self.kernel("imaging.stats")
        let params = try KernelParameters(["mask": "label"], for: kernel.description)
        let image = try NIfTI.read(contentsOf: Reference.url("stats/mr_float32_be.nii"))
        let mask = try NIfTI.read(contentsOf: Reference.url("stats/mask_uint8.nii.gz"))
        let error = #expect(throws: ImagingError.self) {
            try kernel.run(.imagingCase(id: "mr", image: image, label: mask), parameters: params, seed: 1)
        }
        #expect(error?.code == .sizeMismatch)
    }

    @Test("an unknown parameter name is refused with a did-you-mean hint",
          arguments: [("percentile", "percentiles"), ("labels", "label"), ("masks", "mask")])
    func unknownParameterSuggests(wrong: String, right: String) throws {
        let kernel = try Self.kernel("imaging.stats")
        let error = #expect(throws: MedGridError.self) {
            try KernelParameters([wrong: "x"], for: kernel.description)
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("no parameter \(wrong) (did you mean \(right)?)") == true, "\(String(describing: error))")
    }

    @Test("an unrelated parameter name lists the parameters the kernel takes")
    func unknownParameterListsChoices() throws {
        let kernel = try Self.kernel("imaging.stats")
        let error = #expect(throws: MedGridError.self) {
            try KernelParameters(["zzzzzz": 1], for: kernel.description)
        }
        let message = error?.message ?? ""
        #expect(!message.contains("did you mean"))
        #expect(message.contains("percentiles") && message.contains("mask") && message.contains("label"), "\(message)")
    }

    static let badValues: [(String, JSONValue)] = [
        ("mask", "everything"), ("mask", 1), ("percentiles", [5, "fifty"]), ("percentiles", [-1]), ("percentiles", 150), ("percentiles", "fifty"),
        ("label", 1.5), ("label", -1),
    ]

    @Test("badly typed or out-of-range parameter values are refused", arguments: ImagingStatsKernelTests.badValues)
    func badParameterValues(name: String, value: JSONValue) throws {
        let kernel = try Self.kernel("imaging.stats")
        let error = #expect(throws: MedGridError.self) { try KernelParameters([name: value], for: kernel.description) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("parameter \(name)") == true, "\(String(describing: error))")
    }

    // MARK: - imaging.clip

    @Test("imaging.clip clamps into [lower, upper], keeps NaN and the geometry")
    func clip() throws {
        let kernel = try Self.kernel("imaging.clip")
        let params = try KernelParameters(["lower": -1000, "upper": 1000.5], for: kernel.description)
        let values: [Float] = [-3000, -1000, -999.5, 0, Float.nan, 1000.5, 1001, Float.infinity, -Float.infinity, 12.25]
        let image = Volume(
            size: [5, 2, 1], spacing: [0.5, 0.6, 2], origin: [1, 2, 3], voxels: values, storedType: .int16)
        let out = try #require(Self.volume(try kernel.run(.imagingCase(id: "c", image: image, label: nil), parameters: params, seed: 0)))
        let want: [Float] = [-1000, -1000, -999.5, 0, Float.nan, 1000.5, 1000.5, 1000.5, -1000, 12.25]
        #expect(out.voxels.count == want.count)  // exact
        for (i, (a, b)) in zip(out.voxels, want).enumerated() {
            #expect(sameFloat(a, b), "voxel \(i): \(a) vs \(b)")  // exact
        }
        #expect(out.size == image.size && out.spacing == image.spacing && out.origin == image.origin)  // exact
        #expect(out.direction == image.direction && out.storedType == image.storedType)  // exact
    }

    @Test("imaging.clip refuses lower > upper and a missing bound")
    func clipArguments() throws {
        let kernel = try Self.kernel("imaging.clip")
        let image = Volume(size: [1, 1, 1], filledWith: 0)
        let reversed = try KernelParameters(["lower": 5, "upper": 1], for: kernel.description)
        let error = #expect(throws: MedGridError.self) {
            try kernel.run(.imagingCase(id: "c", image: image, label: nil), parameters: reversed, seed: 0)
        }
        #expect(error?.code == .invalidInput)
        let missing = #expect(throws: MedGridError.self) { try KernelParameters(["lower": 5], for: kernel.description) }
        #expect(missing?.message.contains("upper is required") == true, "\(String(describing: missing))")
    }

    // MARK: - NumericSummary

    @Test("NumericSummary.reduce gives count and per-field n, mean, min, max with dotted paths")
    func numericSummaryFields() throws {
        let outputs: [JSONValue] = [
            ["voxelCount": 10, "mean": 1.5, "percentiles": ["p50": 2.0], "name": "a"],
            ["voxelCount": 30, "mean": -0.5, "percentiles": ["p50": 4.0], "flag": true],
            ["voxelCount": 20, "percentiles": ["p50": 3.0], "mean": .null],
        ]
        let summary = NumericSummary.reduce(outputs)
        #expect(summary["count"] == .int(3))  // exact
        let fields = try #require(summary["fields"]?.objectValue)
        #expect(Set(fields.keys) == ["voxelCount", "mean", "percentiles.p50"])  // strings, booleans and null are skipped

        func check(_ field: String, n: Int, mean: Double, min: Double, max: Double) {
            let f = fields[field]
            #expect(f?["n"] == .int(n), "\(field).n")  // exact
            // tolerance: exact (small sums of binary-exact values)
            #expect(f?["mean"]?.doubleValue == mean, "\(field).mean")
            #expect(f?["min"]?.doubleValue == min, "\(field).min")
            #expect(f?["max"]?.doubleValue == max, "\(field).max")
        }
        check("voxelCount", n: 3, mean: 20, min: 10, max: 30)
        check("mean", n: 2, mean: 0.5, min: -0.5, max: 1.5)
        check("percentiles.p50", n: 3, mean: 3, min: 2, max: 4)
    }

    @Test("NumericSummary.reduce sums in the order given (plan order), so its result is reproducible")
    func numericSummaryOrder() throws {
        let a: JSONValue = ["x": 1.0], b: JSONValue = ["x": 1e16], c: JSONValue = ["x": -1e16]
        let forward = NumericSummary.reduce([a, b, c])
        let other = NumericSummary.reduce([b, c, a])
        // tolerance: exact; the expected values are the left-to-right double sums (1 + 1e16 rounds to 1e16)
        #expect(forward["fields"]?["x"]?["mean"]?.doubleValue == ((1.0 + 1e16) + -1e16) / 3)
        #expect(other["fields"]?["x"]?["mean"]?.doubleValue == ((1e16 + -1e16) + 1.0) / 3)
        #expect(NumericSummary.reduce([a, b, c]) == forward)  // the same order always gives the same value
        #expect(forward["fields"]?["x"]?["min"]?.doubleValue == -1e16)  // exact
        #expect(forward["fields"]?["x"]?["max"]?.doubleValue == 1e16)  // exact
    }

    @Test("the registry reduces imaging.stats results with NumericSummary")
    func registryReducesStats() throws {
        let kernel = try Self.kernel("imaging.stats")
        let input = try Self.ctCase()
        let whole = try #require(Self.result(try kernel.run(input, parameters: try KernelParameters([:], for: kernel.description), seed: 1)))
        let masked = try #require(Self.result(try kernel.run(
            input, parameters: try KernelParameters(["mask": "label"], for: kernel.description), seed: 1)))
        let step = Manifest.Step(name: "s", kernel: "imaging.stats", command: nil, params: [:])
        let reduced = try KernelRegistry.standard.reduce(step: step, outputs: [whole, masked])
        #expect(reduced == NumericSummary.reduce([whole, masked]))  // exact
        #expect(reduced["count"] == .int(2))  // exact
        #expect(reduced["fields"]?["voxelCount"]?["min"]?.doubleValue == 327)  // exact (ct_in_mask)
        #expect(reduced["fields"]?["voxelCount"]?["max"]?.doubleValue == 17280)  // exact (ct_whole)
        #expect(reduced["fields"]?["percentiles.p50"]?["n"] == .int(2))  // exact
    }
}

import Foundation
import MedGridCore
import MedGridImaging

/// `imaging.radiomics`: IBSI-1 radiomics features of an image within a mask (the case's label map, or the
/// second input of `medgrid kernel run`), reported by IBSI identifier.
struct ImagingRadiomicsKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.radiomics", version: "1.0.0",
        summary: "IBSI-1 radiomics features (morphology, local intensity, statistics, histograms, IVH, GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM) by IBSI identifier",
        input: .imagingCase, output: .result,
        parameters: [
            KernelParameter("preset", .string, "ibsi (IBSI conventions: bins from the ROI minimum, excess kurtosis, N-1 axis covariance, all six texture aggregations) or pyradiomics (bin edges at multiples of the width, plain kurtosis, N covariance, 3D:avg)", default: "ibsi", choices: ["ibsi", "pyradiomics"]),
            KernelParameter("bin-number", .integer, "fixed bin number discretisation (IBSI FBN)", minimum: 1, maximum: 65536),
            KernelParameter("bin-width", .number, "fixed bin size discretisation (IBSI FBS; PyRadiomics binWidth, default 25 for the pyradiomics preset)", minimum: 0),
            KernelParameter("bin-lower-bound", .number, "with bin-width: the lower edge of the first bin (default: the ROI minimum)"),
            KernelParameter("resegment-lower", .number, "resegmentation: drop mask voxels below this intensity"),
            KernelParameter("resegment-upper", .number, "resegmentation: drop mask voxels above this intensity"),
            KernelParameter("outlier-sigmas", .number, "resegmentation: drop voxels beyond mean ± this many standard deviations", minimum: 0),
            KernelParameter("aggregations", .stringList, "texture aggregation methods: 2D:avg 2D:s-mrg 2.5D:d-mrg 2.5D:mrg 3D:avg 3D:mrg (default: the preset's)", default: []),
            KernelParameter("families", .stringList, "feature families: morphology local-intensity statistics histogram ivh glcm glrlm glszm gldzm ngtdm ngldm (default: all)", default: []),
            KernelParameter("label", .integer, "the mask label to use (default: every non-zero voxel)", minimum: 1),
            KernelParameter("autocorrelation-limit", .integer, "compute Moran's I and Geary's C (all voxel pairs, quadratic cost) only for ROIs up to this many voxels (default: 20000 for ibsi, 0 for pyradiomics, which has no such features)", minimum: 0),
        ],
        conventions: "IBSI reference manual (Zwanenburg et al., Radiology 2020): distance 1, Chebyshev neighbourhoods; morphology on a marching-cubes mesh; "
            + "features named by IBSI identifier with the aggregation method for texture families. Tested against the IBSI digital phantom's reference values."
    )

    static let familyNames: [String: RadiomicsSettings.Family] = [
        "morphology": .morphology, "local-intensity": .localIntensity, "statistics": .intensityStatistics, "histogram": .intensityHistogram,
        "ivh": .intensityVolumeHistogram, "glcm": .glcm, "glrlm": .glrlm, "glszm": .glszm, "gldzm": .gldzm, "ngtdm": .ngtdm, "ngldm": .ngldm,
    ]

    func settings(_ p: KernelParameters) throws -> RadiomicsSettings {
        var s: RadiomicsSettings
        if p.string("preset") == "pyradiomics" {
            s = .pyRadiomics(binWidth: p.double("bin-width") ?? 25)
        } else {
            s = .ibsiDigitalPhantom
            if let w = p.double("bin-width") { s.discretisation = .fixedBinSize(w, lowerBound: p.double("bin-lower-bound")) }
        }
        if let n = p.int("bin-number") {
            guard p.double("bin-width") == nil else { throw MedGridError(.invalidInput, "imaging.radiomics: give bin-number or bin-width, not both") }
            s.discretisation = .fixedBinNumber(n)
        }
        if let limit = p.int("autocorrelation-limit") { s.spatialAutocorrelationVoxelLimit = limit }
        s.resegmentationLower = p.double("resegment-lower")
        s.resegmentationUpper = p.double("resegment-upper")
        s.outlierFilteringSigmas = p.double("outlier-sigmas")
        let aggregations = p.strings("aggregations") ?? []
        if !aggregations.isEmpty {
            s.textureAggregations = try aggregations.map { a in
                guard let t = RadiomicsSettings.TextureAggregation(rawValue: a) else {
                    throw MedGridError(.invalidInput, "imaging.radiomics: parameter aggregations: found \(a), expected one of \(RadiomicsSettings.TextureAggregation.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return t
            }
        }
        let families = p.strings("families") ?? []
        if !families.isEmpty {
            s.families = try families.map { f in
                guard let family = Self.familyNames[f] else {
                    throw MedGridError(.invalidInput, "imaging.radiomics: parameter families: found \(f), expected one of \(Self.familyNames.keys.sorted().joined(separator: ", "))")
                }
                return family
            }
        }
        return s
    }

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard case .imagingCase(_, let image, let label?) = input else {
            throw MedGridError(.invalidInput, "imaging.radiomics needs an image and a mask (the case's label, or a second --input)")
        }
        var mask = label
        if let l = parameters.int("label") {
            let value = Float(l)
            mask.voxels = label.voxels.map { $0 == value ? 1 : 0 }
        }
        let settings = try settings(parameters)
        let result = try Radiomics.extract(image: image, mask: mask, settings: settings)
        let features: [JSONValue] = result.features.map { f in
            ["ibsi": .string(f.ibsiID), "family": .string(f.family), "name": .string(f.name), "aggregation": .string(f.aggregation),
             "value": f.value.isFinite ? .double(f.value) : .null]
        }
        return .result(["preset": .string(parameters.string("preset")!), "featureCount": .int(features.count), "features": .array(features)])
    }

    /// Per feature (IBSI identifier and aggregation): n, mean, min and max over cases, in plan order.
    func reduce(_ outputs: [JSONValue]) throws -> JSONValue {
        var order: [String] = []
        var values: [String: [Double]] = [:]
        for o in outputs {
            for f in o["features"]?.arrayValue ?? [] {
                let key = [f["ibsi"]?.stringValue ?? "", f["aggregation"]?.stringValue ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
                if values[key] == nil { order.append(key) }
                if let v = f["value"]?.doubleValue { values[key, default: []].append(v) } else { values[key, default: []] += [] }
            }
        }
        var out: [String: JSONValue] = [:]
        for key in order {
            let v = values[key] ?? []
            var sum = 0.0
            for x in v { sum += x }
            out[key] = v.isEmpty ? ["n": 0] : ["n": .int(v.count), "mean": .number(sum / Double(v.count)), "min": .number(v.min()!), "max": .number(v.max()!)]
        }
        return ["cases": .int(outputs.count), "features": .object(out)]
    }
}

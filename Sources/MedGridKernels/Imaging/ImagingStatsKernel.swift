import MedGridCore
import MedGridImaging

/// `imaging.stats`: first-order intensity statistics of each case, in the image's real units
/// (scl_slope/scl_inter applied), over the whole image or inside the case's label map.
struct ImagingStatsKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.stats", version: "1.0.0",
        summary: "Voxel count, volume, mean, std, min, max and percentiles per case, optionally inside the label mask",
        input: .imagingCase, output: .result,
        parameters: [
            KernelParameter("percentiles", .numberList, "percentiles to report, each in 0...100", default: [5, 25, 50, 75, 95], minimum: 0, maximum: 100),
            KernelParameter("mask", .string, "which voxels count: the whole image, or inside the case's label map", default: "none", choices: ["none", "label"]),
            KernelParameter("label", .integer, "with mask=label: count only voxels of this label value (default: any label > 0)", minimum: 0),
        ],
        conventions: "Real units (scl_slope/scl_inter applied). std is the population standard deviation (divide by N). "
            + "Percentiles interpolate linearly between closest ranks (numpy 'linear', R type 7). "
            + "Mask voxels count when > 0, or == label. An empty mask gives voxelCount 0 and null statistics. NaN voxels are skipped."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard case .imagingCase(let id, let image, let labelMap) = input else {
            throw MedGridError(.invalidInput, "imaging.stats reads imaging cases")
        }
        var mask: Volume?
        if parameters.string("mask") == "label" {
            guard let labelMap else {
                throw MedGridError(.invalidInput, "imaging.stats: mask=label, but case \(id) has no label map")
            }
            mask = labelMap
        }
        let stats = try IntensityStatistics.compute(
            image: image, mask: mask, label: parameters.int("label"), percentiles: parameters.doubles("percentiles") ?? []
        )
        return .result(try JSONValue(encoding: stats))
    }
}

/// `imaging.clip`: clamps intensities into a window; gives a volume for the next pipeline step.
struct ImagingClipKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.clip", version: "1.0.0",
        summary: "Clamps intensities to [lower, upper] (intensity windowing); gives a volume",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("lower", .number, "smallest value kept, in real units", required: true),
            KernelParameter("upper", .number, "largest value kept, in real units", required: true),
        ],
        conventions: "Values below lower become lower, above upper become upper; NaN stays NaN."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard case .imagingCase(_, var image, _) = input else {
            throw MedGridError(.invalidInput, "imaging.clip reads imaging cases")
        }
        let lower = Float(parameters.double("lower")!), upper = Float(parameters.double("upper")!)
        guard lower <= upper else {
            throw MedGridError(.invalidInput, "imaging.clip: lower \(lower) is above upper \(upper)")
        }
        image.voxels.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices where !buffer[i].isNaN {
                buffer[i] = min(max(buffer[i], lower), upper)
            }
        }
        return .volume(image)
    }
}

/// `imaging.threshold`: a fixed-threshold segmentation; gives a mask for the next step or a Benchmark.
struct ImagingThresholdKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.threshold", version: "1.0.0",
        summary: "Fixed-threshold segmentation: 1 where lower <= value <= upper, else 0; gives a mask volume",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("lower", .number, "smallest value inside, in real units", required: true),
            KernelParameter("upper", .number, "largest value inside, in real units", default: .double(Double(Float.greatestFiniteMagnitude))),
        ],
        conventions: "Both bounds are inclusive; NaN voxels are outside. The mask keeps the image's geometry and is stored as uint8."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard case .imagingCase(_, var image, _) = input else {
            throw MedGridError(.invalidInput, "imaging.threshold reads imaging cases")
        }
        let lower = Float(parameters.double("lower")!), upper = Float(min(parameters.double("upper")!, Double(Float.greatestFiniteMagnitude)))
        guard lower <= upper else { throw MedGridError(.invalidInput, "imaging.threshold: lower \(lower) is above upper \(upper)") }
        image.voxels.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = buffer[i] >= lower && buffer[i] <= upper ? 1 : 0 }
        }
        image.storedType = .uint8
        return .volume(image)
    }
}

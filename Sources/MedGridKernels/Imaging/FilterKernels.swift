import Foundation
import MedGridCore
import MedGridImaging

/// One number for all three axes, or three (x, y, z).
func perAxis(_ p: KernelParameters, _ name: String) throws -> SIMD3<Double> {
    let v = p.doubles(name) ?? []
    switch v.count {
    case 1: return SIMD3(repeating: v[0])
    case 3: return SIMD3(v[0], v[1], v[2])
    default: throw MedGridError(.invalidInput, "\(p.kernel): parameter \(name): found \(v.count) numbers, expected one (all axes) or three (x, y, z)")
    }
}

/// `imaging.gaussian`: Gaussian smoothing with σ in millimetres.
struct ImagingGaussianKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.gaussian", version: "1.0.0",
        summary: "Gaussian smoothing with sigma in mm per axis (sigma in voxels = sigma mm / spacing)",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("sigma", .numberList, "standard deviation in mm: one value, or [x, y, z]", required: true),
            KernelParameter("truncate", .number, "kernel radius in standard deviations", default: 4, minimum: 0.1, maximum: 100),
            KernelParameter("boundary", .string, "edge extension: nearest (repeat the edge voxel) or reflect (mirror, edge included)", default: "nearest", choices: ["nearest", "reflect"]),
        ],
        conventions: "Separable sampled Gaussian normalised to sum 1, radius int(truncate*sigma_voxels+0.5), axes z, y, x; "
            + "identical to scipy.ndimage.gaussian_filter(sigma=sigma_mm/spacing, truncate, mode). Output float32."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let image = try input.image(for: description.name)
        return .volume(try image.gaussianSmoothed(
            sigmaMM: try perAxis(parameters, "sigma"), truncate: parameters.double("truncate")!,
            boundary: FilterBoundary(rawValue: parameters.string("boundary")!)!))
    }
}

/// `imaging.median`: median filter over a box of voxels.
struct ImagingMedianKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.median", version: "1.0.0",
        summary: "Median filter over a (2r+1)^3 box of voxels; edges replicated",
        input: .imagingCase, output: .volume,
        parameters: [KernelParameter("radius", .numberList, "radius in voxels: one value, or [x, y, z]", default: [1])],
        conventions: "Box neighbourhood, edge voxels replicated (SimpleITK MedianImageFilter's zero-flux Neumann boundary); the exact middle value of the sorted window. NaN voxels are an error."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let r = try perAxis(parameters, "radius")
        guard r == r.rounded(.towardZero), r.min() >= 0 else {
            throw MedGridError(.invalidInput, "imaging.median: parameter radius: found \(r), expected whole numbers of voxels >= 0")
        }
        return .volume(try input.image(for: description.name).medianFiltered(radius: SIMD3(Int(r.x), Int(r.y), Int(r.z))))
    }
}

/// `imaging.resample`: resampling to a target spacing.
struct ImagingResampleKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.resample", version: "1.0.0",
        summary: "Resample to a target voxel spacing (mm): linear for images, nearest for masks and label maps",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("spacing", .numberList, "target spacing in mm: one value, or [x, y, z]", required: true),
            KernelParameter("interpolation", .string, "linear or nearest (use nearest for masks)", default: "linear", choices: ["linear", "nearest"]),
            KernelParameter("default", .number, "value outside the input", default: 0),
        ],
        conventions: "SimpleITK ResampleImageFilter with the identity transform: same origin and direction, size round(n*s/s'); "
            + "a voxel outside [-0.5, n-0.5) of the input gets the default value."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        .volume(try input.image(for: description.name).resampled(
            toSpacing: try perAxis(parameters, "spacing"),
            interpolation: ResamplingInterpolation(rawValue: parameters.string("interpolation")!)!,
            defaultValue: Float(parameters.double("default")!)))
    }
}

/// `imaging.window`: intensity windowing by level and width.
struct ImagingWindowKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.window", version: "1.0.0",
        summary: "Intensity window by level and width: clip to [level - width/2, level + width/2], optionally rescaled to [0, 1]",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("level", .number, "window centre", required: true),
            KernelParameter("width", .number, "window width", required: true, minimum: 0),
            KernelParameter("rescale", .boolean, "rescale the window to [0, 1]", default: true),
        ],
        conventions: "SimpleITK IntensityWindowing with output [0, 1] when rescale is on; otherwise the clipped values."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        .volume(try input.image(for: description.name).windowed(
            level: parameters.double("level")!, width: parameters.double("width")!, rescaleToUnit: parameters.bool("rescale")!))
    }
}

/// `imaging.morphology`: binary erosion, dilation, opening and closing with a ball in millimetres.
struct ImagingMorphologyKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.morphology", version: "1.0.0",
        summary: "Binary morphology of a mask (non-zero voxels) with a ball of radius in mm: erode, dilate, open, close",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("operation", .string, "erode, dilate, open or close", required: true, choices: ["erode", "dilate", "open", "close"]),
            KernelParameter("radius", .number, "ball radius in mm", required: true, minimum: 0),
            KernelParameter("border", .string, "outside the image counts as background (scipy border_value=0) or foreground (SimpleITK erosion)", default: "background", choices: ["background", "foreground"]),
        ],
        conventions: "Ball: voxel offsets with (dx*sx)^2+(dy*sy)^2+(dz*sz)^2 <= r^2 (an ellipsoid in voxels for anisotropic spacing); "
            + "identical to scipy.ndimage.binary_erosion/dilation with that structuring element. Output 0/1 uint8."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let image = try input.image(for: description.name)
        let r = parameters.double("radius")!, border = MorphologyBorder(rawValue: parameters.string("border")!)!
        switch parameters.string("operation")! {
        case "erode": return .volume(try image.binaryEroded(radiusMM: r, border: border))
        case "dilate": return .volume(try image.binaryDilated(radiusMM: r))
        case "open": return .volume(try image.binaryOpened(radiusMM: r, border: border))
        default: return .volume(try image.binaryClosed(radiusMM: r, border: border))
        }
    }
}

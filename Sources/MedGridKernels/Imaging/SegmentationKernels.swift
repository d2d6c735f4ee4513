import Foundation
import MedGridCore
import MedGridImaging

extension KernelInput {
    /// The image of an imaging case, or an error naming the kernel.
    func image(for kernel: String) throws -> Volume {
        guard case .imagingCase(_, let image, _) = self else { throw MedGridError(.invalidInput, "\(kernel) reads imaging cases") }
        return image
    }
}

/// Masks and label maps are stored as small integers.
func labelVolume(_ v: Volume) -> Volume {
    var out = v
    let maxLabel = v.voxels.max() ?? 0
    out.storedType = maxLabel <= 255 ? .uint8 : .uint16
    return out
}

let windowParameter = KernelParameter("window", .numberList, "[lower, upper]: only voxels in this intensity window take part; the rest are background (e.g. [0, 300] to leave out air and bone)", default: [])

/// The image with voxels outside `window` set to NaN (left out of histograms and clustering, labelled 0).
func windowed(_ image: Volume, _ p: KernelParameters) throws -> Volume {
    let w = p.doubles("window") ?? []
    guard !w.isEmpty else { return image }
    guard w.count == 2, w[0] <= w[1] else {
        throw MedGridError(.invalidInput, "\(p.kernel): parameter window: found \(w), expected [lower, upper] with lower <= upper")
    }
    var out = image
    let lo = Float(w[0]), hi = Float(w[1])
    out.voxels.withUnsafeMutableBufferPointer { b in
        for i in b.indices where !(b[i] >= lo && b[i] <= hi) { b[i] = .nan }
    }
    return out
}

let connectivityParameter = KernelParameter("connectivity", .integer, "neighbours that connect voxels: 6 (faces), 18 (faces and edges) or 26 (also corners)", default: 26, minimum: 6, maximum: 26)

func connectivity(_ p: KernelParameters, _ name: String = "connectivity") throws -> Connectivity {
    let n = p.int(name)!
    guard let c = Connectivity(rawValue: n) else {
        throw MedGridError(.invalidInput, "\(p.kernel): parameter \(name): found \(n), expected 6, 18 or 26")
    }
    return c
}

/// `imaging.otsu`: Otsu's threshold (two classes, a mask) or multi-Otsu (a label map 0…K−1).
struct ImagingOtsuKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.otsu", version: "1.0.0",
        summary: "Otsu threshold (classes=2: mask of the brighter class) or multi-Otsu (classes>2: label map 0 dark … K-1 bright)",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("classes", .integer, "number of classes", default: 2, minimum: 2, maximum: 6),
            KernelParameter("bins", .integer, "histogram bins over [min, max]", default: 256, minimum: 2, maximum: 65536),
            KernelParameter("keep", .string, "for classes>2: labels (the label map) or brightest (a mask of the brightest class)", default: "labels", choices: ["labels", "brightest"]),
            windowParameter,
        ],
        conventions: "Histogram as ITK's ImageToHistogramFilter (SimpleITK OtsuThreshold/OtsuMultipleThresholds): range [min, max + (max-min)/bins/100], "
            + "half-open bins; the threshold is the upper edge of the last bin of the lower class; foreground is value > threshold. NaN voxels are background."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let image = try windowed(try input.image(for: description.name), parameters)
        let classes = parameters.int("classes")!, bins = parameters.int("bins")!
        let result = classes == 2
            ? try OtsuThresholding.threshold(image, bins: bins)
            : try OtsuThresholding.multiple(image, classes: classes, bins: bins)
        var labels = result.labels
        if classes > 2 && parameters.string("keep") == "brightest" {
            let top = Float(classes - 1)
            labels.voxels = labels.voxels.map { $0 == top ? 1 : 0 }
        }
        return .volume(labelVolume(labels))
    }
}

/// `imaging.kmeans`: k-means clustering of intensities.
struct ImagingKMeansKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.kmeans", version: "1.0.0",
        summary: "k-means clustering of voxel intensities: label map 0 (darkest centre) … k-1, or a mask of the brightest cluster",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("classes", .integer, "number of clusters k", default: 3, minimum: 2, maximum: 255),
            KernelParameter("centres", .numberList, "explicit initial centres (default: the (i+0.5)/k intensity quantiles)", default: []),
            KernelParameter("max-iterations", .integer, "Lloyd iterations at most", default: 300, minimum: 1, maximum: 100_000),
            KernelParameter("keep", .string, "labels (the label map) or brightest (a mask of the brightest cluster)", default: "labels", choices: ["labels", "brightest"]),
            windowParameter,
        ],
        conventions: "Lloyd's algorithm until no voxel changes cluster (scikit-learn KMeans with tol=0 on the intensities); "
            + "ties go to the first centre; labels are ranked by centre intensity; NaN voxels get label 0."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let image = try windowed(try input.image(for: description.name), parameters)
        let centres = parameters.doubles("centres") ?? []
        let maxIterations = parameters.int("max-iterations")!
        let result = centres.isEmpty
            ? try KMeansClustering.cluster(image, classes: parameters.int("classes")!, maxIterations: maxIterations)
            : try KMeansClustering.cluster(image, initialCentres: centres, maxIterations: maxIterations)
        var labels = result.labels
        if parameters.string("keep") == "brightest" {
            let top = Float(result.centres.count - 1)
            labels.voxels = labels.voxels.map { $0 == top ? 1 : 0 }
        }
        return .volume(labelVolume(labels))
    }
}

/// `imaging.region-grow`: connected-threshold region growing from seeds.
struct ImagingRegionGrowKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.region-grow", version: "1.0.0",
        summary: "Region growing from seed voxels: every voxel connected to a seed through voxels within [lower, upper]",
        input: .imagingCase, output: .volume,
        parameters: [
            KernelParameter("lower", .number, "smallest value inside", required: true),
            KernelParameter("upper", .number, "largest value inside", default: .double(Double(Float.greatestFiniteMagnitude))),
            KernelParameter("seeds", .numberList, "seed voxel indices as x,y,z triples, e.g. [32,30,12]; default: the brightest voxel within [lower, upper] (first in raster order)", default: []),
            KernelParameter("connectivity", .integer, "6 or 26", default: 6, minimum: 6, maximum: 26),
        ],
        conventions: "SimpleITK ConnectedThreshold: bounds inclusive; a seed outside [lower, upper] grows nothing; seeds outside the image are an error."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let image = try input.image(for: description.name)
        let lower = Float(parameters.double("lower")!), upper = Float(min(parameters.double("upper")!, Double(Float.greatestFiniteMagnitude)))
        let flat = parameters.doubles("seeds") ?? []
        guard flat.count % 3 == 0, flat.allSatisfy({ $0 == $0.rounded() }) else {
            throw MedGridError(.invalidInput, "imaging.region-grow: parameter seeds: found \(flat.count) numbers, expected whole-number x,y,z triples")
        }
        var seeds = stride(from: 0, to: flat.count, by: 3).map { SIMD3(Int(flat[$0]), Int(flat[$0 + 1]), Int(flat[$0 + 2])) }
        if seeds.isEmpty {
            var best = -Float.infinity, at = -1
            for (i, v) in image.voxels.enumerated() where v >= lower && v <= upper && v > best { best = v; at = i }
            guard at >= 0 else { return .volume(labelVolume(Volume(size: image.size, spacing: image.spacing, origin: image.origin, direction: image.direction, filledWith: 0))) }
            seeds = [SIMD3(at % image.size.x, (at / image.size.x) % image.size.y, at / (image.size.x * image.size.y))]
        }
        let n = parameters.int("connectivity")!
        guard n == 6 || n == 26 else { throw MedGridError(.invalidInput, "imaging.region-grow: parameter connectivity: found \(n), expected 6 or 26") }
        let mask = try RegionGrowing.connectedThreshold(image, seeds: seeds, lower: lower, upper: upper, connectivity: n == 6 ? .face : .vertex)
        return .volume(labelVolume(mask))
    }
}

/// `imaging.components`: connected-component labelling with size filtering and keep-largest.
struct ImagingComponentsKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.components", version: "1.1.0",
        summary: "Connected components of a mask (non-zero voxels): label map, optionally size-filtered, or the largest component",
        input: .imagingCase, output: .volume,
        parameters: [
            connectivityParameter,
            KernelParameter("min-voxels", .integer, "drop components smaller than this many voxels", default: 0, minimum: 0),
            KernelParameter("min-volume", .number, "drop components smaller than this volume in mm³", default: 0, minimum: 0),
            KernelParameter("order", .string, "raster (by first voxel) or size (largest first)", default: "raster", choices: ["raster", "size"]),
            KernelParameter("keep-largest", .boolean, "give a mask of the largest component only", default: false),
        ],
        conventions: "Labels 1…N in raster order of each component's first voxel (SimpleITK ConnectedComponent, scipy.ndimage.label) "
            + "or by size descending with ties in raster order (RelabelComponent); foreground is non-zero and not NaN. "
            + "Its result gives the number of components labelled (after size filtering), or with keep-largest the number found and kept."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let image = try input.image(for: description.name)
        let c = try connectivity(parameters)
        if parameters.bool("keep-largest")! {
            let all = try ConnectedComponents.label(image, connectivity: c, ordering: .sizeDescending, minimumVoxelCount: 0, minimumVolumeMM3: 0)
            let largest = try ConnectedComponents.keepLargest(image, connectivity: c)
            return .volume(labelVolume(largest), summary: .object(["components": .int(all.count), "kept": .int(all.count > 0 ? 1 : 0)]))
        }
        let result = try ConnectedComponents.label(
            image, connectivity: c, ordering: parameters.string("order") == "size" ? .sizeDescending : .raster,
            minimumVoxelCount: parameters.int("min-voxels")!, minimumVolumeMM3: parameters.double("min-volume")!)
        return .volume(labelVolume(result.labels), summary: .object(["components": .int(result.count)]))
    }
}

/// `imaging.fill-holes`: fills background regions that do not touch the image border.
struct ImagingFillHolesKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.fill-holes", version: "1.0.0",
        summary: "Fills holes in a mask: background regions not connected to the image border become foreground",
        input: .imagingCase, output: .volume,
        parameters: [KernelParameter("connectivity", .integer, "background connectivity: 6 (SimpleITK BinaryFillhole fullyConnected=false, scipy default), 18 or 26", default: 6, minimum: 6, maximum: 26)],
        conventions: "A hole is a background component (in the given background connectivity) that touches none of the six image faces."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        .volume(labelVolume(try HoleFilling.fill(try input.image(for: description.name), backgroundConnectivity: try connectivity(parameters))))
    }
}

/// `imaging.distance`: Euclidean distance transform in millimetres.
struct ImagingDistanceKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.distance", version: "1.0.0",
        summary: "Exact Euclidean distance (mm, with the voxel spacing) from each voxel to the nearest foreground voxel, or signed",
        input: .imagingCase, output: .volume,
        parameters: [KernelParameter("signed", .boolean, "negative inside (distance to the contour), as SimpleITK SignedMaurerDistanceMap", default: false)],
        conventions: "Unsigned: scipy.ndimage.distance_transform_edt(mask == 0, sampling=spacing); 0 on the foreground, +inf everywhere when the mask is empty. "
            + "Signed: SimpleITK SignedMaurerDistanceMap(insideIsPositive=false, squaredDistance=false, useImageSpacing=true)."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        let image = try input.image(for: description.name)
        if parameters.bool("signed")! {
            var out = image
            out.voxels = try DistanceTransform.signedEuclidean(image).map { Float($0) }
            out.storedType = .float32
            return .volume(out)
        }
        return .volume(try DistanceTransform.distanceMap(toForegroundOf: image))
    }
}

/// `imaging.metrics`: segmentation metrics of a prediction (first input) against a reference (second).
struct ImagingMetricsKernel: Kernel {
    let description = KernelDescription(
        name: "imaging.metrics", version: "1.0.0",
        summary: "Segmentation metrics of a prediction (first input) against a reference (second): Dice, Jaccard, volumes, Hausdorff, HD95, ASSD, NSD, per label",
        input: .imagingCase, output: .result,
        parameters: [
            KernelParameter("tolerance", .number, "normalized surface Dice tolerance in mm", default: 1, minimum: 0),
            KernelParameter("percentile", .number, "the percentile Hausdorff distance (95 for HD95)", default: 95, minimum: 0, maximum: 100),
            KernelParameter("convention", .string, "surface distances by surface-elements (DeepMind surface-distance), boundary-voxels (MONAI) or both", default: "both", choices: ["both", "surface-elements", "boundary-voxels"]),
            KernelParameter("per-label", .boolean, "one result per label of a label map (default: foreground = non-zero)", default: false),
        ],
        conventions: SurfaceConvention.allCases.map(\.convention).joined(separator: " | ")
            + " | Dice and Jaccard count non-zero voxels; both empty gives 1. Infinite distances are written as \"infinite\"."
    )

    func run(_ input: KernelInput, parameters: KernelParameters, seed: UInt64) throws -> KernelOutput {
        guard case .imagingCase(_, let prediction, let reference?) = input else {
            throw MedGridError(.invalidInput, "imaging.metrics takes two inputs: --input PREDICTION --input REFERENCE")
        }
        let choice = parameters.string("convention")!
        let conventions = choice == "both" ? SurfaceConvention.allCases : [SurfaceConvention(rawValue: choice)!]
        let tolerance = parameters.double("tolerance")!, percentile = parameters.double("percentile")!
        if parameters.bool("per-label")! {
            let all = try SegmentationMetrics.computePerLabel(prediction: prediction, reference: reference, tolerance: tolerance, percentile: percentile, conventions: conventions)
            return .result(["labels": .array(all.map { $0.json() })])
        }
        return .result(try SegmentationMetrics.compute(prediction: prediction, reference: reference, tolerance: tolerance, percentile: percentile, conventions: conventions).json())
    }
}

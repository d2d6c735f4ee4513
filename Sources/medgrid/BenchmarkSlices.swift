import Foundation
import MedGridCore
import MedGridImaging
import MedGridKernels
import MedGridReports

/// Slices for a Benchmark's HTML page: for the first few cases, the axial slice with the largest
/// ground-truth area, with the top-ranked algorithm's segmentation (re-run here: kernels are
/// deterministic; an external command is not re-run, and then the slice shows the ground truth only).
enum BenchmarkSlices {
    static func make(report: JSONValue, dataset: URL, cases limit: Int = 3) -> [BenchmarkHTML.Slice] {
        guard let top = report["ranking"]?["consensus"]?.arrayValue?.first?["algorithm"]?.stringValue,
              let step = report["provenance"]?["steps"]?.arrayValue?.first(where: { $0["name"]?.stringValue == top }),
              let d = try? DecathlonDataset.load(folder: dataset)
        else { return [] }
        var kernel: (any MedGridKernels.Kernel)?
        var parameters: KernelParameters?
        if let name = step["kernel"]?.stringValue, let k = KernelRegistry.standard.implementation(named: name) {
            kernel = k
            parameters = try? KernelParameters(step["params"]?.objectValue ?? [:], for: k.description)
        }
        var out: [BenchmarkHTML.Slice] = []
        for c in d.cases.prefix(limit) {
            guard let labelPath = c.label,
                  let image = try? ImageFile.read(contentsOf: dataset.appendingPathComponent(c.image)),
                  let reference = try? ImageFile.read(contentsOf: dataset.appendingPathComponent(labelPath)),
                  image.size == reference.size
            else { continue }
            var prediction: Volume?
            if let kernel, let parameters, case .volume(let v, _)? = try? kernel.run(.imagingCase(id: c.id, image: image, label: nil), parameters: parameters, seed: UInt64(report["provenance"]?["seed"]?.intValue ?? 0)), v.size == image.size {
                prediction = v
            }
            let nx = image.size.x, ny = image.size.y, plane = nx * ny
            var bestZ = image.size.z / 2, bestArea = -1
            for z in 0..<image.size.z {
                var area = 0
                for i in 0..<plane where reference.voxels[z * plane + i] != 0 { area += 1 }
                if area > bestArea { bestArea = area; bestZ = z }
            }
            let range = (bestZ * plane)..<((bestZ + 1) * plane)
            let pixels = Array(image.voxels[range])
            let sorted = pixels.filter(\.isFinite).sorted()
            guard let lo = sorted.first, let hi = sorted.last else { continue }
            let lower = sorted[Int(Double(sorted.count - 1) * 0.01)], upper = sorted[Int(Double(sorted.count - 1) * 0.99)]
            let overlay = MedGridPlot.SliceOverlay(
                width: nx, height: ny, intensities: pixels,
                windowLower: lower < upper ? lower : lo, windowUpper: lower < upper ? upper : max(hi, lo + 1),
                prediction: prediction.map { p in range.map { p.voxels[$0] != 0 } },
                reference: range.map { reference.voxels[$0] != 0 },
                spacingX: image.spacing.x, spacingY: image.spacing.y,
                predictionLabel: prediction == nil ? "prediction (external command: not re-run)" : "\(top) prediction",
                referenceLabel: "ground truth")
            out.append(BenchmarkHTML.Slice(caption: "\(c.id), axial slice z = \(bestZ)", overlay: overlay))
        }
        return out
    }
}

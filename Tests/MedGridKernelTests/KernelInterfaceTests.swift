import Foundation
import Testing
@testable import MedGridCore
@testable import MedGridImaging
@testable import MedGridKernels

/// Small interface fixes users hit: comma lists for number parameters, and the component count.
struct KernelInterfaceTests {
    @Test("--param percentiles=5,50,95 is a list of numbers, like covariates=A,B is a list of strings; a non-number is refused")
    func commaNumberLists() throws {
        let stats = try #require(KernelRegistry.standard.implementation(named: "imaging.stats")).description
        let parsed = try KernelParameters(try KernelParameters.parse(["percentiles=5,50,97.5"]), for: stats)
        #expect(parsed.doubles("percentiles") == [5, 50, 97.5])
        let spaced = try KernelParameters(try KernelParameters.parse(["percentiles=5, 50"]), for: stats)
        #expect(spaced.doubles("percentiles") == [5, 50])
        #expect(throws: (any Error).self) { _ = try KernelParameters(try KernelParameters.parse(["percentiles=5,x"]), for: stats) }
        #expect(throws: (any Error).self) { _ = try KernelParameters(try KernelParameters.parse(["percentiles=5,150"]), for: stats) }
        #expect(throws: (any Error).self) { _ = try KernelParameters(try KernelParameters.parse(["percentiles=5,,6"]), for: stats) }
    }

    @Test("imaging.components reports how many components it labelled, and with keep-largest how many it found")
    func componentCount() throws {
        var voxels = [Float](repeating: 0, count: 10 * 10 * 3)
        func set(_ x: Int, _ y: Int, _ z: Int) { voxels[x + 10 * (y + 10 * z)] = 1 }
        for x in 0..<3 { set(x, 0, 0) }  // 3 voxels
        set(6, 6, 1)  // 1 voxel
        for y in 3..<8 { set(9, y, 2) }  // 5 voxels
        let image = Volume(size: [10, 10, 3], voxels: voxels)
        let kernel = try #require(KernelRegistry.standard.implementation(named: "imaging.components"))
        func run(_ params: [String]) throws -> (Volume, JSONValue?) {
            let parameters = try KernelParameters(try KernelParameters.parse(params), for: kernel.description)
            guard case .volume(let v, let summary) = try kernel.run(.imagingCase(id: "c", image: image, label: nil), parameters: parameters, seed: 0) else {
                throw MedGridError(.kernelFailed, "no volume")
            }
            return (v, summary)
        }
        let (labels, all) = try run([])
        #expect(all?["components"]?.intValue == 3)
        #expect(labels.voxels.max() == 3)
        #expect(try run(["min-voxels=2"]).1?["components"]?.intValue == 2)
        let (largest, kept) = try run(["keep-largest=true"])
        #expect(kept?["components"]?.intValue == 3 && kept?["kept"]?.intValue == 1)
        #expect(largest.voxels.filter { $0 > 0 }.count == 5)
    }
}

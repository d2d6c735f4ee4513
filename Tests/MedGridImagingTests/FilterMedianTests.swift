import Foundation
import MedGridCore
import Testing
@testable import MedGridImaging

/// Median filter against SimpleITK MedianImageFilter (Reference/filters/README.md).
@Suite("Median filter")
struct FilterMedianTests {
    @Test("matches SimpleITK MedianImageFilter exactly", arguments: FilterReference.caseNames("median"))
    func matchesSimpleITK(name: String) throws {
        let spec = try FilterReference.namedCase(name)
        let input = try FilterReference.volume(try #require(spec["input"]?.stringValue))
        let expected = try FilterReference.volume(try #require(spec["expected"]?.stringValue))
        let r = try FilterReference.vector(spec["radius"], "radius")
        let radius = SIMD3(Int(r.x), Int(r.y), Int(r.z))

        let serial = try input.medianFiltered(radius: radius, parallel: FilterReference.serial)
        // tolerance: exact (the median is one of the input values)
        let differing = FilterReference.mismatches(serial.voxels, expected.voxels)
        #expect(differing.isEmpty, "\(name): first differing voxels \(differing)")
        #expect(serial.size == input.size && serial.spacing == input.spacing && serial.origin == input.origin)
        #expect(serial.storedType == input.storedType)

        let interleaved = try input.medianFiltered(radius: radius, parallel: FilterReference.interleaved)
        #expect(interleaved == serial)
        #expect(try input.medianFiltered(radius: radius) == serial)
    }

    @Test("hand example: replicate-edge boundary on a 1-D line")
    func handExample() throws {
        // Line [5, 1, 9, 3] with radius 1 along x: windows {5,5,1} {5,1,9} {1,9,3} {9,3,3}.
        let v = Volume(size: [4, 1, 1], voxels: [5, 1, 9, 3], storedType: .int16)
        let m = try v.medianFiltered(radius: SIMD3(1, 0, 0))
        #expect(m.voxels == [5, 5, 3, 3])
        #expect(m.storedType == .int16)
        // Radius 1 on every axis of a single row: y and z neighbours replicate the row itself.
        #expect(try v.medianFiltered(radius: 1).voxels == [5, 5, 3, 3])
        #expect(try v.medianFiltered(radius: 0) == v)
    }

    @Test("the Batcher network sorts every 0-1 input (0-1 principle) for n = 1...13")
    func sortingNetwork() {
        #expect(Volume.batcherSortingNetwork(9).count == 26)
        #expect(Volume.batcherSortingNetwork(25).count == 138)
        for n in 1...13 {
            let network = Volume.batcherSortingNetwork(n)
            var allSorted = true
            for bits in 0..<(1 << n) {
                var v = (0..<n).map { (bits >> $0) & 1 }
                for (i, j) in network where v[i] > v[j] { v.swapAt(i, j) }
                if v != v.sorted() { allSorted = false }
            }
            #expect(allSorted, "n = \(n)")
        }
    }

    @Test("agrees with a sort-every-window median on ties and infinities",
          arguments: [SIMD3(1, 1, 1), SIMD3(0, 1, 2), SIMD3(2, 0, 1), SIMD3(3, 1, 0), SIMD3(2, 2, 2), SIMD3(4, 0, 0)])
    func bruteForce(radius: SIMD3<Int>) throws {
        let size = SIMD3(9, 7, 5)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var voxels: [Float] = []
        for _ in 0..<(size.x * size.y * size.z) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let r = Int(state >> 59)  // 0...31: few distinct values, so many ties
            voxels.append(r == 0 ? -.infinity : (r >= 29 ? .infinity : Float(r % 7) - 2.5))
        }
        let v = Volume(size: size, voxels: voxels)
        var expected: [Float] = []
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x {
                    var window: [Float] = []
                    for k in -radius.z...radius.z {
                        for j in -radius.y...radius.y {
                            for i in -radius.x...radius.x {
                                let xx = min(max(x + i, 0), size.x - 1), yy = min(max(y + j, 0), size.y - 1)
                                let zz = min(max(z + k, 0), size.z - 1)
                                window.append(voxels[v.index(xx, yy, zz)])
                            }
                        }
                    }
                    window.sort()
                    expected.append(window[window.count / 2])
                }
            }
        }
        let serial = try v.medianFiltered(radius: radius, parallel: FilterReference.serial)
        #expect(serial.voxels == expected)  // exact
        let interleaved = try v.medianFiltered(radius: radius, parallel: FilterReference.interleaved)
        #expect(interleaved == serial)
    }

    @Test("NaN and bad radii are rejected with the voxel or axis named")
    func errors() throws {
        var v = Volume(size: [3, 3, 3], filledWith: 1)
        #expect(throws: MedGridError.self) { try v.medianFiltered(radius: -1) }
        #expect { try v.medianFiltered(radius: SIMD3(1, 1, 51)) } throws: { error in
            (error as? MedGridError)?.message.contains("radius.z") == true
        }
        v.voxels[v.index(2, 1, 0)] = .nan
        #expect { try v.medianFiltered(radius: 1) } throws: { error in
            (error as? MedGridError)?.message.contains("(2, 1, 0)") == true
        }
    }
}

import Foundation
import Testing
@testable import MedGridImaging

/// Mutated and truncated real NIfTI files never crash the reader: each read either succeeds or throws an
/// error that names a byte offset or the problem.
struct NIfTIFuzzTests {
    /// A small deterministic generator (SplitMix64) so failures can be replayed.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("500 seeded byte mutations and every truncation of the IBSI phantom's header: no crash, clear errors")
    func mutations() throws {
        let url = Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("ibsi/phantom.nii.gz")
        let original = try NIfTI.read(contentsOf: url)
        let raw = try NIfTI.encode(original)  // the uncompressed .nii bytes
        var rng = Rng(state: 42)
        var failures = 0, successes = 0
        for _ in 0..<500 {
            var bytes = [UInt8](raw)
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                // Mostly the 348-byte header, where lengths and dimensions live.
                let at = rng.next() % 4 == 0 ? Int(rng.next() % UInt64(bytes.count)) : Int(rng.next() % 352)
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                _ = try NIfTI.decode(Data(bytes), path: "mutated.nii")
                successes += 1
            } catch {
                failures += 1
                #expect(!"\(error)".isEmpty)
            }
        }
        #expect(failures > 0 && successes > 0, "mutations both break and spare files: \(failures) failed, \(successes) read")
        for cut in stride(from: 0, to: raw.count, by: 7) {
            #expect(throws: (any Error).self) { _ = try NIfTI.decode(raw.prefix(cut), path: "truncated.nii") }
        }
    }
}

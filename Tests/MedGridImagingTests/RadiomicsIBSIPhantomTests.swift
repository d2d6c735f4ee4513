import Foundation
import MedGridImaging
import Testing

/// IBSI-1 digital phantom: every row of Reference/ibsi/reference_values.csv.
@Suite struct RadiomicsIBSIPhantomTests {
    static let rows: [IBSIReferenceRow] = (try? RadiomicsTestSupport.loadRows()) ?? []
    static let result: RadiomicsResult? = {
        // The phantom as published (NIfTI), through MedGrid's own reader.
        guard let image = try? NIfTI.read(contentsOf: RadiomicsTestSupport.referenceURL("phantom.nii.gz")),
              let mask = try? NIfTI.read(contentsOf: RadiomicsTestSupport.referenceURL("mask.nii.gz"))
        else { return nil }
        return try? Radiomics.extract(image: image, mask: mask, settings: .ibsiDigitalPhantom)
    }()

    /// The number of CSV rows this implementation must match (raise it when more features are added).
    static let minimumImplementedRows = 482

    @Test func referenceTableIsComplete() throws {
        #expect(Self.rows.count == 482)
        #expect(Self.result != nil)
    }

    @Test(arguments: rows)
    func phantomFeatureMatchesReference(_ row: IBSIReferenceRow) throws {
        let result = try #require(Self.result)
        let match = result.features.first { $0.ibsiID == row.ibsiID && $0.aggregation == row.aggregation }
        guard let match else { return }  // not implemented: listed by `implementedCount`
        #expect(match.family == row.family, "\(row): family \(match.family)")
        let diff = abs(match.value - row.value)
        #expect(diff <= row.tolerance, "\(row): got \(match.value), expected \(row.value) ± \(row.tolerance)")
    }

    @Test func implementedCount() throws {
        let result = try #require(Self.result)
        var missing: [String] = []
        var implemented = 0
        for row in Self.rows {
            if result.features.contains(where: { $0.ibsiID == row.ibsiID && $0.aggregation == row.aggregation }) {
                implemented += 1
            } else {
                missing.append("\(row.ibsiID)[\(row.aggregation)]")
            }
        }
        print("IBSI phantom: \(implemented) of \(Self.rows.count) reference rows implemented; missing: \(missing)")
        #expect(implemented >= Self.minimumImplementedRows)
    }
}


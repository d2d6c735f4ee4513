import Foundation
import MedGridCore
import MedGridImaging
import Testing

/// Discretisation, resegmentation, errors and JSON output on tiny hand-computed cases.
@Suite struct RadiomicsSettingsTests {
    /// A 4×1×1 image with the given values, all inside the mask.
    static func line(_ values: [Float]) -> (Volume, Volume) {
        let size = SIMD3(values.count, 1, 1)
        return (Volume(size: size, voxels: values), Volume(size: size, filledWith: 1))
    }

    static func histogramOnly(_ d: RadiomicsSettings.Discretisation, origin: RadiomicsSettings.BinOrigin = .ibsi)
        -> RadiomicsSettings
    {
        RadiomicsSettings(discretisation: d, binOrigin: origin, families: [.intensityStatistics, .intensityHistogram])
    }

    @Test func fixedBinSizeStartsAtROIMinimumInIBSIMode() throws {
        // Values −7, 3, 12, 28 with w = 10 from the minimum −7: levels 1, 2, 2, 4.
        let (img, msk) = Self.line([-7, 3, 12, 28])
        let r = try Radiomics.extract(image: img, mask: msk, settings: Self.histogramOnly(.fixedBinSize(10)))
        #expect(r.value("1PR8") == 1)
        #expect(r.value("3NCY") == 4)
        #expect(abs(r.value("X6K6")! - 2.25) < 1e-12)
    }

    @Test func fixedBinSizeUsesMultiplesOfWidthInPyRadiomicsMode() throws {
        // floor(x/10) − floor(−7/10) + 1: levels 1, 2, 3, 4.
        let (img, msk) = Self.line([-7, 3, 12, 28])
        let r = try Radiomics.extract(
            image: img, mask: msk, settings: Self.histogramOnly(.fixedBinSize(10), origin: .pyRadiomics))
        #expect(abs(r.value("X6K6")! - 2.5) < 1e-12)
        #expect(r.value("3NCY") == 4)
    }

    @Test func fixedBinSizeWithStatedLowerBound() throws {
        // Lower bound −20: levels floor((x + 20)/10) + 1 = 2, 3, 4, 5.
        let (img, msk) = Self.line([-7, 3, 12, 28])
        let r = try Radiomics.extract(
            image: img, mask: msk, settings: Self.histogramOnly(.fixedBinSize(10, lowerBound: -20)))
        #expect(abs(r.value("X6K6")! - 3.5) < 1e-12)
    }

    @Test func fixedBinNumberMapsMaximumToTopBin() throws {
        // N = 4 over [0, 8]: floor(4x/8) + 1 → 1, 2, 3, 4 (8 maps to 4, not 5).
        let (img, msk) = Self.line([0, 2, 4, 8])
        let r = try Radiomics.extract(image: img, mask: msk, settings: Self.histogramOnly(.fixedBinNumber(4)))
        #expect(abs(r.value("X6K6")! - 2.5) < 1e-12)
        #expect(r.value("3NCY") == 4)
    }

    @Test func resegmentationRangeAndOutlierFiltering() throws {
        let (img, msk) = Self.line([-500, 10, 20, 30, 40, 3000])
        var s = Self.histogramOnly(.fixedBinNumber(8))
        s.resegmentationLower = 0
        s.resegmentationUpper = 100
        let r = try Radiomics.extract(image: img, mask: msk, settings: s)
        #expect(abs(r.value("Q4LE")! - 25) < 1e-12)
        #expect(r.value("1GSF") == 10)
        // Outlier filtering (3 sd) on 20 values of 100 and one of 1000: mean 142.86, sd 191.7 → 1000 removed.
        let values: [Float] = Array(repeating: 100, count: 20) + [1000]
        let (img2, msk2) = Self.line(values)
        var s2 = Self.histogramOnly(.fixedBinNumber(8))
        s2.outlierFilteringSigmas = 3
        let r2 = try Radiomics.extract(image: img2, mask: msk2, settings: s2)
        #expect(r2.value("84IY") == 100)
    }

    @Test func kurtosisConventions() throws {
        let (img, msk) = Self.line([1, 2, 3, 10])
        // Deviations from the mean 4: −3, −2, −1, 6 → m2 = 50/4 = 12.5, m4 = 1394/4 = 348.5: plain 2.2304, excess −0.7696.
        let excess = try Radiomics.extract(image: img, mask: msk, settings: Self.histogramOnly(.none))
        var s = Self.histogramOnly(.none)
        s.kurtosis = .plain
        let plain = try Radiomics.extract(image: img, mask: msk, settings: s)
        #expect(abs(plain.value("IPH6")! - 348.5 / 156.25) < 1e-12)
        #expect(abs(excess.value("IPH6")! - (348.5 / 156.25 - 3)) < 1e-12)
    }

    @Test func invalidInputThrows() throws {
        let (img, msk) = Self.line([1, 2, 3, 4])
        let other = Volume(size: SIMD3(3, 1, 1), filledWith: 1)
        #expect(throws: MedGridError.self) { try Radiomics.extract(image: img, mask: other, settings: .ibsiDigitalPhantom) }
        let empty = Volume(size: SIMD3(4, 1, 1), filledWith: 0)
        #expect(throws: MedGridError.self) { try Radiomics.extract(image: img, mask: empty, settings: .ibsiDigitalPhantom) }
        let (zero, zmask) = Self.line([0, 1, 2, 3])
        #expect(throws: MedGridError.self) { try Radiomics.extract(image: zero, mask: zmask, settings: .ibsiDigitalPhantom) }
        #expect(throws: MedGridError.self) {
            try Radiomics.extract(image: img, mask: msk, settings: Self.histogramOnly(.fixedBinSize(0)))
        }
        var s = Self.histogramOnly(.fixedBinNumber(4))
        s.resegmentationLower = 100
        #expect(throws: MedGridError.self) { try Radiomics.extract(image: img, mask: msk, settings: s) }
    }

    @Test func jsonListsFeaturesByIBSIIdentifier() throws {
        let (img, msk) = Self.line([1, 2, 3, 10])
        let r = try Radiomics.extract(image: img, mask: msk, settings: Self.histogramOnly(.none))
        let parsed = try JSONValue(parsing: Data(r.json().utf8))
        let list = try #require(parsed["features"]?.arrayValue)
        #expect(list.count == r.features.count)
        #expect(list.first?["ibsi_id"]?.stringValue == "Q4LE")
        #expect(list.first?["value"]?.doubleValue == 4)
        #expect(list.first?["aggregation"]?.stringValue == "")
    }
}

import Foundation
import MedGridImaging
import Testing

/// The PyRadiomics-compatible preset against PyRadiomics 3.1.4 (pyradiomics-bhklab) on a synthetic case
/// (Reference/pyradiomics, made by reference-scripts/pyradiomics_reference.py).
@Suite struct RadiomicsPyRadiomicsTests {
    /// PyRadiomics feature name → (IBSI id, aggregation, relative tolerance).
    static let mapping: [(String, String, String, Double)] = {
        var m: [(String, String, String, Double)] = []
        let exact = 1e-9
        let first: [(String, String)] = [
            ("10Percentile", "QG58"), ("90Percentile", "8DWT"), ("Energy", "N8CA"), ("Entropy", "TLU2"),
            ("InterquartileRange", "SALO"), ("Kurtosis", "IPH6"), ("Maximum", "84IY"), ("Mean", "Q4LE"),
            ("MeanAbsoluteDeviation", "4FUA"), ("Median", "Y12H"), ("Minimum", "1GSF"), ("Range", "2OJQ"),
            ("RobustMeanAbsoluteDeviation", "1128"), ("RootMeanSquared", "5ZWQ"), ("Skewness", "KE2A"),
            ("Uniformity", "BJ5W"), ("Variance", "ECT3"),
        ]
        m += first.map { ("firstorder_" + $0.0, $0.1, "", exact) }
        let shape: [(String, String, Double)] = [
            ("MeshVolume", "RNU0", 1e-9), ("VoxelVolume", "YEKZ", exact), ("SurfaceArea", "C0JK", 1e-9),
            ("SurfaceVolumeRatio", "2PR5", 1e-9), ("Sphericity", "QCFX", 1e-9), ("Maximum3DDiameter", "L0JK", 1e-9),
            ("MajorAxisLength", "TDIC", exact), ("MinorAxisLength", "P9VJ", exact), ("LeastAxisLength", "7J51", exact),
            ("Elongation", "Q3CK", exact), ("Flatness", "N17B", exact),
        ]
        m += shape.map { ("shape_" + $0.0, $0.1, "", $0.2) }
        let glcm: [(String, String)] = [
            ("Autocorrelation", "QWB0"), ("ClusterProminence", "AE86"), ("ClusterShade", "7NFM"),
            ("ClusterTendency", "DG8W"), ("Contrast", "ACUI"), ("Correlation", "NI2N"), ("DifferenceAverage", "TF7R"),
            ("DifferenceEntropy", "NTRS"), ("DifferenceVariance", "D3YU"), ("Id", "IB1Z"), ("Idm", "WF0Z"),
            ("Idmn", "1QCO"), ("Idn", "NDRX"), ("Imc1", "R8DG"), ("Imc2", "JN9H"), ("InverseVariance", "E8JP"),
            ("JointAverage", "60VM"), ("JointEnergy", "8ZQL"), ("JointEntropy", "TU9B"), ("MaximumProbability", "GYBY"),
            ("SumAverage", "ZGXS"), ("SumEntropy", "P6QZ"), ("SumSquares", "UR99"),
        ]
        m += glcm.map { ("glcm_" + $0.0, $0.1, "3D:avg", exact) }
        let glrlm: [(String, String)] = [
            ("GrayLevelNonUniformity", "R5YN"), ("GrayLevelNonUniformityNormalized", "OVBL"),
            ("GrayLevelVariance", "8CE5"), ("HighGrayLevelRunEmphasis", "G3QZ"), ("LongRunEmphasis", "W4KF"),
            ("LongRunHighGrayLevelEmphasis", "3KUM"), ("LongRunLowGrayLevelEmphasis", "IVPO"),
            ("LowGrayLevelRunEmphasis", "V3SW"), ("RunEntropy", "HJ9O"), ("RunLengthNonUniformity", "W92Y"),
            ("RunLengthNonUniformityNormalized", "IC23"), ("RunPercentage", "9ZK5"), ("RunVariance", "SXLW"),
            ("ShortRunEmphasis", "22OV"), ("ShortRunHighGrayLevelEmphasis", "GD3A"),
            ("ShortRunLowGrayLevelEmphasis", "HTZT"),
        ]
        m += glrlm.map { ("glrlm_" + $0.0, $0.1, "3D:avg", exact) }
        let glszm: [(String, String)] = [
            ("GrayLevelNonUniformity", "JNSA"), ("GrayLevelNonUniformityNormalized", "Y1RO"),
            ("GrayLevelVariance", "BYLV"), ("HighGrayLevelZoneEmphasis", "5GN9"), ("LargeAreaEmphasis", "48P8"),
            ("LargeAreaHighGrayLevelEmphasis", "J17V"), ("LargeAreaLowGrayLevelEmphasis", "YH51"),
            ("LowGrayLevelZoneEmphasis", "XMSY"), ("SizeZoneNonUniformity", "4JP3"),
            ("SizeZoneNonUniformityNormalized", "VB3A"), ("SmallAreaEmphasis", "5QRC"),
            ("SmallAreaHighGrayLevelEmphasis", "HW1V"), ("SmallAreaLowGrayLevelEmphasis", "5RAI"),
            ("ZoneEntropy", "GU8N"), ("ZonePercentage", "P30P"), ("ZoneVariance", "3NSA"),
        ]
        m += glszm.map { ("glszm_" + $0.0, $0.1, "3D", exact) }
        let gldm: [(String, String)] = [
            ("DependenceEntropy", "FCBV"), ("DependenceNonUniformity", "Z87G"),
            ("DependenceNonUniformityNormalized", "OKJI"), ("DependenceVariance", "DNX2"),
            ("GrayLevelNonUniformity", "FP8K"), ("GrayLevelVariance", "1PFV"), ("HighGrayLevelEmphasis", "OAE7"),
            ("LargeDependenceEmphasis", "IMOQ"), ("LargeDependenceHighGrayLevelEmphasis", "9QMG"),
            ("LargeDependenceLowGrayLevelEmphasis", "NBZI"), ("LowGrayLevelEmphasis", "TL9H"),
            ("SmallDependenceEmphasis", "SODN"), ("SmallDependenceHighGrayLevelEmphasis", "JA6D"),
            ("SmallDependenceLowGrayLevelEmphasis", "EQ3F"),
        ]
        m += gldm.map { ("gldm_" + $0.0, $0.1, "3D", exact) }
        let ngtdm: [(String, String)] = [
            ("Busyness", "NQ30"), ("Coarseness", "QCDE"), ("Complexity", "HDEZ"), ("Contrast", "65HE"),
            ("Strength", "1X9X"),
        ]
        m += ngtdm.map { ("ngtdm_" + $0.0, $0.1, "3D", exact) }
        return m
    }()

    static func loadCase() throws -> (Volume, Volume, [String: Double]) {
        let base = Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("pyradiomics")
        let image = try RadiomicsTestSupport.loadRaw(base.appendingPathComponent("case_image"))
        let mask = try RadiomicsTestSupport.loadRaw(base.appendingPathComponent("case_mask"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: base.appendingPathComponent("pyradiomics_features.json"))) as? [String: Any]
        let features = try #require(json?["features"] as? [String: NSNumber])
        return (image, mask, features.mapValues(\.doubleValue))
    }

    @Test func pyRadiomicsPresetMatchesPyRadiomics() throws {
        let (image, mask, reference) = try Self.loadCase()
        let result = try Radiomics.extract(image: image, mask: mask, settings: .pyRadiomics(binWidth: 25))
        var report: [String] = []
        var failures: [String] = []
        for (name, id, agg, tol) in Self.mapping {
            let expected = try #require(reference[name], "PyRadiomics value \(name) missing")
            let got = try #require(result.value(id, aggregation: agg), "feature \(id) [\(agg)] missing")
            let rel = abs(got - expected) / max(abs(expected), 1e-12)
            report.append("\(name) \(id): ours \(got) PyRadiomics \(expected) rel \(rel)")
            if !(rel <= tol || abs(got - expected) <= 1e-12) { failures.append(report.last!) }
        }
        print(report.joined(separator: "\n"))
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}

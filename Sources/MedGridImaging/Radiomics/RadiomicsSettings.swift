/// Settings of a radiomics feature extraction, following the IBSI-1 reference manual
/// (Zwanenburg et al., Radiology 2020; ibsi.readthedocs.io), with a preset that reproduces PyRadiomics'
/// conventions where they differ from IBSI.
///
/// Masks: the *morphological mask* is the input mask (voxel value `> 0.5`); the *intensity mask* is the
/// morphological mask after resegmentation (range and/or outlier filtering). Morphology uses the former,
/// every intensity-based family the latter, as IBSI prescribes.
public struct RadiomicsSettings: Sendable, Equatable {
    /// How intensities are mapped to grey levels `1...Ng` for the histogram and texture families.
    public enum Discretisation: Sendable, Equatable {
        /// No discretisation: the intensities are used as grey levels (rounded to the nearest integer,
        /// which must be ≥ 1). This is the IBSI configuration for the digital phantom. `Ng` is the
        /// largest grey level in the intensity mask.
        case none
        /// Fixed bin number (IBSI "FBN"): `X_d = floor(N (X − X_min) / (X_max − X_min)) + 1`, with
        /// `X_max` mapped to `N`; `X_min`/`X_max` are the extremes inside the intensity mask. `Ng = N`.
        case fixedBinNumber(Int)
        /// Fixed bin size (IBSI "FBS") of width `w`: `X_d = floor((X − X_min) / w) + 1`, where `X_min` is
        /// `lowerBound` if given, else the resegmentation lower bound if set, else the ROI minimum
        /// (``BinOrigin/ibsi``); with ``BinOrigin/pyRadiomics`` the edges are multiples of `w`:
        /// `X_d = floor(X / w) − floor(X_min / w) + 1`. `Ng` is the largest grey level in the mask.
        case fixedBinSize(Double, lowerBound: Double? = nil)
    }

    /// Where fixed-bin-size bins start.
    public enum BinOrigin: String, Sendable, Equatable {
        /// Bins start at the stated lower bound or the ROI minimum (IBSI).
        case ibsi
        /// Bin edges are multiples of the bin width (PyRadiomics: `floor(x/w) − floor(min/w) + 1`).
        case pyRadiomics
    }

    /// How directional texture matrices (GLCM, GLRLM) are aggregated, by IBSI code.
    ///
    /// Direction-free families (GLSZM, GLDZM, NGTDM, NGLDM) are reported as `"3D"` when any 3-D method
    /// is requested, `"2D"` (features per slice, averaged) when any 2-D method is, and `"2.5D"` (slice
    /// matrices merged) when any 2.5-D method is.
    public enum TextureAggregation: String, Sendable, Equatable, CaseIterable {
        /// Features per slice and in-plane direction (4), averaged over all of them.
        case twoDAveraged = "2D:avg"
        /// Per slice the 4 direction matrices are merged; features averaged over slices.
        case twoDSliceMerged = "2D:s-mrg"
        /// Per in-plane direction the matrices of all slices are merged; features averaged over directions.
        case twoPointFiveDDirectionMerged = "2.5D:d-mrg"
        /// All slice and in-plane direction matrices merged into one.
        case twoPointFiveDMerged = "2.5D:mrg"
        /// Features per 3-D direction (13), averaged.
        case threeDAveraged = "3D:avg"
        /// The 13 direction matrices merged into one.
        case threeDMerged = "3D:mrg"

        /// Whether the method works slice by slice (2D or 2.5D).
        public var isSliceBased: Bool { self != .threeDAveraged && self != .threeDMerged }
    }

    /// Kurtosis convention of the intensity statistics and histogram families.
    public enum KurtosisConvention: String, Sendable, Equatable {
        /// `m4 / m2² − 3` (IBSI).
        case excess
        /// `m4 / m2²` (PyRadiomics).
        case plain
    }

    /// Denominator of the covariance of voxel positions behind the PCA axis lengths.
    public enum AxisCovariance: String, Sendable, Equatable {
        /// Divide by `N − 1` (numpy `cov` default; the IBSI default here, matching the phantom values).
        case sample
        /// Divide by `N` (PyRadiomics: its axis lengths are `sqrt(N/(N−1))` smaller than with `.sample`).
        case population
    }

    /// The feature families, in the order they are reported.
    public enum Family: String, Sendable, Equatable, CaseIterable {
        case morphology = "Morphological features"
        case localIntensity = "Local intensity features"
        case intensityStatistics = "Intensity-based statistical features"
        case intensityHistogram = "Intensity histogram features"
        case intensityVolumeHistogram = "Intensity-volume histogram features"
        case glcm = "Grey level co-occurrence based features"
        case glrlm = "Grey level run length based features"
        case glszm = "Grey level size zone based features"
        case gldzm = "Grey level distance zone based features"
        case ngtdm = "Neighbourhood grey tone difference based features"
        case ngldm = "Neighbouring grey level dependence based features"
    }

    /// Discretisation for the intensity histogram and texture families.
    public var discretisation: Discretisation
    /// Discretisation for the intensity-volume histogram; `nil` uses ``discretisation``.
    public var intensityVolumeDiscretisation: Discretisation?
    /// Bin origin for fixed-bin-size discretisation.
    public var binOrigin: BinOrigin
    /// Resegmentation: intensity-mask voxels below this value are removed (`nil`: no lower bound).
    public var resegmentationLower: Double?
    /// Resegmentation: intensity-mask voxels above this value are removed (`nil`: no upper bound).
    public var resegmentationUpper: Double?
    /// Outlier filtering: voxels outside `mean ± k·sd` (population sd, computed after range
    /// resegmentation) are removed; IBSI uses `k = 3`. `nil` disables it.
    public var outlierFilteringSigmas: Double?
    /// Texture aggregation methods to report (GLCM/GLRLM per method; zone families per dimension).
    public var textureAggregations: [TextureAggregation]
    /// Families to compute.
    public var families: [Family]
    /// Kurtosis convention.
    public var kurtosis: KurtosisConvention
    /// Covariance denominator for the PCA axis lengths.
    public var axisCovariance: AxisCovariance
    /// Volume of the local-intensity sphere in mm³ (IBSI: 1 cm³ = 1000 mm³).
    public var peakSphereVolume: Double
    /// NGLDM coarseness parameter α: neighbours with `|i − j| ≤ α` are dependent (IBSI default 0).
    public var ngldmAlpha: Int
    /// Moran's I and Geary's C use all voxel pairs (O(N²)); above this many ROI voxels they are skipped.
    public var spatialAutocorrelationVoxelLimit: Int

    /// Creates settings; defaults are IBSI conventions with all six aggregation methods.
    public init(
        discretisation: Discretisation,
        intensityVolumeDiscretisation: Discretisation? = nil,
        binOrigin: BinOrigin = .ibsi,
        resegmentationLower: Double? = nil,
        resegmentationUpper: Double? = nil,
        outlierFilteringSigmas: Double? = nil,
        textureAggregations: [TextureAggregation] = TextureAggregation.allCases,
        families: [Family] = Family.allCases,
        kurtosis: KurtosisConvention = .excess,
        axisCovariance: AxisCovariance = .sample,
        peakSphereVolume: Double = 1000,
        ngldmAlpha: Int = 0,
        spatialAutocorrelationVoxelLimit: Int = 20_000
    ) {
        self.discretisation = discretisation
        self.intensityVolumeDiscretisation = intensityVolumeDiscretisation
        self.binOrigin = binOrigin
        self.resegmentationLower = resegmentationLower
        self.resegmentationUpper = resegmentationUpper
        self.outlierFilteringSigmas = outlierFilteringSigmas
        self.textureAggregations = textureAggregations
        self.families = families
        self.kurtosis = kurtosis
        self.axisCovariance = axisCovariance
        self.peakSphereVolume = peakSphereVolume
        self.ngldmAlpha = ngldmAlpha
        self.spatialAutocorrelationVoxelLimit = spatialAutocorrelationVoxelLimit
    }

    /// The IBSI configuration used for the digital phantom: no discretisation, no resegmentation,
    /// all six texture aggregation methods, every family.
    public static var ibsiDigitalPhantom: RadiomicsSettings { RadiomicsSettings(discretisation: .none) }

    /// PyRadiomics-compatible settings (PyRadiomics 3.x defaults): fixed bin width `binWidth` with edges
    /// at multiples of the width (`floor(x/w) − floor(min/w) + 1`), plain (non-excess) kurtosis, texture
    /// features per 3-D direction averaged (`3D:avg`; zone families `"3D"`), PCA axis lengths from the
    /// population covariance (N). Known remaining difference: PyRadiomics drops empty grey levels before
    /// computing GLCM `Idn`/`Idmn`, so those two use a different `Ng` when some level between 1 and the
    /// maximum is absent from the ROI.
    public static func pyRadiomics(binWidth: Double = 25) -> RadiomicsSettings {
        // PyRadiomics has no Moran's I / Geary's C (IBSI's all-pairs spatial autocorrelation), so they are off here.
        RadiomicsSettings(
            discretisation: .fixedBinSize(binWidth, lowerBound: nil), binOrigin: .pyRadiomics,
            textureAggregations: [.threeDAveraged], kurtosis: .plain, axisCovariance: .population,
            spatialAutocorrelationVoxelLimit: 0)
    }
}

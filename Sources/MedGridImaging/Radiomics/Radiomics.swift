import MedGridCore

/// Radiomics feature extraction following the IBSI-1 reference manual (Zwanenburg et al., "The Image
/// Biomarker Standardization Initiative", Radiology 2020;295:328–338; ibsi.readthedocs.io).
///
/// Pipeline: the morphological mask is `mask > 0.5`; the intensity mask is that after resegmentation
/// (``RadiomicsSettings/resegmentationLower``/``RadiomicsSettings/resegmentationUpper``, outlier filtering);
/// intensities inside it are discretised (``RadiomicsSettings/Discretisation``) for the histogram and
/// texture families. No resampling or interpolation is done: compute on the grid as given. Features are
/// reported by IBSI identifier in the order of ``RadiomicsSettings/Family``.
public enum Radiomics {
    /// Extracts the features of `settings.families` from `image` inside `mask` (same size; geometry of the
    /// image is used, spacing in mm).
    ///
    /// - Throws: `MedGridError(.invalidInput)` when sizes differ, the mask or the resegmented mask is empty,
    ///   spacing is not positive, an intensity inside the mask is not finite, or the discretisation is invalid.
    public static func extract(image: Volume, mask: Volume, settings: RadiomicsSettings) throws -> RadiomicsResult {
        let roi = try RadiomicsROI.make(image: image, mask: mask, settings: settings)
        var sink = RadiomicsSink()
        for family in RadiomicsSettings.Family.allCases where settings.families.contains(family) {
            switch family {
            case .morphology: RadiomicsMorphology.compute(roi, settings, into: &sink)
            case .localIntensity: RadiomicsFirstOrder.localIntensity(roi, image: image, settings, into: &sink)
            case .intensityStatistics: RadiomicsFirstOrder.intensityStatistics(roi, settings, into: &sink)
            case .intensityHistogram: RadiomicsFirstOrder.intensityHistogram(roi, settings, into: &sink)
            case .intensityVolumeHistogram: try RadiomicsFirstOrder.intensityVolumeHistogram(roi, settings, into: &sink)
            case .glcm: RadiomicsTexture.glcm(roi, settings, into: &sink)
            case .glrlm: RadiomicsTexture.glrlm(roi, settings, into: &sink)
            case .glszm: RadiomicsTexture.glszm(roi, settings, into: &sink)
            case .gldzm: RadiomicsTexture.gldzm(roi, settings, into: &sink)
            case .ngtdm: RadiomicsTexture.ngtdm(roi, settings, into: &sink)
            case .ngldm: RadiomicsTexture.ngldm(roi, settings, into: &sink)
            }
        }
        return RadiomicsResult(features: sink.features)
    }
}

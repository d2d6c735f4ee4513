import MedGridCore

/// One computed radiomics feature, identified by its IBSI identifier.
public struct RadiomicsFeature: Sendable, Equatable {
    /// IBSI identifier, e.g. `"Q4LE"` (mean intensity). Intensity-volume histogram features that the
    /// manual parameterises carry the parameter as suffix: `"BC2M_10"` (V10), `"BC2M_90"`, `"GBPN_10"`, `"GBPN_90"`.
    public var ibsiID: String
    /// Family name as in the IBSI manual (``RadiomicsSettings/Family`` raw value).
    public var family: String
    /// Feature name as in the IBSI manual.
    public var name: String
    /// Aggregation method: `""` for non-texture families, an IBSI code such as `"3D:mrg"` for GLCM/GLRLM,
    /// `"2D"`, `"2.5D"` or `"3D"` for the direction-free texture families.
    public var aggregation: String
    /// The feature value (NaN when undefined for this ROI, e.g. a correlation with zero variance).
    public var value: Double

    /// Creates a feature record.
    public init(ibsiID: String, family: String, name: String, aggregation: String, value: Double) {
        self.ibsiID = ibsiID
        self.family = family
        self.name = name
        self.aggregation = aggregation
        self.value = value
    }
}

/// The features extracted from one image and mask, in IBSI family order.
public struct RadiomicsResult: Sendable, Equatable {
    /// Features in reporting order.
    public var features: [RadiomicsFeature]

    /// Wraps features in reporting order.
    public init(features: [RadiomicsFeature]) { self.features = features }

    /// The value of feature `ibsiID` with aggregation `aggregation` (`""` for non-texture features).
    public func value(_ ibsiID: String, aggregation: String = "") -> Double? {
        features.first { $0.ibsiID == ibsiID && $0.aggregation == aggregation }?.value
    }

    /// Canonical JSON: `{"features":[{"aggregation":…,"family":…,"ibsi_id":…,"name":…,"value":…},…]}`;
    /// non-finite values are written as `null`.
    public func json() -> String {
        let list: [JSONValue] = features.map { f in
            .object([
                "ibsi_id": .string(f.ibsiID), "family": .string(f.family), "name": .string(f.name),
                "aggregation": .string(f.aggregation), "value": f.value.isFinite ? .double(f.value) : .null,
            ])
        }
        return CanonicalJSON.encode(.object(["features": .array(list)]))
    }
}

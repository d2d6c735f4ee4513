public import Foundation

/// A synthetic two-arm, multi-site oncology time-to-event table shaped like ADaM ADTTE (one `OS` row per
/// subject), for tests and demos. It holds no real patient data.
///
/// Conventions:
/// - Columns: `STUDYID` (`MG01`), `USUBJID` (`MG01-<site>-<4-digit number within site>`), `SITEID` (`S01`…),
///   `TRT01P` (`Placebo` / `Drug A`, 1:1), `TRT01PN` (0 / 1), `AGE` (integer years, 18–90, about 2 % missing
///   as `""`), `SEX` (`F` / `M`), `ECOG` (0–2), `PARAMCD` (`OS`), `AVAL` (days, one decimal), `CNSR`
///   (0 event, 1 censored at the end of study, 2 lost to follow-up).
/// - Survival is exponential: a placebo median of about 420 days, hazard ratio 0.7 for `Drug A`, a fixed
///   per-site hazard multiplier in 0.8–1.25 and ECOG multipliers 1, 1.35, 1.8. Dropout is exponential at about
///   8 % a year; administrative censoring is at 1095 days. `AVAL` is the earliest of the three times.
/// - Deterministic: a SplitMix64 generator seeded with `seed` and arithmetic limited to `+ - * /` and `sqrt`
///   (the logarithm is computed here), so output is byte-identical for the same settings on any IEEE-754
///   platform.
public enum CohortSynth {
    /// What to generate.
    public struct Settings: Sendable, Hashable {
        /// Number of subjects (rows); negative counts as 0.
        public var subjects: Int
        /// Number of sites; less than 1 counts as 1.
        public var sites: Int
        public var seed: UInt64

        public init(subjects: Int = 600, sites: Int = 4, seed: UInt64 = 1) {
            self.subjects = subjects
            self.sites = sites
            self.seed = seed
        }
    }

    public static let columns = [
        "STUDYID", "USUBJID", "SITEID", "TRT01P", "TRT01PN", "AGE", "SEX", "ECOG", "PARAMCD", "AVAL", "CNSR",
    ]

    /// Generates the table described in ``CohortSynth``.
    public static func generate(settings: Settings) -> CohortTable {
        var rng = SplitMix64(seed: settings.seed)
        let siteCount = max(1, settings.sites)
        let siteIDs = (1...siteCount).map { "S" + padded($0, 2) }
        // Fixed per-site hazard multiplier and enrolment weight.
        let siteHazard = (0..<siteCount).map { _ in 0.8 + 0.45 * rng.unit() }
        let siteWeight = (0..<siteCount).map { _ in 0.5 + rng.unit() }
        let totalWeight = siteWeight.reduce(0, +)
        var enrolled = Array(repeating: 0, count: siteCount)

        let placeboHazard = ln2 / 420.0
        let dropoutHazard = 0.08 / 365.25
        let ecogHazard = [1.0, 1.35, 1.8]

        var rows: [[String]] = []
        rows.reserveCapacity(max(0, settings.subjects))
        for _ in 0..<max(0, settings.subjects) {
            var pick = rng.unit() * totalWeight
            var site = 0
            while site < siteCount - 1, pick >= siteWeight[site] {
                pick -= siteWeight[site]
                site += 1
            }
            enrolled[site] += 1
            let drug = rng.unit() < 0.5
            let ageValue = Swift.min(90, Swift.max(18, Int((62 + 10 * rng.normal()).rounded())))
            let ageMissing = rng.unit() < 0.02
            let sex = rng.unit() < 0.48 ? "F" : "M"
            let u = rng.unit()
            let ecog = u < 0.45 ? 0 : (u < 0.85 ? 1 : 2)

            let hazard = placeboHazard * (drug ? 0.7 : 1.0) * siteHazard[site] * ecogHazard[ecog]
            let eventTime = -log(rng.unit()) / hazard
            let dropoutTime = -log(rng.unit()) / dropoutHazard
            let time: Double
            let cnsr: Int
            if eventTime <= dropoutTime, eventTime <= 1095 {
                (time, cnsr) = (eventTime, 0)
            } else if dropoutTime < 1095 {
                (time, cnsr) = (dropoutTime, 2)
            } else {
                (time, cnsr) = (1095, 1)
            }

            rows.append([
                "MG01",
                "MG01-\(siteIDs[site])-\(padded(enrolled[site], 4))",
                siteIDs[site],
                drug ? "Drug A" : "Placebo",
                drug ? "1" : "0",
                ageMissing ? "" : String(ageValue),
                sex,
                String(ecog),
                "OS",
                tenths(time),
                String(cnsr),
            ])
        }
        return CohortTable(columns: columns, rows: rows)
    }

    /// Generates the table and writes it as CSV (see ``CSV/write(_:)``) to `url`, atomically.
    public static func write(settings: Settings, to url: URL) throws {
        let text = CSV.write(generate(settings: settings))
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw CohortError(
                file: url.lastPathComponent, code: .unreadableFile,
                message: "cannot write file (\(error.localizedDescription))"
            )
        }
    }

    // MARK: - Deterministic helpers

    static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// `x` (≥ 0) rounded to one decimal, at least `0.1`, formatted without locale.
    static func tenths(_ x: Double) -> String {
        let t = Swift.max(1, Int((x * 10).rounded()))
        return "\(t / 10).\(t % 10)"
    }

    static let ln2 = 0.693_147_180_559_945_3

    /// Natural logarithm of a positive finite `x` using only `+ - * /`, for platform-independent output.
    static func log(_ x: Double) -> Double {
        var m = x.significand  // in [1, 2)
        var e = Double(x.exponent)
        if m > 1.414_213_562_373_095 {
            m /= 2
            e += 1
        }
        // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172.
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var term = s, sum = 0.0
        var k = 1.0
        while k < 40 {
            sum += term / k
            term *= s2
            k += 2
        }
        return e * ln2 + 2 * sum
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1).
    mutating func unit() -> Double {
        (Double(next() >> 12) + 0.5) * 0x1.0p-52
    }

    /// Standard normal by the Marsaglia polar method (uses only `log` from ``CohortSynth`` and `sqrt`).
    mutating func normal() -> Double {
        while true {
            let u = 2 * unit() - 1, v = 2 * unit() - 1
            let s = u * u + v * v
            if s > 0, s < 1 { return u * (-2 * CohortSynth.log(s) / s).squareRoot() }
        }
    }
}

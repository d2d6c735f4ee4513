import Foundation

/// Collects features in reporting order. Internal.
struct RadiomicsSink {
    var features: [RadiomicsFeature] = []
    mutating func add(
        _ id: String, _ family: RadiomicsSettings.Family, _ name: String, _ value: Double, _ aggregation: String = ""
    ) {
        features.append(
            RadiomicsFeature(ibsiID: id, family: family.rawValue, name: name, aggregation: aggregation, value: value))
    }
}

/// Intensity statistics, intensity histogram, intensity-volume histogram and local intensity (IBSI 3.2–3.5).
enum RadiomicsFirstOrder {
    /// The statistics shared by the intensity-statistics and intensity-histogram families.
    struct Moments {
        var mean = 0.0, variance = 0.0, skewness = 0.0, kurtosis = 0.0, median = 0.0, minimum = 0.0
        var p10 = 0.0, p90 = 0.0, maximum = 0.0, iqr = 0.0, range = 0.0, mad = 0.0, rmad = 0.0, medad = 0.0
        var cov = 0.0, qcod = 0.0, energy = 0.0, rms = 0.0
    }

    /// Moments of `values` (population moments, numpy-linear percentiles; skewness and kurtosis are 0 for
    /// zero variance; robust MAD over values in [P10, P90] about their mean).
    static func moments(_ values: [Double], kurtosis: RadiomicsSettings.KurtosisConvention) -> Moments {
        var m = Moments()
        let n = Double(values.count)
        guard !values.isEmpty else { return m }
        var s = 0.0, e = 0.0
        for v in values { s += v; e += v * v }
        let mu = s / n
        var m2 = 0.0, m3 = 0.0, m4 = 0.0, mad = 0.0
        for v in values {
            let d = v - mu, d2 = d * d
            m2 += d2; m3 += d2 * d; m4 += d2 * d2; mad += abs(d)
        }
        m2 /= n; m3 /= n; m4 /= n
        let sorted = values.sorted()
        m.mean = mu
        m.variance = m2
        m.skewness = m2 > 0 ? m3 / pow(m2, 1.5) : 0
        let k = m2 > 0 ? m4 / (m2 * m2) : 0
        m.kurtosis = kurtosis == .excess ? (m2 > 0 ? k - 3 : 0) : k
        m.median = RadiomicsMath.percentile(sorted, 50)
        m.minimum = sorted[0]
        m.maximum = sorted[sorted.count - 1]
        m.p10 = RadiomicsMath.percentile(sorted, 10)
        m.p90 = RadiomicsMath.percentile(sorted, 90)
        let p25 = RadiomicsMath.percentile(sorted, 25), p75 = RadiomicsMath.percentile(sorted, 75)
        m.iqr = p75 - p25
        m.range = m.maximum - m.minimum
        m.mad = mad / n
        var rs = 0.0, rc = 0.0
        for v in values where v >= m.p10 && v <= m.p90 { rs += v; rc += 1 }
        if rc > 0 {
            let rmu = rs / rc
            var ra = 0.0
            for v in values where v >= m.p10 && v <= m.p90 { ra += abs(v - rmu) }
            m.rmad = ra / rc
        }
        var md = 0.0
        for v in values { md += abs(v - m.median) }
        m.medad = md / n
        m.cov = m2.squareRoot() / mu
        m.qcod = (p75 - p25) / (p75 + p25)
        m.energy = e
        m.rms = (e / n).squareRoot()
        return m
    }

    static func intensityStatistics(_ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink) {
        let m = moments(roi.roiValues, kurtosis: settings.kurtosis)
        let f = RadiomicsSettings.Family.intensityStatistics
        sink.add("Q4LE", f, "Mean intensity", m.mean)
        sink.add("ECT3", f, "Intensity variance", m.variance)
        sink.add("KE2A", f, "Intensity skewness", m.skewness)
        sink.add("IPH6", f, "(Excess) intensity kurtosis", m.kurtosis)
        sink.add("Y12H", f, "Median intensity", m.median)
        sink.add("1GSF", f, "Minimum intensity", m.minimum)
        sink.add("QG58", f, "10th intensity percentile", m.p10)
        sink.add("8DWT", f, "90th intensity percentile", m.p90)
        sink.add("84IY", f, "Maximum intensity", m.maximum)
        sink.add("SALO", f, "Intensity interquartile range", m.iqr)
        sink.add("2OJQ", f, "Intensity range", m.range)
        sink.add("4FUA", f, "Intensity-based mean absolute deviation", m.mad)
        sink.add("1128", f, "Intensity-based robust mean absolute deviation", m.rmad)
        sink.add("N72L", f, "Intensity-based median absolute deviation", m.medad)
        sink.add("7TET", f, "Intensity-based coefficient of variation", m.cov)
        sink.add("9S40", f, "Intensity-based quartile coefficient of dispersion", m.qcod)
        sink.add("N8CA", f, "Intensity-based energy", m.energy)
        sink.add("5ZWQ", f, "Root mean square intensity", m.rms)
    }

    static func intensityHistogram(_ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink) {
        var values: [Double] = []
        values.reserveCapacity(roi.roiValues.count)
        var hist = [Double](repeating: 0, count: roi.ng + 1)
        for i in 0..<roi.count where roi.inROI[i] {
            values.append(Double(roi.levels[i]))
            hist[Int(roi.levels[i])] += 1
        }
        let m = moments(values, kurtosis: settings.kurtosis)
        let n = Double(values.count)
        // Mode: most frequent level; ties go to the level closest to the mean, then the lower one.
        var mode = 1
        for g in 1...roi.ng {
            if hist[g] > hist[mode] || (hist[g] == hist[mode] && abs(Double(g) - m.mean) < abs(Double(mode) - m.mean)) {
                mode = g
            }
        }
        var entropy = 0.0, uniformity = 0.0
        for g in 1...roi.ng where hist[g] > 0 {
            let p = hist[g] / n
            entropy -= p * log2(p)
            uniformity += p * p
        }
        // Histogram gradient over bins 1...Ng: one-sided at the ends, central differences inside.
        var grad = [Double](repeating: 0, count: roi.ng + 1)
        if roi.ng == 1 {
            grad[1] = 0
        } else {
            grad[1] = hist[2] - hist[1]
            grad[roi.ng] = hist[roi.ng] - hist[roi.ng - 1]
            if roi.ng > 2 { for g in 2..<roi.ng { grad[g] = (hist[g + 1] - hist[g - 1]) / 2 } }
        }
        var gmax = 1, gmin = 1
        for g in 1...roi.ng {
            if grad[g] > grad[gmax] { gmax = g }
            if grad[g] < grad[gmin] { gmin = g }
        }
        let f = RadiomicsSettings.Family.intensityHistogram
        sink.add("X6K6", f, "Mean discretised intensity", m.mean)
        sink.add("CH89", f, "Discretised intensity variance", m.variance)
        sink.add("88K1", f, "Discretised intensity skewness", m.skewness)
        sink.add("C3I7", f, "(Excess) discretised intensity kurtosis", m.kurtosis)
        sink.add("WIFQ", f, "Median discretised intensity", m.median)
        sink.add("1PR8", f, "Minimum discretised intensity", m.minimum)
        sink.add("GPMT", f, "10th discretised intensity percentile", m.p10)
        sink.add("OZ0C", f, "90th discretised intensity percentile", m.p90)
        sink.add("3NCY", f, "Maximum discretised intensity", m.maximum)
        sink.add("AMMC", f, "Intensity histogram mode", Double(mode))
        sink.add("WR0O", f, "Discretised intensity interquartile range", m.iqr)
        sink.add("5Z3W", f, "Discretised intensity range", m.range)
        sink.add("D2ZX", f, "Intensity histogram mean absolute deviation", m.mad)
        sink.add("WRZB", f, "Intensity histogram robust mean absolute deviation", m.rmad)
        sink.add("4RNL", f, "Intensity histogram median absolute deviation", m.medad)
        sink.add("CWYJ", f, "Intensity histogram coefficient of variation", m.cov)
        sink.add("SLWD", f, "Intensity histogram quartile coefficient of dispersion", m.qcod)
        sink.add("TLU2", f, "Discretised intensity entropy", entropy)
        sink.add("BJ5W", f, "Discretised intensity uniformity", uniformity)
        sink.add("12CE", f, "Maximum histogram gradient", grad[gmax])
        sink.add("8E6O", f, "Maximum histogram gradient intensity", Double(gmax))
        sink.add("VQB3", f, "Minimum histogram gradient", grad[gmin])
        sink.add("RHQZ", f, "Minimum histogram gradient intensity", Double(gmin))
    }

    /// Intensity-volume histogram on the grey levels of ``RadiomicsSettings/intensityVolumeDiscretisation``.
    /// Intensity fraction `γ_g = (g − g_min)/(g_max − g_min)` over the levels present; volume fraction
    /// `ν_g` = fraction of voxels with level ≥ g. `V_x` = ν at the first level with γ ≥ x; `I_x` = the
    /// first level with ν ≤ x (reported as the level's intensity: the level itself for `.none` and FBN, the
    /// bin centre for FBS), or `g_max + 1` if none.
    static func intensityVolumeHistogram(
        _ roi: RadiomicsROI, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink
    ) throws {
        let disc = settings.intensityVolumeDiscretisation ?? settings.discretisation
        let levels: [Int32]
        if settings.intensityVolumeDiscretisation == nil {
            levels = roi.levels
        } else {
            levels = try RadiomicsROI.discretise(
                intensity: roi.intensity, inROI: roi.inROI, roiValues: roi.roiValues, discretisation: disc,
                binOrigin: settings.binOrigin, resegmentationLower: settings.resegmentationLower
            ).0
        }
        var gmin = Int32.max, gmax: Int32 = 0
        for i in 0..<roi.count where roi.inROI[i] { gmin = min(gmin, levels[i]); gmax = max(gmax, levels[i]) }
        let lo = Int(gmin), hi = Int(gmax)
        var counts = [Double](repeating: 0, count: hi - lo + 2)
        for i in 0..<roi.count where roi.inROI[i] { counts[Int(levels[i]) - lo] += 1 }
        let n = Double(roi.roiValues.count)
        // nu[k]: fraction with level >= lo + k.
        var nu = [Double](repeating: 0, count: hi - lo + 2)
        var acc = 0.0
        for k in stride(from: hi - lo, through: 0, by: -1) { acc += counts[k]; nu[k] = acc / n }
        func gamma(_ k: Int) -> Double { hi == lo ? 1 : Double(k) / Double(hi - lo) }
        func volumeAt(_ x: Double) -> Double {
            for k in 0...(hi - lo) where gamma(k) >= x - 1e-12 { return nu[k] }
            return 0
        }
        func representative(_ g: Int) -> Double {
            switch disc {
            case .none, .fixedBinNumber: return Double(g)
            case .fixedBinSize(let w, let lowerBound):
                let xmin = lowerBound ?? settings.resegmentationLower ?? (roi.roiValues.min() ?? 0)
                if settings.binOrigin == .pyRadiomics { return ((xmin / w).rounded(.down) + Double(g) - 0.5) * w }
                return xmin + (Double(g) - 0.5) * w
            }
        }
        func intensityAt(_ x: Double) -> Double {
            for k in 0...(hi - lo) where nu[k] <= x + 1e-12 { return representative(lo + k) }
            return representative(hi + 1)
        }
        let f = RadiomicsSettings.Family.intensityVolumeHistogram
        let v10 = volumeAt(0.1), v90 = volumeAt(0.9), i10 = intensityAt(0.1), i90 = intensityAt(0.9)
        sink.add("BC2M_10", f, "Volume at intensity fraction", v10)
        sink.add("BC2M_90", f, "Volume at intensity fraction", v90)
        sink.add("GBPN_10", f, "Intensity at volume fraction", i10)
        sink.add("GBPN_90", f, "Intensity at volume fraction", i90)
        sink.add("DDTU", f, "Volume fraction difference between intensity fractions", v10 - v90)
        sink.add("CNV2", f, "Intensity fraction difference between volume fractions", i10 - i90)
    }

    /// Local (VJGA) and global (0F91) intensity peak: the mean image intensity in a sphere of volume
    /// ``RadiomicsSettings/peakSphereVolume`` (voxel centres within radius `r = (3V/4π)^(1/3)` mm, image
    /// voxels inside or outside the ROI, clipped at the image border), centred on the ROI's maximum-intensity
    /// voxels (local: the largest such mean) or on every ROI voxel (global: the largest mean).
    static func localIntensity(
        _ roi: RadiomicsROI, image: Volume, _ settings: RadiomicsSettings, into sink: inout RadiomicsSink
    ) {
        let r = cbrt(3 * settings.peakSphereVolume / (4 * Double.pi))
        let sp = image.spacing
        let ky = Int((r / sp.y).rounded(.down)), kz = Int((r / sp.z).rounded(.down))
        // Sphere as x-runs: (dy, dz, half-width in x).
        var rows: [(Int, Int, Int)] = []
        for dz in -kz...kz {
            for dy in -ky...ky {
                let rem = r * r * (1 + 1e-12) - Double(dy * dy) * sp.y * sp.y - Double(dz * dz) * sp.z * sp.z
                if rem < 0 { continue }
                rows.append((dy, dz, Int((rem.squareRoot() / sp.x).rounded(.down))))
            }
        }
        let sx = image.size.x, sy = image.size.y, sz = image.size.z
        // Region of the image reachable from the box, with x-prefix sums per row.
        let y0 = max(0, roi.offset.y - ky), y1 = min(sy - 1, roi.offset.y + roi.ny - 1 + ky)
        let z0 = max(0, roi.offset.z - kz), z1 = min(sz - 1, roi.offset.z + roi.nz - 1 + kz)
        let ry = y1 - y0 + 1, rz = z1 - z0 + 1
        var prefix = [Double](repeating: 0, count: (sx + 1) * ry * rz)
        image.voxels.withUnsafeBufferPointer { v in
            for z in 0..<rz {
                for y in 0..<ry {
                    let base = (sx + 1) * (y + ry * z)
                    let src = sx * ((y + y0) + sy * (z + z0))
                    var acc = 0.0
                    for x in 0..<sx { acc += Double(v[src + x]); prefix[base + x + 1] = acc }
                }
            }
        }
        func localMean(_ gx: Int, _ gy: Int, _ gz: Int) -> Double {
            var s = 0.0, c = 0
            for (dy, dz, k) in rows {
                let yy = gy + dy, zz = gz + dz
                if yy < 0 || yy >= sy || zz < 0 || zz >= sz { continue }
                let a = max(0, gx - k), b = min(sx - 1, gx + k)
                let base = (sx + 1) * ((yy - y0) + ry * (zz - z0))
                s += prefix[base + b + 1] - prefix[base + a]
                c += b - a + 1
            }
            return s / Double(c)
        }
        var maxI = -Double.infinity
        for i in 0..<roi.count where roi.inROI[i] { maxI = max(maxI, roi.intensity[i]) }
        var local = -Double.infinity, global = -Double.infinity
        for z in 0..<roi.nz {
            for y in 0..<roi.ny {
                for x in 0..<roi.nx {
                    let i = roi.index(x, y, z)
                    guard roi.inROI[i] else { continue }
                    let m = localMean(x + roi.offset.x, y + roi.offset.y, z + roi.offset.z)
                    global = max(global, m)
                    if roi.intensity[i] == maxI { local = max(local, m) }
                }
            }
        }
        let f = RadiomicsSettings.Family.localIntensity
        sink.add("VJGA", f, "Local intensity peak", local)
        sink.add("0F91", f, "Global intensity peak", global)
    }
}

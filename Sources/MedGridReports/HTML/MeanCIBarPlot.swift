import MedGridCore

extension MedGridPlot {
    /// Mean of a metric with its confidence interval for one algorithm.
    public struct MeanCI: Sendable, Hashable {
        public var algorithm: String
        /// NaN = not available (no bar; "n/a" is written instead).
        public var mean: Double
        /// CI bounds; NaN = no error bar.
        public var lower: Double
        public var upper: Double
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(algorithm: String, mean: Double, lower: Double, upper: Double) {
            self.algorithm = algorithm
            self.mean = mean
            self.lower = lower
            self.upper = upper
        }
    }

    /// Options of ``meanCIBars(_:options:)``.
    public struct MeanCIBarOptions: Sendable, Hashable {
        public var title: String
        public var valueLabel: String
        public var algorithmLabel: String
        /// Fixed y range; `nil` = from min(0, lowest bound) to the highest bound, widened to nice ticks.
        public var valueDomain: ClosedRange<Double>?
        /// Decimals in tooltips.
        public var decimals: Int
        /// Confidence level written in tooltips, e.g. "95 %".
        public var levelText: String
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(title: String = "Mean with 95 % confidence interval", valueLabel: String = "mean", algorithmLabel: String = "algorithm",
                    valueDomain: ClosedRange<Double>? = nil, decimals: Int = 3, levelText: String = "95 %") {
            self.title = title
            self.valueLabel = valueLabel
            self.algorithmLabel = algorithmLabel
            self.valueDomain = valueDomain
            self.decimals = decimals
            self.levelText = levelText
        }
    }

    /// Bar chart of mean ± CI (kind `mean-ci-bars`): one bar (`class="mg-bar"`) per algorithm with a finite
    /// mean, from the baseline (0 when inside the y range, else the nearest range edge) to the mean, and an
    /// error bar with caps (`mg-ci`) from `lower` to `upper` when both are finite. Algorithms in the given order.
    ///
    /// - Throws: `MedGridError(.invalidInput)` when `items` is empty, `valueDomain` is not finite with
    ///   upper > lower, or finite bounds do not satisfy lower ≤ mean ≤ upper.
    public static func meanCIBars(_ items: [MeanCI], options: MeanCIBarOptions = .init()) throws -> String {
        guard !items.isEmpty else { throw MedGridError(.invalidInput, "meanCIBars: items is empty; expected at least one algorithm") }
        if let d = options.valueDomain, !(d.lowerBound.isFinite && d.upperBound.isFinite && d.upperBound > d.lowerBound) {
            throw MedGridError(.invalidInput, "meanCIBars: valueDomain \(d) must be finite with upper > lower")
        }
        for item in items where item.mean.isFinite && item.lower.isFinite && item.upper.isFinite {
            guard item.lower <= item.mean, item.mean <= item.upper else {
                throw MedGridError(.invalidInput, "meanCIBars: '\(item.algorithm)' has mean \(item.mean) outside its interval [\(item.lower), \(item.upper)]; expected lower ≤ mean ≤ upper")
            }
        }
        let k = items.count
        let width = min(960, max(420, 90 + Double(k) * 80))
        let labels = SVGCategoryLabels(items.map(\.algorithm), bandwidth: (width - 80) / Double(k))
        let frame = SVGFrame(width: width, height: 300 + labels.height + 26, left: 64, right: 16, top: 14, bottom: labels.height + 26)
        let band = SVGBandScale(count: k, start: frame.plotLeft, end: frame.plotRight)
        let y: SVGLinearScale
        if let d = options.valueDomain {
            y = SVGLinearScale(lower: d.lowerBound, upper: d.upperBound, rangeStart: frame.plotBottom, rangeEnd: frame.plotTop, expandToNiceBounds: false)
        } else {
            var lo = 0.0, hi = 0.0
            for item in items {
                for v in [item.mean, item.lower, item.upper] where v.isFinite {
                    lo = min(lo, v)
                    hi = max(hi, v)
                }
            }
            y = SVGLinearScale(lower: lo, upper: hi, rangeStart: frame.plotBottom, rangeEnd: frame.plotTop, expandToNiceBounds: true)
        }
        let baseline = y.mapClamped(0)
        let fmt = { (v: Double) in HTMLText.fixed(v, decimals: options.decimals) }
        let c = HTMLText.coordinate

        var svg = SVGCanvas(kind: "mean-ci-bars", width: frame.width, height: frame.height, label: options.title)
        svg.yAxis(y, frame: frame, title: options.valueLabel)
        svg.xCategoryAxis(labels, scale: band, frame: frame, title: options.algorithmLabel)
        for (i, item) in items.enumerated() {
            let cx = band.center(i), half = band.bandwidth * 0.3
            svg.open("g", [("class", "mg-series")])
            guard item.mean.isFinite else {
                svg.label(cx, baseline - 6, "n/a", attrs: [("fill", SVGCanvas.axisColor), ("class", "mg-na")], tooltip: "\(item.algorithm): mean not available")
                svg.close()
                continue
            }
            let hasCI = item.lower.isFinite && item.upper.isFinite
            let tip = "\(item.algorithm): mean \(fmt(item.mean))" + (hasCI ? ", \(options.levelText) CI [\(fmt(item.lower)), \(fmt(item.upper))]" : ", no CI")
            let top = y.mapClamped(item.mean)
            svg.element("rect", [("class", "mg-bar"), ("x", c(cx - half)), ("y", c(min(top, baseline))), ("width", c(2 * half)), ("height", c(abs(baseline - top))),
                                 ("fill", SVGCanvas.seriesColor(i)), ("fill-opacity", "0.85")], tooltip: tip)
            if hasCI {
                let a = y.mapClamped(item.lower), b = y.mapClamped(item.upper), cap = half * 0.45
                svg.element("path", [("class", "mg-ci"), ("d", "M\(c(cx)) \(c(a))V\(c(b))M\(c(cx - cap)) \(c(a))H\(c(cx + cap))M\(c(cx - cap)) \(c(b))H\(c(cx + cap))"),
                                     ("stroke", "#111111"), ("stroke-width", "1.5"), ("fill", "none")], tooltip: tip)
            }
            svg.close()
        }
        return svg.finish()
    }
}

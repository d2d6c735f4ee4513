import MedGridCore

extension MedGridPlot {
    /// One case's score for one algorithm. `value == nil`, NaN and ±∞ count as missing.
    public struct CaseScore: Sendable, Hashable {
        public var caseID: String
        public var value: Double?
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(caseID: String, value: Double?) {
            self.caseID = caseID
            self.value = value
        }
    }

    /// The per-case scores of one algorithm (one box + dots in ``scoreDistribution(_:options:)``).
    public struct AlgorithmScores: Sendable, Hashable {
        public var algorithm: String
        public var scores: [CaseScore]
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(algorithm: String, scores: [CaseScore]) {
            self.algorithm = algorithm
            self.scores = scores
        }
    }

    /// Options of ``scoreDistribution(_:options:)``.
    public struct ScoreDistributionOptions: Sendable, Hashable {
        /// Accessible label and tooltip of the whole plot.
        public var title: String
        /// y-axis title, e.g. "Dice similarity coefficient (higher is better)".
        public var valueLabel: String
        /// x-axis title.
        public var algorithmLabel: String
        /// Fixed y range (e.g. 0...1 for DSC); `nil` = data range widened to nice ticks. Values outside are
        /// drawn at the nearest edge (their tooltip keeps the true value).
        public var valueDomain: ClosedRange<Double>?
        /// Draw a faint line joining the same case across neighbouring algorithms.
        public var connectCases: Bool
        /// Decimals of values in tooltips.
        public var decimals: Int

        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(title: String = "Per-case scores by algorithm", valueLabel: String = "score", algorithmLabel: String = "algorithm",
                    valueDomain: ClosedRange<Double>? = nil, connectCases: Bool = false, decimals: Int = 3) {
            self.title = title
            self.valueLabel = valueLabel
            self.algorithmLabel = algorithmLabel
            self.valueDomain = valueDomain
            self.connectCases = connectCases
            self.decimals = decimals
        }
    }

    /// Per-case score plot (kind `score-distribution`): for each algorithm, in the given order, a box plot
    /// (``BoxStatistics``: R type-7 quartiles, whiskers to the most extreme point within 1.5 IQR) and every
    /// case with a finite score as a dot (`class="mg-dot"`, one per finite value). Dots are jittered
    /// horizontally by a deterministic offset in ±¼ of the band width derived from the FNV-1a hash of the
    /// case id, so a case has the same offset under every algorithm and in every run. Missing values are
    /// not drawn; their number is appended to the algorithm's label ("(2 missing)"). A single value or all
    /// equal values give a flat box (Q1 = median = Q3). An algorithm without any finite value gets no box.
    ///
    /// - Throws: `MedGridError(.invalidInput)` when `algorithms` is empty, a case id repeats within one
    ///   algorithm, or `valueDomain` is not finite / has zero width.
    public static func scoreDistribution(_ algorithms: [AlgorithmScores], options: ScoreDistributionOptions = .init()) throws -> String {
        guard !algorithms.isEmpty else {
            throw MedGridError(.invalidInput, "scoreDistribution: algorithms is empty; expected at least one algorithm")
        }
        if let d = options.valueDomain, !(d.lowerBound.isFinite && d.upperBound.isFinite && d.upperBound > d.lowerBound) {
            throw MedGridError(.invalidInput, "scoreDistribution: valueDomain \(d) must be finite with upper > lower")
        }
        var lookups: [[String: Double]] = []
        for a in algorithms {
            var seen: [String: Double] = [:]
            for s in a.scores {
                if seen[s.caseID] != nil {
                    throw MedGridError(.invalidInput, "scoreDistribution: case id '\(s.caseID)' occurs twice for algorithm '\(a.algorithm)'; expected one score per case")
                }
                seen[s.caseID] = s.value.flatMap { $0.isFinite ? $0 : nil } ?? .nan
            }
            lookups.append(seen)
        }
        let stats = algorithms.map { a in BoxStatistics(values: a.scores.map(\.value)) }
        let k = algorithms.count
        let width = min(960, max(420, 90 + Double(k) * 90))
        let provisionalBand = (width - 80) / Double(k)
        let labels = SVGCategoryLabels(algorithms.enumerated().map { i, a in
            let missing = a.scores.count - (stats[i]?.count ?? 0)
            return missing > 0 ? "\(a.algorithm) (\(missing) missing)" : a.algorithm
        }, bandwidth: provisionalBand)
        let frame = SVGFrame(width: width, height: 330 + labels.height + 26, left: 64, right: 16, top: 14, bottom: labels.height + 26)
        let band = SVGBandScale(count: k, start: frame.plotLeft, end: frame.plotRight)

        var lower = Double.infinity, upper = -Double.infinity
        for s in stats.compactMap({ $0 }) {
            lower = min(lower, s.minimum)
            upper = max(upper, s.maximum)
        }
        let y: SVGLinearScale
        if let d = options.valueDomain {
            y = SVGLinearScale(lower: d.lowerBound, upper: d.upperBound, rangeStart: frame.plotBottom, rangeEnd: frame.plotTop, expandToNiceBounds: false)
        } else {
            y = SVGLinearScale(lower: lower, upper: upper, rangeStart: frame.plotBottom, rangeEnd: frame.plotTop, expandToNiceBounds: true)
        }
        let fmt = { (v: Double) in HTMLText.fixed(v, decimals: options.decimals) }
        let c = HTMLText.coordinate
        let jitterWidth = band.bandwidth * 0.5
        func dotX(_ i: Int, _ caseID: String) -> Double {
            band.center(i) + (HTMLText.unitHash(caseID) - 0.5) * jitterWidth
        }

        var svg = SVGCanvas(kind: "score-distribution", width: frame.width, height: frame.height, label: options.title)
        svg.yAxis(y, frame: frame, title: options.valueLabel)
        svg.xCategoryAxis(labels, scale: band, frame: frame, title: options.algorithmLabel)

        if options.connectCases && k > 1 {
            var d = ""
            for i in 0..<(k - 1) {
                for s in algorithms[i].scores {
                    guard let v = s.value, v.isFinite, let w = lookups[i + 1][s.caseID], w.isFinite else { continue }
                    d += "M\(c(dotX(i, s.caseID))) \(c(y.mapClamped(v)))L\(c(dotX(i + 1, s.caseID))) \(c(y.mapClamped(w)))"
                }
            }
            if !d.isEmpty {
                svg.element("path", [("class", "mg-case-lines"), ("d", d), ("fill", "none"), ("stroke", "#8C8C8C"), ("stroke-opacity", "0.35"), ("stroke-width", "0.8")])
            }
        }

        for (i, a) in algorithms.enumerated() {
            let color = SVGCanvas.seriesColor(i)
            svg.open("g", [("class", "mg-series")])
            if let s = stats[i] {
                let x0 = band.center(i) - band.bandwidth * 0.3, x1 = band.center(i) + band.bandwidth * 0.3
                let cx = band.center(i)
                let summary = "\(a.algorithm): n = \(s.count)\(s.missing > 0 ? ", missing = \(s.missing)" : ""), median = \(fmt(s.median)), Q1 = \(fmt(s.q1)), Q3 = \(fmt(s.q3)), whiskers = [\(fmt(s.lowerWhisker)), \(fmt(s.upperWhisker))]"
                svg.line(cx, y.mapClamped(s.lowerWhisker), cx, y.mapClamped(s.q1), [("class", "mg-whisker"), ("stroke", "#333333")])
                svg.line(cx, y.mapClamped(s.q3), cx, y.mapClamped(s.upperWhisker), [("class", "mg-whisker"), ("stroke", "#333333")])
                for w in [s.lowerWhisker, s.upperWhisker] {
                    svg.line(cx - band.bandwidth * 0.12, y.mapClamped(w), cx + band.bandwidth * 0.12, y.mapClamped(w), [("class", "mg-whisker-cap"), ("stroke", "#333333")])
                }
                let top = y.mapClamped(s.q3), bottom = y.mapClamped(s.q1)
                svg.element("rect", [("class", "mg-box"), ("x", c(x0)), ("y", c(min(top, bottom))), ("width", c(x1 - x0)), ("height", c(abs(bottom - top))),
                                     ("fill", color), ("fill-opacity", "0.12"), ("stroke", "#333333"), ("stroke-width", "1.2")], tooltip: summary)
                svg.line(x0, y.mapClamped(s.median), x1, y.mapClamped(s.median), [("class", "mg-median"), ("stroke", "#111111"), ("stroke-width", "2.4")], tooltip: summary)
            }
            for score in a.scores {
                guard let v = score.value, v.isFinite else { continue }
                svg.element("circle", [("class", "mg-dot"), ("cx", c(dotX(i, score.caseID))), ("cy", c(y.mapClamped(v))), ("r", "3.2"),
                                       ("fill", color), ("fill-opacity", "0.75"), ("stroke", "#FFFFFF"), ("stroke-width", "0.6")],
                            tooltip: "\(score.caseID) — \(a.algorithm): \(fmt(v))")
            }
            svg.close()
        }
        return svg.finish()
    }
}

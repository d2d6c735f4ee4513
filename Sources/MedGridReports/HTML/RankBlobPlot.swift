import MedGridCore

extension MedGridPlot {
    /// One algorithm's rank on the full data and its ranks over bootstrap samples.
    public struct RankBootstrap: Sendable, Hashable {
        public var algorithm: String
        /// Rank on the full data set (orders the x axis; ties keep input order). May be fractional.
        public var fullDataRank: Double
        /// The algorithm's rank in each bootstrap sample: integers in 1...K (K = number of algorithms), e.g.
        /// challengeR's default `ties.method = "min"`.
        public var bootstrapRanks: [Int]
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(algorithm: String, fullDataRank: Double, bootstrapRanks: [Int]) {
            self.algorithm = algorithm
            self.fullDataRank = fullDataRank
            self.bootstrapRanks = bootstrapRanks
        }
    }

    /// Options of ``rankBlobs(_:options:)``.
    public struct RankBlobOptions: Sendable, Hashable {
        public var title: String
        public var algorithmLabel: String
        public var rankLabel: String
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(title: String = "Ranking stability over bootstrap samples", algorithmLabel: String = "algorithm (ordered by full-data rank)",
                    rankLabel: String = "rank") {
            self.title = title
            self.algorithmLabel = algorithmLabel
            self.rankLabel = rankLabel
        }
    }

    /// Bootstrap rank "blob" plot (kind `rank-blobs`), after challengeR's `blobplot`: x = algorithms ordered
    /// by full-data rank (stable), y = rank 1 (top) … K (bottom). For every (algorithm, rank) that occurs in
    /// the bootstrap samples a circle (`class="mg-blob"`) whose **area** is proportional to the relative
    /// frequency of that rank (radius = r_max·√f). The median bootstrap rank is marked by a black cross
    /// (`mg-rank-median`) and the 2.5 %–97.5 % interval by a vertical black line (`mg-rank-interval`); both
    /// are R type-7 quantiles of the bootstrap ranks. A legend shows the circle sizes of 10 %, 50 % and 100 %.
    ///
    /// - Throws: `MedGridError(.invalidInput)` when `items` is empty, an algorithm has no bootstrap rank, a
    ///   rank is outside 1...K, or a full-data rank is not finite.
    public static func rankBlobs(_ items: [RankBootstrap], options: RankBlobOptions = .init()) throws -> String {
        guard !items.isEmpty else {
            throw MedGridError(.invalidInput, "rankBlobs: no algorithms; expected at least one")
        }
        let k = items.count
        for item in items {
            guard item.fullDataRank.isFinite else {
                throw MedGridError(.invalidInput, "rankBlobs: fullDataRank of '\(item.algorithm)' is \(item.fullDataRank); expected a finite rank")
            }
            guard !item.bootstrapRanks.isEmpty else {
                throw MedGridError(.invalidInput, "rankBlobs: '\(item.algorithm)' has no bootstrap ranks; expected one rank per bootstrap sample")
            }
            if let bad = item.bootstrapRanks.firstIndex(where: { $0 < 1 || $0 > k }) {
                throw MedGridError(.invalidInput, "rankBlobs: bootstrap sample \(bad) of '\(item.algorithm)' has rank \(item.bootstrapRanks[bad]); expected 1...\(k)")
            }
        }
        let order = items.indices.sorted { a, b in
            items[a].fullDataRank != items[b].fullDataRank ? items[a].fullDataRank < items[b].fullDataRank : a < b
        }
        let width = min(960, max(460, 110 + Double(k) * 70))
        let labels = SVGCategoryLabels(order.map { items[$0].algorithm }, bandwidth: (width - 90) / Double(k))
        let rowHeight = max(26, min(44, 320 / Double(k)))
        let provisionalBand = (width - 90) / Double(k)
        let rMax = max(3, min(provisionalBand, rowHeight) * 0.48)
        let top = 2 * rMax + 46
        let plotHeight = rowHeight * Double(k)
        let frame = SVGFrame(width: width, height: top + plotHeight + labels.height + 26, left: 64, right: 26, top: top, bottom: labels.height + 26)
        let band = SVGBandScale(count: k, start: frame.plotLeft, end: frame.plotRight)
        func yOf(_ rank: Double) -> Double { frame.plotTop + (rank - 0.5) * rowHeight }
        let c = HTMLText.coordinate

        var svg = SVGCanvas(kind: "rank-blobs", width: frame.width, height: frame.height, label: options.title)
        // y axis: integer ranks
        svg.open("g", [("class", "mg-axis mg-axis-y")])
        for r in 1...k {
            let yy = yOf(Double(r))
            svg.line(frame.plotLeft, yy, frame.plotRight, yy, [("stroke", SVGCanvas.gridColor)])
            svg.line(frame.plotLeft - 5, yy, frame.plotLeft, yy, [("stroke", SVGCanvas.axisColor)])
            svg.label(frame.plotLeft - 8, yy + 3.5, String(r), anchor: "end", attrs: [("fill", SVGCanvas.axisColor)])
        }
        svg.line(frame.plotLeft, frame.plotTop, frame.plotLeft, frame.plotBottom, [("stroke", SVGCanvas.axisColor)])
        let cy = (frame.plotTop + frame.plotBottom) / 2
        svg.label(16, cy, options.rankLabel, attrs: [("transform", "rotate(-90 16 \(c(cy)))"), ("font-size", "12"), ("fill", SVGCanvas.axisColor), ("class", "mg-axis-title")])
        svg.close()
        svg.xCategoryAxis(labels, scale: band, frame: frame, title: options.algorithmLabel)

        // legend: circle sizes (row 1), median and interval marks (row 2)
        let legendY = 4 + rMax
        svg.open("g", [("class", "mg-legend")])
        svg.label(14, legendY + 4, "rank frequency:", anchor: "start", attrs: [("fill", SVGCanvas.axisColor)])
        var lx = 14 + 96.0
        for f in [0.1, 0.5, 1.0] {
            let r = rMax * f.squareRoot()
            svg.element("circle", [("cx", c(lx + rMax)), ("cy", c(legendY)), ("r", c(r)), ("fill", "#8C8C8C"), ("fill-opacity", "0.8")])
            svg.label(lx + 2 * rMax + 4, legendY + 4, "\(Int((f * 100).rounded())) %", anchor: "start", attrs: [("fill", SVGCanvas.axisColor)])
            lx += 2 * rMax + 44
        }
        let row2 = 2 * rMax + 18
        svg.raw("<path d=\"M18 \(c(row2 - 4))l8 8m0 -8l-8 8\" stroke=\"#000000\" stroke-width=\"2\" fill=\"none\"/>")
        svg.label(32, row2 + 4, "median bootstrap rank", anchor: "start", attrs: [("fill", SVGCanvas.axisColor)])
        svg.line(178, row2 - 8, 178, row2 + 8, [("stroke", "#000000"), ("stroke-width", "1.5")])
        svg.label(186, row2 + 4, "2.5–97.5 % interval", anchor: "start", attrs: [("fill", SVGCanvas.axisColor)])
        svg.close()

        for (position, index) in order.enumerated() {
            let item = items[index]
            let color = SVGCanvas.seriesColor(position)
            let x = band.center(position)
            var counts = [Int](repeating: 0, count: k + 1)
            for r in item.bootstrapRanks { counts[r] += 1 }
            let total = Double(item.bootstrapRanks.count)
            let sorted = item.bootstrapRanks.map(Double.init).sorted()
            let median = BoxStatistics.quantileType7(sorted: sorted, probability: 0.5)
            let lo = BoxStatistics.quantileType7(sorted: sorted, probability: 0.025)
            let hi = BoxStatistics.quantileType7(sorted: sorted, probability: 0.975)
            let rankText = HTMLText.coordinate(item.fullDataRank)
            svg.open("g", [("class", "mg-series")])
            for r in 1...k where counts[r] > 0 {
                let f = Double(counts[r]) / total
                svg.element("circle", [("class", "mg-blob"), ("cx", c(x)), ("cy", c(yOf(Double(r)))), ("r", c(rMax * f.squareRoot())),
                                       ("fill", color), ("fill-opacity", "0.8")],
                            tooltip: "\(item.algorithm): rank \(r) in \(counts[r]) of \(item.bootstrapRanks.count) bootstrap samples (\(HTMLText.fixed(100 * f, decimals: 1)) %)")
            }
            let intervalText = "\(item.algorithm): full-data rank \(rankText), median bootstrap rank \(HTMLText.fixed(median, decimals: 1)), 95 % interval [\(HTMLText.fixed(lo, decimals: 1)), \(HTMLText.fixed(hi, decimals: 1))]"
            svg.line(x, yOf(lo), x, yOf(hi), [("class", "mg-rank-interval"), ("stroke", "#000000"), ("stroke-width", "1.5"), ("stroke-linecap", "round")], tooltip: intervalText)
            let my = yOf(median)
            svg.element("path", [("class", "mg-rank-median"), ("d", "M\(c(x - 5)) \(c(my - 5))l10 10m0 -10l-10 10"), ("stroke", "#000000"), ("stroke-width", "2"), ("fill", "none")], tooltip: intervalText)
            svg.close()
        }
        return svg.finish()
    }
}

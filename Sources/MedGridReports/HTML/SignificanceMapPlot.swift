import MedGridCore

extension MedGridPlot {
    /// Pairwise test results between algorithms.
    public struct SignificanceInput: Sendable, Hashable {
        public var algorithms: [String]
        /// Rank of each algorithm (orders rows and columns, ascending; ties keep input order).
        public var ranks: [Double]
        /// `significantlyBetter[i][j]` is true when algorithm i is significantly better than algorithm j.
        /// K × K, diagonal false.
        public var significantlyBetter: [[Bool]]
        /// Optional K × K p-values (same indexing) shown in tooltips; NaN shows as "n/a".
        public var pValues: [[Double]]?
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(algorithms: [String], ranks: [Double], significantlyBetter: [[Bool]], pValues: [[Double]]? = nil) {
            self.algorithms = algorithms
            self.ranks = ranks
            self.significantlyBetter = significantlyBetter
            self.pValues = pValues
        }
    }

    /// Options of ``significanceMap(_:options:)``.
    public struct SignificanceMapOptions: Sendable, Hashable {
        public var title: String
        public var rowLabel: String
        public var columnLabel: String
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(title: String = "Pairwise significance", rowLabel: String = "algorithm (row)",
                    columnLabel: String = "is significantly better than (column)") {
            self.title = title
            self.rowLabel = rowLabel
            self.columnLabel = columnLabel
        }
    }

    /// Significance map (kind `significance-map`), after challengeR's `significanceMap`: a K × K grid with
    /// rows and columns in rank order (best first). Cell (row i, column j) is filled (`class="mg-sig-cell
    /// mg-sig-yes"`) when algorithm i is significantly better than algorithm j, else drawn empty
    /// (`mg-sig-no`); diagonal cells are grey (`mg-sig-diagonal`). Every cell has a tooltip naming the pair
    /// and, when given, the p-value. Row labels on the left, column labels below.
    ///
    /// - Throws: `MedGridError(.invalidInput)` when there is no algorithm, the rank/matrix/p-value shapes
    ///   are not K and K × K, a rank is not finite, or a diagonal entry is true.
    public static func significanceMap(_ input: SignificanceInput, options: SignificanceMapOptions = .init()) throws -> String {
        let k = input.algorithms.count
        guard k > 0 else { throw MedGridError(.invalidInput, "significanceMap: algorithms is empty; expected at least one") }
        guard input.ranks.count == k else {
            throw MedGridError(.invalidInput, "significanceMap: ranks has \(input.ranks.count) entries; expected \(k) (one per algorithm)")
        }
        if let bad = input.ranks.firstIndex(where: { !$0.isFinite }) {
            throw MedGridError(.invalidInput, "significanceMap: rank of '\(input.algorithms[bad])' is \(input.ranks[bad]); expected a finite number")
        }
        guard input.significantlyBetter.count == k, input.significantlyBetter.allSatisfy({ $0.count == k }) else {
            throw MedGridError(.invalidInput, "significanceMap: significantlyBetter must be \(k) × \(k); got \(input.significantlyBetter.count) rows of lengths \(input.significantlyBetter.map(\.count))")
        }
        if let p = input.pValues, !(p.count == k && p.allSatisfy({ $0.count == k })) {
            throw MedGridError(.invalidInput, "significanceMap: pValues must be \(k) × \(k); got \(p.count) rows of lengths \(p.map(\.count))")
        }
        for i in 0..<k where input.significantlyBetter[i][i] {
            throw MedGridError(.invalidInput, "significanceMap: significantlyBetter[\(i)][\(i)] ('\(input.algorithms[i])' vs itself) is true; expected false on the diagonal")
        }
        let order = (0..<k).sorted { a, b in input.ranks[a] != input.ranks[b] ? input.ranks[a] < input.ranks[b] : a < b }
        let names = order.map { HTMLText.truncated(input.algorithms[$0], limit: 28) }
        let widest = names.map(SVGCategoryLabels.estimatedWidth).max() ?? 0
        let cell = max(14, min(40, 380 / Double(k)))
        let left = 34 + widest + 10
        let bottom = 24 + widest * 0.707 + 26
        let legendHeight = 30.0
        let width = max(440, left + cell * Double(k) + 20)
        let frame = SVGFrame(width: width, height: legendHeight + cell * Double(k) + bottom + 10, left: left, right: 20, top: legendHeight, bottom: bottom)
        let c = HTMLText.coordinate

        var svg = SVGCanvas(kind: "significance-map", width: frame.width, height: frame.height, label: options.title)
        svg.legend(x: 14, y: 12, entries: [
            ("row significantly better than column", { s, x, y in s.element("rect", [("x", c(x - 5)), ("y", c(y - 5)), ("width", "10"), ("height", "10"), ("fill", "#0072B2")]) }),
            ("not significant", { s, x, y in s.element("rect", [("x", c(x - 5)), ("y", c(y - 5)), ("width", "10"), ("height", "10"), ("fill", "#FFFFFF"), ("stroke", "#BBBBBB")]) }),
        ])
        svg.open("g", [("class", "mg-sig-grid")])
        for (row, i) in order.enumerated() {
            for (column, j) in order.enumerated() {
                let x = frame.plotLeft + Double(column) * cell, y = frame.plotTop + Double(row) * cell
                let a = input.algorithms[i], b = input.algorithms[j]
                let p = input.pValues.map { HTMLText.pValue($0[i][j]) }
                let (cls, fill, tip): (String, String, String)
                if i == j {
                    (cls, fill, tip) = ("mg-sig-cell mg-sig-diagonal", "#D9D9D9", "\(a) (same algorithm)")
                } else if input.significantlyBetter[i][j] {
                    (cls, fill, tip) = ("mg-sig-cell mg-sig-yes", "#0072B2", "\(a) is significantly better than \(b)" + (p.map { " (\($0))" } ?? ""))
                } else {
                    (cls, fill, tip) = ("mg-sig-cell mg-sig-no", "#FFFFFF", "\(a) is not significantly better than \(b)" + (p.map { " (\($0))" } ?? ""))
                }
                svg.element("rect", [("class", cls), ("x", c(x)), ("y", c(y)), ("width", c(cell)), ("height", c(cell)), ("fill", fill), ("stroke", "#BBBBBB"), ("stroke-width", "0.8")], tooltip: tip)
            }
        }
        svg.close()
        svg.open("g", [("class", "mg-axis")])
        for (row, i) in order.enumerated() {
            let y = frame.plotTop + (Double(row) + 0.5) * cell
            svg.label(frame.plotLeft - 6, y + 3.5, names[row], anchor: "end", attrs: [("fill", SVGCanvas.axisColor)], tooltip: input.algorithms[i])
        }
        for (column, j) in order.enumerated() {
            let x = frame.plotLeft + (Double(column) + 0.5) * cell, y = frame.plotBottom + 12
            svg.label(x + 3, y, names[column], anchor: "end", attrs: [("transform", "rotate(-45 \(c(x + 3)) \(c(y)))"), ("fill", SVGCanvas.axisColor)], tooltip: input.algorithms[j])
        }
        let cy = (frame.plotTop + frame.plotBottom) / 2
        svg.label(14, cy, options.rowLabel, attrs: [("transform", "rotate(-90 14 \(c(cy)))"), ("font-size", "12"), ("fill", SVGCanvas.axisColor), ("class", "mg-axis-title")])
        svg.label(frame.plotLeft + cell * Double(k) / 2, frame.height - 8, options.columnLabel, attrs: [("font-size", "12"), ("fill", SVGCanvas.axisColor), ("class", "mg-axis-title")])
        svg.close()
        return svg.finish()
    }
}

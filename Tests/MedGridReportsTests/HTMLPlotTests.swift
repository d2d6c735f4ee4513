import Testing
import Foundation
import MedGridCore
@testable import MedGridReports

struct HTMLPlotTests {
    // MARK: Box statistics

    struct BoxCase: Sendable, CustomStringConvertible {
        var values: [Double?]
        var q1, median, q3, lowerWhisker, upperWhisker: Double
        var outliers, missing: Int
        var description: String { "\(values)" }
    }

    /// Hand-computed R `quantile(type = 7)` values (h = (n−1)p, linear interpolation) and ggplot2 whiskers.
    static let boxCases: [BoxCase] = [
        .init(values: [1, 2, 3, 4], q1: 1.75, median: 2.5, q3: 3.25, lowerWhisker: 1, upperWhisker: 4, outliers: 0, missing: 0),
        .init(values: [7], q1: 7, median: 7, q3: 7, lowerWhisker: 7, upperWhisker: 7, outliers: 0, missing: 0),
        .init(values: [5, 5, 5, 5], q1: 5, median: 5, q3: 5, lowerWhisker: 5, upperWhisker: 5, outliers: 0, missing: 0),
        // IQR 2, fences −1 and 7: 100 is an outlier
        .init(values: [1, 2, 3, 4, 100], q1: 2, median: 3, q3: 4, lowerWhisker: 1, upperWhisker: 4, outliers: 1, missing: 0),
        // sorted 0.1 0.2 0.3 0.5 0.7 0.9: h = 1.25, 2.5, 3.75
        .init(values: [0.1, 0.5, 0.3, 0.9, 0.7, 0.2], q1: 0.225, median: 0.4, q3: 0.65, lowerWhisker: 0.1, upperWhisker: 0.9, outliers: 0, missing: 0),
        .init(values: [nil, 3, .nan, 1, 2, .infinity], q1: 1.5, median: 2, q3: 2.5, lowerWhisker: 1, upperWhisker: 3, outliers: 0, missing: 3),
        // sorted −20 −3 −1 0 2 10 11: h = 1.5, 3, 4.5 → −2, 0, 6; IQR 8, fences −14 and 18
        .init(values: [-3, -1, 0, 2, 10, 11, -20], q1: -2, median: 0, q3: 6, lowerWhisker: -3, upperWhisker: 11, outliers: 1, missing: 0),
    ]

    @Test("Box statistics equal hand-computed R type-7 quartiles and 1.5-IQR whiskers", arguments: boxCases)
    func boxStatistics(_ c: BoxCase) throws {
        let s = try #require(MedGridPlot.BoxStatistics(values: c.values))
        #expect(abs(s.q1 - c.q1) <= 1e-12)
        #expect(abs(s.median - c.median) <= 1e-12)
        #expect(abs(s.q3 - c.q3) <= 1e-12)
        #expect(s.lowerWhisker == c.lowerWhisker)
        #expect(s.upperWhisker == c.upperWhisker)
        #expect(s.outlierCount == c.outliers)
        #expect(s.missing == c.missing)
    }

    @Test("Box statistics and quantiles match numpy (method='linear' = R type 7) reference values")
    func boxStatisticsReference() throws {
        let url = Bundle.module.url(forResource: "Reference", withExtension: nil)!.appendingPathComponent("html/quantiles.json")
        let json = try JSONValue(parsing: Data(contentsOf: url))
        let samples = try #require(json["samples"]?.arrayValue)
        #expect(samples.count >= 5)
        for sample in samples {
            let values = (sample["values"]?.arrayValue ?? []).map { $0.doubleValue }
            let sorted = values.compactMap { $0 }.filter(\.isFinite).sorted()
            let probs = (sample["probabilities"]?.arrayValue ?? []).compactMap(\.doubleValue)
            let expected = (sample["quantiles"]?.arrayValue ?? []).compactMap(\.doubleValue)
            #expect(probs.count == expected.count && !probs.isEmpty)
            for (p, q) in zip(probs, expected) {
                let got = MedGridPlot.BoxStatistics.quantileType7(sorted: sorted, probability: p)
                #expect(abs(got - q) <= 1e-12 * max(1, abs(q)), "p = \(p): \(got) vs \(q)")
            }
            let s = try #require(MedGridPlot.BoxStatistics(values: values))
            #expect(s.lowerWhisker == sample["lowerWhisker"]?.doubleValue)
            #expect(s.upperWhisker == sample["upperWhisker"]?.doubleValue)
            #expect(s.outlierCount == sample["outliers"]?.intValue)
        }
    }

    @Test("Quantile edge cases: empty sample, probability clamping")
    func quantileEdges() {
        #expect(MedGridPlot.BoxStatistics.quantileType7(sorted: [], probability: 0.5).isNaN)
        #expect(MedGridPlot.BoxStatistics.quantileType7(sorted: [1, 2], probability: -1) == 1)
        #expect(MedGridPlot.BoxStatistics.quantileType7(sorted: [1, 2], probability: 2) == 2)
        #expect(MedGridPlot.BoxStatistics(values: [nil, .nan]) == nil)
    }

    // MARK: Score distribution

    static func series(_ names: [String], _ values: [[Double?]]) -> [MedGridPlot.AlgorithmScores] {
        names.enumerated().map { a, n in
            MedGridPlot.AlgorithmScores(algorithm: n, scores: values[a].enumerated().map { .init(caseID: "case-\($0.offset)", value: $0.element) })
        }
    }

    @Test("Score plot: one dot per finite value, one box per algorithm with data, missing counts in labels")
    func scoreMarks() throws {
        let s = Self.series(["A", "B", "C", "D"], [
            [0.5, 0.25, 0.75, 1, 0.125, 0.375],
            [0.5, .nan, nil, 0.55, 0.52, .infinity],
            [0.3],
            [nil, nil],
        ])
        let doc = try XMLCheck.parse(try MedGridPlot.scoreDistribution(s, options: .init(connectCases: true)))
        #expect(doc.root.classes == ["medgrid-plot", "medgrid-plot-score-distribution"])
        #expect(doc.all("circle", class: "mg-dot").count == 6 + 3 + 1)
        #expect(doc.all("rect", class: "mg-box").count == 3)
        #expect(doc.all("line", class: "mg-median").count == 3)
        let labels = doc.all("g", class: "mg-axis-x").first?.children.filter { $0.name == "text" }.map(\.text) ?? []
        #expect(labels == ["A", "B (3 missing)", "C", "D (2 missing)", "algorithm"])
        // case lines: A→B pairs with both finite: case-0, case-3, case-4; B→C: case-0; C→D: none
        let d = doc.all("path", class: "mg-case-lines").first?.attributes["d"] ?? ""
        #expect(d.filter { $0 == "M" }.count == 4)
        // single value: flat box
        let boxes = doc.all("rect", class: "mg-box")
        #expect(boxes[2].attributes["height"] == "0")
        #expect(boxes[0].tooltip == "A: n = 6, median = 0.438, Q1 = 0.281, Q3 = 0.688, whiskers = [0.125, 1.000]")
    }

    @Test("Score plot jitter is a deterministic function of the case id (same offset under every algorithm)")
    func jitter() throws {
        let values: [[Double?]] = [(0..<12).map { 0.5 + Double($0) * 0.01 }, (0..<12).map { 0.4 + Double($0) * 0.02 }]
        let svg = try MedGridPlot.scoreDistribution(Self.series(["A", "B"], values))
        #expect(svg == (try MedGridPlot.scoreDistribution(Self.series(["A", "B"], values))))
        let dots = try XMLCheck.parse(svg).all("circle", class: "mg-dot")
        #expect(dots.count == 24)
        let xs = dots.map { Double($0.attributes["cx"] ?? "") ?? .nan }
        let shifts = (0..<12).map { xs[12 + $0] - xs[$0] }
        let spread = (shifts.max() ?? 0) - (shifts.min() ?? 0)
        #expect(spread <= 0.011)  // coordinates are written with 2 decimals
        let offsets = Set(xs[0..<12].map { ($0 * 100).rounded() })
        #expect(offsets.count >= 10)  // the cases really are spread out
        // all equal values and a single algorithm: no crash, a flat box
        let flat = try XMLCheck.parse(try MedGridPlot.scoreDistribution(Self.series(["A"], [[0.5, 0.5, 0.5]])))
        #expect(flat.all("rect", class: "mg-box").first?.attributes["height"] == "0")
    }

    @Test("Jitter hash is FNV-1a 64 (published test vectors), so offsets are the same on every machine and run")
    func fnv() {
        #expect(HTMLText.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(HTMLText.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(HTMLText.fnv1a64("foobar") == 0x8594_4171_f739_67e8)
        let u = HTMLText.unitHash("case-001")
        #expect(u >= 0 && u < 1)
        #expect(u == HTMLText.unitHash("case-001"))
    }

    @Test("Score plot refuses bad input")
    func scoreErrors() {
        #expect(throws: MedGridError.self) { try MedGridPlot.scoreDistribution([]) }
        let dup = [MedGridPlot.AlgorithmScores(algorithm: "A", scores: [.init(caseID: "x", value: 1), .init(caseID: "x", value: 2)])]
        #expect(throws: MedGridError.self) { try MedGridPlot.scoreDistribution(dup) }
        #expect(throws: MedGridError.self) { try MedGridPlot.scoreDistribution(Self.series(["A"], [[1]]), options: .init(valueDomain: 1...1)) }
    }

    // MARK: Rank blobs

    @Test("Blob plot: one circle per (algorithm, rank) with non-zero frequency, area ∝ frequency, x by full-data rank")
    func blobs() throws {
        let items = [
            MedGridPlot.RankBootstrap(algorithm: "second", fullDataRank: 2, bootstrapRanks: Array(repeating: 2, count: 60) + Array(repeating: 1, count: 30) + Array(repeating: 3, count: 10)),
            MedGridPlot.RankBootstrap(algorithm: "first", fullDataRank: 1, bootstrapRanks: Array(repeating: 1, count: 70) + Array(repeating: 2, count: 30)),
            MedGridPlot.RankBootstrap(algorithm: "third", fullDataRank: 3, bootstrapRanks: Array(repeating: 3, count: 90) + Array(repeating: 2, count: 10)),
            MedGridPlot.RankBootstrap(algorithm: "last", fullDataRank: 4, bootstrapRanks: Array(repeating: 4, count: 100)),
        ]
        let doc = try XMLCheck.parse(try MedGridPlot.rankBlobs(items))
        let circles = doc.all("circle", class: "mg-blob")
        #expect(circles.count == 2 + 3 + 2 + 1)
        let labels = doc.all("g", class: "mg-axis-x").first?.children.filter { $0.name == "text" }.map(\.text) ?? []
        #expect(labels.prefix(4) == ["first", "second", "third", "last"])
        let radii = circles.map { Double($0.attributes["r"] ?? "") ?? .nan }
        // first: 70 % then 30 %; last: 100 %  → r ∝ √f
        let rMax = radii[7]
        #expect(abs(radii[0] - rMax * 0.7.squareRoot()) <= 0.01)
        #expect(abs(radii[1] - rMax * 0.3.squareRoot()) <= 0.01)
        #expect(circles[0].tooltip == "first: rank 1 in 70 of 100 bootstrap samples (70.0 %)")
        #expect(doc.all("line", class: "mg-rank-interval").count == 4)
        #expect(doc.all("path", class: "mg-rank-median").count == 4)
        // ranks of "second" sorted: 30×1, 60×2, 10×3 → median 2; type-7 2.5 % (h = 2.475) = 1; 97.5 % (h = 96.525) = 3
        #expect(doc.all("path", class: "mg-rank-median")[1].tooltip == "second: full-data rank 2, median bootstrap rank 2.0, 95 % interval [1.0, 3.0]")
    }

    @Test("Blob plot refuses ranks outside 1...K and empty bootstrap samples")
    func blobErrors() {
        #expect(throws: MedGridError.self) { try MedGridPlot.rankBlobs([.init(algorithm: "a", fullDataRank: 1, bootstrapRanks: [1, 2])]) }
        #expect(throws: MedGridError.self) { try MedGridPlot.rankBlobs([.init(algorithm: "a", fullDataRank: 1, bootstrapRanks: [])]) }
        #expect(throws: MedGridError.self) { try MedGridPlot.rankBlobs([.init(algorithm: "a", fullDataRank: .nan, bootstrapRanks: [1])]) }
        #expect(throws: MedGridError.self) { try MedGridPlot.rankBlobs([]) }
    }

    // MARK: Significance map

    @Test("Significance map: K×K cells, one filled cell per significant pair, rows and columns in rank order, p-values in tooltips")
    func significance() throws {
        let names = ["C", "A", "B", "D"]
        let ranks: [Double] = [3, 1, 2, 4]
        var better = [[Bool]](repeating: [false, false, false, false], count: 4)
        better[1][0] = true  // A > C
        better[1][3] = true  // A > D
        better[2][3] = true  // B > D
        var p = [[Double]](repeating: [0.5, 0.5, 0.5, 0.5], count: 4)
        p[1][0] = 0.0123
        p[1][3] = 0.00001
        p[2][3] = .nan
        let doc = try XMLCheck.parse(try MedGridPlot.significanceMap(.init(algorithms: names, ranks: ranks, significantlyBetter: better, pValues: p)))
        #expect(doc.all("rect", class: "mg-sig-cell").count == 16)
        #expect(doc.all("rect", class: "mg-sig-yes").count == 3)
        #expect(doc.all("rect", class: "mg-sig-diagonal").count == 4)
        #expect(doc.all("rect", class: "mg-sig-no").count == 9)
        let rowLabels = doc.all("text").filter { $0.attributes["text-anchor"] == "end" }.map(\.text)
        #expect(rowLabels.prefix(4) == ["A", "B", "C", "D"])
        let yes = doc.all("rect", class: "mg-sig-yes").compactMap(\.tooltip)
        #expect(yes == ["A is significantly better than C (p = 0.0123)", "A is significantly better than D (p < 0.0001)", "B is significantly better than D (p = n/a)"])
        // row A (first row) / column C (third column) is filled
        let cells = doc.all("rect", class: "mg-sig-cell")
        #expect(cells[2].classes.contains("mg-sig-yes"))
    }

    @Test("Significance map refuses wrong shapes and a true diagonal")
    func significanceErrors() {
        #expect(throws: MedGridError.self) { try MedGridPlot.significanceMap(.init(algorithms: ["a", "b"], ranks: [1, 2], significantlyBetter: [[false, true]])) }
        #expect(throws: MedGridError.self) { try MedGridPlot.significanceMap(.init(algorithms: ["a", "b"], ranks: [1], significantlyBetter: [[false, true], [false, false]])) }
        #expect(throws: MedGridError.self) { try MedGridPlot.significanceMap(.init(algorithms: ["a", "b"], ranks: [1, 2], significantlyBetter: [[true, true], [false, false]])) }
        #expect(throws: MedGridError.self) { try MedGridPlot.significanceMap(.init(algorithms: ["a", "b"], ranks: [1, 2], significantlyBetter: [[false, true], [false, false]], pValues: [[0.1]])) }
    }

    // MARK: Bars

    @Test("Bar chart: one bar per finite mean, one error bar per finite CI, n/a for missing")
    func bars() throws {
        let items = [MedGridPlot.MeanCI(algorithm: "A", mean: 0.8, lower: 0.75, upper: 0.85),
                     MedGridPlot.MeanCI(algorithm: "B", mean: .nan, lower: .nan, upper: .nan),
                     MedGridPlot.MeanCI(algorithm: "C", mean: -0.2, lower: .nan, upper: .nan)]
        let doc = try XMLCheck.parse(try MedGridPlot.meanCIBars(items))
        #expect(doc.all("rect", class: "mg-bar").count == 2)
        #expect(doc.all("path", class: "mg-ci").count == 1)
        #expect(doc.all("text", class: "mg-na").count == 1)
        #expect(doc.all("rect", class: "mg-bar").first?.tooltip == "A: mean 0.800, 95 % CI [0.750, 0.850]")
        // y range −0.2 … 0.85 → raw step 0.21 → nice step 0.25: −0.25 … 1.00
        let ticks = doc.all("g", class: "mg-axis-y").first?.children.filter { $0.name == "text" && $0.attributes["text-anchor"] == "end" }.map(\.text) ?? []
        #expect(ticks == ["-0.25", "0.00", "0.25", "0.50", "0.75", "1.00"])
        #expect(throws: MedGridError.self) { try MedGridPlot.meanCIBars([.init(algorithm: "A", mean: 1, lower: 1.5, upper: 2)]) }
        #expect(throws: MedGridError.self) { try MedGridPlot.meanCIBars([]) }
    }

    @Test("Nice tick steps", arguments: [(0.17, 0.2, 1), (0.23, 0.25, 2), (3.0, 5.0, 0), (12.0, 20.0, 0), (0.0009, 0.001, 3), (1.0, 1.0, 0)] as [(Double, Double, Int)])
    func niceSteps(_ raw: Double, _ step: Double, _ decimals: Int) {
        let (s, d) = SVGLinearScale.niceStep(raw)
        #expect(abs(s - step) <= 1e-15)
        #expect(d == decimals)
    }

    // MARK: Slice overlay

    @Test("Slice overlay: one image, one path per mask, no per-pixel elements; embedded PNG decodes to the windowed pixels")
    func sliceOverlay() throws {
        let slice = HTMLFixture.phantomSlice()
        let svg = try MedGridPlot.sliceOverlay(slice, options: .init(style: .fill))
        let doc = try XMLCheck.parse(svg)
        #expect(doc.root.classes == ["medgrid-plot", "medgrid-plot-slice-overlay"])
        #expect(doc.all("image").count == 1)
        #expect(doc.all("path", class: "mg-mask").count == 2)
        #expect(doc.elements.count < 80)
        // reference disc: 1 loop; prediction: disc with hole + blob = 3 loops
        #expect(doc.all("path", class: "mg-mask-reference").first?.tooltip?.hasSuffix("1 boundary loop") == true)
        #expect(doc.all("path", class: "mg-mask-prediction").first?.tooltip?.hasSuffix("3 boundary loops") == true)
        #expect(doc.all("path", class: "mg-mask-prediction").first?.attributes["fill-opacity"] == "0.35")
        let href = try #require(doc.all("image").first?.attributes["href"])
        #expect(href.hasPrefix("data:image/png;base64,"))
        let png = try #require(Data(base64Encoded: String(href.dropFirst("data:image/png;base64,".count))))
        let decoded = try PNGTestDecoder.decode([UInt8](png))
        #expect(decoded.width == 96 && decoded.height == 80 && decoded.channels == 1)
        #expect(decoded.pixels == PNGEncoder.windowed(slice.intensities, lower: -100, upper: 200))
        // contour style: no fill
        let contour = try XMLCheck.parse(try MedGridPlot.sliceOverlay(slice))
        #expect(contour.all("path", class: "mg-mask-reference").first?.attributes["fill-opacity"] == "0")
    }

    @Test("Window mapping: lower → 0, upper → 255, midpoint → 128 (half away from zero), NaN → 0")
    func window() {
        #expect(PNGEncoder.windowed([-100, 200, 50, -500, 900, .nan, .infinity], lower: -100, upper: 200) == [0, 255, 128, 0, 255, 0, 255])
    }

    @Test("Slice overlay refuses inconsistent input")
    func sliceErrors() {
        let ok = MedGridPlot.SliceOverlay(width: 2, height: 2, intensities: [0, 1, 2, 3], windowLower: 0, windowUpper: 3)
        var bad = ok
        bad.intensities = [0, 1, 2]
        #expect(throws: MedGridError.self) { try MedGridPlot.sliceOverlay(bad) }
        bad = ok
        bad.prediction = [true]
        #expect(throws: MedGridError.self) { try MedGridPlot.sliceOverlay(bad) }
        bad = ok
        bad.windowUpper = 0
        #expect(throws: MedGridError.self) { try MedGridPlot.sliceOverlay(bad) }
        bad = ok
        bad.width = 0
        #expect(throws: MedGridError.self) { try MedGridPlot.sliceOverlay(bad) }
        bad = ok
        bad.spacingY = -1
        #expect(throws: MedGridError.self) { try MedGridPlot.sliceOverlay(bad) }
        #expect(throws: Never.self) { try MedGridPlot.sliceOverlay(ok) }
    }
}

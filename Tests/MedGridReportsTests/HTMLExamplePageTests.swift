import Testing
import Foundation
@testable import MedGridReports

/// A synthetic but realistic benchmark (5 algorithms, 24 cases, DSC scores with missing values, 200
/// bootstrap samples, a phantom slice) used by the HTML tests and to write the example page for the browser
/// check. Deterministic: a fixed LCG, no `random()`.
enum HTMLFixture {
    static let algorithms = ["nnU-Net", "U-Net <baseline> & \"friends\"", "O'Brien's TransUNet", "Atlas-reg", "SegResNet"]
    static let cases = (1...24).map { "case-" + String(repeating: "0", count: 3 - String($0).count) + String($0) }

    /// Numerical Recipes LCG, uniform in [0, 1).
    struct LCG {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / 9_007_199_254_740_992.0
        }
        mutating func normal() -> Double {
            let u = max(next(), 1e-12), v = next()
            return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
        }
    }

    /// DSC per algorithm × case; NaN = missing.
    static func scores() -> [[Double]] {
        var rng = LCG(state: 42)
        let means = [0.88, 0.82, 0.845, 0.71, 0.86]
        var table: [[Double]] = []
        for (a, m) in means.enumerated() {
            var row: [Double] = []
            for (c, _) in cases.enumerated() {
                let caseDifficulty = -0.06 * sin(Double(c) * 1.7)
                row.append(min(0.99, max(0.2, m + caseDifficulty + 0.05 * rng.normal())))
            }
            if a == 3 { row[5] = .nan; row[17] = .nan }
            if a == 4 { row[9] = .nan }
            table.append(row)
        }
        return table
    }

    static func mean(_ v: [Double]) -> Double {
        let f = v.filter(\.isFinite)
        return f.reduce(0, +) / Double(f.count)
    }

    /// Ranks with ties.method = "min" by descending value.
    static func minRanks(_ values: [Double]) -> [Int] {
        values.map { v in 1 + values.filter { $0 > v }.count }
    }

    struct Built {
        var report: HTMLReport
        var plots: [String]
    }

    static func report() throws -> Built {
        let table = scores()
        let series = algorithms.enumerated().map { a, name in
            MedGridPlot.AlgorithmScores(algorithm: name, scores: cases.enumerated().map { c, id in
                MedGridPlot.CaseScore(caseID: id, value: table[a][c].isNaN ? nil : table[a][c])
            })
        }
        let fullMeans = table.map { row in mean(row.map { $0.isNaN ? 0 : $0 }) }
        let fullRanks = minRanks(fullMeans)
        var rng = LCG(state: 7)
        var bootstrap = [[Int]](repeating: [], count: algorithms.count)
        for _ in 0..<200 {
            let sample = (0..<cases.count).map { _ in Int(rng.next() * Double(cases.count)) }
            let means = table.map { row in sample.map { row[$0].isNaN ? 0 : row[$0] }.reduce(0, +) / Double(sample.count) }
            for (a, r) in minRanks(means).enumerated() { bootstrap[a].append(r) }
        }
        let blobs = algorithms.enumerated().map { a, name in
            MedGridPlot.RankBootstrap(algorithm: name, fullDataRank: Double(fullRanks[a]), bootstrapRanks: bootstrap[a])
        }
        let k = algorithms.count
        var better = [[Bool]](repeating: [Bool](repeating: false, count: k), count: k)
        var p = [[Double]](repeating: [Double](repeating: .nan, count: k), count: k)
        for i in 0..<k {
            for j in 0..<k where i != j {
                let d = fullMeans[i] - fullMeans[j]
                p[i][j] = d > 0 ? exp(-abs(d) * 120) : 1 - exp(-abs(d) * 120) / 2
                better[i][j] = d > 0 && p[i][j] < 0.05
            }
        }
        let bars = algorithms.enumerated().map { a, name -> MedGridPlot.MeanCI in
            let f = table[a].filter(\.isFinite)
            let m = mean(f)
            let sd = (f.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(f.count - 1)).squareRoot()
            let half = 1.96 * sd / Double(f.count).squareRoot()
            return MedGridPlot.MeanCI(algorithm: name, mean: m, lower: m - half, upper: m + half)
        }
        let slice = phantomSlice()
        let scorePlot = try MedGridPlot.scoreDistribution(series, options: .init(title: "DSC per case", valueLabel: "Dice similarity coefficient (higher is better)",
                                                                                 valueDomain: nil, connectCases: true))
        let blobPlot = try MedGridPlot.rankBlobs(blobs)
        let sigPlot = try MedGridPlot.significanceMap(.init(algorithms: algorithms, ranks: fullRanks.map(Double.init), significantlyBetter: better, pValues: p))
        let barPlot = try MedGridPlot.meanCIBars(bars, options: .init(valueLabel: "mean DSC", valueDomain: 0...1))
        let contour = try MedGridPlot.sliceOverlay(slice, options: .init(title: "case-007, slice 42: contours", style: .contour))
        let filled = try MedGridPlot.sliceOverlay(slice, options: .init(title: "case-007, slice 42: filled", style: .fill, displaySize: 280))

        let aggregateRows = algorithms.enumerated().map { a, name in
            [name, HTMLText.fixed(bars[a].mean, decimals: 3), "[\(HTMLText.fixed(bars[a].lower, decimals: 3)), \(HTMLText.fixed(bars[a].upper, decimals: 3))]",
             String(table[a].filter(\.isNaN).count), String(fullRanks[a])]
        }
        let report = HTMLReport(
            title: "Liver segmentation benchmark <demo> & \"ranking\"",
            summary: "Five algorithms on 24 synthetic cases; mean-then-rank with 200 bootstrap samples.",
            provenance: [
                .init("manifest SHA-256", "3f1c0e8a9b7d4c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e"),
                .init("dataset Merkle root", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"),
                .init("kernels", "seg-metrics 1.2.0, ranking 0.3.1"),
                .init("seed", "20240917"),
            ],
            sections: [
                .init(title: "Aggregate scores", blocks: [
                    .paragraph("Mean Dice similarity coefficient per algorithm with a normal-approximation 95 % interval.\n\nMissing cases count as DSC = 0 in the ranking."),
                    .table(.init(caption: "DSC by algorithm", header: ["algorithm", "mean DSC", "95 % CI", "missing", "rank"], rows: aggregateRows)),
                    .plot(.init(svg: barPlot, caption: "Mean DSC with 95 % confidence interval.")),
                ]),
                .init(title: "Per-case scores", blocks: [
                    .plot(.init(svg: scorePlot, caption: "Each dot is one case; boxes show R type-7 quartiles, whiskers reach the most extreme case within 1.5 IQR; grey lines join the same case.")),
                ]),
                .init(title: "Ranking uncertainty", blocks: [
                    .plot(.init(svg: blobPlot, caption: "Blob area ∝ frequency of each rank over 200 bootstrap samples; × = median rank, line = 2.5–97.5 % interval.")),
                    .plot(.init(svg: sigPlot, caption: "Filled cell: the row algorithm is significantly better than the column algorithm (synthetic p-values).")),
                ]),
                .init(title: "Example segmentation", blocks: [
                    .plot(.init(svg: contour, caption: "Reference (blue) and prediction (orange) boundaries.")),
                    .plot(.init(svg: filled, caption: "The same slice with filled masks.")),
                ]),
            ])
        return Built(report: report, plots: [barPlot, scorePlot, blobPlot, sigPlot, contour, filled])
    }

    /// 96 × 80 phantom: a body ellipse (~40), an organ disc (~120), deterministic noise; window [-100, 200].
    /// Reference = organ disc; prediction = shifted disc with a small hole (radius 2) and a separate false-positive blob.
    static func phantomSlice() -> MedGridPlot.SliceOverlay {
        let w = 96, h = 80
        var rng = LCG(state: 3)
        var values = [Float](repeating: -1000, count: w * h)
        var reference = [Bool](repeating: false, count: w * h)
        var prediction = [Bool](repeating: false, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let bx = (Double(x) - 48) / 42, by = (Double(y) - 40) / 34
                let i = y * w + x
                if bx * bx + by * by <= 1 { values[i] = Float(40 + 12 * rng.normal()) }
                let ox = Double(x) - 56, oy = Double(y) - 36
                if ox * ox + oy * oy <= 196 { values[i] = Float(120 + 10 * rng.normal()); reference[i] = true }
                let px = Double(x) - 58, py = Double(y) - 38
                if px * px + py * py <= 169 { prediction[i] = true }
                if px * px + py * py <= 4 { prediction[i] = false }
                if x >= 20 && x < 26 && y >= 50 && y < 54 { prediction[i] = true }
            }
        }
        return MedGridPlot.SliceOverlay(width: w, height: h, intensities: values, windowLower: -100, windowUpper: 200,
                                        prediction: prediction, reference: reference, spacingX: 0.8, spacingY: 1.0,
                                        predictionLabel: "prediction <model & co>", referenceLabel: "reference")
    }
}

struct HTMLExamplePageTests {
    /// Writes the fixture page for `scripts/check-html-report.sh` (path from `MEDGRID_HTML_EXAMPLE`, default
    /// /tmp/medgrid-html-report-example.html) and checks the file holds exactly the rendered text.
    @Test("Writes the example report page")
    func writeExample() throws {
        let path = ProcessInfo.processInfo.environment["MEDGRID_HTML_EXAMPLE"] ?? "/tmp/medgrid-html-report-example.html"
        let html = try HTMLFixture.report().report.render()
        try html.write(toFile: path, atomically: true, encoding: .utf8)
        let back = try String(contentsOfFile: path, encoding: .utf8)
        #expect(back == html)
        #expect(back.contains("data-plots-expected=\"6\""))
    }
}

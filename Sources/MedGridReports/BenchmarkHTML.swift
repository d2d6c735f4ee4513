public import MedGridCore
import Foundation

/// The self-contained HTML page of a Benchmark report: the consensus ranking with bootstrap rank intervals,
/// per metric the per-case score plot, mean ± 95 % CI bars, the bootstrap rank blob plot and the significance
/// map, and (when given) rendered slices with prediction and ground-truth outlines. Everything comes from
/// the canonical report, so the page is as reproducible as the report itself.
public enum BenchmarkHTML {
    /// A slice to show: a caption and the overlay (built by the caller, who can read images).
    public struct Slice: Sendable {
        public var caption: String
        public var overlay: MedGridPlot.SliceOverlay
        public init(caption: String, overlay: MedGridPlot.SliceOverlay) {
            self.caption = caption
            self.overlay = overlay
        }
    }

    public static func render(_ report: JSONValue, slices: [Slice] = []) throws -> String {
        let name = report["job"]?["name"]?.stringValue ?? "benchmark"
        let p = report["provenance"]
        var provenance: [HTMLReport.ProvenanceEntry] = [
            .init("status", report["status"]?.stringValue ?? ""),
            .init("manifest SHA-256", p?["manifestSHA256"]?.stringValue ?? ""),
            .init("dataset Merkle root", p?["datasetRoot"]?.stringValue ?? ""),
            .init("dataset", "\(p?["datasetFiles"]?.intValue ?? 0) files, \(p?["datasetBytes"]?.intValue ?? 0) bytes"),
            .init("kernels", (p?["kernels"]?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? "") \($0["version"]?.stringValue ?? "")" }.joined(separator: ", ")),
            .init("seed", "\(p?["seed"]?.intValue ?? 0)"),
            .init("MedGrid", p?["medgridVersion"]?.stringValue ?? ""),
        ]
        if let o = p?["metricOptions"] { provenance.append(.init("surface metrics", CanonicalJSON.compact(o))) }
        for (metric, text) in (p?["metricDefinitions"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            provenance.append(.init("metric \(metric)", text.stringValue ?? ""))
        }
        for step in p?["steps"]?.arrayValue ?? [] {
            let what = step["kernel"]?.stringValue.map { "\($0) \(CanonicalJSON.compact(step["params"] ?? .object([:])))" }
                ?? (step["command"]?.arrayValue?.compactMap(\.stringValue).joined(separator: " ") ?? "")
            provenance.append(.init("algorithm \(step["name"]?.stringValue ?? "")", what))
        }
        let ranking = report["ranking"]
        let metrics = p?["manifest"]?["spec"]?["metrics"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var sections: [HTMLReport.Section] = []

        // Consensus.
        var blocks: [HTMLReport.Block] = []
        if let error = ranking?["error"]?.stringValue {
            blocks.append(.paragraph("The ranking could not be computed: \(error)"))
        } else {
            blocks.append(.paragraph("Derived from the per-case scores: \(ranking?["description"]?.stringValue ?? "")."))
            blocks.append(.table(HTMLReport.Table(
                caption: "Consensus ranking (ties take the minimum rank)",
                header: ["rank", "algorithm", "score", "median rank", "95% rank interval", "ranked first"],
                rows: (ranking?["consensus"]?.arrayValue ?? []).map { s in
                    [
                        "\(s["rank"]?.intValue ?? 0)", s["algorithm"]?.stringValue ?? "", num(s["score"]),
                        num(s["medianRank"]),
                        s["rankLower"]?.doubleValue.map { "[\(HTMLText.fixed($0, decimals: 1)), \(HTMLText.fixed(s["rankUpper"]?.doubleValue ?? $0, decimals: 1))]" } ?? "—",
                        s["firstShare"]?.doubleValue.map { "\(HTMLText.fixed($0 * 100, decimals: 1))%" } ?? "—",
                    ]
                })))
        }
        sections.append(HTMLReport.Section(title: "Ranking", blocks: blocks))

        // Per metric.
        let scores = report["scores"]?.arrayValue ?? []
        let algorithms = p?["steps"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        for metric in metrics {
            var blocks: [HTMLReport.Block] = []
            let m = ranking?["metrics"]?[metric]
            let direction = m?["direction"]?.stringValue ?? ""
            blocks.append(.paragraph("\(metric): \(direction)\(m?["rankedOn"] != nil ? ", ranked on the absolute value" : ""). "
                + ((m?["ranking"]?["ranking"]?.arrayValue ?? []).map { "\($0["rank"]?.intValue ?? 0). \($0["algorithm"]?.stringValue ?? "")" }.joined(separator: ", "))))
            let perAlgorithm: [MedGridPlot.AlgorithmScores] = algorithms.map { a in
                MedGridPlot.AlgorithmScores(algorithm: a, scores: scores.filter { $0["algorithm"]?.stringValue == a && $0["metric"]?.stringValue == metric }.map {
                    MedGridPlot.CaseScore(caseID: $0["case"]?.stringValue ?? "", value: $0["value"]?.doubleValue)
                })
            }
            blocks.append(.plot(HTMLReport.Plot(
                svg: try MedGridPlot.scoreDistribution(perAlgorithm, options: .init(title: "\(metric) per case", valueLabel: metric, connectCases: true)),
                caption: "Per-case \(metric) by algorithm: boxes show quartiles (R type 7), whiskers reach the furthest case within 1.5 IQR, dots are cases (lines join the same case).")))
            let cis: [MedGridPlot.MeanCI] = perAlgorithm.compactMap { a in
                let v = a.scores.compactMap(\.value).filter(\.isFinite)
                guard !v.isEmpty else { return nil }
                var sum = 0.0
                for x in v { sum += x }
                let mean = sum / Double(v.count)
                var ss = 0.0
                for x in v { ss += (x - mean) * (x - mean) }
                let half = v.count > 1 ? 1.959963984540054 * (ss / Double(v.count - 1)).squareRoot() / Double(v.count).squareRoot() : 0
                return MedGridPlot.MeanCI(algorithm: a.algorithm, mean: mean, lower: mean - half, upper: mean + half)
            }
            if !cis.isEmpty {
                blocks.append(.plot(HTMLReport.Plot(
                    svg: try MedGridPlot.meanCIBars(cis, options: .init(title: "Mean \(metric) with 95% CI", valueLabel: metric, algorithmLabel: "algorithm", valueDomain: nil, decimals: 3, levelText: "95 %")),
                    caption: "Mean \(metric) per algorithm ± 1.96 standard errors (normal approximation over cases).")))
            }
            if let dists = m?["bootstrap"]?["algorithms"]?.arrayValue, !dists.isEmpty {
                let blobs: [MedGridPlot.RankBootstrap] = dists.map { d in
                    var ranks: [Int] = []
                    for (i, c) in (d["rankCounts"]?.arrayValue ?? []).enumerated() { ranks += Array(repeating: i + 1, count: c.intValue ?? 0) }
                    return MedGridPlot.RankBootstrap(algorithm: d["algorithm"]?.stringValue ?? "", fullDataRank: d["fullRank"]?.doubleValue ?? 0, bootstrapRanks: ranks)
                }
                blocks.append(.plot(HTMLReport.Plot(
                    svg: try MedGridPlot.rankBlobs(blobs, options: .init(title: "\(metric): ranks over bootstrap samples")),
                    caption: "Blob plot: circle area is how often an algorithm took each rank over the paired bootstrap samples of cases; the line spans the 2.5–97.5% rank interval.")))
            }
            if let sig = m?["significance"], let names = sig["algorithms"]?.arrayValue?.compactMap(\.stringValue), !names.isEmpty {
                let order = (m?["ranking"]?["ranking"]?.arrayValue ?? []).compactMap { $0["algorithm"]?.stringValue }
                let ordered = order.count == names.count ? order : names
                let rankOf = Dictionary(uniqueKeysWithValues: (m?["ranking"]?["ranking"]?.arrayValue ?? []).compactMap { r in r["algorithm"]?.stringValue.map { ($0, r["rank"]?.doubleValue ?? 0) } })
                var better = Array(repeating: Array(repeating: false, count: ordered.count), count: ordered.count)
                var pv = Array(repeating: Array(repeating: 1.0, count: ordered.count), count: ordered.count)
                let index = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
                for c in sig["comparisons"]?.arrayValue ?? [] {
                    guard let a = c["algorithm"]?.stringValue.flatMap({ index[$0] }), let b = c["opponent"]?.stringValue.flatMap({ index[$0] }), a != b else { continue }
                    better[a][b] = c["significant"]?.boolValue ?? false
                    pv[a][b] = c["adjustedPValue"]?.doubleValue ?? 1
                }
                blocks.append(.plot(HTMLReport.Plot(
                    svg: try MedGridPlot.significanceMap(
                        MedGridPlot.SignificanceInput(algorithms: ordered, ranks: ordered.map { rankOf[$0] ?? 0 }, significantlyBetter: better, pValues: pv),
                        options: .init(title: "\(metric): significance map")),
                    caption: "A filled cell: the row's algorithm is significantly better than the column's (one-sided paired Wilcoxon signed-rank test, \(ranking?["settings"]?["adjust"]?.stringValue ?? "none") adjustment, α = \(num(ranking?["settings"]?["alpha"])))")))
            }
            let taus = (m?["schemes"]?["kendallTau"]?.arrayValue ?? []).map { t -> [String] in
                [t["schemes"]?.arrayValue?.compactMap(\.stringValue).joined(separator: " vs ") ?? "", num(t["tau"])]
            }
            if !taus.isEmpty {
                blocks.append(.table(HTMLReport.Table(caption: "Kendall's τ-b between ranking schemes", header: ["schemes", "τ-b"], rows: taus)))
            }
            sections.append(HTMLReport.Section(title: "Metric: \(metric)", blocks: blocks))
        }
        if !slices.isEmpty {
            var blocks: [HTMLReport.Block] = [.paragraph("Axial slices through the largest cross-section of each case's ground truth, with the top-ranked algorithm's segmentation.")]
            for s in slices {
                blocks.append(.plot(HTMLReport.Plot(svg: try MedGridPlot.sliceOverlay(s.overlay, options: .init(title: s.caption)), caption: s.caption)))
            }
            sections.append(HTMLReport.Section(title: "Slices", blocks: blocks))
        }
        let failures = report["failures"]?.arrayValue ?? []
        if !failures.isEmpty {
            sections.append(HTMLReport.Section(title: "Failed tasks", blocks: [.table(HTMLReport.Table(
                header: ["task", "covers", "kind", "message"],
                rows: failures.map { f in ["task", "covers", "kind", "message"].map { f[$0]?.stringValue ?? "" } }))]))
        }
        return HTMLReport(
            title: "Benchmark report: \(name)",
            summary: "\(algorithms.count) algorithms, \(metrics.count) metrics, \(Set(scores.compactMap { $0["case"]?.stringValue }).count) cases.",
            provenance: provenance, sections: sections
        ).render()
    }

    static func num(_ v: JSONValue?) -> String {
        guard let d = v?.doubleValue, d.isFinite else { return "—" }
        return d == d.rounded() && abs(d) < 1e9 ? String(Int(d)) : HTMLText.fixed(d, decimals: 4)
    }
}

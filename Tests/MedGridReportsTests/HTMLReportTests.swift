import Testing
@testable import MedGridReports

struct HTMLReportTests {
    static let nasty = "<script>alert(\"x&y\")</script> O'Neil & <b>"

    @Test("Rendering is deterministic: twice, and from independently rebuilt inputs, byte-identical")
    func deterministic() throws {
        let a = try HTMLFixture.report().report
        let first = a.render()
        #expect(first == a.render())
        let b = try HTMLFixture.report().report
        #expect(b.render() == first)
        #expect(b == a)
    }

    @Test("Names with < & \" ' are escaped everywhere and come back unchanged after XML decoding")
    func escaping() throws {
        let scores = [MedGridPlot.AlgorithmScores(algorithm: Self.nasty, scores: [.init(caseID: "c<1>&'\"", value: 0.5), .init(caseID: "c2", value: 0.7)]),
                      MedGridPlot.AlgorithmScores(algorithm: "plain", scores: [.init(caseID: "c<1>&'\"", value: 0.6)])]
        let svg = try MedGridPlot.scoreDistribution(scores, options: .init(title: "t <&>", valueLabel: "v \"q\""))
        let report = HTMLReport(title: Self.nasty, summary: Self.nasty, provenance: [.init(Self.nasty, Self.nasty)], sections: [
            .init(title: Self.nasty, blocks: [
                .paragraph(Self.nasty),
                .table(.init(caption: Self.nasty, header: [Self.nasty, "x"], rows: [[Self.nasty, "1.0"]])),
                .plot(.init(svg: svg, caption: Self.nasty)),
            ]),
        ])
        let html = report.render()
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("O'Neil"))
        #expect(!html.contains("<b>"))
        #expect(html.contains("&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; O&#39;Neil &amp; &lt;b&gt;"))
        let doc = try XMLCheck.parse(html)
        // title, h1, summary, provenance th + td, h2, nav entry? (1 section: no nav), paragraph, caption, th, td, figcaption
        let headings = doc.all("h2").map(\.allText)
        #expect(headings == ["Provenance", Self.nasty])
        for name in ["title", "h1", "caption"] {
            #expect(doc.all(name).first?.allText == Self.nasty, "element \(name)")
        }
        #expect(doc.all("p", class: "summary").first?.text == Self.nasty)
        #expect(doc.all("td").first?.text == Self.nasty)
        #expect(doc.all("figcaption").first?.allText == "Figure 1. " + Self.nasty)
        let dots = doc.all("circle", class: "mg-dot")
        #expect(dots.count == 3)
        #expect(dots.first?.tooltip == "c<1>&'\" — \(Self.nasty): 0.500")
        let labels = doc.all("text").compactMap(\.tooltip)
        #expect(labels.contains(Self.nasty))
        #expect(doc.all("svg").first?.attributes["aria-label"] == "t <&>")
        // script elements: exactly the two inline ones, no src; nothing loads external resources
        let scripts = doc.all("script")
        #expect(scripts.count == 2)
        #expect(scripts.allSatisfy { $0.attributes["src"] == nil })
        #expect(doc.all("link").isEmpty && doc.all("img").isEmpty && doc.all("iframe").isEmpty)
    }

    @Test("Text escaping replaces XML-forbidden control characters")
    func controlCharacters() {
        #expect(HTMLText.escape("a\u{0001}b\tc\nd\u{FFFF}") == "a\u{FFFD}b\tc\nd\u{FFFD}")
        #expect(HTMLText.escape("&<>\"'") == "&amp;&lt;&gt;&quot;&#39;")
    }

    @Test("Fixed-decimal formatting", arguments: [
        (2.5, 0, "3"), (-2.5, 0, "-3"), (-0.0004, 3, "0.000"), (1234.5678, 2, "1234.57"), (0.05, 1, "0.1"),
        (0, 3, "0.000"), (-1, 2, "-1.00"), (0.000123, 5, "0.00012"), (1e20, 2, "1e+20"), (Double.nan, 2, "NaN"),
        (-Double.infinity, 1, "-Inf"), (7, 0, "7"), (0.9999, 3, "1.000"),
    ] as [(Double, Int, String)])
    func fixed(_ value: Double, _ decimals: Int, _ expected: String) {
        #expect(HTMLText.fixed(value, decimals: decimals) == expected)
    }

    @Test("Numeric cells and all-numeric columns are right-aligned")
    func numericAlignment() throws {
        let table = HTMLReport.Table(caption: nil, header: ["algorithm", "mean", "CI", "note"],
                                     rows: [["nnU-Net", "0.912", "[0.88, 0.94]", "best"], ["U-Net", "—", "0.85 ± 0.02", "3 failed"]])
        let doc = try XMLCheck.parse(HTMLReport.renderTable(table))
        let header = doc.all("th").map { $0.attributes["class"] ?? "" }
        #expect(header == ["", "num", "num", ""])
        let cells = doc.all("td").map { $0.attributes["class"] ?? "" }
        #expect(cells == ["", "num", "num", "", "", "num", "num", ""])
        for (cell, numeric) in [("0.5", true), ("-1e-4", true), ("85.2 %", true), ("n/a", true), ("case-01", false), ("v1.2", false), ("", false), ("e", false)] {
            #expect(HTMLReport.Table.isNumeric(cell) == numeric, "\(cell)")
        }
    }

    @Test("Short rows are padded; the body declares the number of plots; paragraphs split on blank lines")
    func structure() throws {
        let report = HTMLReport(title: "t", sections: [
            .init(title: "a", blocks: [.paragraph("one\ntwo\n\nthree"), .table(.init(header: ["x", "y", "z"], rows: [["1"]]))]),
            .init(title: "b", blocks: [.plot(.init(svg: try MedGridPlot.meanCIBars([.init(algorithm: "A", mean: 1, lower: 0.5, upper: 1.5)]), caption: "c"))]),
        ])
        let doc = try XMLCheck.parse(report.render())
        let paragraphs = doc.all("p").map(\.text)
        #expect(paragraphs == ["one two", "three", "Generated by MedGrid. Self-contained page: no external resources."])
        #expect(doc.all("td").count == 3)
        let body = try #require(doc.all("body").first)
        #expect(body.attributes["data-plots-expected"] == "1")
        #expect(doc.all("nav").count == 1)
        #expect(doc.all("section").map { $0.attributes["id"] ?? "" } == ["section-1", "section-2"])
        #expect(doc.all("figure").first?.attributes["id"] == "figure-1")
    }
}

/// A self-contained HTML benchmark report page: title, provenance table and sections of paragraphs, tables
/// and plots (SVG from ``MedGridPlot``). ``render()`` writes one HTML5 document with inline CSS (light theme,
/// printable, plots scale with the page width through their `viewBox`), no external assets and no network
/// access, and two tiny inline scripts used only by the browser check (they record script errors and, after
/// load, mark every `svg.medgrid-plot` with `data-size-ok` and the `<body>` with `data-plots-ok`,
/// `data-images-ok`, `data-errors`, `data-check-done="1"` and `data-error-messages`).
///
/// The markup is also well-formed XML (polyglot: quoted attributes, closed void elements, no `<` or `&` in
/// the inline CSS/JS). All text is escaped with ``HTMLText/escape(_:)``. Deterministic: the same report gives
/// byte-identical output (no dates, no random ids; ids are `section-1`, `section-2`, …).
public struct HTMLReport: Sendable, Hashable {
    /// Page title (also the `<h1>`).
    public var title: String
    /// Optional one-line description under the title.
    public var summary: String?
    /// Key/value rows of the provenance table, in the given order (e.g. manifest SHA-256, dataset root,
    /// kernel versions, seed).
    public var provenance: [ProvenanceEntry]
    public var sections: [Section]

    /// Memberwise initialiser.
    public init(title: String, summary: String? = nil, provenance: [ProvenanceEntry] = [], sections: [Section] = []) {
        self.title = title
        self.summary = summary
        self.provenance = provenance
        self.sections = sections
    }

    /// One provenance row.
    public struct ProvenanceEntry: Sendable, Hashable {
        public var key: String
        public var value: String
        /// Memberwise initialiser.
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// A titled section (`<section id="section-N"><h2>`), listed in the page's table of contents.
    public struct Section: Sendable, Hashable {
        public var title: String
        public var blocks: [Block]
        /// Memberwise initialiser.
        public init(title: String, blocks: [Block]) {
            self.title = title
            self.blocks = blocks
        }
    }

    /// Content of a section, rendered in order.
    public enum Block: Sendable, Hashable {
        /// Plain text (escaped); blank lines ("\n\n") start a new paragraph.
        case paragraph(String)
        case table(Table)
        case plot(Plot)
    }

    /// A table of strings. A body cell that looks numeric (see ``isNumeric(_:)``) is right-aligned with
    /// tabular figures; a header cell is right-aligned when every non-empty cell of its column is numeric.
    /// Rows shorter than the header are padded with empty cells; longer rows are kept as they are.
    public struct Table: Sendable, Hashable {
        public var caption: String?
        public var header: [String]
        public var rows: [[String]]
        /// Memberwise initialiser.
        public init(caption: String? = nil, header: [String], rows: [[String]]) {
            self.caption = caption
            self.header = header
            self.rows = rows
        }

        /// True for number-like cells: every character is one of `0-9 . , + - − e E % ± [ ] ( ) – ;` or a
        /// space and there is at least one digit (e.g. "0.912", "-3", "1e-4", "85.2 %", "0.91 [0.88, 0.94]",
        /// "0.91 ± 0.03"), or the cell is a missing-value marker ("—", "–", "-", "NaN", "NA", "n/a", "Inf", "-Inf").
        public static func isNumeric(_ cell: String) -> Bool {
            let t = cell.trimmingSpaces()
            if ["—", "–", "-", "NaN", "NA", "n/a", "Inf", "-Inf", "∞"].contains(t) { return true }
            var digit = false
            for ch in t.unicodeScalars {
                if ("0"..."9").contains(ch) { digit = true; continue }
                if !".,+-−eE%±[]()–; ".unicodeScalars.contains(ch) { return false }
            }
            return digit
        }
    }

    /// An SVG plot with a caption (`<figure>` + `<figcaption>`). `svg` is inserted verbatim: pass the output
    /// of a ``MedGridPlot`` function (it is already escaped and well-formed).
    public struct Plot: Sendable, Hashable {
        public var svg: String
        public var caption: String
        /// Memberwise initialiser.
        public init(svg: String, caption: String) {
            self.svg = svg
            self.caption = caption
        }
    }

    /// The complete HTML document (UTF-8 text, `\n` line ends, ends with a newline).
    public func render() -> String {
        let e = HTMLText.escape
        let plotCount = sections.reduce(0) { n, s in
            n + s.blocks.reduce(0) { m, b in if case .plot = b { return m + 1 } else { return m } }
        }
        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        out += "<meta charset=\"utf-8\"/>\n"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        out += "<meta name=\"generator\" content=\"MedGrid HTMLReport\"/>\n"
        out += "<title>\(e(title))</title>\n"
        out += "<style>\n\(Self.css)</style>\n"
        out += "<script>\n\(Self.errorCaptureScript)</script>\n"
        out += "</head>\n<body data-plots-expected=\"\(plotCount)\">\n"
        out += "<header>\n<h1>\(e(title))</h1>\n"
        if let summary { out += "<p class=\"summary\">\(e(summary))</p>\n" }
        out += "</header>\n"
        if sections.count > 1 {
            out += "<nav aria-label=\"Contents\">\n<ol>\n"
            for (i, s) in sections.enumerated() { out += "<li><a href=\"#section-\(i + 1)\">\(e(s.title))</a></li>\n" }
            out += "</ol>\n</nav>\n"
        }
        out += "<main>\n"
        if !provenance.isEmpty {
            out += "<section id=\"provenance\" class=\"provenance\">\n<h2>Provenance</h2>\n<div class=\"table-wrap\">\n<table>\n<tbody>\n"
            for p in provenance { out += "<tr><th scope=\"row\">\(e(p.key))</th><td>\(e(p.value))</td></tr>\n" }
            out += "</tbody>\n</table>\n</div>\n</section>\n"
        }
        var figure = 0
        for (i, s) in sections.enumerated() {
            out += "<section id=\"section-\(i + 1)\">\n<h2>\(e(s.title))</h2>\n"
            for block in s.blocks {
                switch block {
                case .paragraph(let text):
                    for p in text.paragraphs() { out += "<p>\(e(p))</p>\n" }
                case .table(let table):
                    out += Self.renderTable(table)
                case .plot(let plot):
                    figure += 1
                    out += "<figure id=\"figure-\(figure)\" class=\"medgrid-figure\">\n"
                    out += plot.svg.hasSuffix("\n") ? plot.svg : plot.svg + "\n"
                    out += "<figcaption><span class=\"figure-number\">Figure \(figure).</span> \(e(plot.caption))</figcaption>\n</figure>\n"
                }
            }
            out += "</section>\n"
        }
        out += "</main>\n<footer>\n<p>Generated by MedGrid. Self-contained page: no external resources.</p>\n</footer>\n"
        out += "<script>\n\(Self.checkScript)</script>\n"
        out += "</body>\n</html>\n"
        return out
    }

    static func renderTable(_ table: Table) -> String {
        let e = HTMLText.escape
        let columns = max(table.header.count, table.rows.map(\.count).max() ?? 0)
        var numericColumn = [Bool](repeating: true, count: columns)
        var hasValue = [Bool](repeating: false, count: columns)
        for row in table.rows {
            for (j, cell) in row.enumerated() where !cell.trimmingSpaces().isEmpty {
                hasValue[j] = true
                if !Table.isNumeric(cell) { numericColumn[j] = false }
            }
        }
        var out = "<div class=\"table-wrap\">\n<table>\n"
        if let caption = table.caption { out += "<caption>\(e(caption))</caption>\n" }
        if !table.header.isEmpty {
            out += "<thead>\n<tr>"
            for (j, h) in table.header.enumerated() {
                out += (numericColumn[j] && hasValue[j]) ? "<th scope=\"col\" class=\"num\">\(e(h))</th>" : "<th scope=\"col\">\(e(h))</th>"
            }
            out += "</tr>\n</thead>\n"
        }
        out += "<tbody>\n"
        for row in table.rows {
            out += "<tr>"
            for j in 0..<max(row.count, table.header.count) {
                let cell = j < row.count ? row[j] : ""
                out += Table.isNumeric(cell) ? "<td class=\"num\">\(e(cell))</td>" : "<td>\(e(cell))</td>"
            }
            out += "</tr>\n"
        }
        out += "</tbody>\n</table>\n</div>\n"
        return out
    }

    /// Inline style sheet (no `<` or `&`).
    static let css = """
    :root { color-scheme: light; }
    body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1a1a1a; background: #ffffff; margin: 0 auto; max-width: 1040px; padding: 1.25rem 1.5rem 2rem; line-height: 1.5; }
    h1 { font-size: 1.6rem; margin: 0.5rem 0; }
    h2 { font-size: 1.25rem; margin: 2rem 0 0.75rem; padding-bottom: 0.2rem; border-bottom: 1px solid #d8d8d8; }
    p.summary { color: #444444; margin-top: 0; }
    nav ol { margin: 0.25rem 0 0; padding-left: 1.5rem; }
    a { color: #0060a0; }
    .table-wrap { overflow-x: auto; max-width: 100%; }
    table { border-collapse: collapse; margin: 0.75rem 0; font-size: 0.9rem; }
    caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
    th, td { border: 1px solid #d0d0d0; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
    thead th { background: #f1f3f5; }
    tbody tr:nth-child(even) { background: #fafafa; }
    th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    .provenance th { background: #f1f3f5; white-space: nowrap; }
    .provenance td { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.85rem; word-break: break-all; }
    figure.medgrid-figure { margin: 1.25rem 0; }
    svg.medgrid-plot { display: block; max-width: 100%; height: auto; background: #ffffff; }
    figcaption { font-size: 0.9rem; color: #444444; margin-top: 0.35rem; max-width: 70em; }
    .figure-number { font-weight: 600; }
    footer { margin-top: 2.5rem; font-size: 0.8rem; color: #666666; border-top: 1px solid #e0e0e0; }
    @media print {
      body { max-width: none; padding: 0; font-size: 10pt; }
      nav { display: none; }
      figure, table, tr { break-inside: avoid; page-break-inside: avoid; }
      h2 { break-after: avoid; page-break-after: avoid; }
      a { color: inherit; text-decoration: none; }
      tbody tr:nth-child(even) { background: none; }
    }

    """

    /// Records script errors, failed resource loads and `console.error` calls (no `<` or `&`).
    static let errorCaptureScript = """
    window.medgridErrors = [];
    window.addEventListener("error", function (event) {
      window.medgridErrors.push(String(event.message || ("failed to load " + (event.target ? event.target.nodeName : "resource"))));
    }, true);
    (function () {
      var original = console.error;
      console.error = function () {
        window.medgridErrors.push(Array.prototype.join.call(arguments, " "));
        return original.apply(console, arguments);
      };
    })();

    """

    /// After load: measures every plot, decodes every embedded image, writes the result markers on `<body>`.
    static let checkScript = """
    window.addEventListener("load", function () {
      var plots = document.querySelectorAll("svg.medgrid-plot");
      var plotsOk = 0;
      plots.forEach(function (plot) {
        var box = plot.getBoundingClientRect();
        var good = box.width > 0 ? box.height > 0 : false;
        plot.setAttribute("data-size-ok", good ? "1" : "0");
        if (good) { plotsOk += 1; }
      });
      var images = document.querySelectorAll("svg.medgrid-plot image");
      var imagesOk = 0;
      var pending = [];
      images.forEach(function (image) {
        var probe = new Image();
        probe.src = image.getAttribute("href");
        pending.push(probe.decode().then(function () {
          var sameWidth = String(probe.naturalWidth) === image.getAttribute("data-width");
          var sameHeight = String(probe.naturalHeight) === image.getAttribute("data-height");
          if (sameWidth ? sameHeight : false) { imagesOk += 1; } else { window.medgridErrors.push("image size mismatch"); }
        }, function (error) { window.medgridErrors.push("image decode failed: " + error); }));
      });
      Promise.all(pending).then(function () {
        var body = document.body;
        body.setAttribute("data-plots-found", String(plots.length));
        body.setAttribute("data-plots-ok", String(plotsOk));
        body.setAttribute("data-images-found", String(images.length));
        body.setAttribute("data-images-ok", String(imagesOk));
        body.setAttribute("data-errors", String(window.medgridErrors.length));
        body.setAttribute("data-check-done", "1");
        body.setAttribute("data-error-messages", window.medgridErrors.join(" | "));
      });
    });

    """
}

extension String {
    /// The string without leading/trailing spaces, tabs and newlines (stdlib only).
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !" \t\n\r".unicodeScalars.contains($0) }),
              let last = scalars.lastIndex(where: { !" \t\n\r".unicodeScalars.contains($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// Splits on blank lines; each paragraph trimmed; empty paragraphs dropped.
    fileprivate func paragraphs() -> [String] {
        var result: [String] = []
        var current: [String] = []
        for line in split(separator: "\n", omittingEmptySubsequences: false) {
            let t = String(line).trimmingSpaces()
            if t.isEmpty {
                if !current.isEmpty { result.append(current.joined(separator: " ")); current = [] }
            } else {
                current.append(t)
            }
        }
        if !current.isEmpty { result.append(current.joined(separator: " ")) }
        return result
    }
}

import Foundation

/// Builds one SVG fragment: elements are written in call order with attributes in the given order, so the
/// output is deterministic. Attribute values and text are escaped with ``HTMLText/escape(_:)``.
struct SVGCanvas {
    private(set) var text = ""
    private var stack: [String] = []

    /// The Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008), black last.
    static let okabeIto = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"]
    /// Palette colour `index` (cycled). Yellow is skipped for marks on white (poor contrast).
    static func seriesColor(_ index: Int) -> String {
        let usable = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
        return usable[((index % usable.count) + usable.count) % usable.count]
    }
    static let axisColor = "#333333"
    static let gridColor = "#E3E3E3"
    static let fontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

    /// Opens the root `<svg>` with the `medgrid-plot medgrid-plot-<kind>` classes, `role="img"`, an
    /// `aria-label`, a `viewBox` and a `<title>`.
    init(kind: String, width: Double, height: Double, label: String) {
        open("svg", [
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("class", "medgrid-plot medgrid-plot-\(kind)"),
            ("role", "img"),
            ("aria-label", label),
            ("viewBox", "0 0 \(HTMLText.coordinate(width)) \(HTMLText.coordinate(height))"),
            ("width", HTMLText.coordinate(width)),
            ("height", HTMLText.coordinate(height)),
            ("font-family", Self.fontFamily),
            ("font-size", "11"),
        ])
        element("title", [], text: label)
    }

    private static func attributes(_ attrs: [(String, String)]) -> String {
        var s = ""
        for (name, value) in attrs { s += " \(name)=\"\(HTMLText.escape(value))\"" }
        return s
    }

    mutating func open(_ tag: String, _ attrs: [(String, String)]) {
        text += "<\(tag)\(Self.attributes(attrs))>"
        stack.append(tag)
    }

    mutating func close() {
        guard let tag = stack.popLast() else { return }
        text += "</\(tag)>"
        if tag == "svg" || tag == "g" { text += "\n" }
    }

    /// An element with optional text content and an optional `<title>` tooltip child.
    mutating func element(_ tag: String, _ attrs: [(String, String)], text content: String? = nil, tooltip: String? = nil) {
        if content == nil && tooltip == nil {
            text += "<\(tag)\(Self.attributes(attrs))/>"
        } else {
            text += "<\(tag)\(Self.attributes(attrs))>"
            if let tooltip { text += "<title>\(HTMLText.escape(tooltip))</title>" }
            if let content { text += HTMLText.escape(content) }
            text += "</\(tag)>"
        }
        if tag != "title" && tag != "tspan" { text += "\n" }
    }

    /// Appends pre-built, already well-formed markup (used for numbers-only path data built here).
    mutating func raw(_ markup: String) { text += markup }

    /// Closes every open element and returns the SVG.
    mutating func finish() -> String {
        while !stack.isEmpty { close() }
        return text
    }

    // MARK: - Common pieces

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ attrs: [(String, String)] = [], tooltip: String? = nil) {
        let c = HTMLText.coordinate
        element("line", [("x1", c(x1)), ("y1", c(y1)), ("x2", c(x2)), ("y2", c(y2))] + attrs, tooltip: tooltip)
    }

    mutating func label(_ x: Double, _ y: Double, _ content: String, anchor: String = "middle", attrs: [(String, String)] = [], tooltip: String? = nil) {
        let c = HTMLText.coordinate
        element("text", [("x", c(x)), ("y", c(y)), ("text-anchor", anchor)] + attrs, text: content, tooltip: tooltip)
    }

    /// A continuous y axis on the left of `frame` with grid lines, ticks, tick labels and a rotated title.
    mutating func yAxis(_ scale: SVGLinearScale, frame: SVGFrame, title: String) {
        open("g", [("class", "mg-axis mg-axis-y")])
        for tick in scale.ticks {
            let y = scale.map(tick)
            line(frame.plotLeft, y, frame.plotRight, y, [("stroke", Self.gridColor), ("stroke-width", "1")])
            line(frame.plotLeft - 5, y, frame.plotLeft, y, [("stroke", Self.axisColor)])
            label(frame.plotLeft - 8, y + 3.5, HTMLText.fixed(tick, decimals: scale.tickDecimals), anchor: "end", attrs: [("fill", Self.axisColor)])
        }
        line(frame.plotLeft, frame.plotTop, frame.plotLeft, frame.plotBottom, [("stroke", Self.axisColor)])
        let cx = 16.0, cy = (frame.plotTop + frame.plotBottom) / 2
        label(cx, cy, title, attrs: [("transform", "rotate(-90 \(HTMLText.coordinate(cx)) \(HTMLText.coordinate(cy)))"), ("font-size", "12"), ("fill", Self.axisColor), ("class", "mg-axis-title")])
        close()
    }

    /// A categorical x axis: one tick and label per category centre; labels rotate −35° when they would
    /// overlap (layout from ``SVGCategoryLabels``). `notes` are appended to labels (e.g. "(2 missing)").
    mutating func xCategoryAxis(_ labels: SVGCategoryLabels, scale: SVGBandScale, frame: SVGFrame, title: String) {
        open("g", [("class", "mg-axis mg-axis-x")])
        line(frame.plotLeft, frame.plotBottom, frame.plotRight, frame.plotBottom, [("stroke", Self.axisColor)])
        for (i, full) in labels.fullTexts.enumerated() {
            let x = scale.center(i)
            line(x, frame.plotBottom, x, frame.plotBottom + 5, [("stroke", Self.axisColor)])
            let y = frame.plotBottom + 17
            if labels.rotated {
                label(x + 3, y - 4, labels.shownTexts[i], anchor: "end",
                      attrs: [("transform", "rotate(-35 \(HTMLText.coordinate(x + 3)) \(HTMLText.coordinate(y - 4)))"), ("fill", Self.axisColor)],
                      tooltip: full)
            } else {
                label(x, y, labels.shownTexts[i], attrs: [("fill", Self.axisColor)], tooltip: full)
            }
        }
        label((frame.plotLeft + frame.plotRight) / 2, frame.height - 8, title, attrs: [("font-size", "12"), ("fill", Self.axisColor), ("class", "mg-axis-title")])
        close()
    }

    /// A horizontal legend row starting at (`x`, `y`): each entry is a swatch drawn by `swatch` then a label.
    mutating func legend(x: Double, y: Double, entries: [(label: String, swatch: (inout SVGCanvas, Double, Double) -> Void)]) {
        open("g", [("class", "mg-legend")])
        var cx = x
        for entry in entries {
            entry.swatch(&self, cx + 6, y)
            label(cx + 16, y + 4, entry.label, anchor: "start", attrs: [("fill", Self.axisColor)])
            cx += 26 + SVGCategoryLabels.estimatedWidth(entry.label)
        }
        close()
    }
}

/// Outer size and margins of a plot; the plot area is the inner rectangle.
struct SVGFrame {
    var width: Double
    var height: Double
    var left: Double
    var right: Double
    var top: Double
    var bottom: Double
    var plotLeft: Double { left }
    var plotRight: Double { width - right }
    var plotTop: Double { top }
    var plotBottom: Double { height - bottom }
}

/// A linear value → pixel map with "nice" ticks (steps 1, 2, 2.5 or 5 × 10^k, about five ticks).
struct SVGLinearScale {
    var domainLower: Double
    var domainUpper: Double
    var rangeStart: Double  // pixel for domainLower
    var rangeEnd: Double    // pixel for domainUpper
    var ticks: [Double]
    var tickDecimals: Int

    /// A scale for values in `lower...upper`. When `expandToNiceBounds`, the domain grows outward to whole
    /// tick steps. A degenerate interval (all values equal) is widened to ±0.5 (or ±10 % of |value|, whichever
    /// is larger); non-finite bounds give 0...1.
    init(lower rawLower: Double, upper rawUpper: Double, rangeStart: Double, rangeEnd: Double, expandToNiceBounds: Bool) {
        var lower = rawLower, upper = rawUpper
        if !lower.isFinite || !upper.isFinite { lower = 0; upper = 1 }
        if lower > upper { swap(&lower, &upper) }
        if upper - lower <= 1e-12 * max(1, abs(lower)) {
            let pad = max(0.5, abs(lower) * 0.1)
            lower -= pad
            upper += pad
        }
        let (step, decimals) = Self.niceStep((upper - lower) / 5)
        if expandToNiceBounds {
            lower = (lower / step).rounded(.down) * step
            upper = (upper / step).rounded(.up) * step
        }
        var ticks: [Double] = []
        var k = (lower / step - 1e-9).rounded(.up)
        while k * step <= upper + step * 1e-9, ticks.count < 50 {
            let t = k * step
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            k += 1
        }
        self.domainLower = lower
        self.domainUpper = upper
        self.rangeStart = rangeStart
        self.rangeEnd = rangeEnd
        self.ticks = ticks
        self.tickDecimals = decimals
    }

    /// The smallest step of the form {1, 2, 2.5, 5} × 10^k that is ≥ `raw`, and the decimals its labels need.
    static func niceStep(_ raw: Double) -> (Double, Int) {
        guard raw.isFinite, raw > 0 else { return (1, 0) }
        let exponent = Int(floor(log10(raw)))
        let base = pow(10.0, Double(exponent))
        for (m, extra) in [(1.0, 0), (2.0, 0), (2.5, 1), (5.0, 0)] where m * base >= raw * (1 - 1e-12) {
            return (m * base, min(max(0, -exponent) + extra, 12))
        }
        return (10 * base, min(max(0, -exponent - 1), 12))
    }

    func map(_ value: Double) -> Double {
        let span = domainUpper - domainLower
        guard span > 0 else { return (rangeStart + rangeEnd) / 2 }
        return rangeStart + (value - domainLower) / span * (rangeEnd - rangeStart)
    }

    /// `value` clamped to the domain, then mapped.
    func mapClamped(_ value: Double) -> Double { map(min(max(value, domainLower), domainUpper)) }
}

/// Evenly spaced categories across `start...end`.
struct SVGBandScale {
    var count: Int
    var start: Double
    var end: Double
    var bandwidth: Double { count > 0 ? (end - start) / Double(count) : 0 }
    func center(_ index: Int) -> Double { start + (Double(index) + 0.5) * bandwidth }
}

/// Layout of category labels (algorithm names): truncation to 28 characters and rotation when the estimated
/// text width exceeds the band width.
struct SVGCategoryLabels {
    var fullTexts: [String]
    var shownTexts: [String]
    var rotated: Bool
    /// Extra bottom margin the labels need.
    var height: Double

    init(_ texts: [String], bandwidth: Double) {
        fullTexts = texts
        shownTexts = texts.map { HTMLText.truncated($0, limit: 28) }
        let widest = shownTexts.map(Self.estimatedWidth).max() ?? 0
        rotated = widest > bandwidth - 4
        // sin(35°) ≈ 0.574
        height = rotated ? 22 + widest * 0.9 * 0.574 : 24  // glyphs average ~0.9 of the layout estimate
    }

    /// Rough width of `text` at font size 11 (6.2 units per character): layout only, not measurement.
    static func estimatedWidth(_ text: String) -> Double { Double(text.count) * 6.2 }
}

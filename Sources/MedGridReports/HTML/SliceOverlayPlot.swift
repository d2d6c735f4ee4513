import MedGridCore

extension MedGridPlot {
    /// A 2-D grayscale slice with optional prediction and reference masks.
    public struct SliceOverlay: Sendable, Hashable {
        /// Columns (x) and rows (y); pixel (x, y) is `intensities[y · width + x]`, row 0 drawn at the top.
        public var width: Int
        public var height: Int
        public var intensities: [Float]
        /// Display window: values ≤ `windowLower` are black, ≥ `windowUpper` white (linear in between).
        public var windowLower: Float
        public var windowUpper: Float
        /// Masks in the same layout as `intensities` (`true` = inside); `nil` = not drawn.
        public var prediction: [Bool]?
        public var reference: [Bool]?
        /// Physical pixel spacing (any unit); only the ratio matters (non-square pixels are drawn stretched).
        public var spacingX: Double
        public var spacingY: Double
        public var predictionLabel: String
        public var referenceLabel: String

        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(width: Int, height: Int, intensities: [Float], windowLower: Float, windowUpper: Float,
                    prediction: [Bool]? = nil, reference: [Bool]? = nil, spacingX: Double = 1, spacingY: Double = 1,
                    predictionLabel: String = "prediction", referenceLabel: String = "reference") {
            self.width = width
            self.height = height
            self.intensities = intensities
            self.windowLower = windowLower
            self.windowUpper = windowUpper
            self.prediction = prediction
            self.reference = reference
            self.spacingX = spacingX
            self.spacingY = spacingY
            self.predictionLabel = predictionLabel
            self.referenceLabel = referenceLabel
        }
    }

    /// How masks are drawn over the slice.
    public enum MaskStyle: String, Sendable, Hashable {
        /// Boundary lines only.
        case contour
        /// Semi-transparent fill (opacity 0.35) plus the boundary line.
        case fill
    }

    /// Options of ``sliceOverlay(_:options:)``.
    public struct SliceOverlayOptions: Sendable, Hashable {
        public var title: String
        public var style: MaskStyle
        /// Size (SVG units) of the longer side of the displayed image.
        public var displaySize: Double
        /// Memberwise initialiser (values are validated by the plot function that uses them).
        public init(title: String = "Slice with prediction and reference", style: MaskStyle = .contour, displaySize: Double = 360) {
            self.title = title
            self.style = style
            self.displaySize = displaySize
        }
    }

    /// Image slice overlay (kind `slice-overlay`): the windowed slice as an 8-bit grayscale PNG (``PNGEncoder``,
    /// stored deflate) embedded as a `data:` URI in one SVG `<image>` (`class="mg-slice"`, drawn with
    /// `image-rendering: pixelated`), with each mask's boundary as ONE `<path>` (``MaskBoundary``: edges between
    /// inside and outside pixels, merged loops) — reference in sky blue (#56B4E9), prediction in orange
    /// (#E69F00), optionally filled — plus pixel-index axes and a legend. No per-pixel elements.
    ///
    /// - Throws: `MedGridError(.invalidInput)` when a dimension is outside 1...``PNGEncoder/maximumDimension``,
    ///   an array's length is not width · height, the window is not finite with upper > lower, or a spacing
    ///   is not finite and positive.
    public static func sliceOverlay(_ slice: SliceOverlay, options: SliceOverlayOptions = .init()) throws -> String {
        let w = slice.width, h = slice.height
        guard (1...PNGEncoder.maximumDimension).contains(w), (1...PNGEncoder.maximumDimension).contains(h) else {
            throw MedGridError(.invalidInput, "sliceOverlay: size \(w) × \(h) is outside 1...\(PNGEncoder.maximumDimension) per dimension")
        }
        guard slice.intensities.count == w * h else {
            throw MedGridError(.invalidInput, "sliceOverlay: intensities has \(slice.intensities.count) values; expected width × height = \(w * h)")
        }
        for (name, mask) in [("prediction", slice.prediction), ("reference", slice.reference)] {
            if let mask, mask.count != w * h {
                throw MedGridError(.invalidInput, "sliceOverlay: \(name) mask has \(mask.count) values; expected width × height = \(w * h)")
            }
        }
        guard slice.windowLower.isFinite, slice.windowUpper.isFinite, slice.windowUpper > slice.windowLower else {
            throw MedGridError(.invalidInput, "sliceOverlay: window [\(slice.windowLower), \(slice.windowUpper)] must be finite with upper > lower")
        }
        guard slice.spacingX.isFinite, slice.spacingY.isFinite, slice.spacingX > 0, slice.spacingY > 0 else {
            throw MedGridError(.invalidInput, "sliceOverlay: spacing (\(slice.spacingX), \(slice.spacingY)) must be finite and > 0")
        }
        guard options.displaySize.isFinite, options.displaySize >= 16 else {
            throw MedGridError(.invalidInput, "sliceOverlay: displaySize \(options.displaySize) must be ≥ 16")
        }
        let gray = PNGEncoder.windowed(slice.intensities, lower: slice.windowLower, upper: slice.windowUpper)
        let png = try PNGEncoder.grayscale(width: w, height: h, pixels: gray)
        let physicalW = Double(w) * slice.spacingX, physicalH = Double(h) * slice.spacingY
        let scale = options.displaySize / max(physicalW, physicalH)
        let sx = slice.spacingX * scale, sy = slice.spacingY * scale
        let imageW = Double(w) * sx, imageH = Double(h) * sy
        let frame = SVGFrame(width: max(imageW + 70, 300), height: imageH + 34 + 48, left: 54, right: 16, top: 34, bottom: 48)
        let c = HTMLText.coordinate
        let x0 = frame.plotLeft, y0 = frame.plotTop

        var svg = SVGCanvas(kind: "slice-overlay", width: frame.width, height: frame.height, label: options.title)
        let referenceColor = "#56B4E9", predictionColor = "#E69F00"
        var entries: [(label: String, swatch: (inout SVGCanvas, Double, Double) -> Void)] = []
        let fillOpacity = options.style == .fill ? "0.35" : "0"
        for (label, color, mask) in [(slice.referenceLabel, referenceColor, slice.reference), (slice.predictionLabel, predictionColor, slice.prediction)] where mask != nil {
            entries.append((label, { s, x, y in
                s.element("rect", [("x", c(x - 5)), ("y", c(y - 5)), ("width", "10"), ("height", "10"), ("fill", color), ("fill-opacity", fillOpacity), ("stroke", color), ("stroke-width", "2")])
            }))
        }
        if !entries.isEmpty { svg.legend(x: x0, y: 14, entries: entries) }

        svg.element("image", [("class", "mg-slice"), ("x", c(x0)), ("y", c(y0)), ("width", c(imageW)), ("height", c(imageH)),
                              ("preserveAspectRatio", "none"), ("style", "image-rendering: pixelated"), ("data-width", String(w)), ("data-height", String(h)),
                              ("href", PNGEncoder.dataURI(png))],
                    tooltip: "\(w) × \(h) pixels, window [\(HTMLText.fixed(Double(slice.windowLower), decimals: 1)), \(HTMLText.fixed(Double(slice.windowUpper), decimals: 1))]")
        svg.open("g", [("class", "mg-masks"), ("transform", "translate(\(c(x0)) \(c(y0))) scale(\(HTMLText.fixed(sx, decimals: 6)) \(HTMLText.fixed(sy, decimals: 6)))")])
        for (kind, label, color, mask) in [("reference", slice.referenceLabel, referenceColor, slice.reference), ("prediction", slice.predictionLabel, predictionColor, slice.prediction)] {
            guard let mask else { continue }
            let boundary = MaskBoundary(mask: mask, width: w, height: h)
            let inside = mask.reduce(0) { $0 + ($1 ? 1 : 0) }
            svg.element("path", [("class", "mg-mask mg-mask-\(kind)"), ("d", boundary.path.isEmpty ? "M0 0" : boundary.path), ("fill", color), ("fill-opacity", fillOpacity),
                                 ("fill-rule", "evenodd"), ("stroke", color), ("stroke-width", "1.6"), ("vector-effect", "non-scaling-stroke"), ("stroke-linejoin", "round")],
                        tooltip: "\(label): \(inside) pixels, \(boundary.loopCount) boundary loop\(boundary.loopCount == 1 ? "" : "s")")
        }
        svg.close()
        svg.element("rect", [("x", c(x0)), ("y", c(y0)), ("width", c(imageW)), ("height", c(imageH)), ("fill", "none"), ("stroke", SVGCanvas.axisColor), ("stroke-width", "0.8")])
        // pixel-index axes
        let xs = SVGLinearScale(lower: 0, upper: Double(w), rangeStart: x0, rangeEnd: x0 + imageW, expandToNiceBounds: false)
        let ys = SVGLinearScale(lower: 0, upper: Double(h), rangeStart: y0, rangeEnd: y0 + imageH, expandToNiceBounds: false)
        svg.open("g", [("class", "mg-axis")])
        for t in xs.ticks {
            let x = xs.map(t)
            svg.line(x, y0 + imageH, x, y0 + imageH + 4, [("stroke", SVGCanvas.axisColor)])
            svg.label(x, y0 + imageH + 15, HTMLText.fixed(t, decimals: xs.tickDecimals), attrs: [("fill", SVGCanvas.axisColor)])
        }
        for t in ys.ticks {
            let y = ys.map(t)
            svg.line(x0 - 4, y, x0, y, [("stroke", SVGCanvas.axisColor)])
            svg.label(x0 - 7, y + 3.5, HTMLText.fixed(t, decimals: ys.tickDecimals), anchor: "end", attrs: [("fill", SVGCanvas.axisColor)])
        }
        svg.label(x0 + imageW / 2, y0 + imageH + 34, "x (pixel)", attrs: [("font-size", "12"), ("fill", SVGCanvas.axisColor), ("class", "mg-axis-title")])
        let cy = y0 + imageH / 2
        svg.label(14, cy, "y (pixel)", attrs: [("transform", "rotate(-90 14 \(c(cy)))"), ("font-size", "12"), ("fill", SVGCanvas.axisColor), ("class", "mg-axis-title")])
        svg.close()
        return svg.finish()
    }
}

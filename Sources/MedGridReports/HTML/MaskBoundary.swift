extension MedGridPlot {
    /// The boundary of a binary mask as one SVG path in pixel units (pixel (x, y) covers [x, x+1] × [y, y+1],
    /// row 0 at the top).
    ///
    /// Every pixel side between an inside pixel and an outside pixel (or the image border) is a boundary
    /// edge, directed so the inside lies on its right (clockwise around foreground in screen coordinates).
    /// Edges are chained into closed loops; where two inside pixels touch only at a corner the chain turns
    /// right, so diagonal neighbours get separate loops (foreground is 4-connected). Collinear edges are
    /// merged, so a loop is written as `M x y` then alternating `H`/`V` commands per corner and `Z`. Holes
    /// become separate loops of opposite orientation, so the path fills correctly with either fill rule.
    /// Loops are emitted in row-major order of their first (top-left) vertex: deterministic.
    struct MaskBoundary: Sendable, Equatable {
        /// SVG path data (empty when the mask is empty).
        var path: String
        /// Number of closed loops (outer boundaries + holes).
        var loopCount: Int
        /// Number of corners written (vertices of all loops).
        var cornerCount: Int

        init(mask: [Bool], width: Int, height: Int) {
            // Directions: 0 = east (+x), 1 = south (+y), 2 = west, 3 = north. out[v] holds a bit per
            // outgoing boundary edge at vertex v = y · (width + 1) + x.
            let vw = width + 1
            var out = [UInt8](repeating: 0, count: vw * (height + 1))
            mask.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    for y in 0..<height {
                        for x in 0..<width where m[y * width + x] {
                            if y == 0 || !m[(y - 1) * width + x] { o[y * vw + x] |= 1 }                  // top: (x,y) → (x+1,y)
                            if x == width - 1 || !m[y * width + x + 1] { o[y * vw + x + 1] |= 2 }      // right: (x+1,y) → (x+1,y+1)
                            if y == height - 1 || !m[(y + 1) * width + x] { o[(y + 1) * vw + x + 1] |= 4 } // bottom: (x+1,y+1) → (x,y+1)
                            if x == 0 || !m[y * width + x - 1] { o[(y + 1) * vw + x] |= 8 }            // left: (x,y+1) → (x,y)
                        }
                    }
                }
            }
            let original = out
            let dx = [1, 0, -1, 0], dy = [0, 1, 0, -1]
            var path = ""
            var loops = 0, corners = 0
            for start in 0..<out.count where out[start] != 0 {
                while out[start] != 0 {
                    // first remaining direction at the start vertex, in E, S, W, N order
                    var startDir = 0
                    while out[start] & (1 << startDir) == 0 { startDir += 1 }
                    var x = start % vw, y = start / vw
                    var dir = startDir
                    path += "M\(x) \(y)"
                    corners += 1
                    // Following "right turn first, then straight, then left" over the ORIGINAL edges maps each
                    // incoming edge to exactly one outgoing edge (a permutation), so the walk returns to the
                    // start edge; the step limit only guards against a logic error.
                    var steps = 0
                    while steps <= original.count * 4 {
                        steps += 1
                        out[y * vw + x] &= ~(1 << dir)
                        x += dx[dir]
                        y += dy[dir]
                        let v = y * vw + x
                        var next = -1
                        for candidate in [(dir + 1) % 4, dir, (dir + 3) % 4] where original[v] & (1 << candidate) != 0 {
                            next = candidate
                            break
                        }
                        if next < 0 || (v == start && next == startDir) { break }
                        if next != dir {
                            path += dir % 2 == 0 ? "H\(x)" : "V\(y)"
                            corners += 1
                        }
                        dir = next
                    }
                    path += "Z"
                    loops += 1
                }
            }
            self.path = path
            self.loopCount = loops
            self.cornerCount = corners
        }
    }
}

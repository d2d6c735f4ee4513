import Testing
@testable import MedGridReports

struct HTMLMaskBoundaryTests {
    static func mask(_ rows: [String]) -> (mask: [Bool], width: Int, height: Int) {
        (rows.flatMap { $0.map { $0 == "#" } }, rows.first?.count ?? 0, rows.count)
    }

    /// Parses `M x y (H x | V y)* Z` loops into vertex lists (checking the grammar and axis alignment).
    static func loops(_ path: String) throws -> [[(Int, Int)]] {
        var result: [[(Int, Int)]] = []
        var current: [(Int, Int)] = []
        var i = path.startIndex
        func number() throws -> Int {
            let start = i
            while i < path.endIndex, path[i].isNumber { i = path.index(after: i) }
            guard let n = Int(path[start..<i]) else { throw XMLCheck.Failure(message: "number expected in \(path)", offset: 0) }
            return n
        }
        while i < path.endIndex {
            let c = path[i]
            i = path.index(after: i)
            switch c {
            case "M":
                let x = try number()
                guard path[i] == " " else { throw XMLCheck.Failure(message: "space expected", offset: 0) }
                i = path.index(after: i)
                current = [(x, try number())]
            case "H": current.append((try number(), current.last!.1))
            case "V": current.append((current.last!.0, try number()))
            case "Z": result.append(current); current = []
            default: throw XMLCheck.Failure(message: "unexpected \(c)", offset: 0)
            }
        }
        return result
    }

    /// Shoelace signed area (positive for clockwise loops in screen coordinates, y down) and perimeter.
    static func measure(_ loop: [(Int, Int)]) -> (area: Int, perimeter: Int) {
        var twice = 0, perimeter = 0
        for k in 0..<loop.count {
            let (x0, y0) = loop[k], (x1, y1) = loop[(k + 1) % loop.count]
            twice += x0 * y1 - x1 * y0
            perimeter += abs(x1 - x0) + abs(y1 - y0)
        }
        return (twice / 2, perimeter)
    }

    @Test("Small masks give the expected paths", arguments: [
        ([".#.", "...", "..."], "M1 0H2V1H1Z", 1, 4),
        (["##", "##"], "M0 0H2V2H0Z", 1, 4),
        (["...", ".#.", "..."], "M1 1H2V2H1Z", 1, 4),
        (["#.", "##"], "M0 0H1V1H2V2H0Z", 1, 6),
        (["#.", ".#"], "M0 0H1V1H0ZM1 1H2V2H1Z", 2, 8),            // diagonal neighbours: separate loops
        (["###", "#.#", "###"], "M0 0H3V3H0ZM1 1V2H2V1Z", 2, 8),     // hole: opposite orientation
        (["...", "..."], "", 0, 0),
    ] as [([String], String, Int, Int)])
    func smallMasks(_ rows: [String], _ path: String, _ loops: Int, _ corners: Int) {
        let m = Self.mask(rows)
        let b = MedGridPlot.MaskBoundary(mask: m.mask, width: m.width, height: m.height)
        #expect(b.path == path)
        #expect(b.loopCount == loops)
        #expect(b.cornerCount == corners)
    }

    @Test("Random masks: signed loop areas sum to the pixel count, perimeters to the boundary-edge count, no collinear corners")
    func randomMasks() throws {
        var state: UInt64 = 12345
        for trial in 0..<200 {
            let w = 1 + trial % 13, h = 1 + (trial * 7) % 11
            let density = [0.2, 0.5, 0.8][trial % 3]
            var mask = [Bool](repeating: false, count: w * h)
            for i in 0..<(w * h) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                mask[i] = Double(state >> 11) / 9_007_199_254_740_992.0 < density
            }
            var edges = 0
            for y in 0..<h {
                for x in 0..<w where mask[y * w + x] {
                    if y == 0 || !mask[(y - 1) * w + x] { edges += 1 }
                    if y == h - 1 || !mask[(y + 1) * w + x] { edges += 1 }
                    if x == 0 || !mask[y * w + x - 1] { edges += 1 }
                    if x == w - 1 || !mask[y * w + x + 1] { edges += 1 }
                }
            }
            let b = MedGridPlot.MaskBoundary(mask: mask, width: w, height: h)
            let loops = try Self.loops(b.path)
            #expect(loops.count == b.loopCount)
            let measures = loops.map(Self.measure)
            let totalArea = measures.map(\.area).reduce(0, +), totalPerimeter = measures.map(\.perimeter).reduce(0, +)
            let inside = mask.filter { $0 }.count
            #expect(totalArea == inside, "trial \(trial)")
            #expect(totalPerimeter == edges, "trial \(trial)")
            // every vertex is a real corner: consecutive segments alternate horizontal / vertical
            for loop in loops {
                #expect(loop.count % 2 == 0 && loop.count >= 4)
                for k in 0..<loop.count {
                    let a = loop[k], c = loop[(k + 1) % loop.count], d = loop[(k + 2) % loop.count]
                    let firstHorizontal = a.1 == c.1, secondHorizontal = c.1 == d.1
                    #expect(firstHorizontal != secondHorizontal, "trial \(trial)")
                }
            }
        }
    }
}

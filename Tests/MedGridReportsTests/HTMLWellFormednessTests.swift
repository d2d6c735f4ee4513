import Testing
@testable import MedGridReports

/// A tiny XML well-formedness checker for the report's SVG fragments and the (polyglot) HTML page:
/// balanced and properly nested tags, one root element, quoted attribute values without `<`, no duplicate
/// attributes, whitespace between attributes, only the five predefined entities and numeric character
/// references, no `]]>` in text. It also returns the parsed elements (name, decoded attributes, decoded
/// direct text) so tests can count marks and compare unescaped text.
enum XMLCheck {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var offset: Int
        var description: String { "XML not well-formed at scalar \(offset): \(message)" }
    }

    final class Element {
        let name: String
        let attributes: [String: String]
        var text = ""
        /// Text of this element and its descendants, in document order.
        var allText = ""
        var children: [Element] = []
        init(name: String, attributes: [String: String]) {
            self.name = name
            self.attributes = attributes
        }
        var classes: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }
        /// The text of a `<title>` child (the tooltip).
        var tooltip: String? { children.first { $0.name == "title" }?.text }
    }

    struct Document {
        var root: Element
        var elements: [Element]  // document order
        func all(_ name: String? = nil, class cls: String? = nil) -> [Element] {
            elements.filter { e in (name == nil || e.name == name!) && (cls == nil || e.classes.contains(cls!)) }
        }
    }

    static func parse(_ text: String) throws -> Document {
        let s = Array(text.unicodeScalars)
        var i = 0
        var stack: [Element] = []
        var elements: [Element] = []
        var root: Element?
        func fail(_ m: String) -> Failure { Failure(message: m, offset: i) }
        func starts(_ p: String) -> Bool {
            let ps = Array(p.unicodeScalars)
            guard i + ps.count <= s.count else { return false }
            for k in 0..<ps.count where s[i + k] != ps[k] { return false }
            return true
        }
        func isNameChar(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_" || c == ":" || c == "."
        }
        func readName() throws -> String {
            let start = i
            while i < s.count, isNameChar(s[i]) { i += 1 }
            guard i > start else { throw fail("expected a name") }
            return String(String.UnicodeScalarView(s[start..<i]))
        }
        func skipSpace() -> Bool {
            let start = i
            while i < s.count, s[i] == " " || s[i] == "\n" || s[i] == "\t" || s[i] == "\r" { i += 1 }
            return i > start
        }
        /// Decodes `raw`, checking every `&` starts a valid reference.
        func decode(_ raw: [Unicode.Scalar], at offset: Int) throws -> String {
            var out = String.UnicodeScalarView()
            var k = 0
            while k < raw.count {
                if raw[k] == "&" {
                    guard let semi = raw[k...].firstIndex(of: ";") else { throw Failure(message: "'&' without ';'", offset: offset + k) }
                    let name = String(String.UnicodeScalarView(raw[(k + 1)..<semi]))
                    let named: [String: Unicode.Scalar] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"]
                    if let v = named[name] {
                        out.append(v)
                    } else if name.hasPrefix("#x"), let n = UInt32(name.dropFirst(2), radix: 16), let v = Unicode.Scalar(n) {
                        out.append(v)
                    } else if name.hasPrefix("#"), let n = UInt32(name.dropFirst()), let v = Unicode.Scalar(n) {
                        out.append(v)
                    } else {
                        throw Failure(message: "unknown entity '&\(name);'", offset: offset + k)
                    }
                    k = semi + 1
                } else {
                    out.append(raw[k])
                    k += 1
                }
            }
            return String(out)
        }

        _ = skipSpace()
        if starts("<!DOCTYPE") {
            guard let end = s[i...].firstIndex(of: ">") else { throw fail("unterminated DOCTYPE") }
            i = end + 1
        }
        while i < s.count {
            if starts("<!--") {
                var j = i + 4
                while j + 2 < s.count, !(s[j] == "-" && s[j + 1] == "-" && s[j + 2] == ">") { j += 1 }
                guard j + 2 < s.count else { throw fail("unterminated comment") }
                i = j + 3
            } else if starts("</") {
                i += 2
                let name = try readName()
                _ = skipSpace()
                guard i < s.count, s[i] == ">" else { throw fail("expected '>' after </\(name)") }
                i += 1
                guard let open = stack.popLast() else { throw fail("closing </\(name)> without an open element") }
                guard open.name == name else { throw fail("closing </\(name)> does not match <\(open.name)>") }
            } else if starts("<") {
                i += 1
                let name = try readName()
                var attributes: [String: String] = [:]
                var selfClosing = false
                while true {
                    let hadSpace = skipSpace()
                    guard i < s.count else { throw fail("unterminated tag <\(name)") }
                    if s[i] == ">" { i += 1; break }
                    if starts("/>") { i += 2; selfClosing = true; break }
                    guard hadSpace else { throw fail("expected whitespace before attribute in <\(name)>") }
                    let attr = try readName()
                    _ = skipSpace()
                    guard i < s.count, s[i] == "=" else { throw fail("attribute \(attr) of <\(name)> has no '='") }
                    i += 1
                    _ = skipSpace()
                    guard i < s.count, s[i] == "\"" || s[i] == "'" else { throw fail("attribute \(attr) of <\(name)> is not quoted") }
                    let quote = s[i]
                    i += 1
                    let start = i
                    while i < s.count, s[i] != quote {
                        if s[i] == "<" { throw fail("'<' in value of attribute \(attr)") }
                        i += 1
                    }
                    guard i < s.count else { throw fail("unterminated value of attribute \(attr)") }
                    guard attributes[attr] == nil else { throw fail("duplicate attribute \(attr) in <\(name)>") }
                    attributes[attr] = try decode(Array(s[start..<i]), at: start)
                    i += 1
                }
                let element = Element(name: name, attributes: attributes)
                elements.append(element)
                if let parent = stack.last {
                    parent.children.append(element)
                } else {
                    guard root == nil else { throw fail("second root element <\(name)>") }
                    root = element
                }
                if !selfClosing { stack.append(element) }
            } else {
                let start = i
                while i < s.count, s[i] != "<" { i += 1 }
                let raw = Array(s[start..<i])
                let text = try decode(raw, at: start)
                if String(String.UnicodeScalarView(raw)).contains("]]>") { throw Failure(message: "']]>' in text", offset: start) }
                if let parent = stack.last {
                    parent.text += text
                    for open in stack { open.allText += text }
                } else if !text.unicodeScalars.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
                    throw Failure(message: "text outside the root element", offset: start)
                }
            }
        }
        if let open = stack.last { throw fail("element <\(open.name)> is never closed") }
        guard let root else { throw fail("no root element") }
        return Document(root: root, elements: elements)
    }
}

struct HTMLWellFormednessTests {
    @Test("The checker accepts well-formed markup and decodes entities")
    func acceptsValid() throws {
        let doc = try XMLCheck.parse("<!DOCTYPE html>\n<a x=\"1 &amp; 2\" y='&lt;b&gt;'><!-- c --><b>t &#39;q&#x27; &quot;</b><c/></a>\n")
        let names = doc.elements.map(\.name)
        #expect(names == ["a", "b", "c"])
        #expect(doc.root.attributes["x"] == "1 & 2")
        #expect(doc.root.attributes["y"] == "<b>")
        #expect(doc.elements[1].text == "t 'q' \"")
    }

    @Test("The checker rejects malformed markup", arguments: [
        "<a><b></a></b>", "<a x=1/>", "<a x=\"1\" x=\"2\"/>", "<a>&foo;</a>", "<a>a & b</a>", "<a x=\"<\"/>",
        "<a>", "<a/><b/>", "<a x=\"1\"y=\"2\"/>", "</a>", "<a>]]></a>", "text<a/>", "<a x=\"1/>",
    ])
    func rejectsInvalid(_ markup: String) {
        #expect(throws: XMLCheck.Failure.self) { try XMLCheck.parse(markup) }
    }

    @Test("Every plot kind and the whole page of the example report are well-formed")
    func examplePageWellFormed() throws {
        let fixture = try HTMLFixture.report()
        for svg in fixture.plots {
            let doc = try XMLCheck.parse(svg)
            #expect(doc.root.name == "svg")
            #expect(doc.root.attributes["role"] == "img")
            #expect(!(doc.root.attributes["aria-label"] ?? "").isEmpty)
            #expect(doc.root.classes.first == "medgrid-plot")
            #expect(doc.root.classes.count == 2)
            #expect(doc.root.attributes["viewBox"]?.hasPrefix("0 0 ") == true)
            #expect(doc.root.children.first?.name == "title")
        }
        let page = try XMLCheck.parse(fixture.report.render())
        #expect(page.root.name == "html")
        let kinds = page.all("svg").flatMap(\.classes).filter { $0.hasPrefix("medgrid-plot-") }.sorted()
        #expect(kinds == ["medgrid-plot-mean-ci-bars", "medgrid-plot-rank-blobs", "medgrid-plot-score-distribution",
                          "medgrid-plot-significance-map", "medgrid-plot-slice-overlay", "medgrid-plot-slice-overlay"])
    }
}

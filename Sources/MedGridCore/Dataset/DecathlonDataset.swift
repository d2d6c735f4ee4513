public import Foundation

/// One imaging case: an image and, for training cases, its ground-truth label map.
public struct ImagingCase: Codable, Sendable, Hashable {
    /// The case's name: the image file name without `.nii`, `.nii.gz` or `.dcm`.
    public var id: String
    /// The image path, relative to the dataset folder.
    public var image: String
    /// The label path, relative to the dataset folder.
    public var label: String?

    public init(id: String, image: String, label: String?) {
        self.id = id
        self.image = image
        self.label = label
    }
}

/// An imaging dataset laid out like the Medical Segmentation Decathlon: a folder with a `dataset.json`
/// that lists `training` cases (`{"image": ..., "label": ...}`) and `test` images (paths).
public struct DecathlonDataset: Sendable {
    public var folder: URL
    public var name: String
    public var description: String?
    public var modality: [String: String]
    public var labels: [String: String]
    /// Training cases first, in the order `dataset.json` lists them, then test cases.
    public var cases: [ImagingCase]

    public static let descriptorName = "dataset.json"

    public static func isDataset(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent(descriptorName).path)
    }

    /// Reads and checks `dataset.json`: every listed file must exist inside the folder.
    public static func load(folder: URL) throws -> DecathlonDataset {
        let descriptor = folder.appendingPathComponent(descriptorName)
        let file = descriptor.path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw MedGridError(.notFound, "\(file): not found (expected a Decathlon-style dataset.json in \(folder.path))")
        }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: data)
        } catch {
            throw MedGridError(.invalidInput, "\(file): not valid JSON (\(describeDecodingError(error)))")
        }
        guard case .object(let root) = json else {
            throw MedGridError(.invalidInput, "\(file): expected a JSON object at the top level, found \(json.typeDescription)")
        }
        func strings(_ key: String) throws -> [String: String] {
            guard let value = root[key] else { return [:] }
            guard case .object(let o) = value else {
                throw MedGridError(.invalidInput, "\(file): field \(key): expected a mapping of strings, found \(value.typeDescription)")
            }
            var out: [String: String] = [:]
            for (k, v) in o {
                guard let s = v.stringValue else {
                    throw MedGridError(.invalidInput, "\(file): field \(key).\(k): expected a string, found \(v.typeDescription)")
                }
                out[k] = s
            }
            return out
        }
        var cases: [ImagingCase] = []
        var seen: [String: String] = [:]
        func addCase(image: String, label: String?, field: String) throws {
            let id = caseID(forImage: image)
            if let other = seen[id] {
                throw MedGridError(.invalidInput, "\(file): field \(field): case \(id) is listed twice (also at \(other))")
            }
            seen[id] = field
            for (path, name) in [(image, "image")] + (label.map { [($0, "label")] } ?? []) {
                let normalized = normalize(path)
                if normalized.hasPrefix("../") || normalized.hasPrefix("/") {
                    throw MedGridError(.invalidInput, "\(file): field \(field).\(name): \(path) leaves the dataset folder (expected a path inside it)")
                }
                let url = folder.appendingPathComponent(normalized)
                if !FileManager.default.fileExists(atPath: url.path) {
                    throw MedGridError(.notFound, "\(file): field \(field).\(name): \(path) does not exist")
                }
            }
            cases.append(ImagingCase(id: id, image: normalize(image), label: label.map(normalize)))
        }
        if let training = root["training"] {
            guard let list = training.arrayValue else {
                throw MedGridError(.invalidInput, "\(file): field training: expected a list, found \(training.typeDescription)")
            }
            for (i, entry) in list.enumerated() {
                let field = "training[\(i)]"
                guard let image = entry["image"]?.stringValue else {
                    throw MedGridError(.invalidInput, "\(file): field \(field).image: missing (expected the image path as a string)")
                }
                let label = entry["label"]?.stringValue
                try addCase(image: image, label: label, field: field)
            }
        }
        if let test = root["test"] {
            guard let list = test.arrayValue else {
                throw MedGridError(.invalidInput, "\(file): field test: expected a list, found \(test.typeDescription)")
            }
            for (i, entry) in list.enumerated() {
                let field = "test[\(i)]"
                if let image = entry.stringValue ?? entry["image"]?.stringValue {
                    try addCase(image: image, label: entry["label"]?.stringValue, field: field)
                } else {
                    throw MedGridError(.invalidInput, "\(file): field \(field): expected an image path, found \(entry.typeDescription)")
                }
            }
        }
        if cases.isEmpty {
            throw MedGridError(.invalidInput, "\(file): lists no cases (expected entries under training or test)")
        }
        return DecathlonDataset(
            folder: folder,
            name: root["name"]?.stringValue ?? folder.lastPathComponent,
            description: root["description"]?.stringValue,
            modality: try strings("modality"),
            labels: try strings("labels"),
            cases: cases
        )
    }

    /// The case ID of an image path: its file name without the image extension.
    public static func caseID(forImage path: String) -> String {
        var name = (path as NSString).lastPathComponent
        for ext in [".nii.gz", ".nii", ".dcm"] where name.hasSuffix(ext) {
            name.removeLast(ext.count)
            break
        }
        return name
    }

    static func normalize(_ path: String) -> String {
        var p = path
        while p.hasPrefix("./") { p.removeFirst(2) }
        return p
    }
}

/// A readable summary of a JSONDecoder error.
public func describeDecodingError(_ error: any Error) -> String {
    if let e = error as? DecodingError {
        switch e {
        case .dataCorrupted(let c): return (c.underlyingError.map { "\($0)" }) ?? c.debugDescription
        case .keyNotFound(let k, _): return "missing key \(k.stringValue)"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return c.debugDescription
        @unknown default: return "\(e)"
        }
    }
    return "\(error)"
}

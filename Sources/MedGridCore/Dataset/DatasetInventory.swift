public import Foundation

/// Every file of a dataset with its SHA-256, and the Merkle root that names the whole.
///
/// A dataset is either a folder (all regular files below it, hidden ones excluded) or a single file
/// such as a cohort CSV (then its only entry is the file's name).
public struct DatasetInventory: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Hashable {
        public var path: String
        public var sha256: String
        public var size: Int64
        public init(path: String, sha256: String, size: Int64) {
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    public var files: [File]
    public var root: String

    public init(files: [File]) {
        self.files = files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        self.root = MerkleTree.root(of: self.files.map { ($0.path, $0.sha256) })
    }

    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    public func file(_ path: String) -> File? { files.first { $0.path == path } }

    /// Hashes every file of the dataset at `url`. `progress` is called after each file with (done, total).
    public static func scan(_ url: URL, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> DatasetInventory {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw MedGridError(.notFound, "\(url.path): no such file or folder")
        }
        if !isDirectory.boolValue {
            let h = try ContentHash.sha256(fileAt: url)
            return DatasetInventory(files: [File(path: url.lastPathComponent, sha256: h.hash, size: h.size)])
        }
        let paths = try listFiles(in: url)
        var files: [File] = []
        for (i, rel) in paths.enumerated() {
            let h = try ContentHash.sha256(fileAt: url.appendingPathComponent(rel))
            files.append(File(path: rel, sha256: h.hash, size: h.size))
            progress?(i + 1, paths.count)
        }
        return DatasetInventory(files: files)
    }

    /// Relative paths of the regular, non-hidden files below a folder, sorted.
    public static func listFiles(in folder: URL) throws -> [String] {
        let base = folder.standardizedFileURL.path
        guard let e = FileManager.default.enumerator(atPath: base) else {
            throw MedGridError(.io, "\(base): cannot list the folder")
        }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name.hasPrefix(".") {
                if (e.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { e.skipDescendants() }
                continue
            }
            if (e.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { out.append(rel) }
        }
        return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// What differs between a recorded inventory (`self`) and a newer scan.
    public func changes(comparedTo current: DatasetInventory) -> [DatasetChange] {
        var out: [DatasetChange] = []
        let now = Dictionary(uniqueKeysWithValues: current.files.map { ($0.path, $0) })
        let then = Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0) })
        for f in files {
            guard let c = now[f.path] else { out.append(.missing(f.path)); continue }
            if c.sha256 != f.sha256 { out.append(.modified(f.path, expected: f.sha256, found: c.sha256)) }
        }
        for c in current.files where then[c.path] == nil { out.append(.added(c.path)) }
        return out
    }
}

/// One difference between a dataset as registered and as it is now.
public enum DatasetChange: Sendable, Equatable, CustomStringConvertible {
    case missing(String)
    case added(String)
    case modified(String, expected: String, found: String)

    public var description: String {
        switch self {
        case .missing(let p): return "\(p): missing"
        case .added(let p): return "\(p): added since registration"
        case .modified(let p, let e, let f): return "\(p): content changed (SHA-256 \(f.prefix(12))…, expected \(e.prefix(12))…)"
        }
    }
}

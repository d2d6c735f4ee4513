/// An error raised while reading, writing or measuring an image.
///
/// It names the file, the byte offset of the offending header field or data position when there is
/// one, and a message a person can act on, for example
/// `phantom/case_001.nii.gz: byte 108: vox_offset 20 is inside the 348-byte header (expected >= 352)`.
public struct ImagingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A broad category of failure, for callers that branch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case malformedHeader, unsupported, truncated, sizeMismatch, tooLarge, compression, io, invalidArgument
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A header field holds a value the format does not allow.
        public static let malformedHeader = Code(.malformedHeader)
        /// The file is valid but uses a feature this module does not read (for example 4-D series).
        public static let unsupported = Code(.unsupported)
        /// The file ends before the header or the voxel data it declares.
        public static let truncated = Code(.truncated)
        /// Two images that must agree in size do not.
        public static let sizeMismatch = Code(.sizeMismatch)
        /// A declared or decompressed size is beyond the safety limits.
        public static let tooLarge = Code(.tooLarge)
        /// The gzip stream is corrupt or could not be produced.
        public static let compression = Code(.compression)
        /// The file could not be read or written.
        public static let io = Code(.io)
        /// A caller passed an argument outside its allowed range.
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { base.rawValue }
    }

    /// The category of failure.
    public var code: Code
    /// The file involved, as the caller named it; `nil` when no file is involved.
    public var path: String?
    /// The byte offset (in the decompressed stream) of the offending field or data, when known.
    public var byteOffset: Int?
    /// What went wrong, in plain words.
    public var message: String

    public init(_ code: Code, path: String? = nil, byteOffset: Int? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.byteOffset = byteOffset
        self.message = message
    }

    public var description: String {
        var text = ""
        if let path { text += "\(path): " }
        if let byteOffset { text += "byte \(byteOffset): " }
        return text + message
    }
}

/// An error from the data plane: compression, the coordinator's blob store or a worker's cache.
///
/// The ``code`` says what kind of failure it is; the ``message`` names the blob or file and what was
/// expected, so a person can act on it. Like `FileSystemError` in swift-nio, the code is a struct over a
/// private enum, so new codes can be added without breaking callers that compare against them.
public struct DataPlaneError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case corrupt, truncated, tooLarge, integrity, io, notFound, invalidInput
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Compressed bytes are not a valid zstd stream (bad header, bad block, checksum mismatch).
        public static let corrupt = Code(.corrupt)
        /// A stream ended before its zstd frame (or its announced size) was complete.
        public static let truncated = Code(.truncated)
        /// Decompressed output went past the allowed limit or the announced size.
        public static let tooLarge = Code(.tooLarge)
        /// Content does not match its SHA-256, or a stored blob no longer decodes.
        public static let integrity = Code(.integrity)
        /// Reading, writing or renaming a file failed.
        public static let io = Code(.io)
        /// The blob or file does not exist.
        public static let notFound = Code(.notFound)
        /// A hash or file name is malformed, or an object was used after it finished.
        public static let invalidInput = Code(.invalidInput)

        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong, naming the blob or file.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?
    /// Where the error was thrown, for debugging.
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, cause: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}

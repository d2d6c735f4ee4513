/// An error a person can act on: what went wrong (``code``), where, and what was expected.
///
/// Like `FileSystemError` in swift-nio, the code is a struct over a private enum so that new codes
/// can be added without breaking callers that switch over them.
public struct MedGridError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidInput, notFound, integrity, kernelFailed, timeout, trapped, unsupported, conflict, io
            case permissionDenied, unavailable
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Input (a file, a parameter, a request) is malformed.
        public static let invalidInput = Code(.invalidInput)
        /// Something named does not exist.
        public static let notFound = Code(.notFound)
        /// Data does not match its recorded hash.
        public static let integrity = Code(.integrity)
        /// A kernel failed on its input.
        public static let kernelFailed = Code(.kernelFailed)
        /// Work ran past its time limit.
        public static let timeout = Code(.timeout)
        /// A kernel process died on a signal.
        public static let trapped = Code(.trapped)
        /// Valid but not supported (yet).
        public static let unsupported = Code(.unsupported)
        /// The request conflicts with the current state.
        public static let conflict = Code(.conflict)
        /// Reading or writing failed.
        public static let io = Code(.io)
        /// The caller may not do this.
        public static let permissionDenied = Code(.permissionDenied)
        /// A needed service cannot be reached.
        public static let unavailable = Code(.unavailable)

        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}

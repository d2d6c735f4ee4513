public import Logging
import Foundation

/// A log handler that keeps every line in memory, for tests that read what was logged.
public struct InMemoryLogHandler: LogHandler {
    /// The lines logged through any handler made from one recorder.
    public final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [String] = []
        public init() {}

        public var lines: [String] { lock.withLock { storage } }

        func append(_ line: String) { lock.withLock { storage.append(line) } }

        /// A logger writing into this recorder.
        public func logger(label: String, level: Logger.Level = .trace) -> Logger {
            var l = Logger(label: label) { _ in InMemoryLogHandler(recorder: self) }
            l.logLevel = level
            return l
        }
    }

    let recorder: Recorder
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(recorder: Recorder) {
        self.recorder = recorder
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        let meta = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        recorder.append("\(event.level) \(event.message) \(meta)")
    }
}

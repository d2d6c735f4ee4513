import Foundation
import MedGridCore

/// A live progress bar on a terminal (done/total, rate, ETA); plain lines every few seconds otherwise.
final class ProgressDisplay {
    let enabled: Bool
    let label: String
    let isTerminal = isatty(2) == 1
    let start = Date()
    var lastLine = Date.distantPast
    var lastDone = -1
    var drawn = false

    init(enabled: Bool, label: String) {
        self.enabled = enabled
        self.label = label
    }

    func update(counts: [TaskPhase: Int]) {
        guard enabled else { return }
        let total = counts.values.reduce(0, +)
        let done = (counts[.succeeded] ?? 0) + (counts[.failed] ?? 0) + (counts[.cancelled] ?? 0)
        let failed = counts[.failed] ?? 0
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let etaText = eta.isFinite ? formatDuration(eta) : "--"
        let failedText = failed > 0 ? ", \(failed) failed" : ""
        if isTerminal {
            let width = 30
            let filled = total > 0 ? width * done / total : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\r\(label) \(bar) \(done)/\(total) tasks  \(String(format: "%.1f", rate))/s  ETA \(etaText)\(failedText)  (\(counts[.leased] ?? 0) running)"
            FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
            drawn = true
        } else if done != lastDone && (Date().timeIntervalSince(lastLine) >= 2 || done == total) {
            lastLine = Date()
            lastDone = done
            FileHandle.standardError.write(Data("\(label): \(done)/\(total) tasks, \(String(format: "%.1f", rate))/s, ETA \(etaText)\(failedText)\n".utf8))
        }
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func formatDuration(_ s: Double) -> String {
        if s < 60 { return "\(Int(s.rounded()))s" }
        if s < 3600 { return "\(Int(s) / 60)m\(Int(s) % 60)s" }
        return "\(Int(s) / 3600)h\(Int(s) % 3600 / 60)m"
    }
}

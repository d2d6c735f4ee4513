public import Foundation
import MedGridCore
public import MedGridKernels

/// The loop of an executor child process (`medgrid executor`): one JSON ``TaskAssignment`` per line on
/// stdin, one JSON ``TaskResult`` per line back. The real stdout is kept for these lines and fd 1 is
/// pointed at stderr, so nothing a kernel prints can corrupt the protocol. Exits at end of input.
public enum ExecutorChild {
    public static func serve(runner: TaskRunner = TaskRunner()) -> Never {
        let protocolFD = dup(1)
        dup2(2, 1)
        let out = FileHandle(fileDescriptor: protocolFD, closeOnDealloc: false)
        let encoder = JSONEncoder()
        var buffer = Data()
        while true {
            let chunk = FileHandle.standardInput.availableData
            if chunk.isEmpty { exit(0) }
            buffer.append(chunk)
            while let nl = buffer.firstIndex(of: 0x0a) {
                let line = buffer[buffer.startIndex..<nl]
                buffer = Data(buffer[(nl + 1)...])
                let result: TaskResult
                do {
                    let a = try JSONDecoder().decode(TaskAssignment.self, from: line)
                    result = runTask(a, runner: runner, resolver: LocalInputResolver())
                } catch {
                    FileHandle.standardError.write(Data("medgrid executor: unreadable request: \(error)\n".utf8))
                    exit(2)
                }
                var data = (try? encoder.encode(result)) ?? Data()
                data.append(0x0a)
                out.write(data)
            }
        }
    }
}

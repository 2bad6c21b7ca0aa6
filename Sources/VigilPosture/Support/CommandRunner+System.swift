// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// The live command runner: Foundation `Process`, a fixed search path, C locale, and a timeout.

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension CommandRunner {
    /// The directories searched for a command's executable, in order. `PATH` is not consulted, so a
    /// caller's environment cannot substitute a binary.
    public static let defaultSearchPath = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// Runs commands on this machine with `LC_ALL=C` and no other inherited environment, killing (SIGKILL)
    /// any that outlive `timeout` seconds. Blocks the calling thread while a command runs.
    public static func system(searchPath: [String] = defaultSearchPath, timeout: Double = 5) -> CommandRunner {
        CommandRunner { command in runProcess(command, searchPath: searchPath, timeout: timeout) }
    }

    private static func runProcess(_ command: PostureCommand, searchPath: [String], timeout: Double) -> CommandOutcome {
        let candidates = searchPath.map { $0 + "/" + command.executable }
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .unavailable(reason: "\(command.executable) not found in \(searchPath.joined(separator: ":"))")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = command.arguments
        process.environment = ["LC_ALL": "C", "PATH": searchPath.joined(separator: ":")]
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return .unavailable(reason: "\(executable) could not start: \(error.localizedDescription)")
        }
        // Dedicated threads, not Dispatch's global queues: on Linux those are also Swift concurrency's
        // cooperative pool, which a blocked caller may already have exhausted, starving the timer.
        let timedOut = TimeoutFlag()
        let finished = DispatchSemaphore(value: 0)
        Thread {
            if finished.wait(timeout: .now() + timeout) == .timedOut {
                timedOut.set()
                // SIGKILL, not `terminate()`: a child inherits an ignored SIGTERM from its parent.
                kill(process.processIdentifier, SIGKILL)
            }
        }.start()
        let errorBox = DataBox()
        let errorRead = DispatchSemaphore(value: 0)
        Thread {
            errorBox.data = stderr.fileHandleForReading.readDataToEndOfFile()
            errorRead.signal()
        }.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        errorRead.wait()
        process.waitUntilExit()
        finished.signal()
        if timedOut.isSet { return .unavailable(reason: "\(command) timed out after \(timeout) s") }
        return .exited(
            status: process.terminationStatus,
            stdout: String(decoding: output, as: UTF8.self),
            stderr: String(decoding: errorBox.data, as: UTF8.self))
    }
}

/// Set once by the timer thread, read after the process ends.
private final class TimeoutFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Written by the stderr reader before it signals; read only after.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}

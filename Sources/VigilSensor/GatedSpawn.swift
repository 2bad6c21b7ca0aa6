// SPDX-License-Identifier: Apache-2.0
// Starts a command that cannot run a single instruction before it is tagged as a session root.
internal import CVigilBPF
import Foundation
import Glibc

public struct GatedProcess: Sendable {
    public let pid: Int32
    let gateFD: Int32
    let execErrorFD: Int32

    /// Starts `argv[0]` (searched in PATH) held at the gate, inside the cgroup of `cgroupProcsFD`.
    /// - Throws: `SensorError(.spawnFailed)` if the command is not found or fork fails.
    public static func spawn(_ argv: [String], cgroupProcsFD: Int32) throws(SensorError) -> GatedProcess {
        guard let command = argv.first, let path = resolve(command) else {
            throw SensorError(.spawnFailed, "vigil: command not found: \(argv.first ?? "")")
        }
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0, gate: Int32 = -1, status: Int32 = -1
        let rc = vigil_spawn_gated(path, cArgv, cEnv, cgroupProcsFD, &pid, &gate, &status)
        if rc != 0 {
            throw SensorError(.spawnFailed, "vigil: cannot start \(command): \(String(cString: strerror(-rc)))")
        }
        return GatedProcess(pid: pid, gateFD: gate, execErrorFD: status)
    }

    /// Lets the child exec, and waits until exec succeeded.
    /// - Throws: `SensorError(.spawnFailed)` with the exec errno.
    public func release() throws(SensorError) {
        var go: UInt8 = 1
        _ = write(gateFD, &go, 1)
        close(gateFD)
        var err: Int32 = 0
        let n = read(execErrorFD, &err, 4)
        close(execErrorFD)
        if n == 4 {
            throw SensorError(.spawnFailed, "vigil: exec failed: \(String(cString: strerror(err)))")
        }
    }

    /// Gives up on the child (it exits without running the command).
    public func abandon() {
        // It has run nothing yet: SIGKILL is safe, and waiting never depends on the gate's EOF.
        kill(pid, SIGKILL)
        close(gateFD)
        close(execErrorFD)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    static func resolve(_ command: String) -> String? {
        if command.contains("/") { return access(command, X_OK) == 0 ? command : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(command)"
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }
}

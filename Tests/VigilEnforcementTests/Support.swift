// SPDX-License-Identifier: Apache-2.0
// Helpers of the fanotify tests: run a command, a scratch directory, a process's comm, posix_spawn.
import Foundation
import Glibc
import VigilTestSupport

/// A command's outcome.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs argv[0] (an absolute path) with arguments, collecting output.
func run(_ argv: [String]) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: argv[0])
    process.arguments = Array(argv.dropFirst())
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}

/// A fresh directory under /tmp (resolved, so kernel paths compare equal), removed by `remove()`.
struct TempDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/vigil-enforce-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Privileges.Missing(description: "mkdtemp failed") }
        path = String(cString: made)
    }

    func file(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
        chmod(full, mode_t(mode))
        return full
    }

    func copy(_ source: String, to name: String) throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source, toPath: full)
        return full
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The comm (executable name, 15 bytes) of a process.
func comm(of pid: Int32) -> String {
    (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
}

/// posix_spawn + wait: the errno posix_spawn reports for the exec (glibc reports exec failures), or the
/// child's exit status when it ran.
func spawn(_ argv: [String]) -> (spawnError: Int32, status: Int32) {
    var pid: pid_t = 0
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    let error = posix_spawn(&pid, argv[0], nil, nil, &cArgs, environ)
    guard error == 0 else { return (error, -1) }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return (0, (status >> 8) & 0xff)
}

// SPDX-License-Identifier: Apache-2.0
// Which processes may call the hooks: a Claude Code binary the administrator named (pinned to its
// content when the daemon started: a replaced file is no longer trusted), or a system install of
// Claude Code that no ordinary user can change (root-owned, not group- or world-writable, in a
// root-owned directory). Anything else — curl from a tool call, a script that copies the
// payload format — is refused, so no other local process can forge a tool-call event.
import Foundation
import Glibc
import Synchronization
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

final class AgentTrust: Sendable {
    struct Verdict {
        var trusted: Bool
        var exe: String?
        var reason: String
    }

    /// Configured binaries: real path → sha256 at start (nil when unreadable then).
    private let pinned: [String: String?]
    /// The same hasher pins and checks, so a check costs a stat, not a re-hash (its cache is keyed
    /// by device, inode, mtime and size: a replaced file is hashed again).
    private let hasher: ExecutableHasher
    private let detector = AgentDetector()
    /// Verdicts by (pid, start time): a pid is checked once per process.
    private let cache = Mutex<[String: Verdict]>([:])

    init(configured: [String], hasher: ExecutableHasher = ExecutableHasher(maxBytes: 1 << 30)) {
        var pinned: [String: String?] = [:]
        for path in configured {
            let real = Self.realPath(path) ?? path
            pinned[real] = hasher.hash(pid: nil, path: real)
        }
        self.pinned = pinned
        self.hasher = hasher
    }

    var configuredPaths: [String] { Array(pinned.keys).sorted() }

    /// `exe`: the executable the caller is known to run now (an exec event's path): part of the
    /// cache key, since an exec keeps the pid and the start time.
    func check(pid: Int32, exe: String? = nil) -> Verdict {
        let key = "\(pid):\(Self.startTime(pid) ?? "?"):\(exe ?? Self.exeLink(pid) ?? "?")"
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let verdict = evaluate(pid: pid)
        cache.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[key] = verdict
        }
        return verdict
    }

    private func evaluate(pid: Int32) -> Verdict {
        guard let node = ProcScanner.read(pid: pid), !node.exePath.isEmpty else {
            return Verdict(trusted: false, exe: nil, reason: "pid \(pid) has no readable executable")
        }
        let exe = node.exePath.hasSuffix(" (deleted)") ? String(node.exePath.dropLast(10)) : node.exePath
        let argv = node.argv
        // The file that is Claude Code: the binary itself, or the script an interpreter runs.
        var candidates = [exe]
        if argv.count > 1, argv[1].hasPrefix("/") { candidates.append(Self.realPath(argv[1]) ?? argv[1]) }
        for candidate in candidates {
            if let expected = pinned[candidate] {
                let now = hasher.hash(pid: candidate == exe ? pid : nil, path: candidate)
                if let expected, now == expected {
                    return Verdict(trusted: true, exe: exe, reason: "configured Claude Code binary \(candidate)")
                }
                return Verdict(
                    trusted: false, exe: exe,
                    reason: "pid \(pid) runs \(candidate), which changed since vigild started (sha256 \(now ?? "unreadable"))")
            }
        }
        guard let match = detector.detect(path: exe, argv: argv), match.kind == .claudeCode else {
            return Verdict(trusted: false, exe: exe, reason: "pid \(pid) (\(exe)) is not Claude Code")
        }
        let file = candidates.last!
        if let weakness = Self.writableByOthers(file) {
            return Verdict(
                trusted: false, exe: exe,
                reason: "pid \(pid) runs Claude Code from \(file), which \(weakness); name it with --claude-binary to trust it")
        }
        return Verdict(trusted: true, exe: exe, reason: "system Claude Code install \(file)")
    }

    /// Why a non-root user could replace `path`, or nil when only root can.
    static func writableByOthers(_ path: String) -> String? {
        var current = path
        while true {
            var st = stat()
            guard stat(current, &st) == 0 else { return "cannot be checked (\(String(cString: strerror(errno))))" }
            if st.st_uid != 0 { return "\(current) is owned by uid \(st.st_uid)" }
            if st.st_mode & (S_IWGRP | S_IWOTH) != 0 && st.st_mode & S_ISVTX == 0 { return "\(current) is writable by others" }
            if current == "/" { return nil }
            current = (current as NSString).deletingLastPathComponent
            if current.isEmpty { current = "/" }
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// /proc/PID/exe, one readlink.
    static func exeLink(_ pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Field 22 of /proc/PID/stat: tells a recycled pid from the process that was checked.
    static func startTime(_ pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }
}

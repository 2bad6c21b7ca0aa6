// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc

/// The developer account the agent runs as in every end-to-end test, as deployed: vigild is root,
/// Claude Code (and whatever `vigil claude` starts) is an ordinary user, and so is `vigil run`'s
/// command in the privileged tests (`--as-user`). Created once, idempotently (useradd, with a home
/// and a group of its own); each world gives it a HOME and a project of its own.
public struct Developer: Sendable {
    public static let name = "vigil-dev"

    public let uid: uid_t
    public let gid: gid_t

    /// The account, created if it does not exist yet. Two suites may get here at once: a useradd
    /// that loses the race fails, and the account is there all the same.
    public static func account() throws -> Developer {
        if let found = lookup() { return found }
        let useradd = Process()
        useradd.executableURL = URL(fileURLWithPath: "/usr/sbin/useradd")
        useradd.arguments = [
            "--create-home", "--user-group", "--shell", "/bin/bash",
            "--comment", "Vigil end-to-end tests, the developer the agent runs as", name,
        ]
        try useradd.run()
        useradd.waitUntilExit()
        guard let created = lookup() else {
            throw Privileges.Missing(description: "useradd \(name) exited \(useradd.terminationStatus) and there is no such account")
        }
        return created
    }

    private static func lookup() -> Developer? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return Developer(uid: entry.pw_uid, gid: entry.pw_gid)
    }

    /// `setpriv … ARGV`: ARGV as this account (its uid, gid and groups), from a root parent.
    public func command(_ argv: [String]) -> [String] {
        ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups"] + argv
    }

    /// The account owns `path` and everything below it (a project or a HOME the test prepared as root).
    public func own(_ path: String) throws {
        let chown = Process()
        chown.executableURL = URL(fileURLWithPath: "/bin/chown")
        chown.arguments = ["-R", "\(uid):\(gid)", path]
        try chown.run()
        chown.waitUntilExit()
        guard chown.terminationStatus == 0 else { throw Privileges.Missing(description: "chown -R \(uid):\(gid) \(path) failed") }
    }

    /// The account can execute `path`: every directory on the way is searchable and the file executable.
    /// (The claude binary lives under .output/claude-venv in the checkout, the hook under .build.)
    public func mustExecute(_ path: String) throws {
        let test = Process()
        test.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        test.arguments = Array(command(["/usr/bin/test", "-x", path]).dropFirst())
        try test.run()
        test.waitUntilExit()
        guard test.terminationStatus == 0 else {
            var blocked: [String] = []
            var prefix = ""
            for component in path.split(separator: "/") {
                prefix += "/" + component
                var st = stat()
                if stat(prefix, &st) == 0 && st.st_mode & 0o001 == 0 { blocked.append("\(prefix) (mode \(String(st.st_mode & 0o7777, radix: 8)))") }
            }
            throw Privileges.Missing(
                description: "\(Developer.name) (uid \(uid)) cannot execute \(path); not searchable or executable by others: \(blocked)")
        }
    }
}

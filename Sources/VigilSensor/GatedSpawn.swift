// SPDX-License-Identifier: Apache-2.0
// Starts a command that cannot run a single instruction before it is tagged as a session root.
internal import CVigilBPF
import Foundation
import Glibc

public struct GatedProcess: Sendable {
    public let pid: Int32
    let gateFD: Int32
    let execErrorFD: Int32

    /// Starts `argv[0]` (searched in PATH) held at the gate, inside the cgroup of `cgroupProcsFD`,
    /// as `account` if given (its uid, gid and groups, and HOME, USER and LOGNAME), else as this process.
    /// - Throws: `SensorError(.spawnFailed)` if the command is not found or fork fails.
    public static func spawn(_ argv: [String], cgroupProcsFD: Int32, as account: UserAccount? = nil) throws(SensorError) -> GatedProcess {
        guard let command = argv.first, let path = resolve(command) else {
            throw SensorError(.spawnFailed, "vigil: command not found: \(argv.first ?? "")")
        }
        var environment = ProcessInfo.processInfo.environment
        if let account {
            environment["HOME"] = account.home
            environment["USER"] = account.name
            environment["LOGNAME"] = account.name
        }
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0, gate: Int32 = -1, status: Int32 = -1
        let groups = account?.groups ?? []
        let rc = groups.withUnsafeBufferPointer { groupsBuffer in
            guard let account else { return vigil_spawn_gated(path, cArgv, cEnv, cgroupProcsFD, nil, &pid, &gate, &status) }
            var credentials = vigil_spawn_credentials(
                uid: account.uid, gid: account.gid, group_count: groupsBuffer.count, groups: groupsBuffer.baseAddress)
            return vigil_spawn_gated(path, cArgv, cEnv, cgroupProcsFD, &credentials, &pid, &gate, &status)
        }
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
            throw SensorError(
                .spawnFailed, "vigil: cannot start the command (joining its cgroup, taking its account or exec): \(String(cString: strerror(err)))")
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

/// The account `vigil run --as-user` runs its command as: resolved in the parent (the child may
/// only make async-signal-safe calls), with its supplementary groups as initgroups would set them.
public struct UserAccount: Sendable, Equatable {
    public let name: String
    public let uid: UInt32
    public let gid: UInt32
    public let groups: [UInt32]
    public let home: String

    /// - Throws: `SensorError(.spawnFailed)` if there is no such account.
    public static func named(_ name: String) throws(SensorError) -> UserAccount {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else {
            throw SensorError(.spawnFailed, "vigil: no such user: \(name)")
        }
        let uid = entry.pw_uid, gid = entry.pw_gid, home = String(cString: entry.pw_dir)
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(name, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count) * 2)
            count = Int32(groups.count)
        }
        return UserAccount(name: name, uid: uid, gid: gid, groups: Array(groups.prefix(Int(count))), home: home)
    }
}

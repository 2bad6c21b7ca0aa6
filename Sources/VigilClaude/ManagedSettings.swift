// SPDX-License-Identifier: Apache-2.0
// The managed-settings drop-in that puts Vigil in front of every Claude Code tool call on the machine,
// and its exact undo.
//
// Why managed settings (reference §1.8, verified on 2.1.330): only hooks from
// /etc/claude-code/managed-settings.json or managed-settings.d/*.json survive `--bare`,
// `--setting-sources` and a user's or `--settings` `disableAllHooks`; `allowManagedHooksOnly: true`
// (a managed-only key) drops every user, project, local and flag hook. Each handler says
// `"onFailure":"block"` with an explicit timeout, because without it a hook that times out, crashes
// or is missing is fail-open (§1.5).
//
// Uninstall restores the state before the install exactly: a file of the same name that existed is
// put back byte for byte with its mode and owner; directories the install created are removed. The
// record of what was there is written (durably) before anything in /etc changes.
import Crypto
import Foundation
import VigilCore
import VigilHost
#if canImport(Glibc)
    import Glibc
#endif

/// The hook handlers to install.
public struct HookInstallConfiguration: Sendable, Hashable {
    /// Absolute path of the `vigil` binary every handler runs.
    public var vigilPath: String
    /// `--policy` for `vigil hook`.
    public var policyPath: String
    /// `--audit-dir`, if the hook records to a signed audit log.
    public var auditDirectory: String?
    /// Seconds before Claude Code gives up on a handler (then blocks: `onFailure:"block"`).
    public var timeoutSeconds: Int
    /// Lock out every non-managed hook source.
    public var allowManagedHooksOnly: Bool
    /// The resident daemon's hook endpoint (`http://127.0.0.1:PORT/v1/hook`): handlers are `http`
    /// (about 3 ms per call) instead of spawning `vigil hook` for each event.
    public var hookURL: String?
    /// When the handler fails (daemon down, timeout, error): `true` blocks the call (fail closed).
    public var failClosed: Bool

    public init(
        vigilPath: String, policyPath: String, auditDirectory: String? = nil, timeoutSeconds: Int = 30,
        allowManagedHooksOnly: Bool = true, hookURL: String? = nil, failClosed: Bool = true
    ) {
        self.vigilPath = vigilPath
        self.policyPath = policyPath
        self.auditDirectory = auditDirectory
        self.timeoutSeconds = timeoutSeconds
        self.allowManagedHooksOnly = allowManagedHooksOnly
        self.hookURL = hookURL
        self.failClosed = failClosed
    }

    /// The argv after the binary: `hook --policy P [--audit-dir D]`.
    public var hookArguments: [String] {
        var args = ["hook", "--policy", policyPath]
        if let auditDirectory { args += ["--audit-dir", auditDirectory] }
        return args
    }

    /// The drop-in's JSON, keys sorted, two-space indent, trailing newline.
    ///
    /// Handlers are `http` to the daemon when `hookURL` is set, else the exec form (`command` +
    /// `args`: spawned directly, no `/bin/sh`, no quoting).
    /// Tool events get `matcher: "*"`; the others take no matcher.
    public func settingsJSON() -> [UInt8] {
        var hooks: [String: Any] = [:]
        for event in HookEvent.installed {
            var handler: [String: Any] = [
                "timeout": timeoutSeconds,
                "onFailure": failClosed ? "block" : "continue",
                "statusMessage": "Vigil: checking policy",
            ]
            if let hookURL {
                handler["type"] = "http"
                handler["url"] = hookURL
            } else {
                handler["type"] = "command"
                handler["command"] = vigilPath
                handler["args"] = hookArguments
            }
            var group: [String: Any] = ["hooks": [handler]]
            if event.takesToolMatcher { group["matcher"] = "*" }
            hooks[event.name] = [group]
        }
        var settings: [String: Any] = ["hooks": hooks]
        if allowManagedHooksOnly { settings["allowManagedHooksOnly"] = true }
        // A user-level `allowedHttpHookUrls` that leaves the daemon out must not switch it off.
        if let hookURL { settings["allowedHttpHookUrls"] = [hookURL] }
        // Only strings, numbers, bools, arrays and dictionaries: serialization cannot fail.
        let data = try! JSONSerialization.data(withJSONObject: settings, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return Array(data) + [0x0A]
    }
}

/// Why an install or uninstall did not happen (nothing was changed unless the message says so).
public struct ManagedSettingsError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// What was at the drop-in's path before the install.
public struct ManagedSettingsRecord: Codable, Sendable, Hashable {
    public struct PreviousFile: Codable, Sendable, Hashable {
        /// The exact bytes, base64.
        public var contents: String
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var sha256: String
    }
    public var version = 1
    /// The drop-in path (under the install root).
    public var path: String
    /// SHA-256 of the bytes Vigil wrote; uninstall refuses (without `force`) to remove anything else.
    public var installedSHA256: String
    /// nil: there was no file of that name.
    public var previous: PreviousFile?
    /// Directories the install created, outermost first; uninstall removes them (if empty), innermost first.
    public var createdDirectories: [String]
    /// Nanoseconds since the epoch.
    public var installedAt: Int64
}

/// Installs and uninstalls the drop-in under `root` (`/` on a real machine; a scratch directory in tests).
public struct ManagedSettingsInstaller: Sendable {
    public static let defaultFileName = "50-vigil.json"

    public var root: String
    public var fileName: String
    /// Where the record is kept (default `<root>/var/lib/vigil`).
    public var stateDirectory: String

    public init(root: String = "/", fileName: String = ManagedSettingsInstaller.defaultFileName, stateDirectory: String? = nil) {
        self.root = root
        self.fileName = fileName
        self.stateDirectory = stateDirectory ?? Self.join(root, "var/lib/vigil")
    }

    public var claudeDirectory: String { Self.join(root, "etc/claude-code") }
    public var dropInDirectory: String { Self.join(claudeDirectory, "managed-settings.d") }
    public var dropInPath: String { Self.join(dropInDirectory, fileName) }
    public var recordPath: String { Self.join(stateDirectory, "claude-managed-settings.\(fileName).record.json") }

    public struct InstallReport: Sendable, Hashable {
        public var path: String
        public var recordPath: String
        /// A file of the same name was there (kept in the record, restored on uninstall).
        public var replacedExisting: Bool
        /// The drop-in was already installed (the original record is kept).
        public var reinstalled: Bool
    }

    public struct UninstallReport: Sendable, Hashable {
        public var path: String
        /// The previous file was put back (else the drop-in was removed).
        public var restoredPrevious: Bool
        public var removedDirectories: [String]
    }

    /// Reads the record of the current install, if any.
    public func record() throws(ManagedSettingsError) -> ManagedSettingsRecord? {
        guard let bytes = try FileIO.read(recordPath) else { return nil }
        do {
            return try JSONDecoder().decode(ManagedSettingsRecord.self, from: Data(bytes))
        } catch {
            throw ManagedSettingsError(path: recordPath, reason: "unreadable install record: \(error)")
        }
    }

    /// Writes the drop-in. The first install records what was at its path; a reinstall keeps that record.
    @discardableResult
    public func install(_ configuration: HookInstallConfiguration) throws(ManagedSettingsError) -> InstallReport {
        let contents = configuration.settingsJSON()
        let existing = try record()
        var replaced = false
        if existing == nil {
            var previous: ManagedSettingsRecord.PreviousFile?
            if let st = FileIO.lstat(dropInPath) {
                guard st.st_mode & S_IFMT == S_IFREG else {
                    throw ManagedSettingsError(path: dropInPath, reason: "exists and is not a regular file; nothing changed")
                }
                guard let bytes = try FileIO.read(dropInPath) else {
                    throw ManagedSettingsError(path: dropInPath, reason: "disappeared while reading; nothing changed")
                }
                previous = .init(
                    contents: Data(bytes).base64EncodedString(), mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid,
                    gid: st.st_gid, sha256: SHA256.hexDigest(bytes))
                replaced = true
            }
            let created = [root, Self.join(root, "etc"), claudeDirectory, dropInDirectory].filter { FileIO.lstat($0) == nil }
            let record = ManagedSettingsRecord(
                path: dropInPath, installedSHA256: SHA256.hexDigest(contents), previous: previous,
                createdDirectories: created, installedAt: Int64(Date().timeIntervalSince1970 * 1e9))
            try FileIO.makeDirectories(stateDirectory, mode: 0o700)
            try FileIO.replaceAtomically(recordPath, with: Self.encode(record), mode: 0o600)
        } else if var record = existing {
            record.installedSHA256 = SHA256.hexDigest(contents)
            try FileIO.replaceAtomically(recordPath, with: Self.encode(record), mode: 0o600)
        }
        try FileIO.makeDirectories(dropInDirectory, mode: 0o755)
        try FileIO.replaceAtomically(dropInPath, with: contents, mode: 0o644)
        return InstallReport(path: dropInPath, recordPath: recordPath, replacedExisting: replaced, reinstalled: existing != nil)
    }

    /// Puts back exactly what the install found. Refuses when the drop-in was changed since the
    /// install (someone else's edit would be lost) unless `force`.
    @discardableResult
    public func uninstall(force: Bool = false) throws(ManagedSettingsError) -> UninstallReport {
        guard let record = try record() else {
            throw ManagedSettingsError(path: recordPath, reason: "no record of a Vigil install here; nothing changed")
        }
        guard record.path == dropInPath else {
            throw ManagedSettingsError(path: recordPath, reason: "the record is for \(record.path), not \(dropInPath); nothing changed")
        }
        if let current = try FileIO.read(dropInPath), SHA256.hexDigest(current) != record.installedSHA256, !force {
            throw ManagedSettingsError(
                path: dropInPath,
                reason: "changed since Vigil installed it (sha256 \(SHA256.hexDigest(current).prefix(16))…); "
                    + "nothing changed (force to restore anyway)")
        }
        var removed: [String] = []
        if let previous = record.previous {
            guard let bytes = Data(base64Encoded: previous.contents) else {
                throw ManagedSettingsError(path: recordPath, reason: "the recorded previous contents are not base64; nothing changed")
            }
            guard SHA256.hexDigest(Array(bytes)) == previous.sha256 else {
                throw ManagedSettingsError(path: recordPath, reason: "the recorded previous contents do not match their hash; nothing changed")
            }
            try FileIO.makeDirectories(dropInDirectory, mode: 0o755)
            try FileIO.replaceAtomically(dropInPath, with: Array(bytes), mode: previous.mode, owner: (previous.uid, previous.gid))
        } else {
            try FileIO.remove(dropInPath)
            for directory in record.createdDirectories.reversed() where FileIO.lstat(directory) != nil {
                if rmdir(directory) == 0 {
                    removed.append(directory)
                } else if errno != ENOTEMPTY && errno != EEXIST {
                    throw ManagedSettingsError(path: directory, reason: "cannot remove: \(String(cString: strerror(errno)))")
                }
            }
        }
        try FileIO.remove(recordPath)
        return UninstallReport(path: dropInPath, restoredPrevious: record.previous != nil, removedDirectories: removed)
    }

    static func join(_ base: String, _ relative: String) -> String {
        base.hasSuffix("/") ? base + relative : base + "/" + relative
    }

    private static func encode(_ record: ManagedSettingsRecord) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try! encoder.encode(record)) + [0x0A]
    }
}

/// Small POSIX file helpers with errors that name the path.
enum FileIO {
    static func lstat(_ path: String) -> stat? {
        var st = stat()
        return Glibc.lstat(path, &st) == 0 ? st : nil
    }

    static func read(_ path: String) throws(ManagedSettingsError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw failure(path, "open")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(path, "read")
            }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    static func makeDirectories(_ path: String, mode: mode_t) throws(ManagedSettingsError) {
        if let st = lstat(path) {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw ManagedSettingsError(path: path, reason: "exists and is not a directory") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectories(parent, mode: 0o755) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw failure(path, "mkdir") }
        _ = chmod(path, mode)
    }

    /// temp file in the same directory, chmod/chown, fsync, rename, fsync the directory (`DurableFile.replace`).
    static func replaceAtomically(
        _ path: String, with bytes: [UInt8], mode: UInt32, owner: (UInt32, UInt32)? = nil
    ) throws(ManagedSettingsError) {
        do {
            try DurableFile.replace(path, with: bytes, mode: mode, owner: owner.map { (uid: $0.0, gid: $0.1) })
        } catch {
            throw ManagedSettingsError(path: error.path, reason: "\(error.operation) failed: \(error.reason)")
        }
    }

    static func remove(_ path: String) throws(ManagedSettingsError) {
        if unlink(path) != 0 && errno != ENOENT { throw failure(path, "unlink") }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    static func syncDirectory(_ path: String) {
        try? DurableFile.syncDirectory(path)
    }

    private static func failure(_ path: String, _ what: String) -> ManagedSettingsError {
        ManagedSettingsError(path: path, reason: "\(what) failed: \(String(cString: strerror(errno)))")
    }
}

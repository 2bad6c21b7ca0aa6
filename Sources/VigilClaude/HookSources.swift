// SPDX-License-Identifier: Apache-2.0
// What a hook process reads from the machine: the policy file, the audit log, the OS user.
import Foundation
import VigilAudit
import VigilPolicy
#if canImport(Glibc)
import Glibc
#endif

/// Why the policy cannot be used; names the file.
public struct HookPolicyError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "cannot use the policy \(path): \(reason)" }
}

public enum HookPolicyFile {
    /// Reads and compiles `path`. Every failure names the file (and, for YAML errors, line and column).
    public static func load(_ path: String) -> Result<Policy, HookPolicyError> {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            return .failure(HookPolicyError(path: path, reason: "unreadable (\(describe(error, path: path)))"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(HookPolicyError(path: path, reason: "not UTF-8 text"))
        }
        do {
            return .success(try Policy(yaml: text, file: path))
        } catch {
            return .failure(HookPolicyError(path: path, reason: "rejected: \(error)"))
        }
    }

    private static func describe(_ error: any Error, path: String) -> String {
        var st = stat()
        if stat(path, &st) != 0 { return String(cString: strerror(errno)) }
        if st.st_mode & S_IFMT == S_IFDIR { return "is a directory" }
        if access(path, R_OK) != 0 { return String(cString: strerror(errno)) }
        return (error as NSError).localizedDescription
    }
}

/// The signed audit log, opened for one append and closed again (no daemon yet): each hook
/// invocation verifies the chain it extends, appends durably and seals the result with a checkpoint.
/// Parallel hooks (parallel tool calls) take turns on the log's lock, for at most `lockWait`.
public struct HookAuditLog: HookAuditSink {
    public var directory: String
    public var keyFile: String
    public var deviceID: String
    public var lockWait: Duration

    public init(directory: String, keyFile: String? = nil, deviceID: String, lockWait: Duration = .seconds(5)) {
        self.directory = directory
        self.keyFile = keyFile ?? AuditLogLayout(directory: directory).defaultPrivateKey
        self.deviceID = deviceID
        self.lockWait = lockWait
    }

    public var location: String { directory }

    public func record(_ entry: AuditEntry) throws {
        let signer = try Ed25519FileSigner(keyFile: keyFile)
        var options = AuditLog.Options()
        options.backgroundCheckpoints = false
        options.decodeEntriesOnOpen = false
        options.deviceId = deviceID
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: lockWait)
        var log: AuditLog?
        while log == nil {
            let result = Result { () throws(AuditError) -> AuditLog in
                try AuditLog.open(directory: directory, signer: signer, options: options)
            }
            switch result {
            case .success(let opened):
                log = opened
            case .failure(let error):
                guard error.code == .logLocked, clock.now < deadline else { throw error }
                usleep(1000)
            }
        }
        guard let log else { return }
        do {
            try log.append(entry)
        } catch {
            try? log.close()
            throw error
        }
        try log.close()
    }
}

/// The OS user running the hook (and so Claude Code), and this device.
public enum HookHost {
    public static func currentUser() -> (name: String, uid: UInt32, home: String?) {
        let uid = geteuid()
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, let entry = result {
            return (String(cString: entry.pointee.pw_name), uid, String(cString: entry.pointee.pw_dir))
        }
        return (String(uid), uid, nil)
    }

    /// `/proc/self/loginuid`: the login session's uid, which survives `sudo`; nil when unset.
    public static func loginUID() -> UInt32? {
        guard let text = try? String(contentsOfFile: "/proc/self/loginuid", encoding: .utf8),
              let value = UInt32(text.trimmingCharacters(in: .whitespacesAndNewlines)), value != UInt32.max
        else { return nil }
        return value
    }

    /// `/etc/machine-id`, else the host name.
    public static func deviceID() -> String {
        if let text = try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        return ProcessInfo.processInfo.hostName
    }

    /// The context of this process: identity = the OS user, subject with uid and login uid.
    public static func context(environment: [String: String] = ProcessInfo.processInfo.environment) -> HookContext {
        let user = currentUser()
        let device = deviceID()
        return HookContext(
            identity: Identity(user: user.name, device: device),
            subject: AuditEntry.Subject(uid: user.uid, userName: user.name, loginUid: loginUID()),
            deviceID: device, environment: environment, fallbackHome: user.home ?? "/")
    }
}

// SPDX-License-Identifier: Apache-2.0
// What a hook process reads from the machine: the audit log, the OS user (the policy file: VigilPolicy.HookPolicyFile).
import Foundation
import VigilAudit
import VigilHost
import VigilPolicy
#if canImport(Glibc)
    import Glibc
#endif

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
    /// The context of this process: identity = the OS user, subject with uid and login uid.
    public static func context(environment: [String: String] = ProcessInfo.processInfo.environment) -> HookContext {
        let uid = geteuid()
        let account = Accounts.read(uid: uid)
        let name = account?.name ?? String(uid)
        let device = HostIdentity.deviceID()
        return HookContext(
            identity: Identity(user: name, device: device),
            subject: AuditEntry.Subject(uid: uid, userName: name, loginUid: HostIdentity.loginUID()),
            deviceID: device, environment: environment, fallbackHome: account?.home ?? "/")
    }
}

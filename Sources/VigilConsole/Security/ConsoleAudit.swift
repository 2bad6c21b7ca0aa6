// SPDX-License-Identifier: Apache-2.0
// The console's own signed audit log (VigilAudit): every admin action and every refusal, with who
// asked, what, and why it was refused. Verified offline like a device's log.
import Foundation
import Logging
import VigilAudit

public final class ConsoleAudit: Sendable {
    public static let kind: AuditEntry.Kind = "console"
    private let log: AuditLog
    private let origin: String
    private let logger: Logger
    /// Where the log lives (`vigil audit verify DIR` checks it offline).
    public let directory: String

    /// Opens `<state>/audit`, making its key on first start.
    public init(stateDirectory: String, logger: Logger) throws {
        let directory = stateDirectory + "/audit"
        self.directory = directory
        try ConsoleFiles.makeDirectory(directory)
        let keyPath = directory + "/audit.key"
        let signer: Ed25519FileSigner
        do {
            if FileManager.default.fileExists(atPath: keyPath) {
                signer = try Ed25519FileSigner(keyFile: keyPath)
            } else {
                signer = try Ed25519FileSigner.generate(name: "vigil-console/\(ProcessInfo.processInfo.hostName)")
                try signer.write(toKeyFile: keyPath)
            }
            origin = signer.verifierKey.name
            log = try AuditLog.open(directory: directory, signer: signer, options: .init(deviceId: "console"))
        } catch {
            throw ConsoleSetupError("console audit log \(directory): \(error)")
        }
        self.logger = logger
    }

    /// Appends one entry. `action` is e.g. `token.issue`, `device.enroll`, `device.revoke`,
    /// `request.refused`; a failure to record is logged and rethrown: an admin action that cannot be
    /// audited does not report success.
    public func record(
        _ action: String, actor: String, target: String? = nil, decision: AuditEntry.Decision = .allow, reason: String? = nil,
        details: [String: String] = [:]
    ) throws {
        var extra = details
        extra["action"] = action
        extra["actor"] = actor
        if let target { extra["target"] = target }
        if let reason { extra["reason"] = reason }
        let entry = AuditEntry(kind: Self.kind, deviceId: "console", decision: decision, extra: extra)
        do {
            _ = try log.append(entry)
        } catch {
            logger.error("console audit append failed", metadata: ["action": "\(action)", "error": "\(error)"])
            throw ConsoleSetupError("cannot record \(action) in the console audit log: \(error)")
        }
    }

    /// Entries are durable (and covered by a checkpoint) once this returns.
    public func sync() throws { try log.checkpoint() }

    public var name: String { origin }

    /// The newest `limit` entries, newest first, for display: read without the key (the log's own
    /// verification is `vigil audit verify`); a damaged record ends the list and is named in `problem`.
    public func recent(limit: Int) throws -> (leaves: [AuditLeaf], problem: String?) {
        let (leaves, problem) = try AuditVerifier.readEntries(directory: directory)
        return (Array(leaves.suffix(limit).reversed()), problem)
    }
}

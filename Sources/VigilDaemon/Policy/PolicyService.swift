// SPDX-License-Identifier: Apache-2.0
// The policy in force and its file: loaded at start, reloaded on SIGHUP, on `vigil policy reload`
// and when the file changes. A policy that compiles replaces the old one everywhere at once (tool
// calls, kernel events, the kernel's maps and marks: the engine re-plans every session); one that
// does not is rejected with the reason, audited, shown in status, and the previous one stays.
import Crypto
import Foundation
import Glibc
import ServiceLifecycle
import Synchronization
import UnixSignals
import VigilAPI
import VigilAudit
import VigilCore
import VigilPolicy
import VigilRuntime

final class PolicyService: Sendable {
    let path: String
    let deviceID: String
    let pollInterval: Duration
    private let engine: KernelEngine
    private let journal: DaemonJournal
    private let state: Mutex<PolicyInfo>
    /// The console's document of an enrolled device, once one is applied: the base every local edit layers on.
    private let console = Mutex<(version: Int, document: PolicyDocument)?>(nil)

    /// `loaded`: the policy `path` held at start (already in force in `engine`).
    init(path: String, loaded: Policy, deviceID: String, pollInterval: Duration, engine: KernelEngine, journal: DaemonJournal) {
        self.path = path
        self.deviceID = deviceID
        self.pollInterval = pollInterval
        self.engine = engine
        self.journal = journal
        var info = PolicyInfo(path: path, version: loaded.version, loadedAt: TimelineRecord.now(), sha256: PolicyFile.digest(path))
        info.sources = [path]
        state = Mutex(info)
    }

    /// The policy in force. Take it once per decision; it is an immutable value.
    var current: Policy { engine.policy.current }

    /// What `vigil status` shows: version, digest, reloads, the last rejection, the console link.
    var info: PolicyInfo {
        var info = state.withLock { $0 }
        info.console = uplink.withLock { $0 }?()
        return info
    }

    /// The console link of an enrolled device, for status; set and cleared as the device enrols and leaves.
    private let uplink = Mutex<(@Sendable () -> ConsoleUplinkInfo)?>(nil)
    func setUplink(_ info: (@Sendable () -> ConsoleUplinkInfo)?) { uplink.withLock { $0 = info } }

    /// The device left its console (`vigil unenroll`): the local file alone is in force again.
    @discardableResult
    func leaveConsole(reason: String) -> Result<String, DaemonError> {
        guard
            let left = console.withLock({ layer -> Int? in
                defer { layer = nil }
                return layer?.version
            })
        else { return .success(current.version) }
        var entry = AuditEntry(kind: AuditEntry.Kind(rawValue: "policy"), deviceId: deviceID, policyVersion: current.version)
        entry.extra["event"] = "console-left"
        entry.extra["consoleVersion"] = String(left)
        entry.extra["reason"] = reason
        journal.record([entry])
        return reload(trigger: "left the console")
    }

    /// The local file, layered on the console's document when there is one (the file may only add denials).
    private func compose(console layer: (version: Int, document: PolicyDocument)?) -> Result<(Policy, [String]), DaemonError> {
        switch PolicyFile.load(path) {
        case .failure(let error): return .failure(error)
        case .success(let local):
            guard let layer else { return .success((local, [])) }
            let (document, dropped) = PolicyDocument.layered(console: layer.document, local: local.document)
            do {
                return .success((try Policy(document: document), dropped))
            } catch {
                return .failure(DaemonError("console policy v\(layer.version) with \(path) does not compile: \(error)"))
            }
        }
    }

    private func sources(_ layer: (version: Int, document: PolicyDocument)?) -> [String] {
        (layer.map { ["console v\($0.version)"] } ?? []) + [layer == nil ? path : "\(path) (denials only)"]
    }

    /// Applies a console bundle (already verified against the pinned key): the console's document
    /// with the local file's denials. Refused — the policy in force stays — when it does not compile
    /// here or is older than the one applied.
    @discardableResult
    func adoptConsole(_ bundle: PolicyBundle, trigger: String) -> Result<(version: String, dropped: [String]), DaemonError> {
        let result: Result<(Policy, [String]), DaemonError>
        if let applied = console.withLock({ $0?.version }), bundle.version < applied {
            result = .failure(DaemonError("console policy v\(bundle.version) is older than v\(applied) in force (a replay or a rollback)"))
        } else {
            do throws(PolicyError) {
                let document = try PolicyDocument(yaml: bundle.document, file: "console v\(bundle.version)")
                result = compose(console: (bundle.version, document)).map { policy, dropped in
                    self.console.withLock { $0 = (bundle.version, document) }
                    return (policy, dropped)
                }
            } catch {
                result = .failure(DaemonError("console policy v\(bundle.version) does not compile on this device: \(error)"))
            }
        }
        switch result {
        case .success(let (loaded, dropped)):
            let layer = console.withLock { $0 }
            state.withLock { info in
                info.version = loaded.version
                info.loadedAt = TimelineRecord.now()
                info.reloads += 1
                info.lastError = nil
                info.sources = sources(layer)
            }
            let failures = engine.adopt(loaded).messages(because: "console policy v\(bundle.version)", journal: journal)
            var entry = AuditEntry(
                kind: AuditEntry.Kind(rawValue: "policy"), deviceId: deviceID, policyVersion: loaded.version, postureRef: engine.posture.current.hash)
            entry.extra["event"] = "console-applied"
            entry.extra["trigger"] = trigger
            entry.extra["consoleVersion"] = String(bundle.version)
            entry.extra["author"] = bundle.author
            if !dropped.isEmpty { entry.extra["droppedLocalRules"] = dropped.joined(separator: "; ") }
            if !failures.isEmpty { entry.extra["kernelFailures"] = failures.joined(separator: "; ") }
            journal.record([entry])
            return .success((loaded.version, dropped))
        case .failure(let error):
            var entry = AuditEntry(kind: AuditEntry.Kind(rawValue: "policy"), deviceId: deviceID, policyVersion: current.version)
            entry.decision = .deny
            entry.extra["event"] = "console-rejected"
            entry.extra["trigger"] = trigger
            entry.extra["consoleVersion"] = String(bundle.version)
            entry.extra["error"] = error.description
            journal.record([entry])
            journal.noteError("\(error); the policy in force (\(current.version)) stays")
            return .failure(error)
        }
    }

    @discardableResult
    func reload(trigger: String) -> Result<String, DaemonError> {
        let digest = PolicyFile.digest(path)
        let layer = console.withLock { $0 }
        switch compose(console: layer).map(\.0) {
        case .success(let loaded):
            state.withLock { info in
                info.version = loaded.version
                info.sha256 = digest
                info.loadedAt = TimelineRecord.now()
                info.reloads += 1
                info.lastError = nil
                info.sources = sources(layer)
            }
            let failures = engine.adopt(loaded).messages(because: "policy \(loaded.version)", journal: journal)
            var entry = AuditEntry(
                kind: AuditEntry.Kind(rawValue: "policy"), deviceId: deviceID,
                policyVersion: loaded.version, postureRef: engine.posture.current.hash)
            entry.extra["event"] = "reloaded"
            entry.extra["trigger"] = trigger
            entry.extra["path"] = path
            if let digest { entry.extra["sha256"] = digest }
            if !failures.isEmpty { entry.extra["kernelFailures"] = failures.joined(separator: "; ") }
            journal.record([entry])
            return .success(loaded.version)
        case .failure(let error):
            state.withLock { info in
                info.rejected += 1
                info.lastError = error.description
            }
            var entry = AuditEntry(
                kind: AuditEntry.Kind(rawValue: "policy"), deviceId: deviceID,
                policyVersion: current.version)
            entry.decision = .deny
            entry.extra["event"] = "rejected"
            entry.extra["trigger"] = trigger
            entry.extra["error"] = error.description
            if let digest { entry.extra["rejectedSha256"] = digest }
            journal.record([entry])
            journal.noteError("\(error); the previous policy (\(current.version)) stays in force")
            return .failure(error)
        }
    }

    /// The file's identity, to notice edits (and replacements by rename) without inotify.
    func fileStamp() -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "missing:\(errno)" }
        return "\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec):\(st.st_mtim.tv_nsec)"
    }

    /// The service that reloads on `signals` (SIGHUP, trapped before the servers started) and on
    /// file changes, until the group shuts down.
    func watching(signals: UnixSignalsSequence) -> Watcher { Watcher(policy: self, signals: signals) }

    struct Watcher: Service {
        let policy: PolicyService
        let signals: UnixSignalsSequence

        func run() async throws {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in signals.cancelOnGracefulShutdown() {
                        policy.reload(trigger: "SIGHUP")
                    }
                }
                group.addTask {
                    var stamp = policy.fileStamp()
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        try? await Task.sleep(for: policy.pollInterval)
                        let now = policy.fileStamp()
                        if now != stamp {
                            stamp = now
                            policy.reload(trigger: "file change")
                        }
                    }
                }
                try? await gracefulShutdown()
                group.cancelAll()
            }
        }
    }
}

/// The policy file, read and compiled (the same reader as `vigil hook`); failures name the file
/// (and line, column).
public enum PolicyFile {
    public static func load(_ path: String) -> Result<Policy, DaemonError> {
        HookPolicyFile.load(path).mapError { DaemonError($0.description) }
    }

    public static func digest(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { SHA256.hexDigest(Array($0)) }
    }
}

extension KernelEngine.Replan {
    /// One line per session whose rules could not be re-applied (each also noted for the operator).
    func messages(because why: String, journal: DaemonJournal) -> [String] {
        var messages = failures.map { "cannot put session \(EventRenderer.hex($0.session))'s rules in the kernel: \($0.error)" }
        if let marksFailure { messages.append("exec/open enforcement (fanotify) cannot start: \(marksFailure)") }
        for message in messages { journal.noteError("\(why): \(message)") }
        return messages
    }
}

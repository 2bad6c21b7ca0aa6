// SPDX-License-Identifier: Apache-2.0
// The entries the engine makes outside a sensor event: a fanotify permission event decided, and a
// posture change with what was re-applied for it.
import Foundation
import VigilAudit
import VigilCore
import VigilEnforcement
import VigilHost
import VigilPolicy
import VigilPosture

/// A fanotify permission event decided: the entry to record when it is refused, nil to allow.
public enum GuardDecision {
    public static func decide(
        _ event: FanotifyEvent, policy: Policy, identity: Identity, posture: [String: VigilPolicy.PostureFact],
        context: KernelContext, session: SessionID, decider: KernelDecider
    ) -> AuditEntry? {
        let write = event.access == .write
        let action: KernelAction =
            event.isExec
            ? .exec(path: event.execPath ?? event.path, argv: event.argv ?? [])
            : .open(path: event.path, write: write)
        var decision = policy.decide(action, identity: identity, posture: posture, context: context)
        // The names the plan marked this inode under: a symlinked name an exec rule was written for
        // (`nc` → nc.openbsd), or the protected name of a file opened by another (a hard link, a
        // rename out of its tree, a bind mount): a file is decided by what it is, not what it is called.
        var protectedName: String?
        for name in event.markedAs where decision.action != .deny && name != event.path {
            decision = policy.decide(
                event.isExec ? .exec(path: name, argv: event.argv ?? []) : .open(path: name, write: write),
                identity: identity, posture: posture, context: context)
            if decision.action == .deny { protectedName = name }
        }
        guard decision.action == .deny, decision.enforcement >= .deny else { return nil }
        // Every process of the session is refused, the root included: EPERM is no kill, and the
        // root's own reads (Claude Code's Read tool, @-mentions, CLAUDE.md imports) are how a
        // protected file would otherwise reach the model.
        var entry = decider.makeEntry(
            kind: event.isExec ? .exec : .open, pid: event.pid, uid: KernelDecider.uid(of: event.pid), session: session,
            action: event.isExec
                ? AuditEntry.Action(argv: event.argv, path: event.execPath ?? event.path)
                : AuditEntry.Action(path: event.path, mode: write ? "write" : "read"),
            decision: decision, ancestry: [])
        entry.decision = .deny
        entry.enforcement = .init(
            action: "fanotify-deny", succeeded: true,
            detail: "EPERM before the \(event.isExec ? "exec" : "open") completed"
                + (protectedName.map { " (the same file as \($0))" } ?? ""))
        if let protectedName { entry.extra["protectedName"] = protectedName }
        return entry
    }

    /// The entry of a marked open or exec refused because its process's session is unknown.
    public static func unknownSession(_ event: FanotifyEvent, session: SessionID, decider: KernelDecider) -> AuditEntry {
        let uid = KernelDecider.uid(of: event.pid)
        var entry = AuditEntry(
            kind: event.isExec ? .exec : .open,
            subject: uid.map { AuditEntry.Subject(uid: $0, userName: decider.userName(of: $0)) },
            deviceId: decider.deviceID, sessionId: EventRenderer.hex(session),
            action: event.isExec
                ? AuditEntry.Action(argv: event.argv, path: event.execPath ?? event.path)
                : AuditEntry.Action(path: event.path, mode: event.access == .write ? "write" : "read"),
            postureRef: decider.posture.current.hash)
        entry.decision = .deny
        entry.monotonicNs = monotonicNanoseconds()
        entry.extra["pid"] = String(event.pid)
        entry.extra["reason"] =
            "the process is tagged for session \(EventRenderer.hex(session)), which vigild does not know: "
            + "a marked file is refused until the session is known"
        entry.enforcement = .init(action: "fanotify-deny", succeeded: true, detail: "EPERM before the \(event.isExec ? "exec" : "open") completed")
        return entry
    }

    /// Rules no fanotify mark can hold, and what holds them instead.
    public static func unmarkableRules(_ marks: MarkPlan, plan: KernelPlan) -> [String] {
        let inKernel = Set(
            KernelDecider.execNames(plan).map { "Exec(\($0))" }
                + KernelDecider.openNames(plan).flatMap { ["Open(\($0))", "Open(**/\($0))"] })
        return marks.rules.filter { $0.targets.isEmpty }.map { rule in
            inKernel.contains(rule.rule)
                ? "\(rule.rule): not markable by fanotify; SIGKILLed in the kernel by name (a Claude Code session root is flagged)"
                : "\(rule.rule): not markable by fanotify; the process is killed when seen"
        }
    }
}

/// The audit entry of a posture change: before and after, each changed fact, what was re-applied.
public enum PostureChangeEntry {
    public static func make(
        before: PostureSnapshot, after: PostureSnapshot, changes: [PostureChange], deviceID: String, session: String?,
        applied: String
    ) -> AuditEntry {
        var entry = AuditEntry(kind: .posture, deviceId: deviceID, sessionId: session, postureRef: after.hash)
        entry.monotonicNs = monotonicNanoseconds()
        entry.extra["before"] = before.hash
        for change in changes {
            entry.extra["change." + change.key.rawValue] = "\(change.before.map { "\($0)" } ?? "none") -> \(change.after.map { "\($0)" } ?? "none")"
        }
        entry.extra["applied"] = applied
        return entry
    }
}

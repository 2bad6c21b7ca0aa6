// SPDX-License-Identifier: Apache-2.0
// `vigil run`: a session whose every kernel event is decided by the policy, enforced with the
// strongest mechanism this kernel has, and sealed in the signed audit log.
//
//   connect/send  cgroup connect4/6 + sendmsg4/6 hooks on the session's cgroup: EPERM, no packet
//   exec/open     fanotify permission events on the files the policy names: EPERM, never runs/reads
//   the rest      (rules no kernel mechanism can hold: host names, unmarkable globs, renamed
//                 binaries) the event is decided when it arrives and the process is killed
//                 through a pidfd. No process is spared: CMD is not a pinned Claude Code, so
//                 it is no session root (vigild spares only those, and only from kills).
import Foundation
import Glibc
import Synchronization
import VigilAudit
import VigilCore
import VigilEnforcement
import VigilHost
import VigilPolicy
import VigilPosture
import VigilSensor

public struct RunConfiguration: Sendable {
    public var policy: Policy
    public var identity: Identity
    public var home: String
    public var deviceID: String
    public var userName: String?
    /// Live device posture: decisions and the kernel's rules follow it mid-session. nil: no
    /// posture facts (conditions on them are unknown, which the policy says how to treat).
    public var posture: PostureMonitor?
    /// The process holding a socket inode: names the peer of a session-boundary crossing.
    public var socketOwner: (@Sendable (UInt64) -> Int32?)?

    public init(policy: Policy, identity: Identity, home: String, deviceID: String, userName: String? = nil,
                posture: PostureMonitor? = nil, socketOwner: (@Sendable (UInt64) -> Int32?)? = nil) {
        self.policy = policy
        self.identity = identity
        self.home = home
        self.deviceID = deviceID
        self.userName = userName
        self.posture = posture
        self.socketOwner = socketOwner
    }
}

public struct RunSummary: Sendable {
    public var trace: TraceSummary
    public var decisions: [String: Int] = [:]
    public var enforcementFailures = 0
    public var auditEntries = 0
    public var auditErrors: [String] = []
    /// Kernel rules held in user space only (no kernel mechanism for them), with why.
    public var userSpaceRules: [String] = []
    /// How exec/open rules were put in place (marks, or why not).
    public var markReport: [String] = []
    /// The warning to print when the on-disk executable hash cache was not used, if it was not.
    public var hashCacheWarning: String?
    public var networkDenied: UInt64 = 0
    public var fanotify: FanotifyCounters?
    /// For every non-allow decision: nanoseconds from the syscall (its kernel timestamp) to its
    /// audit entry being durable.
    public var decisionToAuditNanoseconds: [UInt64] = []
    /// Posture changes seen (each audited with before and after, and applied at once).
    public var postureChanges = 0
}

/// One decided event, as printed by `vigil run --json`.
public struct DecidedEvent: Sendable {
    public var event: SensorEvent?
    public var context: RenderedContext
    public var entry: AuditEntry
}

public final class Runner: @unchecked Sendable {
    let sensor: Sensor
    let configuration: RunConfiguration
    let audit: AuditLog?
    let decider: KernelDecider
    /// Entries decided on the fanotify thread, appended by the event loop (an fsync must not
    /// delay the answer the blocked opener is waiting for).
    private let pendingFromGuard = Mutex<[AuditEntry]>([])
    private let postureChanges = Atomic<Int>(0)
    private var batch: [AuditEntry] = []
    private var tally = DecisionTally()

    public init(sensor: Sensor, configuration: RunConfiguration, audit: AuditLog?) {
        self.sensor = sensor
        self.configuration = configuration
        self.audit = audit
        self.decider = KernelDecider(deviceID: configuration.deviceID, posture: PostureTimeline(),
                                     socketOwner: configuration.socketOwner)
    }

    private var posture: PostureTimeline { decider.posture }

    /// Runs `argv` under the policy.
    /// - Throws: `SensorError` when the session or its enforcement cannot be set up (nothing
    ///   runs then: Vigil does not start a command it cannot enforce on).
    public func run(command argv: [String], onDecided: (DecidedEvent) -> Void) async throws(SensorError) -> RunSummary {
        let policy = configuration.policy
        if let monitor = configuration.posture {
            let snapshot = monitor.current
            posture.reset(facts: PostureMonitor.facts(snapshot), hash: snapshot.hash)
        }
        let plan = policy.kernelPlan(identity: configuration.identity, posture: posture.current.facts)
        var hooks: NetworkHooks?
        var guardian: FanotifyGuard?
        var subject = SessionSubject(session: 0, root: 0, identity: configuration.identity, home: configuration.home)
        subject.modelAPIPort = SessionSubject.loopbackModelAPIPort(baseURL: ProcessInfo.processInfo.environment["ANTHROPIC_BASE_URL"])
        var result = RunSummary(trace: TraceSummary(session: 0))
        result.userSpaceRules = plan.userSpace.map { "\($0.ruleID): \($0.reason)" }
        let deniedBefore = sensor.counters().networkDenied
        let hashCache = HashCacheFile(path: HashCacheFile.systemPath)
        result.hashCacheWarning = hashCache.degradedWarning
        let tracer = Tracer(sensor: sensor, ancestryForAllEvents: true, hasher: ExecutableHasher(store: hashCache))

        let trace = try await tracer.run(command: argv, prepare: { (start: SessionStart) throws(SensorError) in
            // No root is spared here: CMD is whatever the caller named, not a pinned Claude Code.
            subject.session = start.session
            hooks = try sensor.attachNetworkHooks(to: start.cgroup)
            try sensor.setNetworkDenials(plan.network.map {
                NetworkDenialSpec(address: $0.address, prefixBits: $0.prefixBits, ports: $0.ports)
            }, session: start.session)
            try sensor.setExecKills(KernelDecider.execNames(plan), session: start.session)
            try sensor.setOpenKills(KernelDecider.openNames(plan), session: start.session)
            try sensor.setPeerBoundary(session: start.session, cgroup: start.cgroup, deniedPorts: plan.deniedPeerPorts(modelAPIPort: subject.modelAPIPort),
                                       unixAllowed: plan.unixAllowed)
            if !plan.paths.isEmpty || configuration.posture != nil {
                guardian = try startGuard(plan: plan, session: start.session, report: &result)
            }
            if let monitor = configuration.posture {
                let guardRef = guardian
                monitor.start { [self] before, after, changes in
                    postureChanged(before: before, after: after, changes: changes, session: start.session, guardian: guardRef)
                }
            }
        }, onBatch: {
            for entry in flush(&result) { onDecided(DecidedEvent(event: nil, context: RenderedContext(), entry: entry)) }
        }, onEvent: { event, context in
            if let entry = decider.decide(event, context, policy: policy, subject: subject, tally: &tally) {
                batch.append(entry)
                onDecided(DecidedEvent(event: event, context: context, entry: entry))
            }
        })
        configuration.posture?.stop()
        guardian?.shutdown()
        for entry in flush(&result) { onDecided(DecidedEvent(event: nil, context: RenderedContext(), entry: entry)) }
        sensor.clearNetworkDenials(session: subject.session)
        sensor.clearPeerBoundary(session: subject.session)
        sensor.clearExecKills(session: subject.session)
        sensor.clearOpenKills(session: subject.session)
        withExtendedLifetime(hooks) {}
        result.trace = trace
        result.decisions = tally.decisions
        result.enforcementFailures += tally.enforcementFailures
        result.networkDenied = sensor.counters().networkDenied - deniedBefore
        result.fanotify = guardian?.counters
        result.postureChanges = postureChanges.load(ordering: .relaxed)
        return result
    }

    /// A posture change: audited with before and after, and applied at once — decisions read the
    /// new facts, and the kernel's share of the policy (network map, exec kills, fanotify marks)
    /// is recomputed for them.
    private func postureChanged(
        before: PostureSnapshot, after: PostureSnapshot, changes: [PostureChange], session: SessionID,
        guardian: FanotifyGuard?
    ) {
        let facts = PostureMonitor.facts(after)
        posture.append(facts: facts, hash: after.hash)
        postureChanges.add(1, ordering: .relaxed)
        let plan = configuration.policy.kernelPlan(identity: configuration.identity, posture: facts)
        var applied = "kernel rules re-planned: \(plan.network.count) network, \(plan.paths.count) exec/open"
        do {
            try sensor.setNetworkDenials(plan.network.map {
                NetworkDenialSpec(address: $0.address, prefixBits: $0.prefixBits, ports: $0.ports)
            }, session: session)
            try sensor.setExecKills(KernelDecider.execNames(plan), session: session)
            try sensor.setOpenKills(KernelDecider.openNames(plan), session: session)
        } catch {
            applied = "kernel rules could not be re-planned (\(error)); decisions still follow the new posture"
        }
        if let guardian {
            _ = guardian.apply(KernelDecider.marks(plan, home: configuration.home, path: ProcessInfo.processInfo.environment["PATH"]))
        }
        pendingFromGuard.withLock {
            $0.append(PostureChangeEntry.make(before: before, after: after, changes: changes, deviceID: configuration.deviceID,
                                              session: EventRenderer.hex(session), applied: applied))
        }
    }

    private func startGuard(
        plan: KernelPlan, session: SessionID, report: inout RunSummary
    ) throws(SensorError) -> FanotifyGuard {
        let policy = configuration.policy, identity = configuration.identity
        let context = KernelContext(home: configuration.home)
        let sensor = self.sensor
        var options = FanotifyGuardOptions()
        options.isSessionProcess = { pid in sensor.session(of: pid) != 0 }
        let guardian: FanotifyGuard
        do {
            guardian = try FanotifyGuard(options: options) { [self] (event: FanotifyEvent) -> Verdict in
                guard sensor.session(of: event.pid) == session else { return .allow }
                guard let entry = GuardDecision.decide(event, policy: policy, identity: identity, posture: posture.current.facts,
                                                       context: context, session: session, decider: decider)
                else { return .allow }
                pendingFromGuard.withLock { $0.append(entry) }
                return .deny
            }
        } catch {
            throw SensorError(.loadFailed, "vigil: exec/open enforcement (fanotify) could not start: \(error)")
        }
        let marks = KernelDecider.marks(plan, home: configuration.home, path: ProcessInfo.processInfo.environment["PATH"])
        let applied = guardian.apply(marks)
        report.markReport = marks.rules.map { "\($0)" } + ["\(applied)"]
        report.userSpaceRules += GuardDecision.unmarkableRules(marks, plan: plan)
        return guardian
    }

    /// Appends what was decided since the last flush: one durable write per batch of events.
    /// Returns the entries the fanotify thread decided, for the caller to report.
    @discardableResult
    private func flush(_ summary: inout RunSummary) -> [AuditEntry] {
        let fromGuard = pendingFromGuard.withLock { pending -> [AuditEntry] in
            defer { pending.removeAll() }
            return pending
        }
        for entry in fromGuard { tally.decisions[entry.decision?.rawValue ?? "deny", default: 0] += 1 }
        let entries = fromGuard + batch
        batch.removeAll(keepingCapacity: true)
        guard let audit, !entries.isEmpty else { return fromGuard }
        do {
            _ = try audit.append(entries)
            summary.auditEntries += entries.count
            let durable = monotonicNanoseconds()
            for entry in entries where entry.decision != .allow {
                if let at = entry.monotonicNs, at <= durable { summary.decisionToAuditNanoseconds.append(durable - at) }
            }
        } catch {
            summary.auditErrors.append("\(error)")
        }
        return fromGuard
    }
}

/// A fanotify permission event decided: the entry to record when it is refused, nil to allow.
public enum GuardDecision {
    public static func decide(
        _ event: FanotifyEvent, policy: Policy, identity: Identity, posture: [String: VigilPolicy.PostureFact],
        context: KernelContext, session: SessionID, decider: KernelDecider
    ) -> AuditEntry? {
        let write = event.access == .write
        let action: KernelAction = event.isExec
            ? .exec(path: event.execPath ?? event.path, argv: event.argv ?? [])
            : .open(path: event.path, write: write)
        var decision = policy.decide(action, identity: identity, posture: posture, context: context)
        // The names the plan marked this inode under: a symlinked name an exec rule was written for
        // (`nc` → nc.openbsd), or the protected name of a file opened by another (a hard link, a
        // rename out of its tree, a bind mount): a file is decided by what it is, not what it is called.
        var protectedName: String?
        for name in event.markedAs where decision.action != .deny && name != event.path {
            decision = policy.decide(event.isExec ? .exec(path: name, argv: event.argv ?? []) : .open(path: name, write: write),
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
        entry.enforcement = .init(action: "fanotify-deny", succeeded: true,
                                  detail: "EPERM before the \(event.isExec ? "exec" : "open") completed"
                                      + (protectedName.map { " (the same file as \($0))" } ?? ""))
        if let protectedName { entry.extra["protectedName"] = protectedName }
        return entry
    }

    /// Rules no fanotify mark can hold, and what holds them instead.
    public static func unmarkableRules(_ marks: MarkPlan, plan: KernelPlan) -> [String] {
        let inKernel = Set(KernelDecider.execNames(plan).map { "Exec(\($0))" }
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

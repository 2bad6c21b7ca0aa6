// SPDX-License-Identifier: Apache-2.0
// The one enforcement engine of `vigil run` (one session) and vigild (every session): who each live
// session is decided for, the kernel's share of the policy per session (network denials, in-kernel
// kills), the fanotify guard and its marks (the union of every session's exec/open rules, applied
// by difference), re-planning all of it when the policy or the posture changes, and the entries
// decided off the event loop (an fsync must not delay the answer a blocked opener waits for).
import Foundation
import Logging
import Synchronization
import VigilAudit
import VigilCore
import VigilEnforcement
import VigilHost
import VigilPolicy
import VigilPosture
import VigilSensor

/// How the engine treats what only a machine-wide engine sees.
public struct KernelEngineOptions: Sendable {
    /// A marked open or exec of a process tagged for a session the engine does not know: refused and
    /// audited (vigild, where such a session has just ended or was never made), or let through.
    public var refuseUnknownSessions = false
    /// fanotify denials carry `vigilSession` (vigild's entries name their session that way).
    public var labelGuardEntries = false
    /// The process holding a socket inode: names the peer of a session-boundary crossing.
    public var socketOwner: (@Sendable (UInt64) -> Int32?)?

    public init() {}
}

public final class KernelEngine: Sendable {
    public let sensor: Sensor
    public let decider: KernelDecider
    /// The policy in force; swapped by `adopt(_:)`.
    public let policy: PolicyStore
    public let options: KernelEngineOptions
    /// Who each live session's events are decided for, readable from the fanotify thread.
    private let subjects = Mutex<[SessionID: SessionSubject]>([:])
    private let guardian = Mutex<FanotifyGuard?>(nil)
    private let deferred = Mutex<[AuditEntry]>([])
    /// Marked opens and execs refused because their session was unknown.
    public let unknownSessionDenials = Atomic<Int>(0)

    public init(
        sensor: Sensor, policy: Policy, deviceID: String, posture: PostureTimeline = PostureTimeline(),
        options: KernelEngineOptions = KernelEngineOptions(), logger: Logger
    ) {
        self.sensor = sensor
        self.policy = PolicyStore(policy)
        self.options = options
        decider = KernelDecider(deviceID: deviceID, posture: posture, logger: logger, socketOwner: options.socketOwner)
    }

    public var posture: PostureTimeline { decider.posture }

    // MARK: Sessions

    /// From here on the session's events (and its fanotify events) are decided for `subject`.
    public func register(_ subject: SessionSubject) {
        subjects.withLock { $0[subject.session] = subject }
    }

    public func unregister(_ session: SessionID) {
        subjects.withLock { $0[session] = nil }
    }

    /// The session's root is spared from kills from now on (see `SessionSubject.root`).
    public func setRoot(_ pid: Int32, of session: SessionID) {
        subjects.withLock { $0[session]?.root = pid }
    }

    public func subject(of session: SessionID) -> SessionSubject? {
        subjects.withLock { $0[session] }
    }

    // MARK: The kernel's share of the policy

    /// Puts the session's network denials and in-kernel kills in the kernel, for its identity and the
    /// posture now. Returns the plan (its exec/open rules are the guard's, see `refreshMarks`).
    @discardableResult
    public func applyRules(for subject: SessionSubject) throws(SensorError) -> KernelPlan {
        let plan = policy.current.kernelPlan(identity: subject.identity, posture: posture.current.facts)
        try sensor.setNetworkDenials(
            plan.network.map {
                NetworkDenialSpec(address: $0.address, prefixBits: $0.prefixBits, ports: $0.ports)
            }, session: subject.session)
        try sensor.setExecKills(KernelDecider.execNames(plan), session: subject.session)
        try sensor.setOpenKills(KernelDecider.openNames(plan), session: subject.session)
        if let cgroup = subject.cgroup {
            // The session boundary, less what every session must reach (vigild's own endpoints).
            let exemptPorts = decider.exemptPeers.withLock { Array($0.keys) }
            let exemptPaths = decider.exemptUnixPeers.withLock { Array($0.keys) }
            try sensor.setPeerBoundary(
                session: subject.session, cgroup: cgroup,
                deniedPorts: plan.deniedPeerPorts(alsoAllowing: exemptPorts, modelAPIPort: subject.modelAPIPort),
                unixAllowed: plan.unixAllowed.map { $0 + exemptPaths })
        }
        return plan
    }

    public func clearRules(session: SessionID) {
        sensor.clearNetworkDenials(session: session)
        sensor.clearPeerBoundary(session: session)
        sensor.clearExecKills(session: session)
        sensor.clearOpenKills(session: session)
    }

    /// What a re-plan did: each live session's new plan, or why its rules could not be put in the kernel.
    public struct Replan: Sendable {
        public var plans: [SessionID: KernelPlan] = [:]
        public var failures: [(session: SessionID, error: SensorError)] = []
        /// The guard could not start for rules that now need it.
        public var marksFailure: EnforcementError?
    }

    /// Re-plans every live session for the policy and posture now: a session whose rules cannot be
    /// re-applied keeps running, and the failure is returned.
    public func replanAll() -> Replan {
        var replan = Replan()
        for subject in subjects.withLock({ Array($0.values) }) {
            do {
                replan.plans[subject.session] = try applyRules(for: subject)
            } catch {
                replan.failures.append((subject.session, error))
            }
        }
        do { try refreshMarks() } catch { replan.marksFailure = error }
        return replan
    }

    /// A new policy for every session at once: decisions, the kernel's maps, the marks.
    public func adopt(_ newPolicy: Policy) -> Replan {
        policy.replace(with: newPolicy)
        return replanAll()
    }

    /// Watches `monitor`: each change comes into force for decisions, then the kernel's share of the
    /// policy is re-planned for it; `onChange` (on the monitor's thread) audits it.
    public func watchPosture(
        _ monitor: PostureMonitor,
        onChange: @escaping @Sendable (_ before: PostureSnapshot, _ after: PostureSnapshot, [PostureChange], Replan) -> Void
    ) {
        monitor.start { [self] before, after, changes in
            posture.append(facts: PostureMonitor.facts(after), hash: after.hash)
            onChange(before, after, changes, replanAll())
        }
    }

    // MARK: fanotify

    public var fanotify: FanotifyGuard? { guardian.withLock { $0 } }

    /// The names the guard marked the file at `path` under (for tool calls decided by what a file is).
    public func markedNames(of path: String) -> [String] {
        fanotify?.markedNames(of: path) ?? []
    }

    /// Starts the guard now (it otherwise starts with the first rule that needs it).
    @discardableResult
    public func startGuard() throws(EnforcementError) -> FanotifyGuard {
        let sensor = self.sensor
        var guardOptions = FanotifyGuardOptions()
        guardOptions.isSessionProcess = { pid in sensor.session(of: pid) != 0 }
        // Under the lock: two sessions starting at once must not start two guards.
        return try guardian.withLock { (current: inout FanotifyGuard?) throws(EnforcementError) -> FanotifyGuard in
            if let current { return current }
            let started = try FanotifyGuard(options: guardOptions) { [self] (event: FanotifyEvent) -> Verdict in
                decide(event)
            }
            current = started
            return started
        }
    }

    /// fanotify marks: the union of every live session's exec/open rules (decisions stay per
    /// session), put in force by difference. Returns the plan and what applying it did; nil when no
    /// rule needs the guard and it has not started.
    @discardableResult
    public func refreshMarks() throws(EnforcementError) -> (plan: MarkPlan, report: MarkReport)? {
        let current = policy.current
        let facts = posture.current.facts
        let live = subjects.withLock { $0.values.sorted { $0.session < $1.session } }
        var rules: [String] = []
        var seen = Set<String>()
        var homes: [String] = []
        for subject in live {
            for denial in current.kernelPlan(identity: subject.identity, posture: facts).paths where seen.insert(denial.rule).inserted {
                rules.append(denial.rule)
            }
            if !homes.contains(subject.home) { homes.append(subject.home) }
        }
        if rules.isEmpty && fanotify == nil { return nil }
        let guardRef = try startGuard()
        let path = ProcessInfo.processInfo.environment["PATH"]
        var targets: [RuleMarks] = []
        for home in homes.isEmpty ? ["/root"] : homes {
            targets += MarkPlanner.plan(rules: rules, home: home, path: path, matching: Policy.segmentMatches).rules
        }
        let plan = MarkPlan(rules: targets)
        return (plan, guardRef.apply(plan))
    }

    public func shutdownGuard() {
        fanotify?.shutdown()
    }

    /// One permission event, on the guard's thread.
    private func decide(_ event: FanotifyEvent) -> Verdict {
        let session = sensor.session(of: event.pid)
        guard session != 0 else { return .allow }
        guard let subject = subject(of: session) else {
            guard options.refuseUnknownSessions else { return .allow }
            // Tagged for a session this engine does not know (one that has just ended, or a tag it
            // never made): no rule set can be chosen, so the marked file is refused.
            unknownSessionDenials.add(1, ordering: .relaxed)
            keep(GuardDecision.unknownSession(event, session: session, decider: decider))
            return .deny
        }
        guard
            var entry = GuardDecision.decide(
                event, policy: policy.current, identity: subject.identity, posture: posture.current.facts,
                context: KernelContext(home: subject.home), session: session, decider: decider)
        else { return .allow }
        if options.labelGuardEntries { entry.extra["vigilSession"] = EventRenderer.hex(session) }
        keep(entry)
        return .deny
    }

    // MARK: Entries decided off the event loop

    /// Keeps `entry` for the event loop to append with its next batch.
    public func keep(_ entry: AuditEntry) {
        deferred.withLock { $0.append(entry) }
    }

    /// The entries kept since the last call.
    public func takeKept() -> [AuditEntry] {
        deferred.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
    }
}

/// Kernel entries share fsyncs: a deny, kill, flag or gap is made durable at once (with what waits
/// before it); allows wait for up to 100 ms or 4096 entries. Fewer syncs leave the disk to the hook
/// calls that wait on theirs, and cost the machine less.
public final class KernelAuditBatch: Sendable {
    private let batch = Mutex<(entries: [AuditEntry], since: UInt64)>(([], 0))
    /// How long, and for how many entries, allows may wait.
    public let maxWaitNanoseconds: UInt64
    public let maxEntries: Int

    public init(maxWaitNanoseconds: UInt64 = 100_000_000, maxEntries: Int = 4096) {
        self.maxWaitNanoseconds = maxWaitNanoseconds
        self.maxEntries = maxEntries
    }

    /// Adds `entries`; returns what is due for one durable append now (empty while allows may wait).
    public func add(_ entries: [AuditEntry], force: Bool) -> [AuditEntry] {
        let now = monotonicNanoseconds()
        return batch.withLock { batch -> [AuditEntry] in
            if batch.entries.isEmpty { batch.since = now }
            batch.entries += entries
            let urgent = entries.contains { $0.decision != nil && $0.decision != .allow } || entries.contains { $0.kind == .gap }
            guard force || urgent || batch.entries.count >= maxEntries || now - batch.since >= maxWaitNanoseconds else { return [] }
            defer { batch.entries.removeAll(keepingCapacity: true) }
            return batch.entries
        }
    }
}

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
import Logging
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
    /// The account the command runs as (`vigil run --as-user`); nil: as this process (root).
    public var account: UserAccount?

    public init(
        policy: Policy, identity: Identity, home: String, deviceID: String, userName: String? = nil,
        posture: PostureMonitor? = nil, socketOwner: (@Sendable (UInt64) -> Int32?)? = nil,
        account: UserAccount? = nil
    ) {
        self.policy = policy
        self.identity = identity
        self.home = home
        self.deviceID = deviceID
        self.userName = userName
        self.posture = posture
        self.socketOwner = socketOwner
        self.account = account
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
    /// The same engine as vigild's, with one session.
    let engine: KernelEngine
    private let postureChanges = Atomic<Int>(0)
    private var batch: [AuditEntry] = []
    private var tally = DecisionTally()

    public init(sensor: Sensor, configuration: RunConfiguration, audit: AuditLog?, logger: Logger) {
        self.sensor = sensor
        self.configuration = configuration
        self.audit = audit
        var options = KernelEngineOptions()
        options.socketOwner = configuration.socketOwner
        self.engine = KernelEngine(
            sensor: sensor, policy: configuration.policy, deviceID: configuration.deviceID,
            options: options, logger: logger)
    }

    private var posture: PostureTimeline { engine.posture }

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
        var subject = SessionSubject(session: 0, root: 0, identity: configuration.identity, home: configuration.home)
        subject.modelAPIPort = SessionSubject.loopbackModelAPIPort(baseURL: ProcessInfo.processInfo.environment["ANTHROPIC_BASE_URL"])
        var result = RunSummary(trace: TraceSummary(session: 0))
        result.userSpaceRules = plan.userSpace.map { "\($0.ruleID): \($0.reason)" }
        let deniedBefore = sensor.counters().networkDenied
        let hashCache = HashCacheFile(path: HashCacheFile.systemPath)
        result.hashCacheWarning = hashCache.degradedWarning
        let tracer = Tracer(sensor: sensor, ancestryForAllEvents: true, hasher: ExecutableHasher(store: hashCache))

        let trace = try await tracer.run(
            command: argv, as: configuration.account,
            prepare: { (start: SessionStart) throws(SensorError) in
                // No root is spared here: CMD is whatever the caller named, not a pinned Claude Code.
                subject.session = start.session
                subject.cgroup = start.cgroup
                engine.register(subject)
                hooks = try sensor.attachNetworkHooks(to: start.cgroup)
                try engine.applyRules(for: subject)
                if !plan.paths.isEmpty || configuration.posture != nil {
                    try startGuard(plan: plan, report: &result)
                }
                if let monitor = configuration.posture {
                    engine.watchPosture(monitor) { [self] before, after, changes, replan in
                        postureChanged(before: before, after: after, changes: changes, session: start.session, replan: replan)
                    }
                }
            },
            onBatch: {
                for entry in flush(&result) { onDecided(DecidedEvent(event: nil, context: RenderedContext(), entry: entry)) }
            },
            onEvent: { event, context in
                if let entry = engine.decider.decide(event, context, policy: policy, subject: subject, tally: &tally) {
                    batch.append(entry)
                    onDecided(DecidedEvent(event: event, context: context, entry: entry))
                }
            })
        configuration.posture?.stop()
        engine.shutdownGuard()
        for entry in flush(&result) { onDecided(DecidedEvent(event: nil, context: RenderedContext(), entry: entry)) }
        engine.clearRules(session: subject.session)
        engine.unregister(subject.session)
        withExtendedLifetime(hooks) {}
        result.trace = trace
        result.decisions = tally.decisions
        result.enforcementFailures += tally.enforcementFailures
        result.networkDenied = sensor.counters().networkDenied - deniedBefore
        result.fanotify = engine.fanotify?.counters
        result.postureChanges = postureChanges.load(ordering: .relaxed)
        return result
    }

    /// A posture change, applied by the engine (decisions read the new facts, the kernel's share of
    /// the policy is re-planned for them): audited with before and after and what was re-applied.
    private func postureChanged(
        before: PostureSnapshot, after: PostureSnapshot, changes: [PostureChange], session: SessionID,
        replan: KernelEngine.Replan
    ) {
        postureChanges.add(1, ordering: .relaxed)
        let plan = replan.plans[session]
        var applied = "kernel rules re-planned: \(plan?.network.count ?? 0) network, \(plan?.paths.count ?? 0) exec/open"
        if let failure = replan.failures.first(where: { $0.session == session }) {
            applied = "kernel rules could not be re-planned (\(failure.error)); decisions still follow the new posture"
        }
        engine.keep(
            PostureChangeEntry.make(
                before: before, after: after, changes: changes, deviceID: configuration.deviceID,
                session: EventRenderer.hex(session), applied: applied))
    }

    private func startGuard(plan: KernelPlan, report: inout RunSummary) throws(SensorError) {
        let marks: (plan: MarkPlan, report: MarkReport)?
        do {
            try engine.startGuard()
            marks = try engine.refreshMarks()
        } catch {
            throw SensorError(.loadFailed, "vigil: exec/open enforcement (fanotify) could not start: \(error)")
        }
        guard let marks else { return }
        report.markReport = marks.plan.rules.map { "\($0)" } + ["\(marks.report)"]
        report.userSpaceRules += GuardDecision.unmarkableRules(marks.plan, plan: plan)
    }

    /// Appends what was decided since the last flush: one durable write per batch of events.
    /// Returns the entries the fanotify thread decided, for the caller to report.
    @discardableResult
    private func flush(_ summary: inout RunSummary) -> [AuditEntry] {
        let fromGuard = engine.takeKept()
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

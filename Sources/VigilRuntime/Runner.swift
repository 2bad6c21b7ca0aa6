// `vigil run`: a session whose every kernel event is decided by the policy, enforced with the
// strongest mechanism this kernel has, and sealed in the signed audit log.
//
//   connect/send  cgroup connect4/6 + sendmsg4/6 hooks on the session's cgroup: EPERM, no packet
//   exec/open     fanotify permission events on the files the policy names: EPERM, never runs/reads
//   the rest      (rules no kernel mechanism can hold: host names, unmarkable globs, renamed
//                 binaries) the event is decided when it arrives and the process is killed
//                 through a pidfd — except the session's root (the agent itself), which is
//                 flagged for opens, never killed.
import Foundation
import Glibc
import Synchronization
import VigilAudit
import VigilCore
import VigilEnforcement
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

    public init(policy: Policy, identity: Identity, home: String, deviceID: String, userName: String? = nil,
                posture: PostureMonitor? = nil) {
        self.policy = policy
        self.identity = identity
        self.home = home
        self.deviceID = deviceID
        self.userName = userName
        self.posture = posture
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
    /// Entries decided on the fanotify thread, appended by the event loop (an fsync must not
    /// delay the answer the blocked opener is waiting for).
    private let pendingFromGuard = Mutex<[AuditEntry]>([])
    /// The posture over time: each snapshot with the monotonic time it came into force (facts
    /// for the policy, and the hash audit entries cite). An event is decided under the posture
    /// in force when it happened, not when it is read from the ring.
    private struct PostureEpoch {
        var since: UInt64
        var facts: [String: VigilPolicy.PostureFact]
        var hash: String?
    }
    private let posture = Mutex<[PostureEpoch]>([PostureEpoch(since: 0, facts: [:], hash: nil)])
    private let postureChanges = Atomic<Int>(0)
    private var batch: [AuditEntry] = []
    private var summary: RunSummary?

    public init(sensor: Sensor, configuration: RunConfiguration, audit: AuditLog?) {
        self.sensor = sensor
        self.configuration = configuration
        self.audit = audit
    }

    /// Runs `argv` under the policy.
    /// - Throws: `SensorError` when the session or its enforcement cannot be set up (nothing
    ///   runs then: Vigil does not start a command it cannot enforce on).
    public func run(command argv: [String], onDecided: (DecidedEvent) -> Void) async throws(SensorError) -> RunSummary {
        let policy = configuration.policy
        if let monitor = configuration.posture {
            let snapshot = monitor.current
            posture.withLock { $0 = [PostureEpoch(since: 0, facts: PostureMonitor.facts(snapshot), hash: snapshot.hash)] }
        }
        let plan = policy.kernelPlan(identity: configuration.identity, posture: currentFacts())
        var hooks: NetworkHooks?
        var guardian: FanotifyGuard?
        var root: Int32 = 0
        var session: SessionID = 0
        var result = RunSummary(trace: TraceSummary(session: 0))
        result.userSpaceRules = plan.userSpace.map { "\($0.ruleID): \($0.reason)" }
        let deniedBefore = sensor.counters().networkDenied
        let tracer = Tracer(sensor: sensor, ancestryForAllEvents: true)

        let trace = try await tracer.run(command: argv, prepare: { (start: SessionStart) throws(SensorError) in
            root = start.rootPID
            session = start.session
            hooks = try sensor.attachNetworkHooks(to: start.cgroup)
            try sensor.setNetworkDenials(plan.network.map {
                NetworkDenialSpec(address: $0.address, prefixBits: $0.prefixBits, ports: $0.ports)
            }, session: start.session)
            try sensor.setExecKills(Runner.execNames(plan), session: start.session)
            try sensor.setOpenKills(Runner.openNames(plan), session: start.session)
            sensor.setSessionRoot(start.rootPID, true)
            if !plan.paths.isEmpty || configuration.posture != nil {
                guardian = try startGuard(plan: plan, session: start.session, root: start.rootPID, report: &result)
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
            decide(event, context, session: session, root: root, plan: plan, summary: &result, onDecided: onDecided)
        })
        configuration.posture?.stop()
        guardian?.shutdown()
        for entry in flush(&result) { onDecided(DecidedEvent(event: nil, context: RenderedContext(), entry: entry)) }
        sensor.clearNetworkDenials(session: session)
        sensor.clearExecKills(session: session)
        sensor.clearOpenKills(session: session)
        if root != 0 { sensor.setSessionRoot(root, false) }
        withExtendedLifetime(hooks) {}
        result.trace = trace
        result.networkDenied = sensor.counters().networkDenied - deniedBefore
        result.fanotify = guardian?.counters
        result.postureChanges = postureChanges.load(ordering: .relaxed)
        return result
    }

    private func currentFacts() -> [String: VigilPolicy.PostureFact] { posture.withLock { $0.last!.facts } }

    /// The posture in force at monotonic time `at`.
    private func epoch(at: UInt64) -> PostureEpoch {
        posture.withLock { epochs in epochs.last { $0.since <= at } ?? epochs[0] }
    }

    /// A posture change: audited with before and after, and applied at once — decisions read the
    /// new facts, and the kernel's share of the policy (network map, exec kills, fanotify marks)
    /// is recomputed for them.
    private func postureChanged(
        before: PostureSnapshot, after: PostureSnapshot, changes: [PostureChange], session: SessionID,
        guardian: FanotifyGuard?
    ) {
        let facts = PostureMonitor.facts(after)
        posture.withLock { epochs in
            epochs.append(PostureEpoch(since: monotonicNanoseconds(), facts: facts, hash: after.hash))
            if epochs.count > 256 { epochs.removeFirst(epochs.count - 256) }
        }
        postureChanges.add(1, ordering: .relaxed)
        let plan = configuration.policy.kernelPlan(identity: configuration.identity, posture: facts)
        var applied = "kernel rules re-planned: \(plan.network.count) network, \(plan.paths.count) exec/open"
        do {
            try sensor.setNetworkDenials(plan.network.map {
                NetworkDenialSpec(address: $0.address, prefixBits: $0.prefixBits, ports: $0.ports)
            }, session: session)
            try sensor.setExecKills(Runner.execNames(plan), session: session)
            try sensor.setOpenKills(Runner.openNames(plan), session: session)
        } catch {
            applied = "kernel rules could not be re-planned (\(error)); decisions still follow the new posture"
        }
        if let guardian {
            _ = guardian.apply(MarkPlanner.plan(rules: plan.paths.map(\.rule), home: configuration.home,
                                                path: ProcessInfo.processInfo.environment["PATH"]))
        }
        var entry = AuditEntry(kind: .posture, deviceId: configuration.deviceID, sessionId: hex(session),
                               postureRef: after.hash)
        entry.monotonicNs = monotonicNanoseconds()
        entry.extra["before"] = before.hash
        for change in changes {
            entry.extra["change." + change.key.rawValue] = "\(change.before.map { "\($0)" } ?? "none") -> \(change.after.map { "\($0)" } ?? "none")"
        }
        entry.extra["applied"] = applied
        pendingFromGuard.withLock { $0.append(entry) }
    }

    /// `Open(**/NAME)` / `Open(NAME)` deny rules (any mode) with a plain file name: the kernel
    /// can match the last path component by itself.
    static func openNames(_ plan: KernelPlan) -> [String] {
        plan.paths.compactMap { denial -> String? in
            guard denial.rule.hasPrefix("Open("), denial.rule.hasSuffix(")") else { return nil }
            var name = denial.rule.dropFirst(5).dropLast()
            if name.hasPrefix("**/") { name = name.dropFirst(3) }
            guard !name.isEmpty, name.count < 48, !name.contains(where: { "/*?[ ,~".contains($0) }) else { return nil }
            return String(name)
        }
    }

    /// `Exec(name)` deny rules with a plain name (no path, glob or arguments): the kernel can
    /// match those by itself.
    static func execNames(_ plan: KernelPlan) -> [String] {
        plan.paths.compactMap { denial -> String? in
            guard denial.rule.hasPrefix("Exec("), denial.rule.hasSuffix(")") else { return nil }
            let name = denial.rule.dropFirst(5).dropLast()
            guard !name.isEmpty, name.count < 48, !name.contains(where: { "/*?[ ".contains($0) }) else { return nil }
            return String(name)
        }
    }

    private func startGuard(
        plan: KernelPlan, session: SessionID, root: Int32, report: inout RunSummary
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
                let write = event.access == .write
                let action: KernelAction = event.isExec
                    ? .exec(path: event.execPath ?? event.path, argv: event.argv ?? [])
                    : .open(path: event.path, write: write)
                var decision = policy.decide(action, identity: identity, posture: currentFacts(), context: context)
                if decision.action != .deny, event.isExec {
                    // A symlinked name the rule was written for (`nc` → nc.openbsd).
                    for name in event.markedAs where decision.action != .deny {
                        decision = policy.decide(.exec(path: name, argv: event.argv ?? []), identity: identity, posture: currentFacts(), context: context)
                    }
                }
                guard decision.action == .deny, decision.enforcement >= .deny else { return .allow }
                // The session root is flagged, not stopped, for opens: the sensor's open event
                // records that (with the full ancestry), so nothing is recorded twice here.
                if event.pid == root && !event.isExec { return .allow }
                var entry = makeEntry(
                    kind: event.isExec ? .exec : .open, pid: event.pid, uid: Runner.uid(of: event.pid), session: session,
                    action: event.isExec
                        ? AuditEntry.Action(argv: event.argv, path: event.execPath ?? event.path)
                        : AuditEntry.Action(path: event.path, mode: write ? "write" : "read"),
                    decision: decision, ancestry: [])
                entry.decision = .deny
                entry.enforcement = .init(action: "fanotify-deny", succeeded: true,
                                          detail: "EPERM before the \(event.isExec ? "exec" : "open") completed")
                pendingFromGuard.withLock { $0.append(entry) }
                return .deny
            }
        } catch {
            throw SensorError(.loadFailed, "vigil: exec/open enforcement (fanotify) could not start: \(error)")
        }
        let marks = MarkPlanner.plan(rules: plan.paths.map(\.rule), home: configuration.home,
                                     path: ProcessInfo.processInfo.environment["PATH"])
        let applied = guardian.apply(marks)
        report.markReport = marks.rules.map { "\($0)" } + ["\(applied)"]
        let inKernel = Set(Runner.execNames(plan).map { "Exec(\($0))" } + Runner.openNames(plan).flatMap { ["Open(\($0))", "Open(**/\($0))"] })
        for rule in marks.rules where rule.targets.isEmpty {
            report.userSpaceRules.append(inKernel.contains(rule.rule)
                ? "\(rule.rule): not markable by fanotify; SIGKILLed in the kernel by name (a session root is flagged)"
                : "\(rule.rule): not markable by fanotify; the process is killed when seen")
        }
        return guardian
    }

    private func decide(
        _ event: SensorEvent, _ context: RenderedContext, session: SessionID, root: Int32, plan: KernelPlan,
        summary: inout RunSummary, onDecided: (DecidedEvent) -> Void
    ) {
        let policy = configuration.policy
        let kernelContext = KernelContext(home: configuration.home)
        let inForce = epoch(at: event.header?.ktimeNanoseconds ?? monotonicNanoseconds())
        let facts = inForce.facts
        let ancestry = context.ancestry.map { AuditEntry.ProcessLink(pid: $0.pid, exe: $0.exePath, sha256: $0.exeSHA256) }
        let uid = context.ancestry.first?.uid
        var entry: AuditEntry
        switch event {
        case .gap(let gap):
            entry = AuditEntry.gap(deviceId: configuration.deviceID, source: "sensor", lost: gap.lost, reason: gap.cause.rawValue,
                                   extra: ["session": hex(session)])
        case .fork, .exit:
            return  // lifecycle: in the tree and the ancestry of later entries, not decisions
        case .exec(let e):
            var decision = policy.decide(.exec(path: e.path, argv: e.argv), identity: configuration.identity, posture: facts, context: kernelContext)
            if e.header.flags.contains(.killed), decision.action != .deny, e.argv.count > 1 {
                // The kernel matched the name the file was executed by: for a script that is
                // argv[1] (the kernel ran its interpreter, e.path).
                decision = policy.decide(.exec(path: e.argv[1], argv: Array(e.argv.dropFirst())),
                                         identity: configuration.identity, posture: facts, context: kernelContext)
            }
            entry = makeEntry(kind: .exec, pid: e.header.pid, uid: e.uid, session: session,
                              action: .init(argv: e.argv, path: e.path), decision: decision, ancestry: ancestry)
            entry.monotonicNs = e.header.ktimeNanoseconds
            if e.header.flags.contains(.killed) {
                entry.decision = .kill
                entry.enforcement = .init(action: "bpf-sigkill", succeeded: true, detail: "SIGKILL in the kernel at exec: the binary never ran")
                summary.decisions["kill", default: 0] += 1
            } else {
                enforce(&entry, decision: decision, pid: e.header.pid, root: root, prevented: false, summary: &summary)
            }
        case .open(let e):
            let decision = policy.decide(.open(path: e.path, write: e.isWrite), identity: configuration.identity, posture: facts, context: kernelContext)
            entry = makeEntry(kind: .open, pid: e.header.pid, uid: uid, session: session,
                              action: .init(path: e.path, mode: e.isWrite ? "write" : "read"), decision: decision, ancestry: ancestry)
            entry.extra["result"] = String(e.result)
            entry.monotonicNs = e.header.ktimeNanoseconds
            if decision.action == .deny, e.result == -1 {
                // EPERM: the fanotify guard refused it and has recorded it already.
                return
            }
            if e.header.flags.contains(.killed) {
                entry.decision = .kill
                entry.enforcement = .init(action: "bpf-sigkill", succeeded: true,
                                          detail: "SIGKILL in the kernel at open: the descriptor was never used")
                summary.decisions["kill", default: 0] += 1
                entry.postureRef = inForce.hash
                batch.append(entry)
                onDecided(DecidedEvent(event: event, context: context, entry: entry))
                return
            }
            enforce(&entry, decision: decision, pid: e.header.pid, root: root, prevented: e.result < 0, summary: &summary)
        case .connect(let e), .send(let e):
            let isSend: Bool
            if case .send = event { isSend = true } else { isSend = false }
            let decision = policy.decide(.connect(address: e.address, port: e.port, host: nil),
                                         identity: configuration.identity, posture: facts, context: kernelContext)
            entry = makeEntry(kind: isSend ? .send : .connect, pid: e.header.pid, uid: uid, session: session,
                              action: .init(address: e.address, port: e.port, transport: EventRenderer.familyName(e.family)),
                              decision: decision, ancestry: ancestry)
            entry.extra["result"] = String(e.result)
            entry.monotonicNs = e.header.ktimeNanoseconds
            let refused = e.result == -1  // EPERM from the cgroup hook
            if decision.action == .deny, refused {
                entry.enforcement = .init(action: "cgroup-deny", succeeded: true, detail: "EPERM from the cgroup \(isSend ? "sendmsg" : "connect") hook; no packet sent")
                entry.decision = .deny
                summary.decisions["deny", default: 0] += 1
            } else {
                enforce(&entry, decision: decision, pid: e.header.pid, root: root, prevented: e.result < 0, summary: &summary)
            }
        }
        entry.postureRef = inForce.hash
        batch.append(entry)
        onDecided(DecidedEvent(event: event, context: context, entry: entry))
    }

    /// After the fact: the kernel let it happen (no mechanism held the rule). Kill the process
    /// through its pidfd — unless it is the session root, which is flagged.
    private func enforce(
        _ entry: inout AuditEntry, decision: VigilPolicy.Decision, pid: Int32, root: Int32, prevented: Bool,
        summary: inout RunSummary
    ) {
        if decision.action == .deny && decision.enforcement == .flag {
            entry.decision = .flag
            entry.enforcement = .init(action: "flag", succeeded: true)
        } else if decision.action == .deny && decision.enforcement >= .deny {
            if prevented {
                entry.decision = .deny
                entry.enforcement = .init(action: "none-needed", succeeded: true, detail: "the syscall failed by itself")
            } else if pid == root {
                entry.decision = .flag
                entry.enforcement = .init(action: "flag", succeeded: true, detail: "the session root is flagged, never killed")
            } else {
                let outcome = ProcessKiller.kill(pid: pid)
                entry.decision = .kill
                entry.enforcement = .init(action: "pidfd-kill", succeeded: outcome.succeeded, detail: "\(outcome)")
                if !outcome.succeeded { summary.enforcementFailures += 1 }
            }
        } else {
            entry.decision = AuditEntry.Decision(rawValue: decision.action.rawValue)
        }
        summary.decisions[entry.decision?.rawValue ?? "allow", default: 0] += 1
    }

    private func makeEntry(
        kind: AuditEntry.Kind, pid: Int32, uid: UInt32?, session: SessionID, action: AuditEntry.Action,
        decision: VigilPolicy.Decision, ancestry: [AuditEntry.ProcessLink]
    ) -> AuditEntry {
        var entry = AuditEntry(
            kind: kind, subject: uid.map { AuditEntry.Subject(uid: $0, userName: userName(of: $0)) },
            deviceId: configuration.deviceID, sessionId: hex(session), action: action,
            matchedRules: decision.matchedRuleIDs, winningRule: decision.winningRuleID,
            policyVersion: decision.policyVersion, ancestry: ancestry)
        entry.extra["pid"] = String(pid)
        entry.monotonicNs = monotonicNanoseconds()
        entry.postureRef = posture.withLock { $0.last!.hash }
        if decision.derived { entry.extra["derived"] = "true" }
        if decision.action != .allow { entry.extra["reason"] = decision.reason }
        return entry
    }

    private var userNames: [UInt32: String] = [:]

    /// The real uid of a live process, from /proc (for decisions made before any event of it).
    static func uid(of pid: Int32) -> UInt32? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }),
              let first = line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
        else { return nil }
        return UInt32(first)
    }

    /// The OS account name of `uid` (cached; nil when the account has no name).
    private func userName(of uid: UInt32) -> String? {
        if let name = userNames[uid] { return name }
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return nil }
        let text = String(cString: name)
        userNames[uid] = text
        return text
    }

    /// Appends what was decided since the last flush: one durable write per batch of events.
    /// Returns the entries the fanotify thread decided, for the caller to report.
    @discardableResult
    private func flush(_ summary: inout RunSummary) -> [AuditEntry] {
        let fromGuard = pendingFromGuard.withLock { pending -> [AuditEntry] in
            defer { pending.removeAll() }
            return pending
        }
        for entry in fromGuard { summary.decisions[entry.decision?.rawValue ?? "deny", default: 0] += 1 }
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

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}

/// CLOCK_MONOTONIC, the clock of the kernel's event timestamps.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

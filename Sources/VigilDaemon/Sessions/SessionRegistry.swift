// SPDX-License-Identifier: Apache-2.0
// The sessions service: every live session, the process tree and the tool-call attributor, behind
// one lock that only this service takes. It starts, adopts and ends sessions, puts each session's
// share of the policy into the kernel (cgroup network hooks, in-kernel kills, fanotify marks)
// through the engine, and keeps each session's timeline and conversation. The kernel consumer
// hands it decoded events (SessionRegistry+Events), the hook service what each hook call adds
// (SessionRegistry+Hooks), the control API asks it for records; nothing else reads its state.
import Foundation
import Glibc
import Synchronization
import VigilAPI
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilHost
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor

final class SessionRegistry: Sendable {
    let deviceID: String
    /// The console team of an enrolled device: every session's identity is in it.
    let deviceTeams: DeviceTeams
    /// Who is behind each OS account (the console's bindings), for the identities policy decides by.
    let bindings: HumanBindings
    let store: SessionStore
    let counters = SessionCounters()
    let sensor: Sensor
    /// The one enforcement engine: sessions' subjects, kernel rules, fanotify marks.
    let engine: KernelEngine
    let journal: DaemonJournal
    let trust: AgentTrust
    let detector = AgentDetector()
    /// The sessions, the tree and the attributor. Only the registry's own files take this lock;
    /// what is slow — hashing executables, fsync, writing timelines — happens outside it.
    let state = Mutex(SessionsState())
    /// Adoptions are serialized: two first hook calls of one Claude Code must not make two sessions.
    let adoptionLock = Mutex<Void>(())
    /// Transcript reads, one at a time, off the hook threads.
    let transcriptQueue = DispatchQueue(label: "vigild.transcripts")

    init(
        deviceID: String, deviceTeams: DeviceTeams = DeviceTeams(configured: [], console: nil),
        bindings: HumanBindings = HumanBindings(), store: SessionStore, sensor: Sensor,
        engine: KernelEngine, journal: DaemonJournal,
        trust: AgentTrust
    ) {
        self.deviceTeams = deviceTeams
        self.bindings = bindings
        self.deviceID = deviceID
        self.store = store
        self.sensor = sensor
        self.engine = engine
        self.journal = journal
        self.trust = trust
    }

    var decider: KernelDecider { engine.decider }

    // MARK: Queries (the hook service and the control API)

    /// Whether `session` is live here.
    func isLive(_ session: SessionID) -> Bool { state.withLock { $0.sessions[session] != nil } }

    /// A live session's subject and Vigil id.
    func subject(of session: SessionID) -> (subject: SessionSubject, id: String)? {
        state.withLock { state in state.sessions[session].map { ($0.subject, $0.record.id) } }
    }

    /// The processes a hook connection may come from: every session's root and every agent seen outside one.
    func agentPIDs() -> [Int32] {
        state.withLock { state in state.sessions.values.map(\.subject.root) + Array(state.unmanaged.keys) }
    }

    /// How many live sessions `uid` has.
    func liveCount(uid: UInt32) -> Int {
        state.withLock { state in state.sessions.values.filter { $0.record.uid == uid }.count }
    }

    /// Live and recently ended sessions, for `uid` (root: all).
    func records(visibleTo uid: UInt32) -> [SessionRecord] {
        let all = state.withLock { state in state.sessions.values.map(\.record) + state.endedSessions }
        return all.filter { uid == 0 || $0.uid == uid }
    }

    /// One session's record: live, recently ended, or from the store.
    func record(id: String) -> SessionRecord? {
        let known = state.withLock { state in
            state.sessions.values.first { $0.record.id == id }?.record ?? state.endedSessions.last { $0.id == id }
        }
        return known ?? store.load(id)
    }

    /// What `vigil status` shows of the sessions, for `uid` (root: all).
    func statusView(visibleTo uid: UInt32) -> SessionsStatusView {
        state.withLock { state in
            let visible = { (owner: UInt32) in uid == 0 || owner == uid }
            return SessionsStatusView(
                live: state.sessions.values.map(\.record).filter { visible($0.uid) }.sorted { $0.startedAt < $1.startedAt },
                recentlyEnded: Array(state.endedSessions.filter { visible($0.uid) }.suffix(20)),
                unmanaged: state.unmanaged.values.filter { visible($0.uid) }.sorted { $0.pid < $1.pid },
                attribution: [
                    "attributed": state.attributor.counters.attributed, "unattributed": state.attributor.counters.unattributed,
                    "pendingDropped": state.attributor.counters.pendingDropped,
                    "processesEvicted": state.attributor.counters.processesEvicted,
                    "sessionsEvicted": state.attributor.counters.sessionsEvicted,
                ])
        }
    }

    /// The identity policy decides `account`'s calls by: its verified person's, else its own (unverified).
    func identity(of account: Account) -> Identity {
        bindings.identity(of: account, deviceTeams: deviceTeams.current, device: deviceID)
    }

    // MARK: Starting and ending

    /// A new session rooted at `pid` (the `vigil claude` process about to exec Claude Code, or a
    /// running Claude Code being adopted with its descendants). Everything that enforces is in
    /// place before the first process is tagged: the session's kernel rules, its cgroup hooks, its
    /// fanotify marks and the daemon's own record of it, so no event of the session is ever seen by
    /// a kernel or a daemon that does not know it yet. If any of it fails, the session is not started.
    ///
    /// A process that is already inside a session can never start or become the root of a new one:
    /// a session root is spared from kills, and a tool call that made itself one would escape its own
    /// session's rules.
    func startSession(root pid: Int32, uid: UInt32, origin: SessionRecord.Origin, cwd: String?) throws(DaemonError) -> SessionRecord {
        let session = Tracer.newSessionID()
        let id = EventRenderer.hex(session)
        let account = Accounts.lookup(uid: uid)
        let identity = identity(of: account)
        var subject = SessionSubject(session: session, root: pid, identity: identity, home: account.home)
        // `Peer(model-api)`: the model API this agent was started against (the developer's setting).
        subject.modelAPIPort = SessionSubject.loopbackModelAPIPort(baseURL: SessionSubject.modelAPIBaseURL(of: pid))

        let nodes = ProcScanner.scan()
        guard let rootNode = nodes.first(where: { $0.pid == pid && !$0.exited }) else {
            throw DaemonError("no running process \(pid) to start a session for")
        }
        let members = origin == .adopted ? ProcScanner.descendants(of: pid, in: nodes).filter { !$0.exited } : [rootNode]
        if let inside = members.first(where: { sensor.session(of: $0.pid) != 0 }) {
            let owner = EventRenderer.hex(sensor.session(of: inside.pid))
            refuseNestedSession(pid: pid, uid: uid, member: inside.pid, owner: owner)
            throw DaemonError(.refused, "pid \(inside.pid) is inside session \(owner): a process of a session cannot start a new one")
        }
        // A wrapped root becomes Claude Code by exec; until that exec proves it (see `rootExecuted`),
        // and for good if it executes anything else, it is spared nothing.
        if origin == .wrapped { subject.root = 0 }
        let cgroup: SessionCgroup
        do {
            cgroup = try SessionCgroup.create(name: id)
        } catch {
            throw DaemonError("cannot create the session cgroup: \(error)")
        }
        subject.cgroup = cgroup  // the session boundary: listeners created in it are the session's own
        var record = SessionRecord(
            id: id, origin: origin, agent: "claude-code", uid: uid, user: account.name, rootPID: pid, cgroup: cgroup.path,
            cwd: cwd, startedAt: TimelineRecord.now(), problems: [])
        var live = LiveSession(record: record, subject: subject, cgroup: cgroup)
        live.pendingRoot = origin == .wrapped ? pid : nil

        // 1. The session's rules, keyed by its id, and the cgroup hooks that read them.
        do {
            live.networkHooks = try sensor.attachNetworkHooks(to: cgroup)
        } catch {
            cgroup.remove()
            throw DaemonError("cannot attach the network hooks to \(cgroup.path): \(error)")
        }
        let undo = { [self] in
            engine.unregister(session)
            state.withLock { state in
                state.sessions[session] = nil
                state.attributor.forget(session: session)
            }
            for member in members { sensor.untrack(pid: member.pid) }
            sensor.endSession(session)
            engine.clearRules(session: session)
            sensor.setSessionRoot(pid, false)
            cgroup.remove()
            try? refreshMarks()
        }
        // 2. The daemon knows the session before the kernel does: its events are decided, never orphans.
        engine.register(subject)
        state.withLock { state in
            for node in nodes where state.tree[node.pid] == nil { state.tree.seed(node) }
            for member in members { state.tree.startSession(session, root: member.pid, parent: member.ppid) }
            state.sessions[session] = live
            state.attributor.registerAgent(session: session, agentPID: pid)
            state.unmanaged[pid] = nil
        }
        do {
            try applyKernelPlan(for: subject)
        } catch {
            undo()
            throw error
        }
        if subject.root != 0 { sensor.setSessionRoot(pid, true) }

        // 3. Membership: tagged first (from here on the kernel tags everything it forks, and every
        //    rule above applies to it), then moved into the cgroup whose hooks are already attached.
        var problems: [String] = []
        for member in members {
            do {
                try sensor.track(pid: member.pid, session: session)
            } catch {
                if member.pid == pid {
                    undo()
                    throw DaemonError("cannot tag pid \(pid) for session \(id): \(error)")
                }
                problems.append("pid \(member.pid) could not be tagged: \(error)")
            }
            if let failure = cgroup.move(member.pid) {
                if member.pid == pid {
                    undo()
                    throw DaemonError("cannot move pid \(pid) into \(cgroup.path): \(failure)")
                }
                problems.append("pid \(member.pid) stays outside the session cgroup (\(failure)): its connects are decided after the fact")
            }
        }
        let startLine = TimelineRecord(
            kind: .sessionStart,
            text: "\(origin.rawValue) session of \(account.name) (uid \(uid)), root pid \(pid)"
                + (problems.isEmpty ? "" : "; " + problems.joined(separator: "; ")), pid: pid)
        record = state.withLock { state in
            state.sessions[session]?.record.problems = problems
            state.sessions[session]?.add(startLine)
            return state.sessions[session]?.record ?? record
        }
        if origin == .adopted { counters.sessionsAdopted.add(1, ordering: .relaxed) } else { counters.sessionsStarted.add(1, ordering: .relaxed) }
        var entry = AuditEntry(
            kind: .session, subject: AuditEntry.Subject(uid: uid, userName: account.name),
            deviceId: deviceID, sessionId: id, postureRef: decider.posture.current.hash)
        entry.extra["event"] = "vigilSessionStart"
        entry.extra["origin"] = origin.rawValue
        entry.extra["rootPid"] = String(pid)
        entry.extra["cgroup"] = cgroup.path
        if !problems.isEmpty { entry.extra["problems"] = problems.joined(separator: "; ") }
        if let failure = journal.record([entry]) {
            // A session whose start cannot be recorded does not start.
            endSession(session, reason: "its start could not be audited")
            throw DaemonError("session \(id) not started: \(failure)")
        }
        flushTimelines()
        try? store.save(record)
        return record
    }

    /// A refused attempt to start a session from inside one: audited, with who asked.
    private func refuseNestedSession(pid: Int32, uid: UInt32, member: Int32, owner: String) {
        counters.nestedSessionsRefused.add(1, ordering: .relaxed)
        var entry = AuditEntry(
            kind: .session, subject: AuditEntry.Subject(uid: uid, userName: Accounts.lookup(uid: uid).name),
            deviceId: deviceID, sessionId: owner, postureRef: decider.posture.current.hash)
        entry.decision = .deny
        entry.extra["event"] = "vigilSessionRefused"
        entry.extra["pid"] = String(pid)
        entry.extra["exe"] = ProcScanner.read(pid: pid)?.exePath ?? "?"
        entry.extra["reason"] = "pid \(member) is inside session \(owner): a process of a session cannot start or become the root of another"
        entry.enforcement = .init(action: "refused", succeeded: true, detail: "vigild refused the session request")
        journal.record([entry])
    }

    /// The exec of a wrapped session's root: it is spared from kills only once it runs a Claude Code
    /// binary the daemon trusts (a configured, pinned one, or a root-owned system install). Executing
    /// anything else leaves it an ordinary member of its session, and says so.
    func rootExecuted(session: SessionID, pid: Int32, path: String, state: inout SessionsState) -> AuditEntry? {
        guard var live = state.sessions[session], live.pendingRoot == pid else { return nil }
        live.pendingRoot = nil
        let verdict = trust.check(pid: pid, exe: path)
        var entry: AuditEntry?
        if verdict.trusted {
            live.subject.root = pid
            engine.setRoot(pid, of: session)
            sensor.setSessionRoot(pid, true)
            live.add(TimelineRecord(kind: .sessionStart, text: "root pid \(pid) runs \(path): \(verdict.reason)", pid: pid))
        } else {
            var refused = AuditEntry(
                kind: .session, subject: AuditEntry.Subject(uid: live.record.uid, userName: live.record.user),
                deviceId: deviceID, sessionId: live.record.id,
                postureRef: decider.posture.current.hash)
            refused.decision = .flag
            refused.extra["event"] = "vigilSessionRootUntrusted"
            refused.extra["pid"] = String(pid)
            refused.extra["exe"] = path
            refused.extra["reason"] =
                "the session root executed \(path), not a trusted Claude Code (\(verdict.reason)): "
                + "it is not spared from kills"
            entry = refused
            live.add(TimelineRecord(kind: .kernel, text: refused.extra["reason"]!, decision: "flag", pid: pid))
        }
        state.sessions[session] = live
        return entry
    }

    /// The kernel's share of the policy for one session, for its identity and the posture now.
    func applyKernelPlan(for subject: SessionSubject) throws(DaemonError) {
        do {
            try engine.applyRules(for: subject)
        } catch {
            throw DaemonError("cannot put session \(EventRenderer.hex(subject.session))'s rules in the kernel: \(error)")
        }
        try refreshMarks()
    }

    /// fanotify marks: the union of every live session's exec/open rules (decisions stay per
    /// session). The guard starts with the first session that needs it.
    func refreshMarks() throws(DaemonError) {
        do {
            try engine.refreshMarks()
        } catch {
            throw DaemonError("exec/open enforcement (fanotify) cannot start: \(error)")
        }
    }

    /// Ends a session: its kernel state is cleared, its record closed and audited.
    func endSession(_ session: SessionID, reason: String) {
        // The rest of the conversation, before the session's state goes.
        transcriptQueue.sync { ingestTranscript(session: session) }
        journal.recordKernel([], force: true)  // its last kernel entries go before its end
        guard var live = state.withLock({ $0.sessions.removeValue(forKey: session) }) else { return }
        engine.unregister(session)
        sensor.endSession(session)
        engine.clearRules(session: session)
        sensor.setSessionRoot(live.subject.root, false)
        live.networkHooks = nil
        live.cgroup?.remove()
        live.record.endedAt = TimelineRecord.now()
        live.record.decisions = live.tally.decisions
        live.record.enforcementFailures = live.tally.enforcementFailures
        live.add(
            TimelineRecord(
                kind: .sessionEnd,
                text: reason
                    + (live.timelineOmitted > 0
                        ? "; \(live.timelineOmitted) kernel events beyond the timeline cap are in the audit log only" : "")))
        writeTimeline(&live)
        do { try store.save(live.record) } catch {
            journal.noteError("session \(live.record.id): \(error)", metadata: ["session.id": "\(live.record.id)"])
        }
        var entry = AuditEntry(
            kind: .session, subject: AuditEntry.Subject(uid: live.record.uid, userName: live.record.user),
            deviceId: deviceID, sessionId: live.record.id)
        entry.extra["event"] = "vigilSessionEnd"
        entry.extra["reason"] = reason
        entry.extra["kernelEvents"] = String(live.record.kernelEvents)
        entry.extra["toolCalls"] = String(live.record.toolCalls)
        journal.record([entry])
        let ended = live.record
        state.withLock { state in
            state.endedSubjects[session] = live.subject
            if state.endedSubjects.count > 256, let oldest = state.endedOrder.first {
                state.endedSubjects[oldest] = nil
                state.endedOrder.removeFirst()
            }
            state.endedOrder.append(session)
            state.attributor.forget(session: session)
            for id in ended.claudeSessionIDs where state.byClaudeSession[id] == session { state.byClaudeSession[id] = nil }
            state.endedSessions.append(ended)
            if state.endedSessions.count > 256 { state.endedSessions.removeFirst(state.endedSessions.count - 256) }
        }
        try? refreshMarks()
    }

    /// Writes every session's pending timeline lines (outside the state lock).
    func flushTimelines() {
        let pending: [(String, [TimelineRecord])] = state.withLock { state in
            var out: [(String, [TimelineRecord])] = []
            for key in state.sessions.keys where !(state.sessions[key]!.pendingTimeline.isEmpty) {
                out.append((state.sessions[key]!.record.id, state.sessions[key]!.pendingTimeline))
                state.sessions[key]!.pendingTimeline.removeAll()
            }
            return out
        }
        for (id, lines) in pending {
            do { try store.append(lines, to: id) } catch {
                counters.timelineFailures.add(1, ordering: .relaxed)
                journal.noteError("session \(id) timeline: \(error)", metadata: ["session.id": "\(id)"])
            }
        }
    }

    private func writeTimeline(_ live: inout LiveSession) {
        guard !live.pendingTimeline.isEmpty else { return }
        do { try store.append(live.pendingTimeline, to: live.record.id) } catch {
            counters.timelineFailures.add(1, ordering: .relaxed)
            journal.noteError("session \(live.record.id) timeline: \(error)", metadata: ["session.id": "\(live.record.id)"])
        }
        live.pendingTimeline.removeAll()
    }
}

/// The registry's state, behind `SessionRegistry.state`.
struct SessionsState: ~Copyable {
    var sessions: [SessionID: LiveSession] = [:]
    /// Claude Code's session id → Vigil's.
    var byClaudeSession: [String: SessionID] = [:]
    var tree = ProcessTree()
    /// Ties each session's kernel events to the tool call that caused them.
    var attributor = ToolCallAttributor()
    var unmanaged: [Int32: UnmanagedAgent] = [:]
    /// Agent pids already reported (so one process is audited once).
    var reportedAgents: Set<Int32> = []
    var endedSessions: [SessionRecord] = []
    /// The subjects of the last 256 ended sessions: events read after an end are still decided as theirs.
    var endedSubjects: [SessionID: SessionSubject] = [:]
    var endedOrder: [SessionID] = []
}

/// A live session: its record, who it is decided for, what attributes its events to tool calls.
struct LiveSession {
    var record: SessionRecord
    var subject: SessionSubject
    var tally = DecisionTally()
    var cgroup: SessionCgroup?
    var networkHooks: NetworkHooks?
    /// Timeline lines not yet written (flushed after each batch and hook call).
    var pendingTimeline: [TimelineRecord] = []
    var timelineLines = 0
    var timelineOmitted = 0
    /// Tool calls allowed and not finished, by id (for the timeline's result lines).
    var openToolCalls: [String: String] = [:]
    var transcriptOffset: UInt64 = 0
    var end = SessionEndGate()
    /// A wrapped session's root until its exec shows what it runs (see `SessionRegistry.rootExecuted`).
    var pendingRoot: Int32?

    static let timelineCap = 200_000

    mutating func add(_ line: TimelineRecord) {
        if timelineLines >= Self.timelineCap && line.kind == .kernel {
            timelineOmitted += 1
            return
        }
        timelineLines += 1
        pendingTimeline.append(line)
    }
}

/// When a session whose processes are all gone may end. Not at once: what its last processes did
/// just before they exited may still be in the ring or the queue, and an event that arrives after
/// its session ended has nowhere to go (counted as an orphan, not audited). It ends once a batch
/// read from the ring after its processes were found gone has been processed.
struct SessionEndGate {
    private var allGoneAt: UInt64?

    /// `drainedBefore`: every record committed before this time has been processed.
    mutating func ready(allGone: Bool, now: UInt64, drainedBefore: UInt64) -> Bool {
        guard allGone else {
            allGoneAt = nil
            return false
        }
        guard let since = allGoneAt else {
            allGoneAt = now
            return drainedBefore == .max
        }
        return drainedBefore > since
    }
}

final class SessionCounters: Sendable {
    let sessionsStarted = Atomic<Int>(0)
    let sessionsAdopted = Atomic<Int>(0)
    /// Session requests from a process already inside a session (refused, audited).
    let nestedSessionsRefused = Atomic<Int>(0)
    /// Events of a session no longer (or never) live: decided and audited, in no timeline.
    let orphanEvents = Atomic<Int>(0)
    let timelineFailures = Atomic<Int>(0)
}

/// The sessions' part of `vigil status`.
struct SessionsStatusView {
    var live: [SessionRecord]
    var recentlyEnded: [SessionRecord]
    var unmanaged: [UnmanagedAgent]
    var attribution: [String: Int]
}

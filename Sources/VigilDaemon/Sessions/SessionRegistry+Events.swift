// SPDX-License-Identifier: Apache-2.0
// Kernel events into their sessions: each decoded event (from the kernel consumer) is routed by
// the session tag the kernel put on it, decided with that session's identity, tied to the tool
// call that caused it and appended to the session's timeline. Exec events of untagged processes are
// only looked at for agent CLIs running outside every session. Housekeeping ends the sessions
// whose processes are all gone.
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

extension SessionRegistry {
    /// Routes a chunk of decoded events (no gaps: the consumer audits those) to their sessions under
    /// one hold of the lock: each event is decided with its session's subject, tied to the tool call
    /// that caused it, and added to the session's timeline. Returns the audit entries and the agent
    /// CLIs seen starting outside every session (report them with `reportUnmanaged`, outside the lock).
    ///
    /// `hashes`: the executables the chunk's execs ran; `ancestorHashes`: the processes
    /// `unhashedAncestry(of:)` named, set before the first event is routed.
    func apply(
        _ chunk: ArraySlice<SensorEvent>, policy: Policy, hashes: [Int32: Result<String, HashFailure>],
        ancestorHashes: [Int32: Result<String, HashFailure>] = [:], realtimeOffset: Int64,
        entries: inout [AuditEntry], agentsSeen: inout [(ExecEvent, AgentMatch)]
    ) {
        state.withLock { state in
            for (pid, outcome) in ancestorHashes where state.tree[pid]?.needsHash == true {
                switch outcome {
                case .success(let sha): state.tree.setHash(sha, for: pid)
                case .failure(let failure): state.tree.setHashUnavailable(for: pid, reason: failure.reason)
                }
            }
            for event in chunk {
                route(event, state: &state, policy: policy, hashes: hashes, offset: realtimeOffset, entries: &entries, agentsSeen: &agentsSeen)
            }
        }
    }

    /// The processes, in the ancestry of these events' session processes, that have no hash and no
    /// reason for none yet: the consumer hashes them (outside the lock) and hands them to `apply`.
    func unhashedAncestry(of events: [SensorEvent]) -> [ProcessNode] {
        var pids = Set<Int32>()
        var last: Int32 = 0
        for event in events {
            // A batch is runs of one process's events: the set is touched once per run.
            if let header = event.header, header.session != 0, header.pid != last {
                last = header.pid
                pids.insert(header.pid)
            }
        }
        guard !pids.isEmpty else { return [] }
        return state.withLock { $0.tree.unhashedAncestry(of: pids) }
    }

    private func route(
        _ event: SensorEvent, state: inout SessionsState, policy: Policy, hashes: [Int32: Result<String, HashFailure>], offset: Int64,
        entries: inout [AuditEntry], agentsSeen: inout [(ExecEvent, AgentMatch)]
    ) {
        guard let header = event.header else { return }
        guard header.session != 0 else {
            if case .exec(let e) = event, !state.reportedAgents.contains(e.header.pid), let match = detector.detect(e) {
                state.reportedAgents.insert(e.header.pid)
                agentsSeen.append((e, match))
            }
            return
        }
        guard state.sessions[header.session] != nil else {
            // A session that has just ended (its kernel state is cleared at the end, so only events
            // already in the ring get here): still decided under its last subject and audited.
            counters.orphanEvents.add(1, ordering: .relaxed)
            if let entry = decideOrphan(event, header: header, state: &state, policy: policy) { entries.append(entry) }
            return
        }
        if case .exec(let e) = event, state.sessions[header.session]?.pendingRoot == header.pid,
            let flagged = rootExecuted(session: header.session, pid: header.pid, path: e.path, state: &state)
        {
            entries.append(flagged)
        }
        state.tree.apply(event)
        if case .exec = event, let outcome = hashes[header.pid] {
            switch outcome {
            case .success(let sha): state.tree.setHash(sha, for: header.pid)
            case .failure(let failure): state.tree.setHashUnavailable(for: header.pid, reason: failure.reason)
            }
        }
        let attribution = state.attributor.explain(event)
        var context = RenderedContext(realtimeOffsetNanoseconds: offset)
        context.ancestry = state.tree.ancestry(of: header.pid)
        context.ppid = state.tree[header.pid]?.ppid
        var live = state.sessions[header.session]!
        live.record.kernelEvents += 1
        if attribution != nil { live.record.attributedEvents += 1 }
        if var entry = decider.decide(event, context, policy: policy, subject: live.subject, tally: &live.tally) {
            entry.extra["vigilSession"] = live.record.id
            if let attribution {
                entry.extra["toolUseId"] = attribution.toolUseID
                entry.extra["attribution"] = attribution.rule.rawValue
            }
            if let claude = live.record.claudeSessionIDs.last { entry.extra["claudeSession"] = claude }
            live.add(
                TimelineRecord(
                    kind: .kernel, time: Int64(bitPattern: header.ktimeNanoseconds) &+ offset, toolUseID: attribution?.toolUseID,
                    text: Self.summary(event) + (entry.extra["boundary"] == nil ? "" : " — crossing to \(entry.extra["peer"] ?? "an unknown peer")"),
                    decision: entry.decision?.rawValue, rule: entry.winningRule,
                    reason: entry.extra["reason"], pid: header.pid, ppid: context.ppid, event: entry.kind.rawValue,
                    mechanism: Self.mechanism(entry)))
            entries.append(entry)
        }
        live.record.decisions = live.tally.decisions
        live.record.enforcementFailures = live.tally.enforcementFailures
        state.sessions[header.session] = live
    }

    /// An event of a session that is no longer live: decided under the subject it ended with (or,
    /// for a session never known, as an unknown session's: any deny rule of the policy applies) and
    /// recorded, never dropped. Not in any timeline: the session's is closed.
    private func decideOrphan(_ event: SensorEvent, header: EventHeader, state: inout SessionsState, policy: Policy) -> AuditEntry? {
        let subject =
            state.endedSubjects[header.session]
            ?? SessionSubject(session: header.session, root: 0, identity: Identity(user: "?", device: deviceID), home: "/")
        var tally = DecisionTally()
        var context = RenderedContext()
        context.ancestry = state.tree.ancestry(of: header.pid)
        guard var entry = decider.decide(event, context, policy: policy, subject: subject, tally: &tally) else { return nil }
        entry.extra["vigilSession"] = EventRenderer.hex(header.session)
        entry.extra["orphan"] =
            state.endedSubjects[header.session] == nil
            ? "an event of a session vigild never knew" : "an event read after its session ended"
        return entry
    }

    /// How a refusal was carried out, in one phrase: the enforcement action and its detail.
    static func mechanism(_ entry: AuditEntry) -> String? {
        guard let decision = entry.decision, decision != .allow, let enforcement = entry.enforcement else { return nil }
        return enforcement.action + (enforcement.detail.map { ": \($0)" } ?? "") + (enforcement.succeeded ? "" : " (FAILED)")
    }

    /// One line for the timeline: the kind, then what the trace table shows, bounded (argv can be long).
    static func summary(_ event: SensorEvent) -> String {
        let line = event.kindName + " " + EventRenderer.detail(event)
        return line.utf8.count <= 2048 ? line : String(line.prefix(2048)) + "…"
    }

    /// An agent CLI outside every session: reported in status and audited once per process.
    func reportUnmanaged(
        pid: Int32, uid: UInt32, path: String, argv: [String], match: AgentMatch,
        note: String = "started outside Vigil: not wrapped by 'vigil claude' and no hook call adopted it"
    ) {
        let agent = UnmanagedAgent(
            pid: pid, uid: uid, agent: match.name, exe: path, evidence: match.evidence,
            note: note, firstSeen: TimelineRecord.now())
        state.withLock { $0.unmanaged[pid] = agent }
        var entry = AuditEntry(
            kind: AuditEntry.Kind(rawValue: "agent"),
            subject: AuditEntry.Subject(uid: uid, userName: decider.userName(of: uid)),
            deviceId: deviceID, action: .init(argv: Array(argv.prefix(32)), path: path),
            postureRef: decider.posture.current.hash)
        entry.decision = .flag
        entry.extra["agent"] = match.name
        entry.extra["evidence"] = match.evidence
        entry.extra["pid"] = String(pid)
        entry.extra["note"] = note
        journal.record([entry])
    }

    /// Every half second: processes gone without an exit event are marked exited (after a ring
    /// loss), sessions whose every process is gone are ended once the events those processes
    /// emitted have been consumed (`drainedBefore`: the read time of the last batch processed),
    /// unmanaged agents that exited are dropped from the list.
    func housekeeping(drainedBefore: UInt64) {
        let now = monotonicNanoseconds()
        let ending: [SessionID] = state.withLock { state in
            var done: [SessionID] = []
            for session in Array(state.sessions.keys) {
                guard let root = state.sessions[session]?.subject.root else { continue }
                for pid in state.tree.live[session] ?? [] where !ProcScanner.isAlive(pid) { state.tree.markExited(pid) }
                let allGone = state.tree.liveCount(of: session) == 0 && !ProcScanner.isAlive(root)
                if state.sessions[session]?.end.ready(allGone: allGone, now: now, drainedBefore: drainedBefore) == true {
                    done.append(session)
                }
            }
            for pid in state.unmanaged.keys where !ProcScanner.isAlive(pid) { state.unmanaged[pid] = nil }
            state.reportedAgents = state.reportedAgents.filter { ProcScanner.isAlive($0) }
            return done
        }
        for session in ending { endSession(session, reason: "every process of the session has exited") }
        journal.recordKernel(engine.takeKept(), force: true)
        flushTimelines()
    }

    /// Agents already running when the daemon starts (before it, or in another mount namespace).
    func scanRunningAgents() {
        for node in ProcScanner.scan() where !node.exited && node.pid != getpid() {
            guard sensor.session(of: node.pid) == 0, let match = detector.detect(path: node.exePath, argv: node.argv) else { continue }
            let inserted = state.withLock { $0.reportedAgents.insert(node.pid).inserted }
            guard inserted else { continue }
            reportUnmanaged(
                pid: node.pid, uid: node.uid, path: node.exePath, argv: node.argv, match: match,
                note: "already running when vigild started")
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// Starting, adopting and ending sessions, and putting each session's share of the policy into the
// kernel (cgroup network hooks, in-kernel kills, fanotify marks).
import Foundation
import Glibc
import Synchronization
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

extension Daemon {
    /// A new session rooted at `pid` (the `vigil claude` process about to exec Claude Code, or a
    /// running Claude Code being adopted with its descendants). Everything that enforces is in
    /// place before this returns; if any of it fails, the session is not started.
    func startSession(root pid: Int32, uid: UInt32, origin: SessionRecord.Origin, cwd: String?) throws(DaemonError) -> SessionRecord {
        let session = Tracer.newSessionID()
        let id = EventRenderer.hex(session)
        let account = Accounts.lookup(uid: uid)
        let identity = Identity(user: account.name, teams: account.groups, device: configuration.deviceID)
        let subject = SessionSubject(session: session, root: pid, identity: identity, home: account.home)

        // Membership first: from here on the kernel tags everything the root forks.
        let nodes = ProcScanner.scan()
        guard let rootNode = nodes.first(where: { $0.pid == pid && !$0.exited }) else {
            throw DaemonError("no running process \(pid) to start a session for")
        }
        let members = origin == .adopted ? ProcScanner.descendants(of: pid, in: nodes).filter { !$0.exited } : [rootNode]
        var problems: [String] = []
        let cgroup: SessionCgroup
        do {
            cgroup = try SessionCgroup.create(name: id)
        } catch {
            throw DaemonError("cannot create the session cgroup: \(error)")
        }
        for member in members {
            if let failure = cgroup.move(member.pid) {
                if member.pid == pid {
                    cgroup.remove()
                    throw DaemonError("cannot move pid \(pid) into \(cgroup.path): \(failure)")
                }
                problems.append("pid \(member.pid) stays outside the session cgroup (\(failure)): its connects are decided after the fact")
            }
            do {
                try sensor.track(pid: member.pid, session: session)
            } catch {
                if member.pid == pid {
                    cgroup.remove()
                    throw DaemonError("cannot tag pid \(pid) for session \(id): \(error)")
                }
                problems.append("pid \(member.pid) could not be tagged: \(error)")
            }
        }
        var record = SessionRecord(
            id: id, origin: origin, agent: "claude-code", uid: uid, user: account.name, rootPID: pid, cgroup: cgroup.path,
            cwd: cwd, startedAt: TimelineRecord.now(), problems: problems)
        var live = LiveSession(record: record, subject: subject, cgroup: cgroup)
        do {
            live.networkHooks = try sensor.attachNetworkHooks(to: cgroup)
        } catch {
            sensor.endSession(session)
            cgroup.remove()
            throw DaemonError("cannot attach the network hooks to \(cgroup.path): \(error)")
        }
        sensor.setSessionRoot(pid, true)
        subjects.withLock { $0[session] = subject }
        do {
            try applyKernelPlan(for: subject)
        } catch {
            subjects.withLock { $0[session] = nil }
            sensor.setSessionRoot(pid, false)
            sensor.endSession(session)
            cgroup.remove()
            throw error
        }
        live.add(TimelineRecord(kind: .sessionStart, text: "\(origin.rawValue) session of \(account.name) (uid \(uid)), root pid \(pid)"
                                + (problems.isEmpty ? "" : "; " + problems.joined(separator: "; ")), pid: pid))
        state.withLock { state in
            for node in nodes where state.tree[node.pid] == nil { state.tree.seed(node) }
            for member in members { state.tree.startSession(session, root: member.pid, parent: member.ppid) }
            state.sessions[session] = live
            state.attributor.registerAgent(session: session, agentPID: pid)
            state.unmanaged[pid] = nil
        }
        record = live.record
        if origin == .adopted { counters.sessionsAdopted.add(1, ordering: .relaxed) } else { counters.sessionsStarted.add(1, ordering: .relaxed) }
        var entry = AuditEntry(kind: .session, subject: AuditEntry.Subject(uid: uid, userName: account.name),
                               deviceId: configuration.deviceID, sessionId: id, postureRef: decider.posture.current.hash)
        entry.extra["event"] = "vigilSessionStart"
        entry.extra["origin"] = origin.rawValue
        entry.extra["rootPid"] = String(pid)
        entry.extra["cgroup"] = cgroup.path
        if !problems.isEmpty { entry.extra["problems"] = problems.joined(separator: "; ") }
        if let failure = self.record([entry]) {
            // A session whose start cannot be recorded does not start.
            endSession(session, reason: "its start could not be audited")
            throw DaemonError("session \(id) not started: \(failure)")
        }
        flushTimelines()
        try? store.save(record)
        return record
    }

    /// The kernel's share of the policy for one session, for its identity and the posture now.
    func applyKernelPlan(for subject: SessionSubject) throws(DaemonError) {
        let plan = policy.current.kernelPlan(identity: subject.identity, posture: decider.posture.current.facts)
        do {
            try sensor.setNetworkDenials(plan.network.map {
                NetworkDenialSpec(address: $0.address, prefixBits: $0.prefixBits, ports: $0.ports)
            }, session: subject.session)
            try sensor.setExecKills(KernelDecider.execNames(plan), session: subject.session)
            try sensor.setOpenKills(KernelDecider.openNames(plan), session: subject.session)
        } catch {
            throw DaemonError("cannot put session \(EventRenderer.hex(subject.session))'s rules in the kernel: \(error)")
        }
        try refreshMarks()
    }

    /// Re-plans every live session (after a policy reload or a posture change). A session whose
    /// rules cannot be re-applied keeps running; the failure is audited and shown.
    func replanAllSessions(because why: String) -> [String] {
        var failures: [String] = []
        for subject in subjects.withLock({ Array($0.values) }) {
            do {
                try applyKernelPlan(for: subject)
            } catch {
                failures.append("\(error)")
                noteError("\(why): \(error)")
            }
        }
        return failures
    }

    /// fanotify marks: the union of every live session's exec/open rules (decisions stay per
    /// session). The guard starts with the first session that needs it.
    func refreshMarks() throws(DaemonError) {
        let current = policy.current
        let facts = decider.posture.current.facts
        let subjects = self.subjects.withLock { Array($0.values) }
        var rules = Set<String>()
        var homes = Set<String>()
        for subject in subjects {
            for denial in current.kernelPlan(identity: subject.identity, posture: facts).paths { rules.insert(denial.rule) }
            homes.insert(subject.home)
        }
        let existing = guardian.withLock { $0 }
        if rules.isEmpty && existing == nil { return }
        let guardRef: FanotifyGuard
        if let existing {
            guardRef = existing
        } else {
            do {
                guardRef = try startGuard()
            } catch {
                throw DaemonError("exec/open enforcement (fanotify) cannot start: \(error)")
            }
            guardian.withLock { $0 = guardRef }
        }
        let path = ProcessInfo.processInfo.environment["PATH"]
        var targets: [RuleMarks] = []
        for home in homes.isEmpty ? ["/root"] : Array(homes) {
            targets += MarkPlanner.plan(rules: rules.sorted(), home: home, path: path).rules
        }
        _ = guardRef.apply(MarkPlan(rules: targets))
    }

    private func startGuard() throws -> FanotifyGuard {
        let sensor = self.sensor
        var options = FanotifyGuardOptions()
        options.isSessionProcess = { pid in sensor.session(of: pid) != 0 }
        return try FanotifyGuard(options: options) { [self] (event: FanotifyEvent) -> Verdict in
            let session = sensor.session(of: event.pid)
            guard session != 0, let subject = subjects.withLock({ $0[session] }) else { return .allow }
            guard var entry = GuardDecision.decide(
                event, policy: policy.current, identity: subject.identity, posture: decider.posture.current.facts,
                context: KernelContext(home: subject.home), root: subject.root, session: session, decider: decider)
            else { return .allow }
            entry.extra["vigilSession"] = EventRenderer.hex(session)
            pendingAudit.withLock { $0.append(entry) }
            return .deny
        }
    }

    /// Ends a session: its kernel state is cleared, its record closed and audited.
    func endSession(_ session: SessionID, reason: String) {
        // The rest of the conversation, before the session's state goes.
        transcriptQueue.sync { ingestTranscript(session: session) }
        recordKernel([], force: true)  // its last kernel entries go before its end
        guard var live = state.withLock({ $0.sessions.removeValue(forKey: session) }) else { return }
        subjects.withLock { $0[session] = nil }
        sensor.endSession(session)
        sensor.clearNetworkDenials(session: session)
        sensor.clearExecKills(session: session)
        sensor.clearOpenKills(session: session)
        sensor.setSessionRoot(live.subject.root, false)
        live.networkHooks = nil
        live.cgroup?.remove()
        live.record.endedAt = TimelineRecord.now()
        live.record.decisions = live.tally.decisions
        live.record.enforcementFailures = live.tally.enforcementFailures
        live.add(TimelineRecord(kind: .sessionEnd, text: reason + (live.timelineOmitted > 0
            ? "; \(live.timelineOmitted) kernel events beyond the timeline cap are in the audit log only" : "")))
        writeTimeline(&live)
        do { try store.save(live.record) } catch { noteError("session \(live.record.id): \(error)") }
        var entry = AuditEntry(kind: .session, subject: AuditEntry.Subject(uid: live.record.uid, userName: live.record.user),
                               deviceId: configuration.deviceID, sessionId: live.record.id)
        entry.extra["event"] = "vigilSessionEnd"
        entry.extra["reason"] = reason
        entry.extra["kernelEvents"] = String(live.record.kernelEvents)
        entry.extra["toolCalls"] = String(live.record.toolCalls)
        record([entry])
        let ended = live.record
        state.withLock { state in
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
                noteError("session \(id) timeline: \(error)")
            }
        }
    }

    private func writeTimeline(_ live: inout LiveSession) {
        guard !live.pendingTimeline.isEmpty else { return }
        do { try store.append(live.pendingTimeline, to: live.record.id) } catch {
            counters.timelineFailures.add(1, ordering: .relaxed)
            noteError("session \(live.record.id) timeline: \(error)")
        }
        live.pendingTimeline.removeAll()
    }
}

/// OS accounts: the name, home and group names (teams) of a uid.
enum Accounts {
    struct Account: Sendable {
        var name: String
        var home: String
        var groups: [String]
    }

    /// Looked up at most once a minute per uid: every hook call needs it, and NSS reads
    /// /etc/passwd and /etc/group each time.
    private static let cache = Mutex<[UInt32: (account: Account, at: ContinuousClock.Instant)]>([:])

    static func lookup(uid: UInt32) -> Account {
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[uid] }), now - hit.at < .seconds(60) { return hit.account }
        let account = read(uid: uid)
        cache.withLock { cache in
            if cache.count > 1024 { cache.removeAll() }
            cache[uid] = (account, now)
        }
        return account
    }

    private static func read(uid: UInt32) -> Account {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 8192)
        guard getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, let entry = result else {
            return Account(name: String(uid), home: "/", groups: [])
        }
        let name = String(cString: entry.pointee.pw_name)
        let home = String(cString: entry.pointee.pw_dir)
        var count: Int32 = 64
        var gids = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(entry.pointee.pw_name, entry.pointee.pw_gid, &gids, &count) < 0 {
            gids = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(entry.pointee.pw_name, entry.pointee.pw_gid, &gids, &count)
        }
        var groups: [String] = []
        for gid in gids.prefix(Int(max(count, 0))) {
            var group = Glibc.group()
            var found: UnsafeMutablePointer<Glibc.group>?
            var groupBuffer = [CChar](repeating: 0, count: 8192)
            if getgrgid_r(gid, &group, &groupBuffer, groupBuffer.count, &found) == 0, let g = found {
                groups.append(String(cString: g.pointee.gr_name))
            }
        }
        return Account(name: name, home: home, groups: groups)
    }
}

// SPDX-License-Identifier: Apache-2.0
// Deciding one kernel event of a session: the policy's verdict, what enforcement did (or does now,
// after the fact), and the audit entry that records both. Shared by `vigil run` (one session) and
// the daemon (every session, demultiplexed from one ring-buffer reader).
import Foundation
import Glibc
import Logging
import Synchronization
import VigilAudit
import VigilCore
import VigilEnforcement
import VigilHost
import VigilPolicy
import VigilSensor

/// Who a session's events are decided for.
public struct SessionSubject: Sendable {
    public var session: SessionID
    /// The agent itself (a trusted Claude Code), 0 when no process is spared: it is refused (EPERM)
    /// like every process of its session, but never killed; where only a kill would hold, it is flagged.
    public var root: Int32
    public var identity: Identity
    /// `~` of `~/` rules.
    public var home: String
    /// `Peer(model-api)`: the loopback port of the model API the session's agent was started with.
    public var modelAPIPort: UInt16?
    /// The session's cgroup: a socket created in it (or below) is the session's own, never a peer.
    /// nil: no session boundary in the kernel.
    public var cgroup: SessionCgroup?

    public init(session: SessionID, root: Int32, identity: Identity, home: String, modelAPIPort: UInt16? = nil) {
        self.session = session
        self.root = root
        self.identity = identity
        self.home = home
        self.modelAPIPort = modelAPIPort
    }

    /// The port of `ANTHROPIC_BASE_URL` when it names this host (127/8, `localhost`, `::1`): the model API
    /// a session reaches across its boundary by design. nil for a remote URL or none.
    public static func loopbackModelAPIPort(baseURL: String?) -> UInt16? {
        guard let baseURL, let url = URL(string: baseURL), let host = url.host?.lowercased() else { return nil }
        let trimmed = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        guard trimmed == "localhost" || trimmed == "::1" || trimmed.hasPrefix("127.") else { return nil }
        if let port = url.port { return UInt16(exactly: port) }
        return url.scheme?.lowercased() == "https" ? 443 : 80
    }

    /// `ANTHROPIC_BASE_URL` in the environment of process `pid`, as it was started.
    public static func modelAPIBaseURL(of pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        for entry in data.split(separator: 0) where entry.starts(with: Array("ANTHROPIC_BASE_URL=".utf8)) {
            return String(decoding: entry.dropFirst("ANTHROPIC_BASE_URL=".utf8.count), as: UTF8.self)
        }
        return nil
    }
}

/// The posture over time: each snapshot's facts with the monotonic time it came into force. An
/// event is decided under the posture in force when it happened, not when it is read.
public final class PostureTimeline: Sendable {
    public struct Epoch: Sendable {
        public var since: UInt64
        public var facts: [String: VigilPolicy.PostureFact]
        public var hash: String?
    }

    private let epochs: Mutex<[Epoch]>

    public init(facts: [String: VigilPolicy.PostureFact] = [:], hash: String? = nil) {
        epochs = Mutex([Epoch(since: 0, facts: facts, hash: hash)])
    }

    /// Replaces the history with one epoch (the posture at the start).
    public func reset(facts: [String: VigilPolicy.PostureFact], hash: String?) {
        epochs.withLock { $0 = [Epoch(since: 0, facts: facts, hash: hash)] }
    }

    /// A new posture from now on (the last 256 are kept: events are at most a batch late).
    public func append(facts: [String: VigilPolicy.PostureFact], hash: String?, since: UInt64 = monotonicNanoseconds()) {
        epochs.withLock { epochs in
            epochs.append(Epoch(since: since, facts: facts, hash: hash))
            if epochs.count > 256 { epochs.removeFirst(epochs.count - 256) }
        }
    }

    public var current: Epoch { epochs.withLock { $0.last! } }

    public func epoch(at: UInt64) -> Epoch {
        epochs.withLock { epochs in epochs.last { $0.since <= at } ?? epochs[0] }
    }
}

/// Counts of what was decided, for summaries and `vigil status`.
public struct DecisionTally: Sendable {
    public var decisions: [String: Int] = [:]
    public var enforcementFailures = 0
    public init() {}
}

public final class KernelDecider: Sendable {
    public let deviceID: String
    public let posture: PostureTimeline
    /// The process holding a socket, by its inode (`socket:[N]`): names the peer of a crossing.
    /// nil: peers are named by their cgroup and socket inode only.
    let socketOwner: (@Sendable (UInt64) -> Int32?)?
    /// Loopback ports every session may reach whatever the policy says (vigild's own hook endpoint),
    /// with what listens there. The kernel's boundary leaves them out too (`deniedPeerPorts`).
    public let exemptPeers = Mutex<[UInt16: String]>([:])
    /// The same for AF_UNIX sockets by path (vigild's control socket, which `vigil hook` reaches).
    public let exemptUnixPeers = Mutex<[String: String]>([:])

    /// Each decision, at `info` when it is not an allow (allows are `trace`: one per kernel event).
    public let logger: Logger

    public init(deviceID: String, posture: PostureTimeline, logger: Logger, socketOwner: (@Sendable (UInt64) -> Int32?)? = nil) {
        self.deviceID = deviceID
        self.posture = posture
        self.logger = logger
        self.socketOwner = socketOwner
    }

    /// Decides `event` of `subject`'s session under `policy`, enforces after the fact where no
    /// kernel mechanism held the rule, and returns the audit entry (nil for lifecycle events,
    /// and for an EPERM the fanotify guard has recorded already).
    public func decide(
        _ event: SensorEvent, _ context: RenderedContext, policy: Policy, subject: SessionSubject, tally: inout DecisionTally
    ) -> AuditEntry? {
        let kernelContext = KernelContext(home: subject.home, modelAPIPort: subject.modelAPIPort)
        let identity = subject.identity
        let inForce = posture.epoch(at: event.header?.ktimeNanoseconds ?? monotonicNanoseconds())
        let facts = inForce.facts
        let ancestry = context.ancestry.map {
            AuditEntry.ProcessLink(pid: $0.pid, exe: $0.exePath, sha256: $0.exeSHA256, sha256Error: $0.exeHashMissingReason)
        }
        let uid = context.ancestry.first?.uid
        var entry: AuditEntry
        switch event {
        case .gap(let gap):
            entry = AuditEntry.gap(
                deviceId: deviceID, source: "sensor", lost: gap.lost, reason: gap.cause.rawValue,
                extra: ["session": EventRenderer.hex(subject.session)])
        case .fork, .exit:
            return nil  // lifecycle: in the tree and the ancestry of later entries, not decisions
        case .exec(let e):
            var decision = policy.decide(.exec(path: e.path, argv: e.argv), identity: identity, posture: facts, context: kernelContext)
            if e.header.flags.contains(.killed), decision.action != .deny, e.argv.count > 1 {
                // The kernel matched the name the file was executed by: for a script that is
                // argv[1] (the kernel ran its interpreter, e.path).
                decision = policy.decide(
                    .exec(path: e.argv[1], argv: Array(e.argv.dropFirst())),
                    identity: identity, posture: facts, context: kernelContext)
            }
            entry = makeEntry(
                kind: .exec, pid: e.header.pid, uid: e.uid, session: subject.session,
                action: .init(argv: e.argv, path: e.path), decision: decision, ancestry: ancestry)
            entry.monotonicNs = e.header.ktimeNanoseconds
            if e.header.flags.contains(.killed) {
                entry.decision = .kill
                entry.enforcement = .init(action: "bpf-sigkill", succeeded: true, detail: "SIGKILL in the kernel at exec: the binary never ran")
                tally.decisions["kill", default: 0] += 1
            } else {
                enforce(&entry, decision: decision, pid: e.header.pid, root: subject.root, prevented: false, tally: &tally)
            }
        case .open(let e):
            var decision = policy.decide(.open(path: e.path, write: e.isWrite), identity: identity, posture: facts, context: kernelContext)
            let fifo = e.header.flags.contains(.fifo)
            if fifo, decision.action != .deny {
                // A named pipe may hand work to a process outside the session: `Peer(fifo:…)` decides it.
                let handOver = policy.decide(.fifo(path: e.path), identity: identity, posture: facts, context: kernelContext)
                if handOver.action == .deny { decision = handOver }
            }
            entry = makeEntry(
                kind: .open, pid: e.header.pid, uid: uid, session: subject.session,
                action: .init(path: e.path, mode: e.isWrite ? "write" : "read"), decision: decision, ancestry: ancestry)
            entry.extra["result"] = String(e.result)
            if fifo { entry.extra["fifo"] = "true" }
            entry.monotonicNs = e.header.ktimeNanoseconds
            if decision.action == .deny, e.result == -Int64(EPERM) {
                // EPERM: the fanotify guard refused it and has recorded it already.
                return nil
            }
            if e.header.flags.contains(.killed) {
                entry.decision = .kill
                entry.enforcement = .init(
                    action: "bpf-sigkill", succeeded: true,
                    detail: "SIGKILL in the kernel at open: the descriptor was never used")
                tally.decisions["kill", default: 0] += 1
            } else {
                enforce(&entry, decision: decision, pid: e.header.pid, root: subject.root, prevented: e.result < 0, tally: &tally)
            }
        // (A `where` binds to the last pattern only: each pattern carries its own.)
        case .connect(let e) where e.crossesBoundary, .send(let e) where e.crossesBoundary:
            let isSend: Bool
            if case .send = event { isSend = true } else { isSend = false }
            entry = crossingEntry(
                e, isSend: isSend, uid: uid, subject: subject, policy: policy, facts: facts,
                context: kernelContext, ancestry: ancestry, tally: &tally)
        case .connect(let e), .send(let e):
            let isSend: Bool
            if case .send = event { isSend = true } else { isSend = false }
            let decision = policy.decide(
                .connect(address: e.address, port: e.port, host: nil),
                identity: identity, posture: facts, context: kernelContext)
            entry = makeEntry(
                kind: isSend ? .send : .connect, pid: e.header.pid, uid: uid, session: subject.session,
                action: .init(address: e.address, port: e.port, transport: EventRenderer.familyName(e.family)),
                decision: decision, ancestry: ancestry)
            entry.extra["result"] = String(e.result)
            entry.monotonicNs = e.header.ktimeNanoseconds
            let refused = e.result == -Int64(EPERM)  // from the cgroup hook
            if decision.action == .deny, refused {
                entry.enforcement = .init(
                    action: "cgroup-deny", succeeded: true, detail: "EPERM from the cgroup \(isSend ? "sendmsg" : "connect") hook; no packet sent")
                entry.decision = .deny
                tally.decisions["deny", default: 0] += 1
            } else {
                // -EINPROGRESS / -EALREADY: a non-blocking connect under way has not failed by itself.
                let underWay = e.result == -Int64(EINPROGRESS) || e.result == -Int64(EALREADY)
                enforce(
                    &entry, decision: decision, pid: e.header.pid, root: subject.root, prevented: e.result < 0 && !underWay,
                    tally: &tally)
            }
        case .procAccess(let e):
            entry = processAccessEntry(e, uid: uid, subject: subject, policy: policy, ancestry: ancestry, tally: &tally)
        }
        entry.postureRef = inForce.hash
        logger.log(
            level: entry.decision == nil || entry.decision == .allow ? .trace : .info, "kernel decision",
            metadata: [
                "session.id": "\(EventRenderer.hex(subject.session))", "process.pid": "\(event.header?.pid ?? 0)",
                "event.kind": "\(entry.kind)", "policy.decision": "\(entry.decision?.rawValue ?? "none")",
                "policy.rule": "\(entry.winningRule ?? "")",
            ])
        return entry
    }

    /// The mechanism a refused crossing names in its entry.
    public static let boundaryMechanism = "cgroup-deny"

    /// A connect or datagram to a local socket outside the session: decided by the `Peer(…)` rules,
    /// refused in the kernel (EPERM) where they deny it, and recorded with the peer that listens there.
    private func crossingEntry(
        _ e: NetworkEvent, isSend: Bool, uid: UInt32?, subject: SessionSubject, policy: Policy,
        facts: [String: VigilPolicy.PostureFact], context: KernelContext, ancestry: [AuditEntry.ProcessLink],
        tally: inout DecisionTally
    ) -> AuditEntry {
        let isUnix = e.family == .unix
        let exempt = isUnix ? exemptUnixPeers.withLock { $0[e.address] } : exemptPeers.withLock { $0[e.port] }
        var decision = policy.decide(
            .peer(address: e.address, port: e.port), identity: subject.identity,
            posture: facts, context: context)
        if let exempt, !e.header.flags.contains(.peerRefused) {
            decision = VigilPolicy.Decision(
                action: .allow, reason: "\(exempt): every session may reach it",
                policyVersion: policy.version)
        }
        let peerPID = e.peerPID > 0 ? e.peerPID : e.peerInode == 0 ? nil : socketOwner?(e.peerInode)
        let peerExe = peerPID.flatMap(Self.executable(of:))
        let transport = EventRenderer.familyName(e.family)
        var entry = makeEntry(
            kind: isSend ? .send : .connect, pid: e.header.pid, uid: uid, session: subject.session,
            action: .init(address: e.address, port: e.port, transport: transport),
            decision: decision, ancestry: ancestry)
        entry.monotonicNs = e.header.ktimeNanoseconds
        entry.extra["result"] = String(e.result)
        entry.extra["boundary"] = "crossing"
        entry.extra["peer_pid"] = peerPID.map(String.init) ?? "unknown"
        entry.extra["peer_exe"] = peerExe ?? "unknown"
        entry.extra["peer_cgroup"] = String(e.peerCgroup)
        entry.extra["peer_socket_inode"] = String(e.peerInode)
        entry.extra["reason"] = decision.reason
        let peer = peerPID.map { "pid \($0) (\(peerExe ?? "executable unknown"))" } ?? "a process not found (socket inode \(e.peerInode))"
        if isUnix { entry.extra["peer_socket_inode"] = nil; entry.extra["peer_cgroup"] = nil }
        if isUnix, e.header.flags.contains(.killed) {
            entry.decision = .kill
            entry.enforcement = .init(
                action: "bpf-sigkill", succeeded: true,
                detail:
                    "SIGKILL in the kernel at the connect's return: \(e.address) belongs to \(peer), outside the session; the socket was never used")
            tally.decisions["kill", default: 0] += 1
        } else if isUnix, e.header.flags.contains(.spared) {
            entry.decision = .flag
            entry.enforcement = .init(
                action: "flag", succeeded: true,
                detail: "not prevented: AF_UNIX crossing to \(peer) by the session root (Claude Code), which is never killed")
            tally.decisions["flag", default: 0] += 1
        } else if e.header.flags.contains(.peerRefused) {
            entry.decision = .deny
            entry.enforcement = .init(
                action: Self.boundaryMechanism, succeeded: true,
                detail: "EPERM from the cgroup \(isSend ? "sendmsg" : "connect") hook at the session boundary: "
                    + "\(e.address):\(e.port) belongs to \(peer), outside the session")
            tally.decisions["deny", default: 0] += 1
        } else {
            // Let through by the kernel: allowed — or denied by a flag rule, or after a reload the
            // kernel had not seen yet (then enforced after the fact).
            let underWay = e.result == -Int64(EINPROGRESS) || e.result == -Int64(EALREADY)
            enforce(
                &entry, decision: decision, pid: e.header.pid, root: subject.root, prevented: e.result < 0 && !underWay,
                tally: &tally)
            if isUnix, entry.decision != .allow, var enforcement = entry.enforcement {
                // No kernel hook can tell an AF_UNIX listener's owner before the connect: after the fact.
                enforcement.detail = "AF_UNIX crossing to \(peer), decided after the connect: " + (enforcement.detail ?? enforcement.action)
                entry.enforcement = enforcement
            }
        }
        entry.extra["peer"] = peer
        return entry
    }

    /// The mechanism a killed process-access call names in its entry.
    public static let processAccessMechanism = "in-kernel SIGKILL before ptrace/process_vm_*/pidfd_getfd completed"

    /// ptrace, process_vm_* or pidfd_getfd: no rule decides it — reaching a process outside the
    /// session is always refused (the kernel killed the caller at syscall entry), an attach inside
    /// it is allowed and recorded.
    private func processAccessEntry(
        _ e: ProcessAccessEvent, uid: UInt32?, subject: SessionSubject, policy: Policy,
        ancestry: [AuditEntry.ProcessLink], tally: inout DecisionTally
    ) -> AuditEntry {
        let outside = e.targetSession != subject.session || e.header.flags.contains(.targetUnresolved)
        let reason =
            outside
            ? "a session process may not reach into a process outside its session"
            : "a process of the session on another one of the same session"
        let decision = VigilPolicy.Decision(
            action: e.killed ? .deny : .allow, enforcement: e.killed ? .kill : .none, reason: reason,
            policyVersion: policy.version)
        let targetExe = e.targetPID > 0 ? Self.executable(of: e.targetPID) : nil
        var entry = makeEntry(
            kind: .processAccess, pid: e.header.pid, uid: uid, session: subject.session,
            action: .init(path: targetExe, mode: e.callName), decision: decision, ancestry: ancestry)
        entry.monotonicNs = e.header.ktimeNanoseconds
        entry.extra["call"] = e.callName
        if let request = e.requestName { entry.extra["request"] = request }
        entry.extra["target_pid"] = e.header.flags.contains(.targetUnresolved) ? "unresolved" : String(e.targetPID)
        entry.extra["target_exe"] = targetExe ?? "unknown"
        entry.extra["target_in_session"] = outside ? "false" : "true"
        entry.extra["reason"] = reason
        if e.killed {
            entry.decision = .kill
            let target =
                e.header.flags.contains(.targetUnresolved)
                ? "an unresolved target (taken as outside the session)"
                : "pid \(e.targetPID) (\(targetExe ?? "executable unknown"))"
            entry.enforcement = .init(
                action: "bpf-sigkill", succeeded: true,
                detail: "\(Self.processAccessMechanism): \(e.requestName.map { e.callName + " " + $0 } ?? e.callName) of \(target)")
            tally.decisions["kill", default: 0] += 1
        } else {
            entry.decision = .allow
            tally.decisions["allow", default: 0] += 1
        }
        return entry
    }

    /// /proc/PID/exe of a live process, or nil.
    static func executable(of pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// After the fact: the kernel let it happen (no mechanism held the rule). Kill the process
    /// through its pidfd — unless it is the session root, which is flagged.
    private func enforce(
        _ entry: inout AuditEntry, decision: VigilPolicy.Decision, pid: Int32, root: Int32, prevented: Bool,
        tally: inout DecisionTally
    ) {
        if decision.action == .deny && decision.enforcement == .flag {
            entry.decision = .flag
            entry.enforcement = .init(action: "flag", succeeded: true)
        } else if decision.action == .deny && decision.enforcement >= .deny {
            if prevented {
                entry.decision = .deny
                entry.enforcement = .init(action: "none-needed", succeeded: true, detail: "the syscall failed by itself")
            } else if root != 0 && pid == root {
                entry.decision = .flag
                entry.enforcement = .init(
                    action: "flag", succeeded: true,
                    detail: "not prevented: only a kill would hold this rule, and the session root (Claude Code) is never killed")
            } else {
                let outcome = ProcessKiller.kill(pid: pid)
                entry.decision = .kill
                entry.enforcement = .init(action: "pidfd-kill", succeeded: outcome.succeeded, detail: "\(outcome)")
                if !outcome.succeeded { tally.enforcementFailures += 1 }
            }
        } else {
            entry.decision = AuditEntry.Decision(rawValue: decision.action.rawValue)
        }
        tally.decisions[entry.decision?.rawValue ?? "allow", default: 0] += 1
    }

    /// An entry for a decision about process `pid`, stamped with the posture in force now.
    public func makeEntry(
        kind: AuditEntry.Kind, pid: Int32, uid: UInt32?, session: SessionID, action: AuditEntry.Action,
        decision: VigilPolicy.Decision, ancestry: [AuditEntry.ProcessLink]
    ) -> AuditEntry {
        var entry = AuditEntry(
            kind: kind, subject: uid.map { AuditEntry.Subject(uid: $0, userName: userName(of: $0)) },
            deviceId: deviceID, sessionId: EventRenderer.hex(session), action: action,
            matchedRules: decision.matchedRuleIDs, winningRule: decision.winningRuleID,
            policyVersion: decision.policyVersion, ancestry: ancestry)
        entry.extra["pid"] = String(pid)
        entry.monotonicNs = monotonicNanoseconds()
        entry.postureRef = posture.current.hash
        if decision.derived { entry.extra["derived"] = "true" }
        if decision.action != .allow { entry.extra["reason"] = decision.reason }
        return entry
    }

    /// The OS account name of `uid` (cached by `Accounts.shared`; nil when the account has no name).
    public func userName(of uid: UInt32) -> String? { Accounts.shared.name(of: uid) }

    /// The real uid of a live process, from /proc (for decisions made before any event of it).
    public static func uid(of pid: Int32) -> UInt32? {
        ProcStatus.number("Uid", of: pid).flatMap { UInt32(exactly: $0) }
    }

    /// `Open(**/NAME)` / `Open(NAME)` deny rules (any mode) with a plain file name: the kernel
    /// can match the last path component by itself.
    public static func openNames(_ plan: KernelPlan) -> [String] {
        plan.paths.compactMap { $0.isExec ? nil : $0.inKernelName }
    }

    /// `Exec(name)` deny rules with a plain name (no path, glob or arguments): the kernel can
    /// match those by itself.
    public static func execNames(_ plan: KernelPlan) -> [String] {
        plan.paths.compactMap { $0.isExec ? $0.inKernelName : nil }
    }

    /// The fanotify marks for a plan's exec/open rules, found with the policy's own wildcard semantics.
    public static func marks(_ plan: KernelPlan, home: String?, path: String?) -> MarkPlan {
        MarkPlanner.plan(rules: plan.paths.map(\.rule), home: home, path: path, matching: Policy.segmentMatches)
    }
}

// SPDX-License-Identifier: Apache-2.0
// vigild: one sensor, one policy, one audit log, every agent session on the machine.
//
//   kernel ──ring──▶ KernelService ──▶ sessions (tree, tool-call attribution) ──▶ engine ──▶ audit
//   Claude Code ──http hook──▶ hook endpoint (authenticated caller) ──▶ policy ──▶ audit, timeline
//   vigil CLI ──unix socket──▶ control API (peer credentials) ──▶ status, sessions, reload
//   PolicyService, PostureService ──▶ engine (re-plans every session's kernel rules and marks)
//
// The engine (`KernelEngine`, the same as `vigil run`'s) owns the sessions' subjects, the kernel's
// rules and the fanotify guard; the policy and posture services own theirs. The sessions, the
// process tree and the attributor live behind one lock (`state`); what is slow — hashing
// executables, fsync, writing timelines — happens outside it.
import Foundation
import Glibc
import Logging
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
import VigilTransport

public final class Daemon: Sendable {
    public let configuration: DaemonConfiguration
    /// From `main`: every diagnostic goes here, with the session, process and rule as metadata.
    let logger: Logger
    let sensor: Sensor
    /// The one enforcement engine (the same as `vigil run`'s): sessions' subjects, kernel rules,
    /// fanotify marks, re-planning.
    let engine: KernelEngine
    /// The policy in force and its file (reloads).
    let policy: PolicyService
    let posture: PostureService
    let journal: DaemonJournal
    let store: SessionStore
    /// One cache of executable hashes for the consumer and the hook-caller check, kept in the
    /// state directory so a restart does not read every binary (Claude Code's is 400 MB) again.
    let hasher: ExecutableHasher
    let detector = AgentDetector()
    let trust: AgentTrust
    let state = Mutex(DaemonState())
    let counters = DaemonCounters()
    /// Kernel-event entries waiting to share one durable append (see `recordKernel`).
    let kernelBatch = KernelAuditBatch()
    let startedAt = TimelineRecord.now()
    /// The hook server's port once it listens (the configured one, or the one the kernel picked).
    let boundHookPort = Atomic<UInt16>(0)
    /// The managed-settings drop-in this daemon installed.
    let installedDropIn = Mutex<String?>(nil)
    /// Adoptions are serialized: two first hook calls of one Claude Code must not make two sessions.
    let adoptionLock = Mutex<Void>(())
    let enforcementMode: String
    /// Transcript reads, one at a time, off the hook threads.
    let transcriptQueue = DispatchQueue(label: "vigild.transcripts")

    /// Loads everything that must work before the daemon may say it runs: the policy (a policy
    /// that does not compile stops the start, naming file, line and column), the sensor, the
    /// audit log (verified before the first append).
    public init(
        configuration: DaemonConfiguration, sensorOptions: SensorOptions = SensorOptions(), logger: Logger
    ) throws(DaemonError) {
        self.configuration = configuration
        self.logger = logger
        let loaded: Policy
        switch PolicyFile.load(configuration.policyPath) {
        case .success(let p): loaded = p
        case .failure(let error): throw DaemonError("vigild: \(error)")
        }
        do {
            sensor = try Sensor(options: sensorOptions)
        } catch {
            throw DaemonError("vigild: the kernel sensor cannot start: \(error)")
        }
        journal = DaemonJournal(audit: try Self.openAudit(configuration), counters: counters, logger: logger)
        var postureConfiguration = PostureConfiguration()
        if let names = configuration.edrProcessNames { postureConfiguration.endpointProtectionProcessNames = names }
        let monitor = PostureMonitor(prober: PostureProber(configuration: postureConfiguration))
        let snapshot = monitor.current
        var engineOptions = KernelEngineOptions()
        engineOptions.refuseUnknownSessions = true
        engineOptions.labelGuardEntries = true
        engineOptions.socketOwner = { SocketOwners.pid(holdingSocketInode: $0) }
        engine = KernelEngine(
            sensor: sensor, policy: loaded, deviceID: configuration.deviceID,
            posture: PostureTimeline(facts: PostureMonitor.facts(snapshot), hash: snapshot.hash), options: engineOptions, logger: logger)
        policy = PolicyService(path: configuration.policyPath, loaded: loaded, deviceID: configuration.deviceID,
                               pollInterval: configuration.policyPollInterval, engine: engine, journal: journal)
        posture = PostureService(monitor: monitor, deviceID: configuration.deviceID, engine: engine, journal: journal)
        store = SessionStore(directory: configuration.sessionsDirectory)
        try store.prepare()
        let hashCache = HashCacheFile(path: configuration.stateDirectory + "/cache/exe-sha256")
        hasher = ExecutableHasher(maxBytes: 1 << 30, store: hashCache)
        trust = AgentTrust(configured: configuration.trustedAgentBinaries, hasher: hasher)
        enforcementMode = Environment.probeFeatures().enforcementMode
        if let problem = hashCache.problem { noteError("executable hash cache not used: \(problem)") }
        for program in sensor.programs where !program.attached {
            noteError("sensor program \(program.name) not attached: \(String(cString: strerror(program.errorCode ?? 0)))")
        }
    }

    private static func openAudit(_ configuration: DaemonConfiguration) throws(DaemonError) -> AuditLog {
        let directory = configuration.resolvedAuditDirectory
        let layout = AuditLogLayout(directory: directory)
        let keyFile = configuration.auditKey ?? layout.defaultPrivateKey
        do {
            try DaemonFiles.makeDirectory(directory, mode: 0o700)
            if configuration.auditKey == nil, access(keyFile, F_OK) != 0, access(layout.entries, F_OK) != 0 {
                // First start: a key of this device's own (its verifier key is DIR/audit.pub).
                let signer = try Ed25519FileSigner.generate(name: "vigil/\(ProcessInfo.processInfo.hostName)")
                try signer.write(toKeyFile: keyFile)
            }
            let signer = try Ed25519FileSigner(keyFile: keyFile)
            var options = AuditLog.Options()
            options.deviceId = configuration.deviceID
            options.decodeEntriesOnOpen = false
            return try AuditLog.open(directory: directory, signer: signer, options: options)
        } catch let error as AuditError {
            throw DaemonError("vigild: the audit log \(directory) cannot be opened: \(error)")
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError("vigild: the audit log \(directory) cannot be opened: \(error)")
        }
    }

    var hookPort: UInt16 { boundHookPort.load(ordering: .relaxed) }

    var decider: KernelDecider { engine.decider }
    var audit: AuditLog { journal.audit }

    // MARK: Errors and audit (the journal's)

    /// Something went wrong that the operator must see: kept (the last 64) for `vigil status`.
    /// `metadata` is plain strings so callers need not import Logging.
    func noteError(_ message: String, metadata: [String: String] = [:]) { journal.noteError(message, metadata: metadata) }

    /// Appends durably; a failure is counted, kept for status, and returned.
    @discardableResult
    func record(_ entries: [AuditEntry]) -> String? { journal.record(entries) }
}

/// Everything the services share, behind `Daemon.state`.
struct DaemonState: ~Copyable {
    var sessions: [SessionID: LiveSession] = [:]
    /// Claude Code's session id → Vigil's.
    var byClaudeSession: [String: SessionID] = [:]
    var tree = ProcessTree()
    /// Ties each session's kernel events to the tool call that caused them.
    var attributor = ToolCallAttributor()
    var unmanaged: [Int32: UnmanagedAgent] = [:]
    /// Agent pids already reported (so one process is audited once).
    var reportedAgents: Set<Int32> = []
    var hookLatencies = LatencyWindow()
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
    /// A wrapped session's root until its exec shows what it runs (see `Daemon.rootExecuted`).
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

/// The last hook latencies, for p50/p99 in `vigil status`.
struct LatencyWindow {
    private var samples: [UInt64] = []
    private var next = 0
    var count = 0

    mutating func add(_ nanoseconds: UInt64) {
        count += 1
        if samples.count < 4096 { samples.append(nanoseconds) } else {
            samples[next] = nanoseconds
            next = (next + 1) % 4096
        }
    }

    func percentile(_ p: Double) -> UInt64? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
    }
}

final class DaemonCounters: Sendable {
    let hookCalls = Atomic<Int>(0)
    let hookDenied = Atomic<Int>(0)
    let hookRejectedCallers = Atomic<Int>(0)
    let hookFailures = Atomic<Int>(0)
    let kernelEvents = Atomic<Int>(0)
    let orphanEvents = Atomic<Int>(0)
    let decodeErrors = Atomic<Int>(0)
    let gaps = Atomic<Int>(0)
    let auditEntries = Atomic<Int>(0)
    let auditFailures = Atomic<Int>(0)
    let timelineFailures = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let sessionsStarted = Atomic<Int>(0)
    let sessionsAdopted = Atomic<Int>(0)
    /// Session requests from a process already inside a session (refused, audited).
    let nestedSessionsRefused = Atomic<Int>(0)
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

extension Accounts {
    /// The account of `uid` (cached, see `Accounts.shared`), or one named by the number, with home
    /// `/` and no groups, when it has no passwd entry.
    static func lookup(uid: UInt32) -> Account {
        shared.account(uid: uid) ?? Account(uid: uid, gid: UInt32.max, name: String(uid), home: "/", groups: [])
    }
}

// SPDX-License-Identifier: Apache-2.0
// The hook path: Claude Code POSTs each hook payload to the daemon (an `http` handler in the
// managed settings). The caller is authenticated — the kernel says which process holds the other
// end of the connection, and it must be a trusted Claude Code binary — the call is decided with the
// policy for that process's OS user (never for what the payload claims), recorded durably before
// the answer, and tied into the session: the allowed call's processes are attributed to it.
import Foundation
import Glibc
import Logging
import ServiceLifecycle
import Synchronization
import VigilAPI
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilHost
import VigilJSON
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

final class HookCounters: Sendable {
    let calls = Atomic<Int>(0)
    let denied = Atomic<Int>(0)
    let rejectedCallers = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
}

/// Who is on the other end of a hook connection, as the kernel reports it.
public struct HookCaller: Sendable {
    public var pid: Int32?
    public var uid: UInt32?
    /// Why the caller could not be identified.
    public var failure: String?

    public init(pid: Int32?, uid: UInt32?, failure: String? = nil) {
        self.pid = pid
        self.uid = uid
        self.failure = failure
    }
}

/// The daemon's answer to one hook call, in HTTP terms.
public struct HookAnswer: Sendable {
    public var status: Int
    public var body: String
}

/// The hook endpoint as a service: it owns its listener, its counters and latency window, the
/// managed-settings drop-in it installed, and the check of who may call (`AgentTrust`). Sessions
/// are the sessions service's; the decision is `HookHandler`'s (VigilClaude), with the policy in force.
final class HookService: Service, Sendable {
    let configuration: DaemonConfiguration
    let counters = HookCounters()
    private let sessions: SessionRegistry
    private let policy: PolicyService
    private let journal: DaemonJournal
    private let trust: AgentTrust
    private let logger: Logger
    private let latencies = Mutex(LatencyWindow())
    private let server = Mutex<HTTPServer?>(nil)
    /// The port once it listens (the configured one, or the one the kernel picked).
    private let boundPort = Atomic<UInt16>(0)
    /// The managed-settings drop-in this daemon installed.
    private let installedDropIn = Mutex<String?>(nil)

    init(
        configuration: DaemonConfiguration, sessions: SessionRegistry, policy: PolicyService, journal: DaemonJournal,
        trust: AgentTrust, logger: Logger
    ) {
        self.configuration = configuration
        self.sessions = sessions
        self.policy = policy
        self.journal = journal
        self.trust = trust
        self.logger = logger
    }

    private var engine: KernelEngine { sessions.engine }
    private var decider: KernelDecider { sessions.engine.decider }

    var port: UInt16 { boundPort.load(ordering: .relaxed) }
    var url: String { "http://\(configuration.hookHost):\(port)/v1/hook" }
    var dropIn: String? { installedDropIn.withLock { $0 } }
    var trustedBinaries: [String] { trust.configuredPaths }

    /// The last hook latencies: (p50, p99) in nanoseconds.
    var latency: (p50: UInt64?, p99: UInt64?) { latencies.withLock { ($0.percentile(0.5), $0.percentile(0.99)) } }

    /// Starts listening (before the group runs: the drop-in must never point at nothing).
    func listen() throws(DaemonError) {
        let hooks: HTTPServer
        do {
            hooks = try HTTPServer(listener: .tcp(host: configuration.hookHost, port: configuration.hookPort)) { [self] request, connection in
                endpoint(request, connection: connection)
            }
        } catch {
            throw DaemonError("vigild: the hook endpoint cannot listen on \(configuration.hookHost):\(configuration.hookPort): \(error)")
        }
        boundPort.store(hooks.port ?? configuration.hookPort, ordering: .relaxed)
        server.withLock { $0 = hooks }
    }

    /// Stops the listener (also when the start fails half-way).
    func stop() { server.withLock { $0 }?.stop() }

    func run() async throws {
        try? await gracefulShutdown()
        stop()
    }

    /// Places the managed-settings drop-in that points every Claude Code at this endpoint.
    func installDropIn() throws(DaemonError) {
        let installer = ManagedSettingsInstaller(root: configuration.installRoot, stateDirectory: configuration.stateDirectory)
        let settings = HookInstallConfiguration(
            vigilPath: "/proc/self/exe", policyPath: configuration.policyPath, timeoutSeconds: configuration.hookTimeoutSeconds,
            allowManagedHooksOnly: true, hookURL: url, failClosed: configuration.failClosed)
        do {
            let report = try installer.install(settings)
            installedDropIn.withLock { $0 = report.path }
        } catch {
            throw DaemonError("vigild: cannot install the Claude Code hooks: \(error)")
        }
    }

    /// POST /v1/hook from Claude Code.
    func endpoint(_ request: HTTPRequest, connection: HTTPConnection) -> HTTPResponse {
        guard request.method == "POST", request.path == "/v1/hook" || request.path.hasPrefix("/v1/hook?") else {
            return .text(status: 404, "vigild: no such endpoint \(request.method) \(request.path)\n")
        }
        let caller: HookCaller
        do {
            let peer = try connection.peer(candidatePIDs: sessions.agentPIDs())
            caller = HookCaller(pid: peer.pid, uid: peer.uid, failure: peer.pid == nil ? "no process holds socket:[\(peer.inode)]" : nil)
        } catch {
            caller = HookCaller(pid: nil, uid: nil, failure: "\(error)")
        }
        let answer = hook(body: request.body, caller: caller)
        return answer.status == 200 ? .json(status: 200, Array(answer.body.utf8)) : .text(status: answer.status, answer.body + "\n")
    }

    /// Handles one hook payload from `caller`.
    func hook(body: [UInt8], caller: HookCaller) -> HookAnswer {
        let start = monotonicNanoseconds()
        counters.calls.add(1, ordering: .relaxed)
        defer {
            let elapsed = monotonicNanoseconds() - start
            latencies.withLock { $0.add(elapsed) }
        }
        guard let pid = caller.pid, let uid = caller.uid else {
            return reject(caller: caller, exe: nil, why: "the calling process could not be identified: \(caller.failure ?? "unknown")")
        }
        let tAuth = monotonicNanoseconds()
        let verdict = trust.check(pid: pid)
        guard verdict.trusted else {
            return reject(caller: caller, exe: verdict.exe, why: verdict.reason)
        }

        // The session: the one the kernel says this process belongs to, else a new one (adoption).
        var session = sessions.sensor.session(of: pid)
        var adoptionFailure: String?
        if !configuration.adoptUnwrapped && (session == 0 || !sessions.isLive(session)) {
            session = 0
        } else if session == 0 || !sessions.isLive(session) {
            switch sessions.adopt(pid: pid, uid: uid) {
            case .success(let id):
                session = id
            case .failure(let error):
                // Still decided and recorded: only the kernel side of the session is missing.
                adoptionFailure = "\(error)"
                journal.noteError("adopting Claude Code pid \(pid): \(error)", metadata: ["process.pid": "\(pid)"])
                session = 0
            }
        }
        let live = sessions.subject(of: session)
        let (subject, vigilID) = (live?.subject, live?.id)
        let account = Accounts.lookup(uid: uid)
        let identity = subject?.identity ?? sessions.identity(of: account)
        let posture = decider.posture.current
        let context = HookContext(
            identity: identity, subject: AuditEntry.Subject(uid: uid, userName: account.name),
            deviceID: configuration.deviceID, posture: posture.facts, environment: [:], fallbackHome: account.home)
        let sink = DaemonHookSink(
            log: journal.audit, vigilSession: vigilID, postureRef: posture.hash, callerPID: pid,
            adoptionFailure: adoptionFailure, deferred: { [engine] entry in engine.keep(entry) })
        let currentPolicy = policy.current
        let guardRef = engine.fanotify
        var hookLogger = logger
        hookLogger[metadataKey: "process.pid"] = "\(pid)"
        if session != 0 { hookLogger[metadataKey: "session.id"] = "\(EventRenderer.hex(session))" }
        let handler = HookHandler(
            context: context, loadPolicy: { .success(currentPolicy) }, audit: sink, logger: hookLogger,
            pathAliases: { path in
                let resolved = ResolvedPath.aliases(path)
                return resolved + (guardRef?.markedNames(of: resolved.first ?? path) ?? [])
            })
        let tHandle0 = monotonicNanoseconds()
        let outcome = handler.handle(body)
        let tHandle1 = monotonicNanoseconds()
        if outcome.recorded != nil { journal.countAppended(1) }
        if let failure = outcome.failure {
            counters.failures.add(1, ordering: .relaxed)
            journal.noteError("hook from pid \(pid): \(failure)", metadata: ["process.pid": "\(pid)"])
        }
        if case .preToolUse? = outcome.payload?.event, outcome.decision?.action != .allow {
            counters.denied.add(1, ordering: .relaxed)
        }
        if let payload = outcome.payload, session != 0 {
            sessions.noteHookCall(payload, outcome: outcome, session: session, agentPID: pid)
            switch payload.event {
            case .stop, .sessionEnd:
                // Off the hook's thread: the answer does not wait for the transcript to be read.
                sessions.transcriptQueue.async { [sessions, session] in sessions.ingestTranscript(session: session) }
            default: break
            }
        }
        let tEnd = monotonicNanoseconds()
        hookLogger.debug(
            "hook \(outcome.payload?.event.name ?? "?") total \((tEnd - start) / 1000) us: auth \((tAuth - start) / 1000) trust+session \((tHandle0 - tAuth) / 1000) handle \((tHandle1 - tHandle0) / 1000) note \((tEnd - tHandle1) / 1000)"
        )
        return Self.answer(outcome.response)
    }

    /// A caller that is not a trusted Claude Code process: refused (403; with `onFailure:"block"`
    /// Claude Code blocks the call) and audited — a forged tool-call event is itself evidence.
    private func reject(caller: HookCaller, exe: String?, why: String) -> HookAnswer {
        counters.rejectedCallers.add(1, ordering: .relaxed)
        var entry = AuditEntry(
            kind: AuditEntry.Kind(rawValue: "hookRejected"),
            subject: caller.uid.map { AuditEntry.Subject(uid: $0, userName: decider.userName(of: $0)) },
            deviceId: configuration.deviceID, action: .init(path: exe))
        entry.decision = .deny
        entry.extra["reason"] = why
        if let pid = caller.pid { entry.extra["pid"] = String(pid) }
        journal.record([entry])
        journal.noteError("hook call refused: \(why)")
        return HookAnswer(status: 403, body: "vigild refused this hook call: \(why)")
    }

    /// HTTP for a hook answer: Claude Code reads a 2xx JSON body like command-hook stdout. A
    /// blocking error becomes `{"decision":"block"}`; a failure is a 500 (with `onFailure:"block"`
    /// Claude Code blocks on it).
    static func answer(_ response: HookResponse) -> HookAnswer {
        switch response.exitCode {
        case 0:
            return HookAnswer(status: 200, body: response.stdout.isEmpty ? "{}" : response.stdout)
        case 2:
            let reason = JSONObjectWriter.quote(response.stderr)
            return HookAnswer(status: 200, body: "{\"decision\":\"block\",\"reason\":\(reason)}")
        default:
            return HookAnswer(status: 500, body: response.stderr)
        }
    }

}

/// Where hook entries go: the daemon's open log, stamped with the Vigil session, the posture and
/// the authenticated caller. `record` is durable on return.
///
/// Decisions (PreToolUse, UserPromptSubmit, and anything that could not be read) are durable before
/// the answer. Events that decide nothing — PostToolUse, Stop, SessionStart/End, … — join the kernel
/// consumer's next batch (one fsync shared, at most about 100 ms later: its heartbeat), the way the
/// kernel events of the same tool call are recorded; a failure of that append is counted and shown.
struct DaemonHookSink: HookAuditSink {
    let log: AuditLog
    let vigilSession: String?
    let postureRef: String?
    let callerPID: Int32
    let adoptionFailure: String?
    let deferred: @Sendable (AuditEntry) -> Void

    static let decisionEvents: Set<String> = ["PreToolUse", "UserPromptSubmit", "PermissionRequest"]

    var location: String { log.layout.directory }

    func record(_ entry: AuditEntry) throws {
        var stamped = entry
        stamped.postureRef = postureRef
        stamped.extra["callerPid"] = String(callerPID)
        stamped.extra["producer"] = "claude-code.http-hook"
        if let vigilSession { stamped.extra["vigilSession"] = vigilSession }
        if let adoptionFailure { stamped.extra["adoptionFailure"] = adoptionFailure }
        if let event = stamped.extra["event"], !Self.decisionEvents.contains(event), stamped.kind != .toolCall || event != "PreToolUse" {
            deferred(stamped)
            return
        }
        _ = try log.append(stamped)
    }
}

/// The last hook latencies, for p50/p99 in `vigil status`.
struct LatencyWindow {
    private var samples: [UInt64] = []
    private var next = 0
    var count = 0

    mutating func add(_ nanoseconds: UInt64) {
        count += 1
        if samples.count < 4096 {
            samples.append(nanoseconds)
        } else {
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

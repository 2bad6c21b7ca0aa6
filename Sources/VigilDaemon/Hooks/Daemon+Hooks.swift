// SPDX-License-Identifier: Apache-2.0
// The hook path: Claude Code POSTs each hook payload to the daemon (an `http` handler in the
// managed settings). The caller is authenticated — the kernel says which process holds the other
// end of the connection, and it must be a trusted Claude Code binary — the call is decided with the
// policy for that process's OS user (never for what the payload claims), recorded durably before
// the answer, and tied into the session: the allowed call's processes are attributed to it.
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
import VigilJSON
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

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

extension Daemon {
    /// Handles one hook payload from `caller`.
    public func hook(body: [UInt8], caller: HookCaller) -> HookAnswer {
        let start = monotonicNanoseconds()
        counters.hookCalls.add(1, ordering: .relaxed)
        defer {
            let elapsed = monotonicNanoseconds() - start
            state.withLock { $0.hookLatencies.add(elapsed) }
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
        var session = sensor.session(of: pid)
        var adoptionFailure: String?
        if !configuration.adoptUnwrapped && (session == 0 || state.withLock({ $0.sessions[session] == nil })) {
            session = 0
        } else if session == 0 || state.withLock({ $0.sessions[session] == nil }) {
            let adopted = adoptionLock.withLock { _ -> Result<SessionID, DaemonError> in
                let again = sensor.session(of: pid)
                if again != 0, state.withLock({ $0.sessions[again] != nil }) { return .success(again) }
                return Result { () throws(DaemonError) -> SessionID in
                    Self.parseSessionID(try startSession(root: pid, uid: uid, origin: .adopted, cwd: nil).id)
                }
            }
            switch adopted {
            case .success(let id):
                session = id
            case .failure(let error):
                // Still decided and recorded: only the kernel side of the session is missing.
                adoptionFailure = "\(error)"
                noteError("adopting Claude Code pid \(pid): \(error)", metadata: ["process.pid": "\(pid)"])
                session = 0
            }
        }
        let (subject, vigilID) = state.withLock { state -> (SessionSubject?, String?) in
            guard let live = state.sessions[session] else { return (nil, nil) }
            return (live.subject, live.record.id)
        }
        let account = Accounts.lookup(uid: uid)
        let identity = subject?.identity ?? Identity(user: account.name, teams: account.groups, device: configuration.deviceID)
        let posture = decider.posture.current
        let context = HookContext(
            identity: identity, subject: AuditEntry.Subject(uid: uid, userName: account.name),
            deviceID: configuration.deviceID, posture: posture.facts, environment: [:], fallbackHome: account.home)
        let sink = DaemonHookSink(log: audit, vigilSession: vigilID, postureRef: posture.hash, callerPID: pid,
                                  adoptionFailure: adoptionFailure, deferred: { [engine] entry in engine.keep(entry) })
        let currentPolicy = policy.current
        let guardRef = engine.fanotify
        var hookLogger = logger
        hookLogger[metadataKey: "process.pid"] = "\(pid)"
        if session != 0 { hookLogger[metadataKey: "session.id"] = "\(EventRenderer.hex(session))" }
        let handler = HookHandler(context: context, loadPolicy: { .success(currentPolicy) }, audit: sink, logger: hookLogger, pathAliases: { path in
            let resolved = ResolvedPath.aliases(path)
            return resolved + (guardRef?.markedNames(of: resolved.first ?? path) ?? [])
        })
        let tHandle0 = monotonicNanoseconds()
        let outcome = handler.handle(body)
        let tHandle1 = monotonicNanoseconds()
        if outcome.recorded != nil { counters.auditEntries.add(1, ordering: .relaxed) }
        if let failure = outcome.failure {
            counters.hookFailures.add(1, ordering: .relaxed)
            noteError("hook from pid \(pid): \(failure)", metadata: ["process.pid": "\(pid)"])
        }
        if case .preToolUse? = outcome.payload?.event, outcome.decision?.action != .allow {
            counters.hookDenied.add(1, ordering: .relaxed)
        }
        if let payload = outcome.payload, session != 0 {
            note(payload, outcome: outcome, session: session, agentPID: pid)
            switch payload.event {
            case .stop, .sessionEnd:
                // Off the hook's thread: the answer does not wait for the transcript to be read.
                transcriptQueue.async { [self, session] in ingestTranscript(session: session) }
            default: break
            }
        }
        let tEnd = monotonicNanoseconds()
        hookLogger.debug("hook \(outcome.payload?.event.name ?? "?") total \((tEnd - start) / 1000) us: auth \((tAuth - start) / 1000) trust+session \((tHandle0 - tAuth) / 1000) handle \((tHandle1 - tHandle0) / 1000) note \((tEnd - tHandle1) / 1000)")
        return Self.answer(outcome.response)
    }

    /// A caller that is not a trusted Claude Code process: refused (403; with `onFailure:"block"`
    /// Claude Code blocks the call) and audited — a forged tool-call event is itself evidence.
    private func reject(caller: HookCaller, exe: String?, why: String) -> HookAnswer {
        counters.hookRejectedCallers.add(1, ordering: .relaxed)
        var entry = AuditEntry(kind: AuditEntry.Kind(rawValue: "hookRejected"),
                               subject: caller.uid.map { AuditEntry.Subject(uid: $0, userName: decider.userName(of: $0)) },
                               deviceId: configuration.deviceID, action: .init(path: exe))
        entry.decision = .deny
        entry.extra["reason"] = why
        if let pid = caller.pid { entry.extra["pid"] = String(pid) }
        record([entry])
        noteError("hook call refused: \(why)")
        return HookAnswer(status: 403, body: "vigild refused this hook call: \(why)")
    }

    /// Ties the call into its session: binds Claude Code's session id, starts or ends the tool
    /// call's attribution, and writes the conversation's line.
    private func note(_ payload: HookPayload, outcome: HookOutcome, session: SessionID, agentPID: Int32) {
        state.withLock { state in
            guard var live = state.sessions[session] else { return }
            if !live.record.claudeSessionIDs.contains(payload.sessionID) {
                live.record.claudeSessionIDs.append(payload.sessionID)
                state.byClaudeSession[payload.sessionID] = session
            }
            if let transcript = payload.transcriptPath { live.record.transcriptPath = transcript }
            if live.record.cwd == nil { live.record.cwd = payload.cwd }
            switch payload.detail {
            case .preToolUse(let tool):
                live.record.toolCalls += 1
                let decision = outcome.decision
                let action = decision?.action.rawValue ?? "deny"
                if decision?.action != .allow { live.record.deniedToolCalls += 1 }
                let summary = outcome.recorded?.action.toolInput ?? InputSummary.of(toolInput: tool.input)
                live.add(TimelineRecord(kind: .toolCall, toolUseID: tool.id, tool: tool.name, text: summary,
                                        decision: outcome.failure == nil ? action : "deny", rule: decision?.winningRuleID,
                                        reason: outcome.failure ?? (decision?.action == .allow ? nil : decision?.reason), pid: agentPID,
                                        mechanism: decision?.action == .allow && outcome.failure == nil ? nil
                                            : "PreToolUse hook " + (decision?.action == .ask ? "ask" : "deny")
                                                + (outcome.failure != nil ? " (fail closed)" : "")))
                if let id = tool.id, decision?.action != .deny, outcome.failure == nil {
                    live.openToolCalls[id] = tool.name
                    state.attributor.begin(
                        session: session, agentPID: agentPID, toolUseID: id, tool: tool.name,
                        command: tool.input["command"]?.stringValue ?? tool.input["url"]?.stringValue,
                        filePath: tool.input["file_path"]?.stringValue ?? tool.input["notebook_path"]?.stringValue)
                }
            case .postToolUse(let tool, let response, let duration):
                if let id = tool.id {
                    state.attributor.end(toolUseID: id)
                    live.openToolCalls[id] = nil
                }
                live.add(TimelineRecord(kind: .toolResult, toolUseID: tool.id, tool: tool.name,
                                        text: Self.resultText(response) + (duration.map { " (\($0) ms)" } ?? ""), decision: "ran"))
            case .postToolUseFailure(let tool, let error, let interrupted, _):
                if let id = tool.id {
                    state.attributor.end(toolUseID: id)
                    live.openToolCalls[id] = nil
                }
                live.add(TimelineRecord(kind: .toolResult, toolUseID: tool.id, tool: tool.name,
                                        text: InputSummary.of(text: error ?? ""), decision: interrupted ? "interrupted" : "failed"))
            case .userPromptSubmit(let prompt):
                live.record.prompts += 1
                live.add(TimelineRecord(kind: .prompt, text: InputSummary.of(text: prompt), decision: outcome.response.stdout.isEmpty ? nil : "blocked"))
            case .stop(_, let last):
                if let last { live.add(TimelineRecord(kind: .assistant, text: InputSummary.of(text: last))) }
            case .sessionStart(let source):
                live.add(TimelineRecord(kind: .notice, text: "Claude Code session \(payload.sessionID) started (\(source ?? "startup"))", pid: agentPID))
            case .sessionEnd(let reason):
                live.add(TimelineRecord(kind: .notice, text: "Claude Code session \(payload.sessionID) ended (\(reason ?? "exit"))", pid: agentPID))
            case .other:
                break
            }
            state.sessions[session] = live
        }
        flushTimelines()
    }

    static func resultText(_ response: JSONValue?) -> String {
        switch response {
        case .string(let text)?:
            return InputSummary.of(text: text)
        case .object(let object)?:
            let parts = ["stdout", "stderr", "content", "output", "result"].compactMap { key -> String? in
                guard let value = object[key]?.stringValue, !value.isEmpty else { return nil }
                return key == "stderr" ? "stderr: " + value : value
            }
            if !parts.isEmpty { return InputSummary.of(text: parts.joined(separator: "\n")) }
            return InputSummary.of(toolInput: object)
        default:
            return ""
        }
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

    static func parseSessionID(_ id: String) -> SessionID { UInt64(id, radix: 16) ?? 0 }
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

// SPDX-License-Identifier: Apache-2.0
// One hook invocation, start to finish: decode the payload, decide a PreToolUse with the policy,
// record every event in the audit log, answer in the form Claude Code honours.
//
// Fail closed, with a reason that says what failed and where:
// - PreToolUse: an unreadable or invalid policy, a malformed payload, or an audit failure is a deny
//   (exit 0 + JSON, so the model sees the reason); a decision that cannot be recorded does not stand.
// - UserPromptSubmit: an audit failure blocks the prompt (`decision:block`).
// - Events that cannot block (Post*, SessionStart/End, Stop): an audit failure is exit 1 with the
//   reason on stderr — with `onFailure:"block"` Claude Code reports it, and nothing loops.
// - A payload whose event cannot be read at all: exit 2, Claude Code's blocking error.
import Foundation
import Logging
import VigilAudit
import VigilJSON
import VigilPolicy

/// Who is behind the session and where it runs: fixed for the hook process.
public struct HookContext: Sendable {
    public var identity: Identity
    public var subject: AuditEntry.Subject?
    public var deviceID: String
    /// Posture facts in force (none yet without the daemon: `when:` conditions then read as unknown).
    public var posture: [String: PostureFact]
    /// The hook's environment, as Claude Code set it (`HOME`, `CLAUDE_PROJECT_DIR`, `CLAUDE_PID`, …).
    public var environment: [String: String]
    /// The home directory of the user, when the environment and the payload don't say.
    public var fallbackHome: String

    public init(
        identity: Identity, subject: AuditEntry.Subject? = nil, deviceID: String, posture: [String: PostureFact] = [:],
        environment: [String: String] = [:], fallbackHome: String = "/"
    ) {
        self.identity = identity
        self.subject = subject
        self.deviceID = deviceID
        self.posture = posture
        self.environment = environment
        self.fallbackHome = fallbackHome
    }

    /// The home `~/` rules resolve against: the one Claude Code itself uses — the directory its
    /// transcript lives under (`<home>/.claude/projects/…`), else `HOME`, else the account's.
    public func home(for payload: HookPayload) -> String {
        if environment["CLAUDE_CONFIG_DIR"] == nil, let transcript = payload.transcriptPath,
            let range = transcript.range(of: "/.claude/projects/"), transcript.hasPrefix("/")
        {
            let home = String(transcript[..<range.lowerBound])
            return home.isEmpty ? "/" : home
        }
        if let home = environment["HOME"], home.hasPrefix("/") { return home }
        return fallbackHome
    }

    /// Claude Code's project root (`CLAUDE_PROJECT_DIR`), for single-slash `/path` rules.
    public func projectDir(for payload: HookPayload) -> String? {
        if let dir = environment["CLAUDE_PROJECT_DIR"], dir.hasPrefix("/") { return dir }
        return payload.cwd
    }
}

/// Where the entries go. `record` is durable on return or throws.
public protocol HookAuditSink: Sendable {
    func record(_ entry: AuditEntry) throws
    /// For reasons: where the log is.
    var location: String { get }
}

/// What one invocation did.
public struct HookOutcome: Sendable {
    public var response: HookResponse
    public var payload: HookPayload?
    public var decision: Decision?
    /// The entry appended (nil when there is no audit log or the append failed).
    public var recorded: AuditEntry?
    /// What failed, when the answer is a fail-closed one or the audit failed.
    public var failure: String?
}

public struct HookHandler: Sendable {
    public typealias PolicyLoader = @Sendable () -> Result<Policy, HookPolicyError>

    public var context: HookContext
    public var loadPolicy: PolicyLoader
    public var audit: (any HookAuditSink)?
    /// The other names of a path a file tool is about to open (its real path; in vigild also the
    /// protected names of the same inode), decided by the kernel rules like the path itself.
    public var pathAliases: @Sendable (String) -> [String]
    /// Each tool-call decision, at `info` when it is not an allow; the caller adds its own metadata.
    public var logger: Logger

    public init(
        context: HookContext, loadPolicy: @escaping PolicyLoader, audit: (any HookAuditSink)?, logger: Logger,
        pathAliases: @escaping @Sendable (String) -> [String] = ResolvedPath.aliases
    ) {
        self.context = context
        self.loadPolicy = loadPolicy
        self.audit = audit
        self.logger = logger
        self.pathAliases = pathAliases
    }

    public func handle(_ input: [UInt8]) -> HookOutcome {
        let payload: HookPayload
        do {
            payload = try HookPayload(json: input)
        } catch {
            return malformed(error, input: input)
        }
        switch payload.detail {
        case .preToolUse(let tool):
            return preToolUse(payload, tool)
        default:
            return observe(payload)
        }
    }

    // MARK: PreToolUse

    private func preToolUse(_ payload: HookPayload, _ tool: ToolUse) -> HookOutcome {
        let policy: Policy
        switch loadPolicy() {
        case .success(let loaded):
            policy = loaded
        case .failure(let error):
            let failure = error.description
            return denyFailClosed(payload, tool: tool, failure: failure, decision: nil)
        }
        let call = ToolCall(
            name: tool.name, input: tool.input, cwd: payload.cwd ?? "/", home: context.home(for: payload),
            projectDir: context.projectDir(for: payload))
        var decision = policy.decide(call, identity: context.identity, posture: context.posture)
        if decision.action != .deny {
            let effects = Policy.kernelEffects(of: call, aliases: pathAliases)
            if let kernelDeny = policy.decideKernelEffects(
                effects, identity: context.identity, posture: context.posture,
                context: KernelContext(home: context.home(for: payload)))
            {
                decision = kernelDeny
            }
        }
        let reason = HookReason.text(for: decision, tool: tool.name)
        logger.log(
            level: decision.action == .allow ? .debug : .info, "tool call decided",
            metadata: [
                "claude.session_id": "\(payload.sessionID)", "tool_use.id": "\(tool.id ?? "")", "tool.name": "\(tool.name)",
                "policy.decision": "\(decision.action.rawValue)", "policy.rule": "\(decision.winningRuleID ?? "")",
            ])
        guard let audit else {
            return HookOutcome(
                response: .preToolUse(decision.action, reason: reason), payload: payload, decision: decision, recorded: nil, failure: nil)
        }
        var entry = baseEntry(payload, kind: .toolCall)
        fillTool(&entry, tool, payload)
        entry.decision = AuditEntry.Decision(rawValue: decision.action.rawValue)
        entry.matchedRules = decision.matchedRuleIDs
        entry.winningRule = decision.winningRuleID
        entry.policyVersion = decision.policyVersion
        entry.enforcement = AuditEntry.Enforcement(
            action: decision.action == .allow ? "none" : "hookDeny", succeeded: true,
            detail: decision.action == .ask ? "ask (Claude Code prompts, or denies in -p)" : nil)
        entry.extra["reason"] = decision.reason
        do {
            try audit.record(entry)
        } catch {
            // The decision is not on record, so it does not stand: deny, and say why.
            let failure = "the audit log at \(audit.location) cannot record this call: \(error)"
            let response = HookResponse.preToolUse(
                .deny, reason: HookReason.failClosed(failure), stderr: "vigil hook: \(failure)")
            return HookOutcome(response: response, payload: payload, decision: decision, recorded: nil, failure: failure)
        }
        return HookOutcome(
            response: .preToolUse(decision.action, reason: reason), payload: payload, decision: decision,
            recorded: entry, failure: nil)
    }

    private func denyFailClosed(_ payload: HookPayload?, tool: ToolUse?, failure: String, decision: Decision?) -> HookOutcome {
        let reason = HookReason.failClosed(failure)
        var entry =
            payload.map { baseEntry($0, kind: .toolCall) }
            ?? AuditEntry(kind: .toolCall, subject: context.subject, deviceId: context.deviceID)
        if let tool, let payload { fillTool(&entry, tool, payload) }
        entry.decision = .deny
        entry.enforcement = AuditEntry.Enforcement(action: "hookDeny", succeeded: true, detail: "fail closed")
        entry.extra["failure"] = failure
        var stderr = "vigil hook: \(failure)"
        let recorded = record(entry, what: "the denial", stderr: &stderr)
        return HookOutcome(
            response: .preToolUse(.deny, reason: reason, stderr: stderr), payload: payload, decision: decision,
            recorded: recorded, failure: failure)
    }

    /// Records a failure's entry; if the log cannot take it either, says so on stderr.
    private func record(_ entry: AuditEntry, what: String, stderr: inout String) -> AuditEntry? {
        guard let audit else { return nil }
        do {
            try audit.record(entry)
            return entry
        } catch {
            stderr += "\nvigil hook: and the audit log at \(audit.location) cannot record \(what): \(error)"
            return nil
        }
    }

    private func malformed(_ error: HookPayloadError, input: [UInt8]) -> HookOutcome {
        let failure = error.description
        if error.event == .preToolUse {
            return denyFailClosed(nil, tool: nil, failure: failure, decision: nil)
        }
        var entry = AuditEntry(kind: AuditEntry.Kind(rawValue: "hookError"), subject: context.subject, deviceId: context.deviceID)
        entry.extra["failure"] = failure
        if let event = error.event { entry.extra["event"] = event.name }
        entry.extra["payloadBytes"] = String(input.count)
        var stderr = "vigil hook: \(failure)"
        let recorded = record(entry, what: "it", stderr: &stderr)
        switch error.event {
        case nil:
            // Unknown event: exit 2 blocks whatever it was, where it can block.
            return HookOutcome(response: .blockingError(stderr), payload: nil, decision: nil, recorded: recorded, failure: failure)
        case .userPromptSubmit?:
            return HookOutcome(
                response: .blockPrompt(reason: "Vigil blocked this prompt (fail closed): \(failure)", stderr: stderr),
                payload: nil, decision: nil, recorded: recorded, failure: failure)
        default:
            return HookOutcome(response: HookResponse(stderr: stderr, exitCode: 1), payload: nil, decision: nil, recorded: recorded, failure: failure)
        }
    }

    // MARK: Other events: recorded

    private func observe(_ payload: HookPayload) -> HookOutcome {
        guard let audit else { return HookOutcome(response: .silent, payload: payload, decision: nil, recorded: nil, failure: nil) }
        var entry: AuditEntry
        switch payload.detail {
        case .postToolUse(let tool, _, let duration):
            entry = baseEntry(payload, kind: .toolCall)
            fillTool(&entry, tool, payload)
            entry.extra["outcome"] = "ran"
            if let duration { entry.extra["durationMs"] = String(duration) }
        case .postToolUseFailure(let tool, let error, let interrupted, let duration):
            entry = baseEntry(payload, kind: .toolCall)
            fillTool(&entry, tool, payload)
            entry.extra["outcome"] = interrupted ? "interrupted" : "failed"
            if let error { entry.extra["error"] = InputSummary.truncate(InputSummary.redact(error), to: InputSummary.maximumFieldLength) }
            if let duration { entry.extra["durationMs"] = String(duration) }
        case .userPromptSubmit(let prompt):
            entry = baseEntry(payload, kind: .session)
            entry.extra["prompt"] = InputSummary.of(text: prompt)
            entry.extra["promptBytes"] = String(prompt.utf8.count)
        case .sessionStart(let source):
            entry = baseEntry(payload, kind: .session)
            if let source { entry.extra["source"] = source }
        case .sessionEnd(let reason):
            entry = baseEntry(payload, kind: .session)
            if let reason { entry.extra["reason"] = reason }
        case .stop(let active, let last):
            entry = baseEntry(payload, kind: .session)
            entry.extra["stopHookActive"] = active ? "true" : "false"
            if let last { entry.extra["lastAssistantMessage"] = InputSummary.of(text: last) }
        case .other, .preToolUse:
            entry = baseEntry(payload, kind: .session)
        }
        do {
            try audit.record(entry)
            return HookOutcome(response: .silent, payload: payload, decision: nil, recorded: entry, failure: nil)
        } catch {
            let failure = "the audit log at \(audit.location) cannot record this \(payload.event.name) event: \(error)"
            let response: HookResponse =
                payload.event == .userPromptSubmit
                ? .blockPrompt(reason: "Vigil blocked this prompt (fail closed): \(failure)", stderr: "vigil hook: \(failure)")
                : HookResponse(stderr: "vigil hook: \(failure)", exitCode: 1)
            return HookOutcome(response: response, payload: payload, decision: nil, recorded: nil, failure: failure)
        }
    }

    // MARK: Entries

    private func baseEntry(_ payload: HookPayload, kind: AuditEntry.Kind) -> AuditEntry {
        var entry = AuditEntry(kind: kind, subject: context.subject, deviceId: context.deviceID, sessionId: payload.sessionID)
        entry.action.cwd = payload.cwd
        entry.extra["event"] = payload.event.name
        entry.extra["producer"] = "claude-code.hook"
        if let prompt = payload.promptID { entry.extra["promptId"] = prompt }
        if let mode = payload.permissionMode { entry.extra["permissionMode"] = mode }
        if let agent = payload.agentID { entry.extra["agentId"] = agent }
        if let type = payload.agentType { entry.extra["agentType"] = type }
        if let transcript = payload.transcriptPath { entry.extra["transcriptPath"] = transcript }
        if let pid = context.environment["CLAUDE_PID"] { entry.extra["claudePid"] = pid }
        return entry
    }

    private func fillTool(_ entry: inout AuditEntry, _ tool: ToolUse, _ payload: HookPayload) {
        entry.action.toolName = tool.name
        entry.action.toolInput = InputSummary.of(toolInput: tool.input)
        if let id = tool.id { entry.extra["toolUseId"] = id }
        if case .object(let server)? = payload.fields["mcp_server"], let name = server["name"]?.stringValue {
            entry.extra["mcpServer"] = name
            if let source = server["source"]?.stringValue { entry.extra["mcpServerSource"] = source }
        }
    }
}

/// The other names of a path a tool is about to open: its real path (symlinks, `..`, `/proc/self/root`
/// resolved), or for a file that does not exist yet, its resolved directory plus its name.
public enum ResolvedPath {
    public static func aliases(_ path: String) -> [String] {
        if let real = realPath(path), real != path { return [real] }
        let slash = path.lastIndex(of: "/") ?? path.startIndex
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        let name = path[path.index(after: slash)...]
        guard !name.isEmpty, let real = realPath(directory) else { return [] }
        let joined = (real == "/" ? "" : real) + "/" + name
        return joined == path ? [] : [joined]
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

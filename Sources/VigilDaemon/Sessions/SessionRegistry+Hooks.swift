// SPDX-License-Identifier: Apache-2.0
// What a hook call adds to its session: adoption of a Claude Code that no `vigil claude` wrapped,
// Claude Code's session id, the tool call's attribution (its processes are tied to it until its
// result), and the conversation's timeline lines.
import Foundation
import Synchronization
import VigilAPI
import VigilAudit
import VigilClaude
import VigilCore
import VigilJSON
import VigilPolicy
import VigilRuntime
import VigilSensor

extension SessionRegistry {
    /// The session of a Claude Code process that called a hook outside every live session: a new,
    /// adopted one (its descendants included). Serialized, so two first calls make one session.
    func adopt(pid: Int32, uid: UInt32) -> Result<SessionID, DaemonError> {
        adoptionLock.withLock { _ -> Result<SessionID, DaemonError> in
            let again = sensor.session(of: pid)
            if again != 0, isLive(again) { return .success(again) }
            return Result { () throws(DaemonError) -> SessionID in
                Self.parseSessionID(try startSession(root: pid, uid: uid, origin: .adopted, cwd: nil).id)
            }
        }
    }

    static func parseSessionID(_ id: String) -> SessionID { UInt64(id, radix: 16) ?? 0 }

    /// Ties the call into its session: binds Claude Code's session id, starts or ends the tool
    /// call's attribution, and writes the conversation's line.
    func noteHookCall(_ payload: HookPayload, outcome: HookOutcome, session: SessionID, agentPID: Int32) {
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
                live.add(
                    TimelineRecord(
                        kind: .toolCall, toolUseID: tool.id, tool: tool.name, text: summary,
                        decision: outcome.failure == nil ? action : "deny", rule: decision?.winningRuleID,
                        reason: outcome.failure ?? (decision?.action == .allow ? nil : decision?.reason), pid: agentPID,
                        mechanism: decision?.action == .allow && outcome.failure == nil
                            ? nil
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
                live.add(
                    TimelineRecord(
                        kind: .toolResult, toolUseID: tool.id, tool: tool.name,
                        text: Self.resultText(response) + (duration.map { " (\($0) ms)" } ?? ""), decision: "ran"))
            case .postToolUseFailure(let tool, let error, let interrupted, _):
                if let id = tool.id {
                    state.attributor.end(toolUseID: id)
                    live.openToolCalls[id] = nil
                }
                live.add(
                    TimelineRecord(
                        kind: .toolResult, toolUseID: tool.id, tool: tool.name,
                        text: InputSummary.of(text: error ?? ""), decision: interrupted ? "interrupted" : "failed"))
            case .userPromptSubmit(let prompt):
                live.record.prompts += 1
                live.add(
                    TimelineRecord(kind: .prompt, text: InputSummary.of(text: prompt), decision: outcome.response.stdout.isEmpty ? nil : "blocked"))
            case .stop(_, let last):
                if let last { live.add(TimelineRecord(kind: .assistant, text: InputSummary.of(text: last))) }
            case .sessionStart(let source):
                live.add(
                    TimelineRecord(kind: .notice, text: "Claude Code session \(payload.sessionID) started (\(source ?? "startup"))", pid: agentPID))
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
}

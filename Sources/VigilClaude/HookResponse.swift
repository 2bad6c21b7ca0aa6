// SPDX-License-Identifier: Apache-2.0
// What a command hook prints and how it exits, in the forms Claude Code 2.1.330 honours
// (reference §1.5, verified): a PreToolUse decision is exit 0 with
//   {"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"…"}}
// and the model sees `PreToolUse:<Tool> hook error: <reason>` for a deny, the reason verbatim for an
// ask in `-p`. Never `{"continue":false}` (the tool still runs), never an invalid enum (fail-open).
import Foundation
import VigilPolicy

/// One hook answer: stdout, stderr and the exit status.
public struct HookResponse: Sendable, Hashable {
    /// Written to stdout (one JSON object, or nothing).
    public var stdout: String
    /// Written to stderr: what went wrong, for the user, the debug log or (exit 2) the model.
    public var stderr: String
    /// 0: Claude Code reads the JSON. 2: blocking error. 1: a failure (blocks only with `onFailure:"block"`).
    public var exitCode: Int32

    public init(stdout: String = "", stderr: String = "", exitCode: Int32 = 0) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitCode = exitCode
    }

    /// A PreToolUse decision. `allow` runs the call (even with no allow rule in Claude Code, though
    /// Claude Code's own deny and ask rules still apply); `ask` is a denial in `-p`; `deny` always wins.
    public static func preToolUse(_ action: PolicyAction, reason: String, stderr: String = "") -> HookResponse {
        let output = PreToolUseOutput(
            hookSpecificOutput: .init(permissionDecision: action.rawValue, permissionDecisionReason: reason))
        return HookResponse(stdout: encode(output), stderr: stderr, exitCode: 0)
    }

    /// UserPromptSubmit: no model call at all; Claude Code shows `reason` to the user.
    public static func blockPrompt(reason: String, stderr: String = "") -> HookResponse {
        HookResponse(stdout: encode(Block(reason: reason)), stderr: stderr, exitCode: 0)
    }

    /// Nothing to say: the event was recorded.
    public static let silent = HookResponse()

    /// The payload could not be read at all, so the event is unknown: exit 2 is Claude Code's
    /// blocking error for every event that can block; stderr (the reason) is what it shows.
    public static func blockingError(_ message: String) -> HookResponse {
        HookResponse(stderr: message, exitCode: 2)
    }

    private struct PreToolUseOutput: Encodable {
        struct Specific: Encodable {
            var hookEventName = "PreToolUse"
            var permissionDecision: String
            var permissionDecisionReason: String
        }
        var hookSpecificOutput: Specific
    }

    private struct Block: Encodable {
        var decision = "block"
        var reason: String
    }

    private static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        // Sorted keys give exactly the documented order: hookEventName, permissionDecision, permissionDecisionReason.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // These types hold only strings: encoding cannot fail.
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }
}

/// The reason texts the model and the user see. Each names the Vigil rule and the policy version,
/// so a denial in a transcript can be traced to the exact rule that made it.
public enum HookReason {
    public static func text(for decision: Decision, tool: String) -> String {
        let policy = "[policy \(decision.policyVersion)]"
        switch (decision.action, decision.winningRuleID) {
        case (.deny, let rule?):
            return "Denied by Vigil rule '\(rule)': \(decision.reason) \(policy)"
        case (.ask, let rule?):
            return "Vigil rule '\(rule)' requires approval for this \(tool) call: \(decision.reason) \(policy)"
        case (.allow, let rule?):
            return "Allowed by Vigil rule '\(rule)' \(policy)"
        case (.deny, nil):
            return "Denied by Vigil (no rule applies, the policy default is deny): \(decision.reason) \(policy)"
        case (.ask, nil):
            return "Vigil requires approval (no rule applies, the policy default is ask): \(decision.reason) \(policy)"
        case (.allow, nil):
            return "Allowed by Vigil (no rule applies, the policy default is allow) \(policy)"
        }
    }

    /// A fail-closed denial: Vigil could not decide, so the call does not run.
    public static func failClosed(_ what: String) -> String {
        "Denied by Vigil (fail closed): \(what)"
    }
}

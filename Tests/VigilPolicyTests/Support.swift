// SPDX-License-Identifier: Apache-2.0
// Shared helpers: Claude Code rule sets as policies, tool calls in the reference's setup (Appendix C).
import Testing
import VigilJSON
@testable import VigilPolicy

let cwd = "/home/dev/work/w6"
let home = "/home/dev/work/home6"
let someone = Identity(user: "dev")

/// What a vector expects. `unruled`: no rule applied, the default decided (Claude Code's own mode defaults
/// would decide there: Vigil's decision is its `defaults.tool`).
enum Expect: String, Sendable {
    case allow, ask, deny, unruled
}

struct Rules: Sendable, CustomStringConvertible {
    var allow: [String] = []
    var ask: [String] = []
    var deny: [String] = []

    var description: String {
        [("allow", allow), ("ask", ask), ("deny", deny)].filter { !$0.1.isEmpty }
            .map { "\($0.0) \($0.1.joined(separator: ", "))" }.joined(separator: "; ")
    }

    /// The rules as a project settings file, imported the way `vigil policy import` does.
    func policy() throws -> Policy {
        func list(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        let json = "{\"permissions\": {\"allow\": \(list(allow)), \"ask\": \(list(ask)), \"deny\": \(list(deny))}}"
        let layer = ClaudeSettingsLayer(source: .project, path: cwd + "/.claude/settings.json", text: json)
        return try Policy(yaml: ClaudeSettingsImport.yaml(from: [layer]), file: "imported.yaml")
    }
}

struct Vector: Sendable, CustomTestStringConvertible {
    var rules: Rules
    var tool: String
    var input: String
    var expect: Expect

    init(_ rules: Rules, _ tool: String, _ input: String, _ expect: Expect) {
        self.rules = rules
        self.tool = tool
        self.input = input
        self.expect = expect
    }

    var testDescription: String { "[\(rules)] \(tool) \(input) → \(expect.rawValue)" }

    var call: ToolCall { toolCall(tool, input) }
}

func toolCall(_ tool: String, _ input: String) -> ToolCall {
    let fields: [String: JSONValue]
    if input.hasPrefix("{\"") {
        fields = (try? JSONValue.object(parsing: input, mainField: nil)) ?? [:]
    } else {
        fields = [JSONValue.mainField(forTool: tool) ?? "input": .string(input)]
    }
    return ToolCall(name: tool, input: fields, cwd: cwd, home: home)
}

func outcome(_ decision: Decision) -> Expect {
    decision.isDefault ? .unruled : Expect(rawValue: decision.action.rawValue)!
}

func check(_ vector: Vector) throws {
    let policy = try vector.rules.policy()
    let decision = policy.decide(vector.call, identity: someone)
    #expect(outcome(decision) == vector.expect, "\(decision.reason) matched \(decision.matchedRuleIDs)")
}

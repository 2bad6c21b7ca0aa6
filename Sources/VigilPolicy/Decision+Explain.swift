// SPDX-License-Identifier: Apache-2.0
// Rendering a decision for `vigil policy explain`, and reading its command-line inputs.
import Foundation
import VigilJSON

extension Decision: Encodable {
    private enum Keys: String, CodingKey {
        case action, enforcement, matchedRuleIDs = "matched_rule_ids", winningRuleID = "winning_rule_id", reason
        case policyVersion = "policy_version", derived, isDefault = "default"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(action.rawValue, forKey: .action)
        try container.encode(enforcement.rawValue, forKey: .enforcement)
        try container.encode(matchedRuleIDs, forKey: .matchedRuleIDs)
        try container.encode(winningRuleID, forKey: .winningRuleID)
        try container.encode(reason, forKey: .reason)
        try container.encode(policyVersion, forKey: .policyVersion)
        try container.encode(derived, forKey: .derived)
        try container.encode(isDefault, forKey: .isDefault)
    }

    /// One JSON object, keys sorted.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

extension Policy {
    /// A human explanation: the decision, the rule that won and why, what else matched.
    public func explanation(of decision: Decision) -> String {
        var lines = ["decision: \(decision.action.rawValue)"]
        if decision.enforcement != .none { lines.append("kernel: \(decision.enforcement.rawValue)") }
        if let winner = decision.winningRuleID, let rule = document.rules.first(where: { $0.id == winner }) {
            var line = "rule: \(winner) — \(rule.action.rawValue) \(rule.match), scope \(rule.scope.description)"
            if !rule.conditions.isEmpty { line += ", when \(rule.conditions.map(\.description).joined(separator: " and "))" }
            lines.append(line)
            if decision.derived, let derivation = derivations.first(where: { $0.ruleID == winner }) {
                lines.append("derived: \(derivation.note)")
            }
            lines.append("at: \(document.file):\(rule.location.line):\(rule.location.column)")
        } else {
            lines.append("rule: none applied; the default decided")
        }
        lines.append("reason: \(decision.reason)")
        let others = decision.matchedRuleIDs.filter { $0 != decision.winningRuleID }
        if !others.isEmpty { lines.append("also matched: \(others.joined(separator: ", "))") }
        lines.append("policy: \(decision.policyVersion)")
        return lines.joined(separator: "\n")
    }
}

extension PostureFact {
    /// `true`/`false` → bool, digits → int, `unknown` or `unknown:why` → unknown, anything else → string.
    public init(parsing text: String) {
        if text == "true" || text == "false" {
            self = .bool(text == "true")
        } else if let number = Int(text) {
            self = .int(number)
        } else if text == "unknown" || text.hasPrefix("unknown:") {
            self = .unknown(text == "unknown" ? "given as unknown" : String(text.dropFirst(8)))
        } else {
            self = .string(text)
        }
    }
}

extension JSONValue {
    /// Parses a JSON object (a tool input); a bare string is taken as the tool's main field.
    public static func object(parsing text: String, mainField: String?) throws -> [String: JSONValue] {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        switch value {
        case .object(let fields): return fields
        case .string(let string) where mainField != nil: return [mainField!: .string(string)]
        default: throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the input must be a JSON object"))
        }
    }

    /// The field a bare string input stands for: `command` for Bash, `file_path` for Read, …
    public static func mainField(forTool tool: String) -> String? {
        switch tool {
        case "Bash": "command"
        case "Read", "Edit", "Write", "MultiEdit": "file_path"
        case "NotebookEdit": "notebook_path"
        case "WebFetch": "url"
        case "WebSearch": "query"
        case "Agent", "Task": "subagent_type"
        case "Glob", "Grep", "LS": "path"
        default: nil
        }
    }
}

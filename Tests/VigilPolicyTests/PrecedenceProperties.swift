// SPDX-License-Identifier: Apache-2.0
// Property tests over random policies: deny > ask > allow holds whatever the rule order, adding a deny
// never loosens, adding an allow never overrides a deny or ask, unknown posture never loosens.
import Testing
@testable import VigilPolicy

/// SplitMix64: a small seeded generator so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private let patterns = [
    "Bash", "Bash(git *)", "Bash(git push *)", "Bash(npm *)", "Bash(curl *)", "Bash(rm -rf *)", "Bash(*)",
    "Bash(ls*)", "Read(.env)", "Read(src/**)", "Edit(src/**)", "Edit", "Read", "WebFetch", "WebFetch(domain:*.a.com)",
    "mcp__sec", "mcp__sec__echo",
]
private let calls: [ToolCall] = [
    toolCall("Bash", "git push origin main"), toolCall("Bash", "git status && npm test"),
    toolCall("Bash", "bash -c 'curl x | sh'"), toolCall("Bash", "ls -la; rm -rf build"),
    toolCall("Bash", "cat .env"), toolCall("Read", "/home/dev/work/w6/.env"), toolCall("Edit", "/home/dev/work/w6/src/a.ts"),
    toolCall("WebFetch", "https://x.a.com/"), toolCall("mcp__sec__echo", "{\"text\": \"x\"}"),
    toolCall("Bash", "npm $(git rev-parse HEAD)"),
]
private let conditions = [nil, "disk_encrypted == false", "os_patch_age_days > 30"]

private func randomRules(_ rng: inout SeededGenerator, count: Int, prefix: String) -> [PolicyRule] {
    (0..<count).map { index in
        var rule = PolicyRule(
            id: "\(prefix)\(index)", match: patterns.randomElement(using: &rng)!,
            action: PolicyAction.allCases.randomElement(using: &rng)!)
        if let text = conditions.randomElement(using: &rng)!, let condition = try? PostureCondition(parsing: text) {
            rule.conditions = [condition]
        }
        return rule
    }
}

private func decide(_ rules: [PolicyRule], _ call: ToolCall, posture: [String: PostureFact] = [:]) throws -> PolicyAction {
    try Policy(document: PolicyDocument(rules: rules)).decide(call, identity: someone, posture: posture).action
}

@Test(arguments: 0..<40)
func precedenceInvariants(seed: Int) throws {
    var rng = SeededGenerator(state: UInt64(seed) &* 7919)
    let rules = randomRules(&rng, count: Int.random(in: 1...8, using: &rng), prefix: "r")
    let posture: [String: PostureFact] = [
        "disk_encrypted": .bool(Bool.random(using: &rng)),
        "os_patch_age_days": .int(Int.random(in: 0...60, using: &rng)),
    ]
    for call in calls {
        let base = try decide(rules, call, posture: posture)
        // Order doesn't matter for the action.
        #expect(try decide(rules.shuffled(using: &rng), call, posture: posture) == base)
        // More denies never loosen; more allows never override a deny or ask.
        let extra = randomRules(&rng, count: 2, prefix: "x")
        let moreDenies = extra.map {
            var rule = $0; rule.action = .deny; return rule
        }
        let moreAllows = extra.map {
            var rule = $0; rule.action = .allow; return rule
        }
        #expect(try decide(rules + moreDenies, call, posture: posture) >= base)
        let ruled = try !Policy(document: PolicyDocument(rules: rules)).decide(call, identity: someone, posture: posture).isDefault
        if base != .allow, ruled { #expect(try decide(rules + moreAllows, call, posture: posture) == base) }
        // Without allow rules nothing is allowed (the default is ask).
        #expect(try decide(rules.filter { $0.action != .allow }, call, posture: posture) != .allow)
        // Unknown posture fails closed: never looser than any known posture.
        #expect(try decide(rules, call, posture: [:]) >= base)
        // A deny matched anywhere decides.
        let policy = try Policy(document: PolicyDocument(rules: rules))
        let decision = policy.decide(call, identity: someone, posture: posture)
        let matchedDeny = decision.matchedRuleIDs.contains { id in rules.first { $0.id == id }?.action == .deny }
        #expect(matchedDeny == (decision.action == .deny))
    }
}

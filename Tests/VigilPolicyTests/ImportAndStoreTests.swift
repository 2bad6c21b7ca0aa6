// SPDX-License-Identifier: Apache-2.0
// Claude Code settings layers merged into one policy; the store that keeps the last good policy.
import Crypto
import Testing
import VigilCore
@testable import VigilPolicy

private func layer(_ source: ClaudeSettingsLayer.Source, _ path: String, _ json: String) -> ClaudeSettingsLayer {
    ClaudeSettingsLayer(source: source, path: path, text: json)
}

private let user = layer(
    .user, "/home/dev/work/home6/.claude/settings.json",
    #"{"permissions": {"allow": ["Bash(touch *)"], "deny": ["Read(/secret)"]}}"#)
private let project = layer(.project, cwd + "/.claude/settings.json", #"{"permissions": {"deny": ["Bash(touch *)"]}}"#)
private let local = layer(.local, cwd + "/.claude/settings.local.json", #"{"permissions": {"ask": ["Bash(deploy *)"]}}"#)
private let managed = layer(
    .managed, "/etc/claude-code/managed-settings.json",
    #"{"permissions": {"deny": ["Bash(echo *)", "Read(/keys/**)"]}}"#)

private func decide(_ layers: [ClaudeSettingsLayer], _ tool: String, _ input: String) throws -> Decision {
    try Policy(yaml: ClaudeSettingsImport.yaml(from: layers), file: "i.yaml").decide(toolCall(tool, input), identity: someone)
}

@Test func layersMergeWithDenyFromAnySourceWinning() throws {
    #expect(try decide([user], "Bash", "touch x").action == .allow)
    #expect(try decide([user, project], "Bash", "touch x").action == .deny)
    #expect(try decide([project, user], "Bash", "touch x").winningRuleID == "project-deny-1")
    #expect(try decide([user, local], "Bash", "deploy x").action == .ask)
    #expect(try decide([managed, user], "Bash", "echo hi").action == .deny)
}

@Test func singleSlashRulesAreAnchoredAtTheirSettingsSource() throws {
    let yaml = try ClaudeSettingsImport.yaml(from: [user, managed])
    #expect(yaml.contains("Read(~/.claude/secret)"))
    #expect(yaml.contains("Read(//etc/claude-code/keys/**)"))
    #expect(try decide([user], "Read", home + "/.claude/secret").action == .deny)
    #expect(try decide([managed], "Read", "/etc/claude-code/keys/k").action == .deny)
}

@Test func managedOnlyDropsEveryOtherLayer() throws {
    let locked = layer(
        .managed, "/etc/claude-code/managed-settings.json",
        #"{"allowManagedPermissionRulesOnly": true, "permissions": {"allow": ["Bash(ls *)"]}}"#)
    #expect(try decide([locked, project], "Bash", "touch x").isDefault)
    #expect(try decide([locked, user], "Bash", "ls -la").action == .allow)
}

@Test func layerGuessedFromPath() {
    #expect(ClaudeSettingsLayer.source(forPath: "/etc/claude-code/managed-settings.json", home: home) == .managed)
    #expect(ClaudeSettingsLayer.source(forPath: "/etc/claude-code/managed-settings.d/10-x.json", home: home) == .managed)
    #expect(ClaudeSettingsLayer.source(forPath: home + "/.claude/settings.json", home: home) == .user)
    #expect(ClaudeSettingsLayer.source(forPath: cwd + "/.claude/settings.local.json", home: home) == .local)
    #expect(ClaudeSettingsLayer.source(forPath: cwd + "/.claude/settings.json", home: home) == .project)
}

@Test func badSettingsAreLocated() {
    let broken = layer(.project, "s.json", "{\n  \"permissions\": {\n    \"deny\": [\"Bash(x\"]\n  }\n}\n")
    #expect(throws: PolicyError.self) { try ClaudeSettingsImport.yaml(from: [broken]) }
    do {
        _ = try ClaudeSettingsImport.yaml(from: [broken])
    } catch {
        #expect(error.file == "s.json" && error.line == 3 && error.column == 14, "\(error)")
    }
}

@Test func storeKeepsTheLastGoodPolicy() throws {
    let store = PolicyStore(try Policy(yaml: "version: one\nrules:\n  - {id: a, match: Bash, action: deny}\n", file: "p.yaml"))
    let first = store.current.version
    #expect(throws: PolicyError.self) {
        try store.reload(yaml: "version: two\nrules:\n  - {id: a, match: Bash(, action: allow}\n", file: "p.yaml")
    }
    #expect(store.current.version == first)
    #expect(store.current.decide(toolCall("Bash", "ls"), identity: someone).action == .deny)
    try store.reload(yaml: "version: three\nrules:\n  - {id: a, match: Bash, action: allow}\n", file: "p.yaml")
    #expect(store.current.version.hasPrefix("three+"))
    #expect(store.current.decide(toolCall("Bash", "ls"), identity: someone).action == .allow)
}

@Test func explanationNamesTheWinningRule() throws {
    let policy = try Policy(
        yaml: "rules:\n  - {id: no-curl, match: Bash(curl *), action: deny, reason: use the proxy}\n",
        file: "p.yaml")
    let decision = policy.decide(toolCall("Bash", "curl x"), identity: someone)
    let text = policy.explanation(of: decision)
    #expect(text.contains("decision: deny"))
    #expect(text.contains("rule: no-curl — deny Bash(curl *)"))
    #expect(text.contains("at: p.yaml:2:5"))
    #expect(text.contains("reason: use the proxy"))
    #expect(decision.json.contains(#""winning_rule_id":"no-curl""#))
}

@Test func sha256KnownAnswers() {
    #expect(SHA256.hexDigest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hexDigest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(SHA256.hexDigest(Array(String(repeating: "a", count: 1000).utf8)).hasPrefix("41edece42d63e8d9"))
}

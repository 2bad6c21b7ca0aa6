// SPDX-License-Identifier: Apache-2.0
// The YAML document: what is accepted, and where and why the rest is rejected.
import Testing
@testable import VigilPolicy

private func policy(_ yaml: String) throws(PolicyError) -> Policy {
    try Policy(yaml: yaml, file: "p.yaml")
}

private func failure(_ yaml: String) -> PolicyError? {
    do {
        _ = try policy(yaml)
        return nil
    } catch {
        return error
    }
}

@Test func documentDefaultsAndVersion() throws {
    let p = try policy("vigil: 1\nversion: v7\ndefaults: {tool: deny, kernel: flag}\nrules: []\n")
    #expect(p.version.hasPrefix("v7+"))
    #expect(p.version.count == "v7+".count + 12)
    #expect(p.documentHash.count == 64)
    let decision = p.decide(toolCall("Bash", "ls"), identity: someone)
    #expect(decision.action == .deny && decision.isDefault)
    #expect(p.decide(.exec(path: "/bin/ls", argv: ["ls"]), identity: someone).enforcement == .flag)
}

@Test func versionChangesWithTheText() throws {
    let a = try policy("rules: []\n")
    let b = try policy("rules: []\n# comment\n")
    #expect(a.version != b.version)
}

@Test(arguments: [
    ("rules:\n  - id: a\n    match: Bash(\n    action: deny\n", 3, 12, "a", "missing its closing"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: block\n", 4, 13, "a", "action must be one of"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: deny\n    scop: everyone\n", 5, 5, "a", "unknown key 'scop'"),
    ("rules:\n  - match: Bash(x)\n    action: deny\n", 2, 5, nil, "no 'id'"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: deny\n    when: disk_encrypted = false\n", 5, 11, "a", "needs one of"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: deny\n    when: disk_encrypted > true\n", 5, 11, "a", "can't compare"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: deny\n    when: os_patch_age_days == yes\n", 5, 11, "a", "is a int"),
    ("rules:\n  - id: a\n    match: WebFetch(https://x.com)\n    action: deny\n", 3, 12, "a", "domain:HOST"),
    ("rules:\n  - id: a\n    match: Connect(10.0.0.0/33)\n    action: deny\n", 3, 12, "a", "neither an IP"),
    ("rules:\n  - id: a\n    match: Exec(curl)\n    action: ask\n", 2, 5, "a", "the kernel can't ask"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: allow\n    kernel: kill\n", 2, 5, "a", "'kernel:' says"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: deny\n  - id: a\n    match: Bash(y)\n    action: deny\n", 5, 5, "a", "duplicate rule id"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: allow\n    overrides: [nope]\n", 2, 5, "a", "not a rule"),
    (
        "rules:\n  - id: a\n    match: Bash(x)\n    action: allow\n  - id: b\n    match: Bash(x)\n    action: allow\n    overrides: a\n", 5, 5, "b",
        "not stricter"
    ),
    ("rules:\n  - id: a\n    match: Read(../x)\n    action: deny\n", 3, 12, "a", "'..'"),
    ("rules:\n  - id: a\n    match: Bash(x)\n    action: deny\n    scope: {team: []}\n", 5, 19, "a", "empty list"),
    ("rules: [\n", 2, 1, nil, "invalid YAML"),
    ("vigil: 2\nrules: []\n", 1, 8, nil, "unsupported policy schema"),
    ("version: 1\n", 1, 1, nil, "needs a 'rules' list"),
])
func rejectsWithLocation(_ yaml: String, _ line: Int, _ column: Int, _ rule: String?, _ reason: String) {
    guard let error = failure(yaml) else {
        Issue.record("accepted: \(yaml)")
        return
    }
    #expect(error.file == "p.yaml")
    #expect(error.line == line && error.column == column, "\(error)")
    #expect(error.ruleID == rule)
    #expect(error.reason.contains(reason), "\(error.reason)")
    #expect(error.description.hasPrefix("p.yaml:\(line):\(column):"))
}

@Test func warnsAboutFormsClaudeCodeNeverMatches() throws {
    let p = try policy(
        """
        rules:
          - {id: a, match: "mcp__*", action: allow}
          - {id: b, match: Write(src/**), action: allow}
          - {id: c, match: Bash(run_in_background:true), action: allow}
          - {id: d, match: Bash(x), action: deny, when: made_up == 1}
        """)
    #expect(p.warnings.map(\.ruleID) == ["a", "b", "c", "d"])
}

@Test func examplePolicyShapeCompiles() throws {
    let p = try policy(
        """
        vigil: 1
        rules:
          - id: no-curl
            match: Bash(curl *)
            action: deny
            kernel: kill
          - id: git-push
            match: Bash(git push *)
            action: deny
          - id: wild
            match: Bash(* --force)
            action: deny
        """)
    #expect(p.derivations.map(\.kernelRule) == ["Exec(curl)", "Exec(git push *)", nil])
    #expect(p.compiledRuleCount == 5)
}

// SPDX-License-Identifier: Apache-2.0
// Kernel rules decide tool calls too: the file a file tool opens and the address WebFetch connects to
// are decided by the same Open/Connect rules the kernel holds, before the tool runs.
import Testing
import VigilJSON
@testable import VigilPolicy

private let rules = """
    vigil: 1
    defaults: {tool: allow}
    rules:
      - {id: env, match: Open(**/.env), action: deny, reason: Secrets belong in the vault.}
      - {id: vault, match: Open(/srv/vault/**), action: deny, kernel: flag}
      - {id: meta, match: Connect(169.254.169.254), action: deny}
      - {id: v6, match: "Connect([fd00::1]:8443)", action: deny}
    """

private func call(_ tool: String, _ input: [String: JSONValue], cwd: String = "/home/dev/proj") -> ToolCall {
    ToolCall(name: tool, input: input, cwd: cwd, home: "/home/dev", projectDir: cwd)
}

private func decide(_ call: ToolCall, aliases: (String) -> [String] = { _ in [] }) throws -> Decision? {
    let policy = try Policy(yaml: rules, file: "effects.yaml")
    // The tool rules alone allow all of these: only the kernel rules can refuse them.
    #expect(policy.decide(call, identity: Identity(user: "dev")).action == .allow)
    return policy.decideKernelEffects(
        Policy.kernelEffects(of: call, aliases: aliases), identity: Identity(user: "dev"),
        context: KernelContext(home: "/home/dev"))
}

@Test(arguments: [
    ("Read", "file_path", ".env", "env"),
    ("Read", "file_path", "/home/dev/proj/sub/.env", "env"),
    ("Edit", "file_path", "config/.env", "env"),
    ("Write", "file_path", "/srv/vault/token", "vault"),
    ("NotebookEdit", "notebook_path", "/srv/vault/n.ipynb", "vault"),
])
func fileToolsOverAProtectedPathAreDenied(tool: String, field: String, path: String, rule: String) throws {
    let decision = try #require(try decide(call(tool, [field: .string(path)])))
    #expect(decision.action == .deny)
    #expect(decision.winningRuleID == rule)
    #expect(decision.reason.contains("kernel rule \(rule)"), "\(decision.reason)")
}

@Test func theRulesReasonReachesTheModel() throws {
    let decision = try #require(try decide(call("Read", ["file_path": .string(".env")])))
    #expect(decision.reason.contains("Secrets belong in the vault."))
    #expect(decision.reason.contains("reading /home/dev/proj/.env"))
}

@Test func aProtectedFileReachedThroughAnotherNameIsDenied() throws {
    // A symlink in the project that points into the vault: the resolved name is what the kernel opens.
    let decision = try decide(call("Read", ["file_path": .string("notes.txt")])) { path in
        path == "/home/dev/proj/notes.txt" ? ["/srv/vault/token"] : []
    }
    #expect(decision?.winningRuleID == "vault")
}

@Test func theNeighboursStillWork() throws {
    #expect(try decide(call("Read", ["file_path": .string("README.md")])) == nil)
    #expect(try decide(call("Write", ["file_path": .string("/srv/app/.envrc")])) == nil)
    #expect(try decide(call("Bash", ["command": .string("ls")])) == nil)
    #expect(try decide(call("WebFetch", ["url": .string("https://example.com/x")])) == nil)
    #expect(try decide(call("WebFetch", ["url": .string("http://[fd00::1]:443/")])) == nil)
}

@Test(arguments: [
    ("http://169.254.169.254/latest/meta-data/", "meta"),
    ("https://user@169.254.169.254:8080/x?y", "meta"),
    ("https://[fd00::1]:8443/", "v6"),
])
func webFetchToARefusedAddressIsDenied(url: String, rule: String) throws {
    let decision = try #require(try decide(call("WebFetch", ["url": .string(url)])))
    #expect(decision.winningRuleID == rule)
}

@Test func urlPorts() {
    #expect(urlPort("https://a.b:8443/x") == 8443)
    #expect(urlPort("https://a.b/x:9") == nil)
    #expect(urlPort("http://[::1]:81/") == 81)
    #expect(urlPort("http://[::1]/") == nil)
    #expect(urlPort("https://u:p@h:99") == 99)
}

// SPDX-License-Identifier: Apache-2.0
// An enrolled device: the console's document, and a local file that may only add denials.
import Testing

@testable import VigilPolicy

private let console = """
    vigil: 1
    version: org-3
    defaults:
      tool: allow
    rules:
      - {id: no-kubectl, match: Bash(kubectl *), action: deny}
      - {id: infra-kubectl, match: Bash(kubectl *), action: allow, scope: {team: infra}, overrides: [no-kubectl]}
    """

private let local = """
    vigil: 1
    version: laptop-1
    defaults:
      tool: deny
    rules:
      - {id: no-curl, match: Bash(curl *), action: deny}
      - {id: allow-kubectl, match: Bash(kubectl *), action: allow, overrides: [no-kubectl]}
      - {id: ask-rm, match: Bash(rm *), action: ask, overrides: [infra-kubectl]}
    """

@Test func aLocalFileAddsDenialsAndNeverAllows() throws {
    let (document, dropped) = PolicyDocument.layered(
        console: try PolicyDocument(yaml: console, file: "console"), local: try PolicyDocument(yaml: local, file: "/etc/vigil/policy.yaml"))
    let policy = try Policy(document: document)
    let web = Identity(user: "dev", teams: ["web"])
    let infra = Identity(user: "ivan", teams: ["infra"])
    // The local allow that would lift the console's deny is left out.
    #expect(policy.decide(toolCall("Bash", "kubectl get pods"), identity: web).action == .deny)
    #expect(policy.decide(toolCall("Bash", "kubectl get pods"), identity: infra).action == .allow)
    // Its denials and asks apply, to everyone, with their ids marked local.
    let curl = policy.decide(toolCall("Bash", "curl https://x"), identity: infra)
    #expect(curl.action == .deny && curl.winningRuleID == "local.no-curl")
    #expect(policy.decide(toolCall("Bash", "rm -rf build"), identity: web).action == .ask)
    // The console's default stays.
    #expect(policy.decide(toolCall("Bash", "ls"), identity: web).action == .allow)
    #expect(dropped.count == 3)
    #expect(dropped.contains { $0.hasPrefix("allow-kubectl:") })
    #expect(dropped.contains { $0.hasPrefix("ask-rm:") && $0.contains("lifts nothing") })
    #expect(dropped.contains { $0.hasPrefix("defaults.tool:") })
    #expect(document.version == "org-3+local.laptop-1")
}

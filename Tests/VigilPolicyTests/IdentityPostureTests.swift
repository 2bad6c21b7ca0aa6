// SPDX-License-Identifier: Apache-2.0
// Scopes, posture conditions, unknown posture, and `overrides:` exceptions.
import Testing
@testable import VigilPolicy

private let kubePolicy = """
    rules:
      - {id: no-kubectl, match: Bash(kubectl *), action: deny}
      - {id: infra-kubectl, match: Bash(kubectl *), action: allow, scope: {team: infra}, overrides: [no-kubectl]}
      - {id: contractors-no-bash, match: Bash, action: deny, scope: {role: contractor}}
      - {id: everyone-bash, match: Bash, action: allow}
    """

private let alice = Identity(user: "alice", teams: ["web"], role: "engineer")
private let ivan = Identity(user: "ivan", teams: ["infra"], role: "engineer")
private let carl = Identity(user: "carl", teams: ["infra"], role: "contractor")

@Test(arguments: [
    (alice, "kubectl get pods", PolicyAction.deny, "no-kubectl"),
    (ivan, "kubectl get pods", .allow, "infra-kubectl"),
    (carl, "kubectl get pods", .deny, "contractors-no-bash"),
    (carl, "ls", .deny, "contractors-no-bash"),
    (alice, "ls", .allow, "everyone-bash"),
    // The exception lifts the deny only where it covers every part the deny hit.
    (ivan, "kubectl get pods && bash -c 'kubectl delete ns prod'", .deny, "no-kubectl"),
    (ivan, "timeout 5 kubectl get pods", .allow, "infra-kubectl"),
    (ivan, "env kubectl get pods", .deny, "no-kubectl"),
])
func identityScopedCombinations(_ who: Identity, _ command: String, _ action: PolicyAction, _ winner: String) throws {
    let policy = try Policy(yaml: kubePolicy, file: "p.yaml")
    let decision = policy.decide(toolCall("Bash", command), identity: who)
    #expect(decision.action == action)
    #expect(decision.winningRuleID == winner)
}

@Test func derivedKernelRulesFollowExceptions() throws {
    let policy = try Policy(yaml: kubePolicy, file: "p.yaml")
    let exec = KernelAction.exec(path: "/usr/bin/kubectl", argv: ["kubectl", "get", "pods"])
    let forAlice = policy.decide(exec, identity: alice)
    #expect(forAlice.action == .deny && forAlice.derived && forAlice.enforcement == .deny)
    #expect(policy.decide(exec, identity: ivan).action == .allow)
}

@Test func scopeListsAndCombinations() {
    let scope = Scope(teams: ["infra", "sre"], roles: ["engineer"])
    #expect(scope.contains(ivan))
    #expect(!scope.contains(carl))
    #expect(!scope.contains(alice))
    #expect(Scope(devices: ["laptop-1"]).contains(Identity(user: "x", device: "laptop-1")))
    #expect(!Scope(devices: ["laptop-1"]).contains(Identity(user: "x")))
    #expect(Scope.everyone.contains(Identity(user: "anyone")))
}

private let posturePolicy = """
    rules:
      - {id: enc, match: Read(**/.env), action: deny, when: disk_encrypted == false}
      - {id: patch, match: Bash, action: ask, when: [os_patch_age_days > 30]}
      - {id: kernel-ok, match: Bash(make *), action: allow, when: 'kernel_version >= "6.1"'}
      - {id: lenient, match: Bash(ls *), action: allow, when: edr_running == true, on_unknown: match}
    """

@Test(arguments: [
    (["disk_encrypted": PostureFact.bool(false)], "Read", "/w/.env", Expect.deny),
    (["disk_encrypted": .bool(true)], "Read", "/w/.env", .unruled),
    // Unknown posture fails closed: a deny whose condition can't be evaluated applies…
    (["disk_encrypted": .unknown("no LUKS info")], "Read", "/w/.env", .deny),
    ([:], "Read", "/w/.env", .deny),
    (["disk_encrypted": .int(0)], "Read", "/w/.env", .deny),
    (["os_patch_age_days": .int(31)], "Bash", "echo", .ask),
    (["os_patch_age_days": .int(30)], "Bash", "echo", .unruled),
    (["os_patch_age_days": .int(3), "kernel_version": .string("6.18.0")], "Bash", "make all", .allow),
    (["os_patch_age_days": .int(3), "kernel_version": .string("5.15.0")], "Bash", "make all", .unruled),
    // …and an allow whose condition can't be evaluated does not.
    (["os_patch_age_days": .int(3)], "Bash", "make all", .unruled),
    (["os_patch_age_days": .int(3)], "Bash", "ls -la", .allow),
    (["os_patch_age_days": .int(3), "edr_running": .bool(false)], "Bash", "ls -la", .unruled),
])
func postureConditions(_ posture: [String: PostureFact], _ tool: String, _ input: String, _ expect: Expect) throws {
    let policy = try Policy(yaml: posturePolicy, file: "p.yaml")
    #expect(outcome(policy.decide(toolCall(tool, input), identity: someone, posture: posture)) == expect)
}

@Test func documentCanSayWhatUnknownMeans() throws {
    let policy = try Policy(
        yaml: """
            defaults: {unknown_posture: no_match}
            rules:
              - {id: enc, match: Bash(x), action: deny, when: disk_encrypted == false}
            """, file: "p.yaml")
    #expect(policy.decide(toolCall("Bash", "x"), identity: someone).isDefault)
}

@Test func versionComparison() {
    #expect(PostureCondition.compareVersions("6.10", "6.9") == 1)
    #expect(PostureCondition.compareVersions("6.1.0", "6.1") == 0)
    #expect(PostureCondition.compareVersions("abc", "abd") == -1)
}

// SPDX-License-Identifier: Apache-2.0
// Scopes for verified people: a bound OS account is decided as its person (email, teams, roles),
// `identity: unverified` is every account bound to no one, and such a rule's deny says how to bind.
import Testing

@testable import VigilPolicy

private let peoplePolicy = """
    defaults:
      tool: allow
    rules:
      - {id: no-kubectl, match: Bash(kubectl *), action: deny}
      - {id: infra-kubectl, match: Bash(kubectl *), action: allow, scope: {team: infra}, overrides: [no-kubectl]}
      - {id: ana-deploys, match: Bash(deploy *), action: allow, scope: {user: ana@example.com}, overrides: [no-deploy]}
      - {id: no-deploy, match: Bash(deploy *), action: deny}
      - {id: sre-reboots, match: Bash(reboot), action: allow, scope: {role: sre}, overrides: [no-reboot]}
      - {id: no-reboot, match: Bash(reboot), action: deny}
      - {id: unverified-no-push, match: Bash(git push *), action: deny, scope: {identity: unverified}}
      - {id: verified-curl, match: Bash(curl *), action: ask, scope: {identity: verified}}
    """

private let ana = Identity.verified(user: "dev1", email: "ana@example.com", teams: ["infra"], roles: ["sre"], device: "dev_1")
private let bo = Identity.verified(user: "dev2", email: "bo@example.com", teams: ["web"], roles: [], device: "dev_1")
/// Bound to no one; its account name and Unix group look like ana's, which does not make it her.
private let stranger = Identity(user: "ana@example.com", teams: ["web"], device: "dev_1")

@Test(arguments: [
    (ana, "kubectl get pods", PolicyAction.allow, String?("infra-kubectl")),
    (bo, "kubectl get pods", .deny, "no-kubectl"),
    (ana, "deploy web", .allow, "ana-deploys"),
    (bo, "deploy web", .deny, "no-deploy"),
    (ana, "reboot", .allow, "sre-reboots"),
    (bo, "reboot", .deny, "no-reboot"),
    (bo, "git push origin main", .allow, nil),
    (stranger, "git push origin main", .deny, "unverified-no-push"),
    (bo, "curl https://example.com", .ask, "verified-curl"),
    (stranger, "curl https://example.com", .allow, nil),
])
func aBoundAccountIsDecidedAsItsPerson(_ who: Identity, _ command: String, _ action: PolicyAction, _ winner: String?) throws {
    let policy = try Policy(yaml: peoplePolicy, file: "p.yaml")
    let decision = policy.decide(toolCall("Bash", command), identity: who)
    #expect(decision.action == action)
    #expect(decision.winningRuleID == winner)
}

@Test func anUnverifiedDenySaysHowToBindAndOthersDoNot() throws {
    let policy = try Policy(yaml: peoplePolicy, file: "p.yaml")
    let push = policy.decide(toolCall("Bash", "git push origin main"), identity: stranger)
    #expect(push.reason.contains("bound to no verified person") && push.reason.contains("vigil login"))
    #expect(!policy.decide(toolCall("Bash", "kubectl get pods"), identity: bo).reason.contains("vigil login"))
    #expect(Identity.verified(user: "u", email: "e@x.io", teams: ["a"], roles: [], deviceTeams: ["fleet"]).teams == ["a", "fleet"])
    #expect(Scope(identities: ["unverified"]).description == "identity unverified")
}

@Test func anIdentityScopeIsVerifiedOrUnverified() throws {
    let wrong = """
        rules:
          - {id: r, match: Bash, action: deny, scope: {identity: [unverified, anonymous]}}
        """
    #expect(throws: PolicyError.self) { try Policy(yaml: wrong, file: "p.yaml") }
    do {
        _ = try Policy(yaml: wrong, file: "p.yaml")
    } catch {
        #expect("\(error)".contains("verified or unverified, not 'anonymous'"))
    }
    // The builder's rows write and read it back.
    let rows = try PolicyRows(yaml: peoplePolicy, file: "p.yaml")
    let again = try PolicyRows(yaml: rows.yaml(), file: "again.yaml")
    #expect(again.rows.first { $0.id == "unverified-no-push" }?.scope.identities == ["unverified"])
}

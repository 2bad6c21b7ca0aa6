// SPDX-License-Identifier: Apache-2.0
// `Peer(…)` rules: the session boundary. Crossings to local processes outside the session are denied
// by `Peer(*)` except the peers its exceptions name, and the kernel holds exactly the same ports.
import Testing
@testable import VigilPolicy

private let boundaryPolicy = """
    rules:
      - {id: boundary, match: Peer(*), action: deny, reason: Work stays inside the session.}
      - {id: model-api, match: "Peer(localhost:4000)", action: allow, overrides: [boundary]}
      - {id: postgres, match: "Peer(localhost:5432)", action: allow, overrides: [boundary], scope: {team: data}}
      - {id: dev-ports, match: "Peer(localhost:8000-8099)", action: allow, overrides: [boundary]}
      - {id: no-redis, match: "Peer(localhost:6379)", action: deny, kernel: flag}
    """

@Test(arguments: [
    (UInt16(4000), String?("model-api"), PolicyAction.allow),
    (8050, "dev-ports", .allow),
    (5432, "boundary", .deny),  // the data team's exception does not apply to someone
    (22, "boundary", .deny),
    (6379, "boundary", .deny),  // deny beats flag: the stronger enforcement wins
])
func peerDecisions(_ port: UInt16, _ winner: String?, _ action: PolicyAction) throws {
    let policy = try Policy(yaml: boundaryPolicy, file: "p.yaml")
    let decision = policy.decide(.peer(address: "127.0.0.1", port: port), identity: someone)
    #expect(decision.winningRuleID == winner)
    #expect(decision.action == action)
    if action == .deny && winner == "boundary" { #expect(decision.reason == "Work stays inside the session.") }
}

@Test func anExceptionInScopeLiftsTheBoundary() throws {
    let policy = try Policy(yaml: boundaryPolicy, file: "p.yaml")
    let data = Identity(user: "d", teams: ["data"])
    #expect(policy.decide(.peer(address: "::1", port: 5432), identity: data).action == .allow)
}

@Test func peerRulesDoNotDecideOrdinaryConnects() throws {
    let policy = try Policy(yaml: boundaryPolicy, file: "p.yaml")
    #expect(policy.decide(.connect(address: "127.0.0.1", port: 22, host: nil), identity: someone).action == .allow)
}

@Test func theKernelHoldsTheSamePorts() throws {
    let policy = try Policy(yaml: boundaryPolicy, file: "p.yaml")
    let plan = policy.kernelPlan(identity: someone)
    #expect(plan.peers.map(\.ruleID) == ["boundary"])  // the flag rule is decided in user space
    #expect(plan.deniedPeerPorts() == [0...3999, 4001...7999, 8100...65535])
    // vigild's hook endpoint is always left out.
    #expect(plan.deniedPeerPorts(alsoAllowing: [7378]) == [0...3999, 4001...7377, 7379...7999, 8100...65535])
    let data = policy.kernelPlan(identity: Identity(user: "d", teams: ["data"]))
    #expect(data.deniedPeerPorts() == [0...3999, 4001...5431, 5433...7999, 8100...65535])
    // Every port the kernel refuses, the policy denies; every port it lets through, the policy allows.
    for port in [UInt16(0), 3999, 4000, 4001, 5432, 7999, 8000, 8099, 8100, 65535] {
        let refused = plan.deniedPeerPorts().contains { $0.contains(port) }
        #expect(refused == (policy.decide(.peer(address: "127.0.0.1", port: port), identity: someone).action == .deny), "\(port)")
    }
}

@Test func noBoundaryRuleMeansCrossingsAreOnlyRecorded() throws {
    let policy = try Policy(yaml: "rules:\n  - {id: x, match: Exec(nc), action: deny}\n", file: "p.yaml")
    #expect(policy.kernelPlan(identity: someone).deniedPeerPorts().isEmpty)
    #expect(policy.decide(.peer(address: "127.0.0.1", port: 1), identity: someone).action == .allow)
}

@Test(arguments: ["Peer(127.0.0.1:80)", "Peer(localhost)", "Peer(localhost:9-1)", "Peer(localhost:x)", "Peer()"])
func malformedPeerRulesAreRejected(_ match: String) {
    #expect(throws: PolicyError.self) {
        try Policy(yaml: "rules:\n  - {id: p, match: \"\(match)\", action: deny}\n", file: "p.yaml")
    }
}

@Test func theModelAPIIsTheSessionsConfiguredPort() throws {
    let policy = try Policy(
        yaml: """
            rules:
              - {id: boundary, match: Peer(*), action: deny}
              - {id: model, match: Peer(model-api), action: allow, overrides: [boundary]}
            """, file: "p.yaml")
    let gateway = KernelContext(home: "/home/u", modelAPIPort: 4000)
    #expect(policy.decide(.peer(address: "127.0.0.1", port: 4000), identity: someone, context: gateway).winningRuleID == "model")
    #expect(policy.decide(.peer(address: "127.0.0.1", port: 4001), identity: someone, context: gateway).action == .deny)
    // A session whose model API is remote (or unset) has no model-api peer.
    #expect(policy.decide(.peer(address: "127.0.0.1", port: 4000), identity: someone).action == .deny)
    let plan = policy.kernelPlan(identity: someone)
    #expect(plan.deniedPeerPorts(modelAPIPort: 4000) == [0...3999, 4001...65535])
    #expect(plan.deniedPeerPorts() == [0...65535])
}

@Test func unixPeersAreDecidedByPathInUserSpace() throws {
    let policy = try Policy(
        yaml: """
            rules:
              - {id: boundary, match: Peer(*), action: deny}
              - {id: pg, match: 'Peer(unix:/run/postgresql/*)', action: allow, overrides: [boundary]}
              - {id: no-docker, match: 'Peer(unix:/run/docker.sock)', action: deny}
            """, file: "p.yaml")
    #expect(policy.decide(.peer(address: "/run/postgresql/.s.PGSQL.5432", port: 0), identity: someone).winningRuleID == "pg")
    #expect(policy.decide(.peer(address: "/tmp/tmux-1000/default", port: 0), identity: someone).winningRuleID == "boundary")
    #expect(policy.decide(.peer(address: "/run/docker.sock", port: 0), identity: someone).action == .deny)
    // A unix exception lifts no port in the kernel, and a unix rule puts none there.
    let plan = policy.kernelPlan(identity: someone)
    #expect(plan.deniedPeerPorts() == [0...65535])
    #expect(plan.peers.map(\.ruleID) == ["boundary"])
    #expect(plan.unixAllowed == nil, "a glob exception: the kernel cannot hold the unix boundary")
    let exact = try Policy(
        yaml: "rules:\n  - {id: boundary, match: Peer(*), action: deny}\n"
            + "  - {id: pg, match: 'Peer(unix:/run/postgresql/.s.PGSQL.5432)', action: allow, overrides: [boundary]}\n",
        file: "p.yaml")
    #expect(exact.kernelPlan(identity: someone).unixAllowed == ["/run/postgresql/.s.PGSQL.5432"])
    #expect(plan.userSpace.map(\.ruleID).contains("no-docker") && plan.userSpace.map(\.ruleID).contains("boundary"))
    #expect(throws: PolicyError.self) { try Policy(yaml: "rules:\n  - {id: p, match: 'Peer(unix:relative.sock)', action: deny}\n", file: "p.yaml") }
}

@Test func fifoOpensAreDecidedOnlyByFifoRules() throws {
    let policy = try Policy(
        yaml: """
            rules:
              - {id: boundary, match: Peer(*), action: deny}
              - {id: no-runner, match: 'Peer(fifo:/var/spool/runner/*)', action: deny}
            """, file: "p.yaml")
    #expect(policy.decide(.fifo(path: "/var/spool/runner/jobs"), identity: someone).winningRuleID == "no-runner")
    // Peer(*) does not cover FIFOs (make's jobserver FIFO is the session's own); nor do port rules.
    #expect(policy.decide(.fifo(path: "/tmp/GMfifo123"), identity: someone).action == .allow)
    #expect(policy.decide(.peer(address: "/var/spool/runner/jobs", port: 0), identity: someone).winningRuleID == "boundary")
    #expect(policy.kernelPlan(identity: someone).userSpace.contains { $0.ruleID == "no-runner" })
}

// SPDX-License-Identifier: Apache-2.0
// Exec / Open / Connect rules, and kernel rules derived from tool rules.
import Testing
@testable import VigilPolicy

private let kernelPolicy = """
    rules:
      - {id: no-curl, match: Bash(curl *), action: deny, kernel: kill}
      - {id: no-push, match: Bash(git push *), action: deny}
      - {id: aws, match: Read(~/.aws/**), action: deny}
      - {id: src, match: Edit(//srv/app/**), action: deny, kernel: flag}
      - {id: evil, match: WebFetch(domain:*.evil.com), action: deny}
      - {id: nc, match: Exec(nc), action: deny}
      - {id: bins, match: Exec(/opt/tools/*), action: deny, kernel: flag}
      - {id: shadow, match: "Open(/etc/shadow, read)", action: deny, kernel: kill}
      - {id: env, match: Open(.env), action: deny}
      - {id: meta, match: Connect(169.254.169.254), action: deny}
      - {id: lan, match: Connect(10.0.0.0/8:22), action: deny}
      - {id: v6, match: "Connect([fd00::]:443)", action: deny}
      - {id: v6net, match: "Connect(fc00::/7)", action: deny, kernel: flag}
      - {id: smtp, match: Connect(*:25), action: deny, kernel: flag}
      - {id: docker, match: Connect(unix:/run/docker.sock), action: deny}
      - {id: ok-meta, match: Connect(169.254.169.254), action: allow, scope: {team: cloud}, overrides: [meta]}
      - {id: bash-ok, match: Bash, action: allow}
    """

private let context = KernelContext(home: "/home/u")

@Test(arguments: [
    (KernelAction.exec(path: "/usr/bin/curl", argv: ["curl", "-s", "x"]), String?("no-curl"), KernelEnforcement.kill, true),
    (.exec(path: "/tmp/renamed", argv: ["curl", "x"]), "no-curl", .kill, true),
    (.exec(path: "/usr/bin/git", argv: ["git", "push", "origin"]), "no-push", .deny, true),
    (.exec(path: "/usr/bin/git", argv: ["git", "status"]), nil, .none, false),
    (.open(path: "/home/u/.aws/credentials", write: false), "aws", .deny, true),
    (.open(path: "/home/u/.aws/config", write: true), "aws", .deny, true),
    (.open(path: "/srv/app/main.go", write: true), "src", .flag, true),
    (.open(path: "/srv/app/main.go", write: false), nil, .none, false),
    (.connect(address: "93.184.216.34", port: 443, host: "api.evil.com"), "evil", .deny, true),
    (.connect(address: "93.184.216.34", port: 443, host: nil), nil, .none, false),
    (.exec(path: "/bin/nc", argv: ["nc", "-l"]), "nc", .deny, false),
    (.exec(path: "/opt/tools/x", argv: ["x"]), "bins", .flag, false),
    (.open(path: "/etc/shadow", write: false), "shadow", .kill, false),
    (.open(path: "/etc/shadow", write: true), nil, .none, false),
    (.open(path: "/w/deep/.env", write: false), "env", .deny, false),
    (.connect(address: "169.254.169.254", port: 80, host: nil), "meta", .deny, false),
    (.connect(address: "::ffff:169.254.169.254", port: 80, host: nil), "meta", .deny, false),
    (.connect(address: "10.1.2.3", port: 22, host: nil), "lan", .deny, false),
    (.connect(address: "10.1.2.3", port: 443, host: nil), nil, .none, false),
    (.connect(address: "fd00::", port: 443, host: nil), "v6", .deny, false),
    (.connect(address: "fd12:3456::1", port: 8443, host: nil), "v6net", .flag, false),
    (.connect(address: "1.2.3.4", port: 25, host: nil), "smtp", .flag, false),
    (.connect(address: "/run/docker.sock", port: 0, host: nil), "docker", .deny, false),
])
func kernelActions(_ action: KernelAction, _ winner: String?, _ enforcement: KernelEnforcement, _ derived: Bool) throws {
    let policy = try Policy(yaml: kernelPolicy, file: "k.yaml")
    let decision = policy.decide(action, identity: someone, context: context)
    #expect(decision.winningRuleID == winner)
    #expect(decision.enforcement == enforcement)
    #expect(decision.action == (winner == nil ? .allow : .deny))
    #expect(decision.derived == derived)
}

@Test func strongestEnforcementWins() throws {
    let policy = try Policy(
        yaml: """
            rules:
              - {id: flag-all, match: Exec(*), action: deny, kernel: flag}
              - {id: kill-nc, match: Exec(nc), action: deny, kernel: kill}
            """, file: "k.yaml")
    let decision = policy.decide(.exec(path: "/bin/nc", argv: ["nc"]), identity: someone)
    #expect(decision.winningRuleID == "kill-nc" && decision.enforcement == .kill)
    #expect(decision.matchedRuleIDs == ["flag-all", "kill-nc"])
}

@Test func kernelExceptionsByScope() throws {
    let policy = try Policy(yaml: kernelPolicy, file: "k.yaml")
    let cloud = Identity(user: "c", teams: ["cloud"])
    #expect(policy.decide(.connect(address: "169.254.169.254", port: 80, host: nil), identity: cloud).action == .allow)
}

@Test func harnessShellsAreNeverDerived() throws {
    let policy = try Policy(yaml: "rules:\n  - {id: b, match: Bash(bash *), action: deny}\n", file: "k.yaml")
    #expect(policy.derivations.first?.kernelRule == nil)
    #expect(policy.decide(.exec(path: "/bin/bash", argv: ["bash", "-c", "x"]), identity: someone).action == .allow)
}

@Test func derivationCanBeSwitchedOff() throws {
    let off = try Policy(
        yaml: "defaults: {derive_kernel: false}\nrules:\n  - {id: c, match: Bash(curl *), action: deny}\n",
        file: "k.yaml")
    #expect(off.decide(.exec(path: "/usr/bin/curl", argv: ["curl"]), identity: someone).action == .allow)
    let perRule = try Policy(yaml: "rules:\n  - {id: c, match: Bash(curl *), action: deny, kernel: none}\n", file: "k.yaml")
    #expect(perRule.decide(.exec(path: "/usr/bin/curl", argv: ["curl"]), identity: someone).action == .allow)
}

@Test func cidrParsing() {
    #expect(CIDR("10.0.0.0/8")!.contains(IPAddress("10.255.0.1")!))
    #expect(!CIDR("10.0.0.0/8")!.contains(IPAddress("11.0.0.1")!))
    #expect(CIDR("::/0")!.contains(IPAddress("1.2.3.4")!))
    #expect(CIDR("2001:db8::/32")!.contains(IPAddress("2001:db8:1::5")!))
    #expect(IPAddress("1.2.3") == nil && IPAddress("1::2::3") == nil && IPAddress("256.0.0.1") == nil)
    #expect(IPAddress("::ffff:10.0.0.1") == IPAddress("10.0.0.1"))
}

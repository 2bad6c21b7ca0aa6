// SPDX-License-Identifier: Apache-2.0
// `vigil-bench policy`: compile a 10 k-rule policy of every form, then decide ≥ 1 M varied inputs.
import VigilJSON
import VigilPolicy

/// 10 000 rules: Bash allow/deny (with derived Exec rules), Read/Edit paths, WebFetch domains, MCP servers,
/// Exec/Open/Connect kernel rules; a fifth are team-scoped and a tenth carry posture conditions.
@Sendable func benchPolicy() async throws {
    let ruleCount = 10_000
    var lines = ["vigil: 1", "version: bench", "rules:"]
    for index in 0..<ruleCount {
        let action = index % 3 == 0 ? "deny" : "allow"
        let match: String
        switch index % 10 {
        case 0, 1, 2: match = "Bash(tool\(index) *)"
        case 3: match = "Bash(git sub\(index) *)"
        case 4: match = "Read(//srv/data/dir\(index)/**)"
        case 5: match = "Edit(src/mod\(index)/**)"
        case 6: match = "WebFetch(domain:*.d\(index).example)"
        case 7: match = "mcp__server\(index)"
        case 8: match = "Exec(bin\(index))"
        default: match = index % 20 == 9 ? "Open(/var/lib/app\(index)/**)" : "Connect(10.\(index / 256 % 256).\(index % 256).0/24:443)"
        }
        let kernel = match.hasPrefix("Exec") || match.hasPrefix("Open") || match.hasPrefix("Connect")
        var rule = "  - {id: r\(index), match: \"\(match)\", action: \(kernel ? "deny" : action)"
        if index % 5 == 1 { rule += ", scope: {team: team\(index % 7)}" }
        if index % 10 == 2 { rule += ", when: os_patch_age_days > 30" }
        lines.append(rule + "}")
    }
    let yaml = lines.joined(separator: "\n")
    let compileStart = ContinuousClock.now
    let policy = try Policy(yaml: yaml, file: "bench.yaml")
    let compileMs = policyBenchSeconds(ContinuousClock.now - compileStart) * 1000

    let identity = Identity(user: "dev", teams: ["team3"], role: "engineer")
    let posture: [String: PostureFact] = ["os_patch_age_days": .int(12), "disk_encrypted": .bool(true)]
    // Inputs are generated up front and all distinct enough that nothing can be remembered between decisions:
    // 16 384 tool calls and 16 384 kernel actions, cycled through once each per 16 k decisions.
    var random = BenchRandom(seed: 0x5EED)
    let calls = (0..<16_384).map { _ in benchToolCall(&random) }
    let actions = (0..<16_384).map { _ in benchKernelAction(&random) }
    let context = KernelContext(home: "/home/dev")

    func measure(_ count: Int, _ body: (Int) -> Decision) -> (rate: Double, denies: Int) {
        var denies = 0
        let start = ContinuousClock.now
        for index in 0..<count where body(index).action == .deny { denies += 1 }
        return (Double(count) / policyBenchSeconds(ContinuousClock.now - start), denies)
    }
    let total = 1_200_000
    let toolCount = total / 2
    let tool = measure(toolCount) { policy.decide(calls[$0 % calls.count], identity: identity, posture: posture) }
    let kernel = measure(total) { policy.decide(actions[$0 % actions.count], identity: identity, posture: posture, context: context) }
    // The mix the daemon sees: kernel events outnumber tool calls; here one tool call per four kernel actions.
    let mixed = measure(total) { index in
        index % 5 == 0
            ? policy.decide(calls[(index / 5) % calls.count], identity: identity, posture: posture)
            : policy.decide(actions[index % actions.count], identity: identity, posture: posture, context: context)
    }
    report(
        "policy",
        [
            "rules": "\(ruleCount)", "compiled_rules": "\(policy.compiledRuleCount)", "compile_ms": format(compileMs),
            "decisions": "\(toolCount + total * 2)", "decisions_per_s": format(mixed.rate),
            "tool_decisions_per_s": format(tool.rate), "kernel_decisions_per_s": format(kernel.rate),
            "denied_share": format(Double(mixed.denies) / Double(total)),
        ])
}

/// A deterministic generator (SplitMix64), so every run decides the same inputs.
private struct BenchRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// A realistic mix of an agent's calls: half Bash (simple commands, pipelines, wrappers, `bash -c`,
/// substitutions, redirections, heredocs, interpreter one-liners), then Read/Grep/Glob, Edit/Write,
/// WebFetch and MCP tools, over thousands of distinct commands, paths and hosts.
private func benchToolCall(_ random: inout BenchRandom) -> ToolCall {
    // Half the numbered names are ones a rule of that form names (`tool30`, `dir44`, …), half are any number.
    let base = random.below(1_000) * 10
    let ruled = random.below(2) == 0
    let any = random.below(10_000)
    func name(_ residue: Int) -> Int { ruled ? base + residue : any }
    let tool = name(random.below(3))
    let m = random.below(10_000)
    let cwd = random.below(4) == 0 ? "/home/dev/w\(random.below(50))" : "/home/dev/w"
    func call(_ name: String, _ input: [String: JSONValue]) -> ToolCall {
        ToolCall(name: name, input: input, cwd: cwd, home: "/home/dev")
    }
    func bash(_ command: String) -> ToolCall {
        var input: [String: JSONValue] = ["command": .string(command)]
        if random.below(3) == 0 { input["description"] = .string("Run step \(m)") }
        if random.below(8) == 0 { input["timeout"] = .number(120_000) }
        return call("Bash", input)
    }
    let words = ["build", "test", "lint", "fmt", "check", "run", "deploy", "status"]
    let files = [
        "README.md", "Package.swift", "src/main.ts", "src/mod\(name(5))/index.ts", "lib/util\(m).py", ".env",
        "docs/guide\(any).md", "Makefile", "tests/test_\(m).py", "config/app.yaml",
    ]
    switch random.below(100) {
    case 0..<50:
        switch random.below(20) {
        case 0: return bash("tool\(tool) \(random.pick(words)) --release")
        case 1: return bash("git sub\(name(3)) push origin feature/\(m)")
        case 2: return bash("npm test && tool\(tool) x | grep ok\(m)")
        case 3: return bash("timeout \(m % 60 + 1) tool\(tool) a; echo done")
        case 4: return bash("bash -c 'tool\(tool) x \(m)'")
        case 5: return bash("ls -la src/mod\(name(5))")
        case 6: return bash("cat /srv/data/dir\(name(4))/f\(m).txt | head -n 20")
        case 7: return bash("git status && git diff --stat HEAD~\(m % 9 + 1)")
        case 8: return bash("cd /home/dev/w && make -j4 target\(any) > build\(m).log 2>&1")
        case 9: return bash("python3 -c 'import os; os.system(\"bin\(name(8)) --x\")'")
        case 10: return bash("find . -name '*.ts' -exec grep -l foo\(any) {} +")
        case 11: return bash("NODE_ENV=test tool\(tool) --flag=\(m)")
        case 12: return bash("git commit -m \"fix: issue #\(any) in module \(m)\"")
        case 13: return bash("echo $(date +%s) >> /tmp/log\(any).txt")
        case 14: return bash("curl -s https://api.d\(name(6)).example/v1/items/\(m) | jq '.items[] | .id'")
        case 15: return bash("rg -n 'pattern\(any)' src/mod\(m) --type ts")
        case 16: return bash("cat > notes\(any).md <<'EOF'\nline \(m) with $(not expanded)\nEOF")
        case 17: return bash("sudo -u deploy tool\(tool) restart svc\(m)")
        case 18: return bash("for f in src/*.ts; do wc -l \"$f\"; done")
        default: return bash("docker run --rm -v \"$PWD:/w\" img\(any):\(m % 10) tool\(m) \(random.pick(words))")
        }
    case 50..<62:
        let path = random.below(2) == 0 ? "/srv/data/dir\(name(4))/file\(m).txt" : "\(cwd)/\(random.pick(files))"
        return call("Read", ["file_path": .string(path)])
    case 62..<67:
        if random.below(2) == 0 {
            return call("Grep", ["pattern": .string("func\(any)"), "path": .string("\(cwd)/src/mod\(m)")])
        }
        return call("Glob", ["pattern": .string("**/*.\(random.pick(["ts", "swift", "py", "md"]))")])
    case 67..<77:
        let path = random.below(2) == 0 ? "\(cwd)/src/mod\(name(5))/file\(m).ts" : "\(cwd)/\(random.pick(files))"
        let editor = random.pick(["Edit", "Write", "MultiEdit"])
        return call(editor, ["file_path": .string(path), "old_string": .string("a\(m)"), "new_string": .string("b\(any)")])
    case 77..<85:
        let url = random.below(3) == 0 ? "https://docs.example.org/p/\(any)" : "https://api.d\(name(6)).example/x/\(m)?q=\(m)"
        return call("WebFetch", ["url": .string(url), "prompt": .string("Summarise section \(m)")])
    case 85..<95:
        return call("mcp__server\(name(7))__\(random.pick(["echo", "search", "get_item"]))", ["text": .string("query \(m)")])
    default:
        let other = random.pick(["Task", "TodoWrite", "WebSearch", "Skill"])
        return call(other, ["description": .string("step \(any)"), "prompt": .string("do \(m)"), "query": .string("q\(m)")])
    }
}

private func benchKernelAction(_ random: inout BenchRandom) -> KernelAction {
    // As for tool calls: half the numbers are ones a kernel rule names (`bin8`, `app29`, `10.0.39.x`).
    let base = random.below(500) * 20
    let ruled = random.below(2) == 0
    let any = random.below(10_000)
    func name(_ residue: Int) -> Int { ruled ? base + residue : any }
    let m = random.below(10_000)
    let n = any
    switch random.below(10) {
    case 0: return .exec(path: "/usr/bin/bin\(name(8))", argv: ["bin\(name(8))", "-x", "\(m)"])
    case 1: return .exec(path: "/usr/local/bin/tool\(n)", argv: ["tool\(n)", "build"])
    case 2: return .exec(path: "/usr/bin/cc", argv: ["cc", "-c", "f\(n).c", "-o", "f\(n).o"])
    case 3: return .open(path: "/var/lib/app\(name(9))/db\(m)", write: m % 2 == 0)
    case 4: return .open(path: "/home/dev/w/src/mod\(n)/f\(m).c", write: false)
    case 5: return .open(path: "/srv/data/dir\(name(4))/x\(m)", write: true)
    case 6: return .open(path: "/usr/lib/x86_64-linux-gnu/lib\(n % 300).so.\(m % 9)", write: false)
    case 7: return .connect(address: "10.\(name(19) / 256 % 256).\(name(19) % 256).\(m % 250 + 1)", port: 443, host: nil)
    case 8: return .connect(address: "93.184.\(n % 256).\(m % 256)", port: 443, host: "api.d\(name(6)).example")
    default: return .exec(path: "/bin/sh", argv: ["sh", "-c", "make target\(n)"])
    }
}

private func policyBenchSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

private func format(_ value: Double) -> String {
    value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 1000)) / 1000)
}

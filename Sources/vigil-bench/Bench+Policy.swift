// `vigil-bench policy`: compile a 10 k-rule policy of every form, then decide ≥ 1 M mixed inputs.
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
    func bash(_ command: String) -> ToolCall {
        ToolCall(name: "Bash", input: ["command": .string(command)], cwd: "/home/dev/w", home: "/home/dev")
    }
    let calls: [ToolCall] = [
        bash("tool30 build --release"), bash("git sub33 push origin main"), bash("npm test && tool1 x | grep ok"),
        bash("timeout 5 tool42 a; echo done"), bash("bash -c 'tool60 x'"), bash("ls -la src"),
        ToolCall(name: "Read", input: ["file_path": .string("/srv/data/dir44/f.txt")], cwd: "/home/dev/w", home: "/home/dev"),
        ToolCall(name: "Write", input: ["file_path": .string("/home/dev/w/src/mod15/a.ts")], cwd: "/home/dev/w", home: "/home/dev"),
        ToolCall(name: "WebFetch", input: ["url": .string("https://api.d16.example/x")], cwd: "/home/dev/w", home: "/home/dev"),
        ToolCall(name: "mcp__server17__echo", input: ["text": .string("hi")], cwd: "/home/dev/w", home: "/home/dev"),
    ]
    let actions: [KernelAction] = [
        .exec(path: "/usr/bin/bin18", argv: ["bin18", "-x"]), .exec(path: "/usr/bin/tool30", argv: ["tool30"]),
        .exec(path: "/usr/bin/cc", argv: ["cc", "-c", "a.c"]), .open(path: "/var/lib/app29/db", write: false),
        .open(path: "/home/dev/w/src/main.c", write: false), .open(path: "/srv/data/dir44/x", write: true),
        .connect(address: "10.0.39.7", port: 443, host: nil), .connect(address: "93.184.216.34", port: 443, host: "api.d16.example"),
        .connect(address: "2001:db8::1", port: 22, host: nil), .exec(path: "/bin/sh", argv: ["sh", "-c", "make"]),
    ]
    let context = KernelContext(home: "/home/dev")

    func measure(_ count: Int, _ body: (Int) -> Decision) -> (rate: Double, denies: Int) {
        var denies = 0
        let start = ContinuousClock.now
        for index in 0..<count where body(index).action == .deny { denies += 1 }
        return (Double(count) / policyBenchSeconds(ContinuousClock.now - start), denies)
    }
    let total = 1_200_000
    let tool = measure(total / 4) { policy.decide(calls[$0 % calls.count], identity: identity, posture: posture) }
    let kernel = measure(total) { policy.decide(actions[$0 % actions.count], identity: identity, posture: posture, context: context) }
    // The mix the daemon sees: kernel events outnumber tool calls; here one tool call per four kernel actions.
    let mixed = measure(total) { index in
        index % 5 == 0
            ? policy.decide(calls[(index / 5) % calls.count], identity: identity, posture: posture)
            : policy.decide(actions[index % actions.count], identity: identity, posture: posture, context: context)
    }
    report("policy", [
        "rules": "\(ruleCount)", "compiled_rules": "\(policy.compiledRuleCount)", "compile_ms": format(compileMs),
        "decisions": "\(total / 4 + total * 2)", "decisions_per_s": format(mixed.rate),
        "tool_decisions_per_s": format(tool.rate), "kernel_decisions_per_s": format(kernel.rate),
        "denied_share": format(Double(mixed.denies) / Double(total)),
    ])
}

private func policyBenchSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

private func format(_ value: Double) -> String {
    value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 1000)) / 1000)
}

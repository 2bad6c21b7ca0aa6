// SPDX-License-Identifier: Apache-2.0
// Hook decision overhead per Claude Code tool call.
// 1. `vigil hook` as Claude Code runs it (a fresh process per event, payload on stdin), on real
//    2.1.330 payloads, N times: wall time p50/p99, without and with the signed audit log.
// 2. Where root, the claude binary (`make claude`) and Tests/e2e/mock_model.py are present: the real
//    Claude Code on a fixed scripted session of sequential Bash calls, with vs without the Vigil
//    managed hooks (PreToolUse + PostToolUse fire on every call), interleaved; the interval between
//    consecutive commands is the per-call cost, and the difference is what the hook adds.
import Foundation
import Glibc
import VigilAudit
import VigilClaude
import VigilTransport

@Sendable func benchHook() async throws {
    let bench = try HookBench()
    defer { bench.cleanUp() }
    let n = Int(ProcessInfo.processInfo.environment["VIGIL_BENCH_HOOK_N"] ?? "") ?? 200
    let payloads = HookBench.payloads(cwd: bench.dir)
    for (label, audit) in [("no_audit", false), ("audit", true)] {
        var samples: [Double] = []
        for i in 0..<n {
            let payload = payloads[i % payloads.count]
            let start = DispatchTime.now().uptimeNanoseconds
            let status = try bench.runHook(payload, audit: audit)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            guard status == 0 else { throw HookBench.Failure("vigil hook exited \(status)") }
        }
        // With the audit log, each run reopens and verifies the log it extends: it grows from 0 to n entries here.
        report("hook.exec_\(label)", ["n": String(n), "p50_ms": HookBench.ms(samples, 0.5), "p99_ms": HookBench.ms(samples, 0.99)])
    }
    try bench.claudeSession()
}

private struct HookBench {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    let dir: String
    let vigil: String
    let policy: String
    let audit: String

    init() throws {
        // `make bench` builds vigil next to vigil-bench.
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        vigil = (exe as NSString).deletingLastPathComponent + "/vigil"
        guard access(vigil, X_OK) == 0 else { throw Failure("\(vigil) is missing: build the vigil product first") }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-hook-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir + "/work", withIntermediateDirectories: true)
        policy = dir + "/policy.yaml"
        try """
        vigil: 1
        version: bench
        defaults: {tool: allow}
        rules:
          - {id: no-curl, match: Bash(curl *), action: deny, reason: Downloads go through the artifact proxy.}
          - {id: no-push, match: Bash(git push *), action: ask}
          - {id: no-env, match: Read(**/.env), action: deny}
          - {id: no-ssh, match: Read(~/.ssh/**), action: deny}
          - {id: no-evil, match: WebFetch(domain:*.evil.example), action: deny}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        audit = dir + "/audit"
        try FileManager.default.createDirectory(atPath: audit, withIntermediateDirectories: true)
        try Ed25519FileSigner.generate(name: "vigil/bench").write(toKeyFile: audit + "/audit.key")
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: dir) }

    /// Real payload shapes (reference Appendix A): PreToolUse Bash allow and deny, Read, PostToolUse.
    static func payloads(cwd: String) -> [[UInt8]] {
        let common =
            #""session_id":"23bea483-2a03-4dc4-b3fc-9c1a5688e419","transcript_path":"/root/.claude/projects/-w/23bea483-2a03-4dc4-b3fc-9c1a5688e419.jsonl","cwd":"\#(cwd)","prompt_id":"bd8dc3b6-4ad1-4c01-8234-184779abf7d0","permission_mode":"default","effort":{"level":"medium"}"#
        return [
            #"{\#(common),"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"npm test && git status","description":"test"},"tool_use_id":"toolu_00_0"}"#,
            #"{\#(common),"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"curl -fsSL https://get.example/x.sh","description":"get"},"tool_use_id":"toolu_01_0"}"#,
            #"{\#(common),"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"\#(cwd)/src/main.swift"},"tool_use_id":"toolu_02_0"}"#,
            #"{\#(common),"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"echo hi","description":"say hi"},"tool_response":{"stdout":"hi","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false},"tool_use_id":"toolu_00_0","duration_ms":30}"#,
        ].map { Array($0.utf8) }
    }

    /// Spawns `vigil hook` with the payload on stdin, as Claude Code does; returns the exit status.
    func runHook(_ payload: [UInt8], audit withAudit: Bool) throws -> Int32 {
        var args = [vigil, "hook", "--policy", policy]
        if withAudit { args += ["--audit-dir", audit] }
        var stdinPipe: [Int32] = [0, 0]
        guard pipe(&stdinPipe) == 0 else { throw Failure("pipe: \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_addclose(&actions, stdinPipe[1])
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, vigil, &actions, nil, argv, environ)
        close(stdinPipe[0])
        guard rc == 0 else {
            close(stdinPipe[1])
            throw Failure("posix_spawn \(vigil): \(rc)")
        }
        _ = payload.withUnsafeBytes { write(stdinPipe[1], $0.baseAddress, $0.count) }
        close(stdinPipe[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }

    static func ms(_ samples: [Double], _ p: Double) -> String {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return "na" }
        return String(format: "%.2f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
    }

    // MARK: The real Claude Code, with vs without the hook

    func claudeSession() throws {
        let root = FileManager.default.currentDirectoryPath
        let mock = root + "/Tests/e2e/mock_model.py"
        let claudePath = (try? String(contentsOfFile: root + "/.output/claude-venv/claude-path", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard geteuid() == 0, let claude = claudePath, access(claude, X_OK) == 0, access(mock, R_OK) == 0 else {
            report("hook.claude", ["skipped": "needs-root-make-claude-and-package-root-cwd"])
            return
        }
        let calls = Int(ProcessInfo.processInfo.environment["VIGIL_BENCH_HOOK_CALLS"] ?? "") ?? 40
        let rounds = Int(ProcessInfo.processInfo.environment["VIGIL_BENCH_HOOK_ROUNDS"] ?? "") ?? 3
        // Four configurations, interleaved per round: no hook, the `vigil hook` command deciding only,
        // deciding and appending to a fresh signed log (which grows over the rounds, as in a
        // session), and the product path: `vigil claude` under a running vigild (http hooks, the
        // session's cgroup, every kernel event decided, attributed and audited).
        // And the hook path alone: Claude Code not wrapped, with a vigild that does not adopt it
        // (each call decided and durably audited over http; no kernel session).
        // And the floor of any http hook here: the same drop-in pointing at a server that answers
        // `{}` at once (in this process), so what Claude Code itself spends per hook call shows.
        let configurations =
            ProcessInfo.processInfo.environment["VIGIL_BENCH_HOOK_CONFIGS"].map { $0.split(separator: ",").map(String.init) }
            ?? ["bare", "null_http", "hooked", "hooked_audit", "vigild", "vigild_hooks_only"]
        let claudeAudit = dir + "/audit-claude"
        try FileManager.default.createDirectory(atPath: claudeAudit, withIntermediateDirectories: true)
        try Ed25519FileSigner.generate(name: "vigil/bench").write(toKeyFile: claudeAudit + "/audit.key")
        for label in configurations {
            try FileManager.default.createDirectory(atPath: "\(dir)/root-\(label)/etc", withIntermediateDirectories: true)
        }
        try ManagedSettingsInstaller(root: dir + "/root-hooked", stateDirectory: dir + "/state-hooked").install(
            HookInstallConfiguration(vigilPath: vigil, policyPath: policy, timeoutSeconds: 30))
        try ManagedSettingsInstaller(root: dir + "/root-hooked_audit", stateDirectory: dir + "/state-hooked_audit").install(
            HookInstallConfiguration(vigilPath: vigil, policyPath: policy, auditDirectory: claudeAudit, timeoutSeconds: 30))

        let null = try HTTPServer(listener: .tcp(host: "127.0.0.1", port: 0)) { _, _ in .json(status: 200, Array("{}".utf8)) }
        defer { null.stop() }
        try ManagedSettingsInstaller(root: dir + "/root-null_http", stateDirectory: dir + "/state-null_http").install(
            HookInstallConfiguration(
                vigilPath: vigil, policyPath: policy, timeoutSeconds: 30,
                hookURL: "http://127.0.0.1:\(null.port ?? 0)/v1/hook"))
        let daemon = try startDaemon(claude: claude, name: "vigild")
        let hooksOnly = try startDaemon(claude: claude, name: "vigild_hooks_only", extra: ["--no-adopt"])
        defer {
            for process in [daemon, hooksOnly] {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
        }

        let mockOut = dir + "/mock.out"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", mock, dir + "/requests", "--lifetime", "900"]
        FileManager.default.createFile(atPath: mockOut, contents: nil)
        server.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: mockOut))
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        var port: Int?
        for _ in 0..<100 where port == nil {
            usleep(50_000)
            let text = (try? String(contentsOfFile: mockOut, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first, line.hasPrefix("PORT ") { port = Int(line.dropFirst(5)) }
        }
        guard let port else { throw Failure("mock_model.py did not report its port") }

        let steps = (0..<calls).map { _ in [["name": "Bash", "input": ["command": "date +%s%N >> stamps", "description": "t"]]] }
        let prompt = "go STEPS:" + String(decoding: try JSONSerialization.data(withJSONObject: steps), as: UTF8.self)
        var intervals: [String: [Double]] = [:]
        for round in 0..<rounds {
            for label in configurations {
                let work = dir + "/work-\(label)-\(round)"
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                try runClaude(
                    claude: claude, prompt: prompt, upper: "\(dir)/root-\(label)/etc", work: work, port: port, tag: "\(label)-\(round)",
                    wrapped: label == "vigild")
                let stamps = ((try? String(contentsOfFile: work + "/stamps", encoding: .utf8)) ?? "")
                    .split(separator: "\n").compactMap { Double($0) }
                guard stamps.count == calls else {
                    throw Failure("\(label) session ran \(stamps.count) of \(calls) calls (see \(work))")
                }
                for i in 1..<stamps.count { intervals[label, default: []].append((stamps[i] - stamps[i - 1]) / 1e6) }
            }
        }
        let bare = intervals["bare"] ?? []
        var fields: [(String, String)] = [
            ("calls", String(bare.count)), ("bare_p50_ms", Self.ms(bare, 0.5)), ("bare_p99_ms", Self.ms(bare, 0.99)),
        ]
        for label in configurations.dropFirst() {
            let samples = intervals[label] ?? []
            for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
                let added = (Double(Self.ms(samples, p)) ?? 0) - (Double(Self.ms(bare, p)) ?? 0)
                fields.append(("\(label)_\(name)_ms", Self.ms(samples, p)))
                fields.append(("\(label)_added_\(name)_ms", String(format: "%.2f", added)))
            }
        }
        // What vigild itself adds per call: its interval over the null http hook's, both measured in this run.
        let nullHTTP = intervals["null_http"] ?? []
        for label in ["vigild_hooks_only", "vigild"] where !nullHTTP.isEmpty && !(intervals[label] ?? []).isEmpty {
            for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
                let over = (Double(Self.ms(intervals[label] ?? [], p)) ?? 0) - (Double(Self.ms(nullHTTP, p)) ?? 0)
                fields.append(("\(label)_over_null_http_\(name)_ms", String(format: "%.2f", over)))
            }
        }
        print("bench hook.claude " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        // Inside the daemon: from the request read to the answer written (decision + durable audit).
        for name in ["vigild", "vigild_hooks_only"] {
            let status = Process()
            status.executableURL = URL(fileURLWithPath: vigil)
            status.arguments = ["status", "--json", "--socket", dir + "/\(name).sock"]
            let pipe = Pipe()
            status.standardOutput = pipe
            try status.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            status.waitUntilExit()
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let hooks = object["hooks"] as? [String: Any] {
                print(
                    "bench hook.\(name)_inside calls=\(hooks["calls"] ?? "na") p50_us=\(hooks["p50Microseconds"] ?? "na") p99_us=\(hooks["p99Microseconds"] ?? "na")"
                )
            }
        }
    }

    /// vigild (built next to vigil-bench) with its drop-in under ROOT-vigild, its own state and log.
    private func startDaemon(claude: String, name: String, extra: [String] = []) throws -> Process {
        let vigild = (vigil as NSString).deletingLastPathComponent + "/vigild"
        guard access(vigild, X_OK) == 0 else { throw Failure("\(vigild) is missing: build the vigild product first") }
        let portFile = dir + "/\(name).port"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: vigild)
        process.arguments =
            [
                "--policy", policy, "--state-dir", dir + "/\(name)-state", "--socket", dir + "/\(name).sock", "--hook-port", "0",
                "--port-file", portFile, "--root", dir + "/root-\(name)", "--claude-binary", claude,
            ] + extra
        let log = dir + "/\(name).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        for _ in 0..<600 where access(portFile, R_OK) != 0 {
            guard process.isRunning else { break }
            usleep(50_000)
        }
        guard access(portFile, R_OK) == 0 else {
            throw Failure("vigild did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        return process
    }

    private func runClaude(claude: String, prompt: String, upper: String, work: String, port: Int, tag: String, wrapped: Bool) throws {
        let launcher = wrapped ? "\"\(vigil)\" claude" : "\"\(claude)\""
        let overlayWork = dir + "/ovl-\(tag)"
        try FileManager.default.createDirectory(atPath: overlayWork, withIntermediateDirectories: true)
        let script = """
            set -eu
            mount -t overlay overlay -o "lowerdir=/etc,upperdir=\(upper),workdir=\(overlayWork)" /etc
            cd "\(work)"
            exec timeout -k 5 300 env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="\(dir)/home" \
              ANTHROPIC_BASE_URL=http://127.0.0.1:\(port) ANTHROPIC_API_KEY=x IS_SANDBOX=1 DISABLE_TELEMETRY=1 \
              CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 VIGIL_CLAUDE_BIN="\(claude)" VIGIL_SOCKET="\(dir)/vigild.sock" \
              \(launcher) -p "$1" --allowedTools Bash \
              --output-format stream-json --verbose > "\(dir)/claude-\(tag).jsonl" 2>&1
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "--propagation", "private", "/bin/bash", "-c", script, "bench", prompt]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure("claude (\(tag)) exited \(process.terminationStatus)") }
    }
}

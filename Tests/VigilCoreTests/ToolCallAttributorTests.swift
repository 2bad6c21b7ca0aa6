// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import VigilCore

// The process shapes below are transcribed from `vigil trace --json` of the real Claude Code 2.1.330
// (claude_agent_sdk 0.2.187) driven by Tests/e2e/mock_model.py; pids and argv are the real ones.

/// One input to the attributor and, for kernel events, the tool_use_id expected back.
enum Step: Sendable, CustomStringConvertible {
    case register(agent: Int32)
    case begin(String, tool: String, command: String? = nil, file: String? = nil, agent: Int32 = Real.agent)
    case end(String)
    case fork(Int32, child: Int32, expect: String?)
    case exec(Int32, path: String, argv: [String], truncated: Bool = false, expect: String?)
    case open(Int32, String, write: Bool = false, expect: String?)
    case connect(Int32, String, UInt16, expect: String?)
    case send(Int32, String, UInt16, expect: String?)
    case exit(Int32, expect: String?)

    var description: String {
        switch self {
        case .register(let a): "register \(a)"
        case .begin(let id, let tool, _, _, _): "begin \(id) \(tool)"
        case .end(let id): "end \(id)"
        case .fork(let p, let c, _): "fork \(p)->\(c)"
        case .exec(let p, _, let argv, _, _): "exec \(p) \(argv.prefix(3))"
        case .open(let p, let path, _, _): "open \(p) \(path)"
        case .connect(let p, let a, let port, _): "connect \(p) \(a):\(port)"
        case .send(let p, let a, let port, _): "send \(p) \(a):\(port)"
        case .exit(let p, _): "exit \(p)"
        }
    }
}

enum Real {
    static let agent: Int32 = 1863
    static let session: SessionID = 0x675a_1cde_a523_824e
    static let claude = "/work/main/.output/claude-venv/lib/python3.11/site-packages/claude_agent_sdk/_bundled/claude"

    /// The shell Claude Code 2.1.330 runs for a Bash call, byte for byte as the trace showed it.
    static func toolShell(
        _ quoted: String, snapshot: String = "/tmp/attr/h/.claude/shell-snapshots/snapshot-bash-1795322931251-xsg0xe.sh",
        cwdFile: String = "/tmp/claude-a65e-cwd"
    ) -> [String] {
        [
            "/bin/bash", "-c",
            "source \(snapshot) 2>/dev/null || true && \\builtin shopt -u extglob 2>/dev/null || true && "
                + "{ \\builtin unalias -- 'which'; \\builtin unset -f -- 'which'; } >/dev/null 2>&1 || true && "
                + "{ \\builtin unalias -- 'unsetenv'; \\builtin unset -f -- 'unsetenv'; } >/dev/null 2>&1 || true && "
                + "eval \(quoted) < /dev/null && pwd -P >| \(cwdFile)",
        ]
    }

    static let git = [
        "git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=", "-c", "safe.bareRepository=explicit",
        "-c", "protocol.file.allow=never", "ls-files", "--error-unmatch", "--", ":(icase).claude/settings.local.json",
    ]
    static let snapshotCreation = [
        "/bin/bash", "-c", "-l",
        "SNAPSHOT_FILE=/tmp/attr/h2/.claude/shell-snapshots/snapshot-bash-1795323216294-4wjlsp.sh\n      \n      # No user config file to source\n      \n      \n\n      # First, create/clear the snapshot file\n      echo \"# Snapshot file\" >| \"$SNAPSHOT_FILE\"\n",
    ]

    static let tricky = #"echo 'it'"'"'s' "$HOME"; (setsid sh -c 'sleep 0.3; echo bg' &) ; grep -c hello a.txt"#
    /// pid 1897's script tail, verbatim from the trace.
    static let trickyEval =
        #"eval 'echo '"'"'it'"'"'"'"'"'"'"'"'s'"'"' "$HOME"; (setsid sh -c '"'"'sleep 0.3; echo bg'"'"' &) ; grep -c hello a.txt' < /dev/null"#
}

struct Run {
    var attributor: ToolCallAttributor
    var session: SessionID
    var t: UInt64 = 0

    init(limits: ToolCallAttributor.Limits = .init(), session: SessionID = Real.session) {
        attributor = ToolCallAttributor(limits: limits)
        self.session = session
    }

    mutating func header(_ pid: Int32, flags: EventFlags = []) -> EventHeader {
        t += 1
        return EventHeader(ktimeNanoseconds: t, pid: pid, tid: pid, session: session, flags: flags)
    }

    mutating func play(_ steps: [Step], sourceLocation: SourceLocation = #_sourceLocation) {
        for (index, step) in steps.enumerated() {
            let got: String?
            let want: String?
            switch step {
            case .register(let agent):
                attributor.registerAgent(session: session, agentPID: agent)
                continue
            case .begin(let id, let tool, let command, let file, let agent):
                attributor.begin(session: session, agentPID: agent, toolUseID: id, tool: tool, command: command, filePath: file)
                continue
            case .end(let id):
                attributor.end(toolUseID: id)
                continue
            case .fork(let parent, let child, let expect):
                got = attributor.attribute(.fork(ForkEvent(header: header(parent), childPID: child)))
                want = expect
            case .exec(let pid, let path, let argv, let truncated, let expect):
                let h = header(pid, flags: truncated ? .argvTruncated : [])
                got = attributor.attribute(
                    .exec(
                        ExecEvent(
                            header: h, ppid: 0, uid: 0, gid: 0, cgroupID: 0, exeDevice: 0, exeInode: 0, path: path, argv: argv)))
                want = expect
            case .open(let pid, let path, let write, let expect):
                got = attributor.attribute(
                    .open(
                        OpenEvent(
                            header: header(pid), path: path, flags: write ? 0o1101 : 0, mode: 0, result: 3)))
                want = expect
            case .connect(let pid, let address, let port, let expect):
                got = attributor.attribute(
                    .connect(
                        NetworkEvent(
                            header: header(pid), family: address.contains(":") ? .inet6 : .inet, address: address, port: port, result: 0)))
                want = expect
            case .send(let pid, let address, let port, let expect):
                got = attributor.attribute(
                    .send(
                        NetworkEvent(
                            header: header(pid), family: .inet, address: address, port: port, result: 40)))
                want = expect
            case .exit(let pid, let expect):
                got = attributor.attribute(.exit(ExitEvent(header: header(pid), rawCode: 0)))
                want = expect
            }
            #expect(got == want, "step \(index): \(step)", sourceLocation: sourceLocation)
        }
    }
}

@Suite struct ToolCallAttributorTests {
    let a = Real.agent

    /// Session 1 of the real run: startup helpers, Bash, Read, Write, Edit, a Bash call whose
    /// setsid'd grandchild outlives the call, a failing Bash, WebFetch.
    @Test func aRealSessionEndToEnd() {
        var run = Run()
        run.play([
            .register(agent: a),
            // Startup, no call pending: git, the shell-environment probe, the snapshot.
            .fork(a, child: 1876, expect: nil),
            .exec(1876, path: "/usr/bin/git", argv: Real.git, expect: nil),
            .exit(1876, expect: nil),
            .fork(a, child: 1883, expect: nil),
            .exec(1883, path: "/usr/bin/bash", argv: ["/bin/bash", "-c", "env"], expect: nil),
            .exec(1883, path: "/usr/bin/env", argv: ["env"], expect: nil),
            .exit(1883, expect: nil),
            .connect(a, "127.0.0.1", 35849, expect: nil),  // the model API

            .begin("toolu_00_0", tool: "Bash", command: "echo hi && sleep 0.2 | cat"),
            .open(a, "/tmp/claude-0/-tmp-attr-work/cb6039b4/tasks/bcgcbrrwn.output", write: true, expect: nil),
            .fork(a, child: 1890, expect: nil),
            .exec(1890, path: "/usr/bin/bash", argv: Real.toolShell("'echo hi && sleep 0.2 | cat'"), expect: "toolu_00_0"),
            .open(1890, "/etc/ld.so.cache", expect: "toolu_00_0"),
            .fork(1890, child: 1891, expect: "toolu_00_0"),
            .fork(1890, child: 1892, expect: "toolu_00_0"),
            .exec(1891, path: "/usr/bin/sleep", argv: ["sleep", "0.2"], expect: "toolu_00_0"),
            .exec(1892, path: "/usr/bin/cat", argv: ["cat"], expect: "toolu_00_0"),
            .exit(1891, expect: "toolu_00_0"),
            .exit(1892, expect: "toolu_00_0"),
            .exit(1890, expect: "toolu_00_0"),
            .open(a, "/tmp/claude-a65e-cwd", expect: nil),
            .end("toolu_00_0"),
            .connect(a, "127.0.0.1", 35849, expect: nil),

            // Read: the agent opens the file itself, among many opens of its own.
            .begin("toolu_01_0", tool: "Read", file: "/tmp/attr/work/a.txt"),
            .open(a, "/tmp/attr/work", expect: nil),
            .open(a, "/tmp/attr/work/a.txt", expect: "toolu_01_0"),
            .open(a, "/tmp/attr/h/.claude", expect: nil),
            .open(a, "/tmp/attr/work/a.txt", expect: "toolu_01_0"),
            .end("toolu_01_0"),
            .open(a, "/tmp/attr/work/a.txt", expect: nil),  // after the call: not its own

            // Write and Edit: an atomic write through `<file>.tmp.<pid>.<hex>`.
            .begin("toolu_02_0", tool: "Write", file: "/tmp/attr/work/b.txt"),
            .open(a, "/tmp/attr/h/.claude/projects/-tmp-attr-work/cb6039b4.jsonl", write: true, expect: nil),
            .open(a, "/tmp/attr/work/b.txt.tmp.1863.ff230d5b414c", write: true, expect: "toolu_02_0"),
            .open(a, "/tmp/attr/work/b.txt", expect: "toolu_02_0"),
            .end("toolu_02_0"),
            .begin("toolu_03_0", tool: "Edit", file: "/tmp/attr/work/b.txt"),
            .open(a, "/tmp/attr/work/b.txt", expect: "toolu_03_0"),
            .open(a, "/tmp/attr/work/b.txt.tmp.1863.0f0ed294e518", write: true, expect: "toolu_03_0"),
            .open(a, "/tmp/attr/work/b.txtx", expect: nil),
            .end("toolu_03_0"),

            // The quoting case, with a subshell that setsid's a grandchild and the embedded grep.
            .begin("toolu_04_0", tool: "Bash", command: Real.tricky),
            .fork(a, child: 1897, expect: nil),
            .exec(
                1897, path: "/usr/bin/bash",
                argv: Real.toolShell(
                    String(Real.trickyEval.dropFirst(5).dropLast(12)),
                    cwdFile: "/tmp/claude-10b9-cwd"), expect: "toolu_04_0"),
            .fork(1897, child: 1898, expect: "toolu_04_0"),
            .fork(1898, child: 1899, expect: "toolu_04_0"),
            .exit(1898, expect: "toolu_04_0"),
            .fork(1897, child: 1900, expect: "toolu_04_0"),
            .exec(
                1900, path: Real.claude, argv: ["ugrep", "-G", "--ignore-files", "--hidden", "-I", "-c", "hello", "a.txt"],
                expect: "toolu_04_0"),
            .exit(1900, expect: "toolu_04_0"),
            .exit(1897, expect: "toolu_04_0"),
            .end("toolu_04_0"),
            // The orphan runs on after the call ended (its parent is gone, reparented to init).
            .exec(1899, path: "/usr/bin/setsid", argv: ["setsid", "sh", "-c", "sleep 0.3; echo bg"], expect: "toolu_04_0"),
            .exec(1899, path: "/usr/bin/dash", argv: ["sh", "-c", "sleep 0.3; echo bg"], expect: "toolu_04_0"),
            .fork(1899, child: 1901, expect: "toolu_04_0"),

            .begin("toolu_05_0", tool: "Bash", command: "exit 3"),
            .fork(a, child: 1903, expect: nil),
            .exec(1903, path: "/usr/bin/bash", argv: Real.toolShell("'exit 3'", cwdFile: "/tmp/claude-f70f-cwd"), expect: "toolu_05_0"),
            .exec(1901, path: "/usr/bin/sleep", argv: ["sleep", "0.3"], expect: "toolu_04_0"),
            .exit(1903, expect: "toolu_05_0"),
            .end("toolu_05_0"),

            // WebFetch: the DNS lookup is the call's; the model API stays the agent's.
            .begin("toolu_06_0", tool: "WebFetch", command: "http://127.0.0.1:9/x"),
            .open(a, "/etc/resolv.conf", expect: nil),
            .connect(a, "10.255.255.53", 53, expect: "toolu_06_0"),
            .connect(a, "127.0.0.1", 35849, expect: nil),
            .connect(a, "127.0.0.1", 9, expect: "toolu_06_0"),
            .end("toolu_06_0"),
            .connect(a, "10.255.255.53", 53, expect: nil),

            .exit(1901, expect: "toolu_04_0"),
            .exit(1899, expect: "toolu_04_0"),
        ])
        #expect(run.attributor.trackedProcesses(in: Real.session) == 0)
        #expect(run.attributor.pending(in: Real.session).isEmpty)
    }

    /// Session 2 of the real run: PreToolUse/PostToolUse command hooks, the snapshot made after the
    /// first call began, two Bash calls whose shells start 1 ms apart, two parallel Reads.
    @Test func parallelCallsAndHooks() {
        let a: Int32 = 11262
        let snapshot = "/tmp/attr/h2/.claude/shell-snapshots/snapshot-bash-1795323216294-4wjlsp.sh"
        var run = Run()
        run.play([
            .begin("toolu_00_0", tool: "Bash", command: "ls /tmp/attr/work", agent: a),
            // The second call's PreToolUse hook is still running: a shell, but not a tool shell.
            .fork(a, child: 11275, expect: nil),
            .exec(11275, path: "/usr/bin/dash", argv: ["/bin/sh", "-c", "/tmp/attr/hook.sh pre"], expect: nil),
            .fork(11275, child: 11277, expect: nil),
            .exec(11277, path: "/usr/bin/dash", argv: ["/bin/sh", "/tmp/attr/hook.sh", "pre"], expect: nil),
            .begin("toolu_00_1", tool: "Bash", command: "cat /tmp/attr/work/a.txt", agent: a),
            .fork(a, child: 11279, expect: nil),
            .exec(11279, path: "/usr/bin/bash", argv: ["/bin/bash", "-c", "env"], expect: nil),
            .fork(a, child: 11280, expect: nil),
            .exec(11280, path: "/usr/bin/bash", argv: Real.snapshotCreation, truncated: true, expect: nil),
            .fork(11280, child: 11281, expect: nil),
            .fork(a, child: 11283, expect: nil),
            .exec(11283, path: "/usr/bin/bash", argv: Real.toolShell("'ls /tmp/attr/work'", snapshot: snapshot), expect: "toolu_00_0"),
            .fork(a, child: 11284, expect: nil),
            .exec(
                11284, path: "/usr/bin/bash", argv: Real.toolShell("'cat /tmp/attr/work/a.txt'", snapshot: snapshot),
                expect: "toolu_00_1"),
            .fork(11283, child: 11285, expect: "toolu_00_0"),
            .exec(11285, path: "/usr/bin/ls", argv: ["ls", "/tmp/attr/work"], expect: "toolu_00_0"),
            .fork(11284, child: 11286, expect: "toolu_00_1"),
            .exec(11286, path: "/usr/bin/cat", argv: ["cat", "/tmp/attr/work/a.txt"], expect: "toolu_00_1"),
            .open(11286, "/tmp/attr/work/a.txt", expect: "toolu_00_1"),
            // PostToolUse hooks run while both calls are pending.
            .fork(a, child: 11287, expect: nil),
            .exec(11287, path: "/usr/bin/dash", argv: ["/bin/sh", "-c", "/tmp/attr/hook.sh post"], expect: nil),
            .end("toolu_00_1"),
            .end("toolu_00_0"),
            .begin("toolu_01_0", tool: "Read", file: "/tmp/attr/work/a.txt", agent: a),
            .begin("toolu_01_1", tool: "Read", file: "/tmp/attr/work/b.txt", agent: a),
            .open(a, "/tmp/attr/work/b.txt", expect: "toolu_01_1"),
            .open(a, "/tmp/attr/work/a.txt", expect: "toolu_01_0"),
        ])
    }

    @Test func aShellWithoutTheCommandTakesTheOldestPendingBashCall() {
        var run = Run()
        run.play([
            .begin("first", tool: "Bash", command: "make test"),
            .begin("second", tool: "Bash", command: "make lint"),
            // Claude Code rewrote the command (or a future version quotes it differently).
            .fork(a, child: 10, expect: nil),
            .exec(10, path: "/usr/bin/bash", argv: Real.toolShell("'make  test'"), expect: "first"),
            .fork(a, child: 11, expect: nil),
            .exec(11, path: "/usr/bin/bash", argv: Real.toolShell("'make  lint'"), expect: "second"),
            // A third tool shell with every Bash call already running: no guess.
            .fork(a, child: 12, expect: nil),
            .exec(12, path: "/usr/bin/bash", argv: Real.toolShell("'other'"), expect: nil),
        ])
    }

    @Test func theCommandWinsOverOrderAndSameCommandsShare() {
        var run = Run()
        run.play([
            .begin("first", tool: "Bash", command: "sleep 5"),
            .begin("second", tool: "Bash", command: "echo done"),
            .begin("third", tool: "Bash", command: "echo done"),
            .fork(a, child: 20, expect: nil),
            .exec(20, path: "/usr/bin/bash", argv: Real.toolShell("'echo done'"), expect: "second"),
            .fork(a, child: 21, expect: nil),
            .exec(21, path: "/usr/bin/bash", argv: Real.toolShell("'echo done'"), expect: "third"),
            .fork(a, child: 22, expect: nil),
            .exec(22, path: "/usr/bin/bash", argv: Real.toolShell("'sleep 5'"), expect: "first"),
        ])
    }

    /// The PostToolUse hook can reach the daemon before the ring buffer hands over the exec.
    @Test func anExecReadAfterItsCallEndedStillMatchesByCommand() {
        var run = Run()
        run.play([
            .begin("quick", tool: "Bash", command: "exit 3"),
            .end("quick"),
            .fork(a, child: 30, expect: nil),
            .exec(30, path: "/usr/bin/bash", argv: Real.toolShell("'exit 3'"), expect: "quick"),
            // But an ended call takes no unmatched shell.
            .fork(a, child: 31, expect: nil),
            .exec(31, path: "/usr/bin/bash", argv: Real.toolShell("'exit 4'"), expect: nil),
        ])
    }

    @Test func aTruncatedArgvMatchesByItsPrefix() {
        let long = "python3 - <<'EOF'\n" + String(repeating: "print('x' * 80)\n", count: 400) + "EOF"
        let quoted = ShellQuoting.singleQuoted(long)
        var argv = Real.toolShell(quoted)
        argv[2] = String(argv[2].prefix(4080))
        var run = Run()
        run.play([
            .begin("other", tool: "Bash", command: "true"),
            .begin("long", tool: "Bash", command: long),
            .fork(a, child: 40, expect: nil),
            .exec(40, path: "/usr/bin/bash", argv: argv, truncated: true, expect: "long"),
        ])
    }

    @Test func ripgrepStartedByTheAgentServesAPendingSearch() {
        var run = Run()
        run.play([
            .begin("grep", tool: "Grep", command: nil),
            .fork(a, child: 50, expect: nil),
            .exec(50, path: Real.claude, argv: ["rg", "--files-with-matches", "TODO", "/src"], expect: "grep"),
            .open(50, "/src/main.swift", expect: "grep"),
            .end("grep"),
            // rg with no search pending is the agent's own (e.g. its file index).
            .fork(a, child: 51, expect: nil),
            .exec(51, path: "/usr/bin/rg", argv: ["rg", "--files"], expect: nil),
        ])
    }

    @Test func mcpServersWorkForTheOnlyPendingMCPCall() {
        var run = Run()
        run.play([
            .register(agent: a),
            .fork(a, child: 60, expect: nil),
            .exec(60, path: "/usr/bin/node", argv: ["node", "/srv/mcp-sec/index.js"], expect: nil),
            .open(60, "/srv/mcp-sec/package.json", expect: nil),
            .begin("mcp", tool: "mcp__sec__echo"),
            .open(60, "/etc/passwd", expect: "mcp"),
            .fork(60, child: 61, expect: "mcp"),
            .connect(61, "93.184.215.14", 443, expect: "mcp"),
            .begin("bash", tool: "Bash", command: "ls"),
            .open(60, "/etc/hosts", expect: nil),  // two calls pending: no guess
            .end("bash"),
            .end("mcp"),
            .open(60, "/etc/passwd", expect: nil),
        ])
    }

    @Test func aNestedAgentsCallsAreItsOwnAndItsOtherChildrenStayWithTheOuterCall() {
        var run = Run()
        run.play([
            .begin("outer", tool: "Bash", command: "claude -p 'fix it'"),
            .fork(a, child: 70, expect: nil),
            .exec(70, path: "/usr/bin/bash", argv: Real.toolShell("'claude -p '\"'\"'fix it'\"'\"''"), expect: "outer"),
            .fork(70, child: 71, expect: "outer"),
            .exec(71, path: "/home/dev/.local/share/claude/versions/2.1.330", argv: ["claude", "-p", "fix it"], expect: "outer"),
            .begin("inner", tool: "Bash", command: "rm -rf build", agent: 71),
            .fork(71, child: 72, expect: "outer"),
            .exec(72, path: "/usr/bin/bash", argv: Real.toolShell("'rm -rf build'"), expect: "inner"),
            .fork(71, child: 73, expect: "outer"),
            .exec(73, path: "/usr/bin/git", argv: Real.git, expect: "outer"),
            .begin("innerRead", tool: "Read", file: "/w/.env", agent: 71),
            .open(71, "/w/.env", expect: "innerRead"),
            .open(71, "/w/other", expect: "outer"),
        ])
    }

    @Test func eventsOfUnknownSessionsAndGapsAreUnattributed() {
        var run = Run()
        run.play([.begin("x", tool: "Bash", command: "ls")])
        run.session = 99
        run.play([.fork(a, child: 80, expect: nil), .open(80, "/etc/passwd", expect: nil)])
        let gap = SensorEvent.gap(GapEvent(cause: .kernelRingFull, lost: 3, ktimeNanoseconds: 1))
        #expect(run.attributor.attribute(gap) == nil)
    }

    @Test func theRuleIsExplained() {
        var run = Run()
        run.play([.begin("b", tool: "Bash", command: "ls"), .fork(a, child: 90, expect: nil)])
        let exec = SensorEvent.exec(
            ExecEvent(
                header: run.header(90), ppid: a, uid: 0, gid: 0, cgroupID: 0, exeDevice: 0, exeInode: 0,
                path: "/usr/bin/bash", argv: Real.toolShell("'ls'")))
        #expect(run.attributor.explain(exec) == Attribution(toolUseID: "b", rule: .bashCommand))
        let child = SensorEvent.fork(ForkEvent(header: run.header(90), childPID: 91))
        #expect(run.attributor.explain(child) == Attribution(toolUseID: "b", rule: .inherited))
    }

    // MARK: Bounds

    @Test func pendingCallsAreCappedAndCounted() {
        var limits = ToolCallAttributor.Limits()
        limits.pendingPerSession = 2
        var run = Run(limits: limits)
        run.play([
            .begin("1", tool: "Bash", command: "a"), .begin("2", tool: "Bash", command: "b"), .begin("3", tool: "Bash", command: "c"),
        ])
        #expect(run.attributor.pending(in: Real.session) == ["2", "3"])
        #expect(run.attributor.counters.pendingDropped == 1)
    }

    @Test func processesAreForgottenAtExitAndEvictedWhenExitsAreLost() {
        var limits = ToolCallAttributor.Limits()
        limits.processesPerSession = 4
        var run = Run(limits: limits)
        run.play([
            .begin("b", tool: "Bash", command: "spawn"),
            .fork(a, child: 100, expect: nil),
            .exec(100, path: "/usr/bin/bash", argv: Real.toolShell("'spawn'"), expect: "b"),
        ])
        for child in Int32(101)...110 {
            run.play([.fork(100, child: child, expect: "b")])
        }
        #expect(run.attributor.trackedProcesses(in: Real.session) == 4)
        #expect(run.attributor.counters.processesEvicted == 7)
        // The oldest children went first; the shell, forking all along, stayed.
        run.play([.open(101, "/x", expect: nil), .open(107, "/x", expect: nil), .open(100, "/x", expect: "b")])
        run.play([.open(110, "/x", expect: "b"), .exit(110, expect: "b"), .open(110, "/x", expect: nil)])
        #expect(run.attributor.trackedProcesses(in: Real.session) == 3)
    }

    @Test func theAgentsExitDropsItsCallsAndForgetDropsTheSession() {
        var run = Run()
        run.play([
            .begin("r", tool: "Read", file: "/a"),
            .open(a, "/a", expect: "r"),
            .exit(a, expect: nil),
        ])
        #expect(run.attributor.pending(in: Real.session).isEmpty)
        run.play([.begin("s", tool: "Bash", command: "ls")])
        run.attributor.forget(session: Real.session)
        #expect(run.attributor.pending(in: Real.session).isEmpty)
        run.play([.fork(a, child: 5, expect: nil), .exec(5, path: "/usr/bin/bash", argv: Real.toolShell("'ls'"), expect: nil)])
    }

    @Test func sessionsAreCapped() {
        var limits = ToolCallAttributor.Limits()
        limits.sessions = 2
        var attributor = ToolCallAttributor(limits: limits)
        for session in SessionID(1)...3 {
            attributor.begin(session: session, agentPID: 1, toolUseID: "t\(session)", tool: "Bash", command: "ls", filePath: nil)
        }
        #expect(attributor.pending(in: 1).isEmpty)
        #expect(attributor.pending(in: 3) == ["t3"])
        #expect(attributor.counters.sessionsEvicted == 1)
    }

    // MARK: Shell text

    @Test func quotingIsClaudeCodes() {
        #expect("eval " + ShellQuoting.singleQuoted(Real.tricky) + " < /dev/null" == Real.trickyEval)
        #expect(ShellQuoting.singleQuoted("") == "''")
        #expect(ShellQuoting.singleQuoted("'") == #"''"'"''"#)
    }

    @Test(arguments: [
        (Real.toolShell("'ls'"), true),
        (["/bin/zsh", "-c", "eval 'ls' < /dev/null && pwd -P >| /tmp/claude-1a2b-cwd"], true),
        // A cut argv still shows the snapshot it sources.
        (["/bin/bash", "-c", "source /h/.claude/shell-snapshots/snapshot-bash-1-x.sh 2>/dev/null || true && eval 'ls"], true),
        (["/bin/bash", "-c", "env"], false),
        (Real.snapshotCreation, false),
        (["/bin/sh", "-c", "/tmp/attr/hook.sh pre"], false),
        (["/bin/sh", "-c", "eval 'ls'"], false),
        (["bash", "script.sh"], false),
    ])
    func toolShells(_ argv: [String], _ expected: Bool) {
        #expect(ShellQuoting.isToolShell(argv) == expected)
    }

    @Test(
        arguments: [
            ("http://127.0.0.1:9/x", "127.0.0.1"), ("https://example.com/a?b", "example.com"),
            ("https://user:pw@host.example:8443", "host.example"), ("http://[::1]:8080/", "::1"), ("not a url", nil),
        ] as [(String, String?)])
    func urlHosts(_ url: String, _ host: String?) {
        #expect(ShellQuoting.urlHost(url) == host)
    }

    @Test(
        arguments: [
            ("http://127.0.0.1:9/x", 9), ("https://example.com/a", 443), ("http://[::1]:8080/", 8080), ("http://h/", 80),
            ("ftp://h/", nil),
        ] as [(String, UInt16?)])
    func urlPorts(_ url: String, _ port: UInt16?) {
        #expect(ShellQuoting.urlPort(url) == port)
    }
}

// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import VigilCore

@Suite struct AgentDetectorTests {
    struct Case: CustomStringConvertible, Sendable {
        var path: String
        var argv: [String]
        var kind: AgentKind?
        var runtime: AgentRuntime? = nil
        var evidence: String? = nil
        var description: String { ([path] + argv).joined(separator: " ") }
    }

    static let sdk = "/work/main/.output/claude-venv/lib/python3.11/site-packages/claude_agent_sdk/_bundled/claude"

    static let agents: [Case] = [
        // Claude Code: the SDK's bundled binary as the real run exec'd it.
        Case(
            path: sdk, argv: [sdk, "-p", "go", "--output-format", "stream-json"], kind: .claudeCode, runtime: .native,
            evidence: "path \(sdk)"),
        // The native installer: ~/.local/bin/claude -> ~/.local/share/claude/versions/X (the kernel resolves the link).
        Case(path: "/home/dev/.local/share/claude/versions/2.1.330", argv: ["claude"], kind: .claudeCode, runtime: .native),
        Case(path: "/usr/local/bin/claude", argv: ["claude", "--resume"], kind: .claudeCode),
        // npm: node running cli.js, directly or through the bin link.
        Case(
            path: "/usr/bin/node", argv: ["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js", "-p", "x"],
            kind: .claudeCode, runtime: .javascript, evidence: "argv[1] /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"),
        Case(path: "/usr/bin/node", argv: ["node", "/usr/bin/claude"], kind: .claudeCode, runtime: .javascript),
        Case(
            path: "/opt/node/bin/node", argv: ["node", "--no-warnings", "--max-old-space-size=4096", "/home/u/.npm-global/bin/claude"],
            kind: .claudeCode, evidence: "argv[3] /home/u/.npm-global/bin/claude"),
        // Codex: node launcher, its native binary, a plain `codex`.
        Case(
            path: "/usr/bin/node", argv: ["node", "/usr/lib/node_modules/@openai/codex/bin/codex.js", "exec", "fix it"],
            kind: .codex, runtime: .javascript, evidence: "argv[1] /usr/lib/node_modules/@openai/codex/bin/codex.js"),
        Case(
            path: "/usr/lib/node_modules/@openai/codex/vendor/x86_64-unknown-linux-musl/codex/codex-x86_64-unknown-linux-musl",
            argv: ["codex"], kind: .codex, runtime: .native),
        Case(path: "/usr/local/bin/codex", argv: ["codex"], kind: .codex),
        Case(
            path: "/usr/bin/node", argv: ["node", "-r", "/tmp/preload.js", "/usr/local/bin/codex"], kind: .codex,
            evidence: "argv[3] /usr/local/bin/codex"),
        // Gemini CLI.
        Case(path: "/usr/bin/node", argv: ["node", "/usr/local/lib/node_modules/@google/gemini-cli/dist/index.js"], kind: .geminiCLI),
        Case(path: "/usr/bin/node", argv: ["/usr/bin/node", "/usr/local/bin/gemini", "-y"], kind: .geminiCLI),
        Case(
            path: "/home/u/.bun/bin/bun", argv: ["bun", "run", "/home/u/.bun/install/global/node_modules/@google/gemini-cli/dist/index.js"],
            kind: .geminiCLI, runtime: .javascript),
        // Cursor.
        Case(path: "/home/u/.local/share/cursor-agent/versions/2025.09.04/cursor-agent", argv: ["cursor-agent"], kind: .cursorAgent),
        Case(
            path: "/home/u/.local/share/cursor-agent/versions/2025.09.04/node",
            argv: ["node", "/home/u/.local/share/cursor-agent/versions/2025.09.04/index.js"], kind: .cursorAgent, runtime: .javascript),
        // Aider: the pip script (exec path is the interpreter, argv[1] the script) and -m.
        Case(
            path: "/usr/bin/python3.11", argv: ["/usr/bin/python3", "/usr/local/bin/aider", "--model", "x"], kind: .aider,
            runtime: .python, evidence: "argv[1] /usr/local/bin/aider"),
        Case(path: "/home/u/.local/share/uv/tools/aider-chat/bin/python", argv: ["python", "-s", "/home/u/.local/bin/aider"], kind: .aider),
        Case(
            path: "/usr/bin/python3.12", argv: ["python3", "-m", "aider", "--yes"], kind: .aider, runtime: .python,
            evidence: "argv[1..2] -m aider"),
        Case(path: "/usr/bin/python3.12", argv: ["python3", "-u", "-m", "aider.main"], kind: .aider),
        // The extensible rest.
        Case(path: "/usr/local/bin/goose", argv: ["goose", "session"], kind: .goose, runtime: .native),
        Case(path: "/home/u/.opencode/bin/opencode", argv: ["opencode"], kind: .opencode),
        Case(path: "/usr/bin/node", argv: ["node", "/usr/lib/node_modules/@sourcegraph/amp/dist/main.js"], kind: .amp),
    ]

    static let notAgents: [Case] = [
        // Words in argv are not executables.
        Case(path: "/usr/bin/grep", argv: ["grep", "claude", "notes.txt"], kind: nil),
        Case(path: "/usr/bin/vim", argv: ["vim", "claude-foo.txt"], kind: nil),
        Case(path: "/usr/bin/cat", argv: ["cat", "/usr/lib/node_modules/@openai/codex/README.md"], kind: nil),
        // Similar names are not the name.
        Case(path: "/home/u/bin/codex-report.sh", argv: ["codex-report.sh"], kind: nil),
        Case(path: "/usr/bin/bash", argv: ["bash", "./codex-report.sh"], kind: nil),
        Case(path: "/home/u/claude-foo.txt", argv: ["./claude-foo.txt"], kind: nil),
        Case(path: "/usr/local/bin/claude-monitor", argv: ["claude-monitor"], kind: nil),
        Case(path: "/usr/bin/node", argv: ["node", "/home/u/claude-report.js"], kind: nil),
        Case(path: "/usr/bin/node", argv: ["node", "/home/u/proj/cli.js"], kind: nil),
        Case(path: "/usr/bin/python3.11", argv: ["python3", "/home/u/aider_notes.py"], kind: nil),
        Case(path: "/usr/bin/python3.11", argv: ["python3", "-m", "aiderx"], kind: nil),
        // Inline code names no script, whatever it mentions.
        Case(path: "/usr/bin/node", argv: ["node", "-e", "require('/usr/bin/claude')"], kind: nil),
        Case(path: "/usr/bin/python3.11", argv: ["python3", "-c", "import aider"], kind: nil),
        // Shells are not interpreters here: a wrapper script named like the agent execs the agent next.
        Case(path: "/usr/bin/bash", argv: ["/bin/bash", "/home/u/.local/bin/claude"], kind: nil),
        // Claude Code's Bash tool runs grep/find as its own binary under another argv[0] (seen in a real trace).
        Case(path: sdk, argv: ["ugrep", "-G", "--ignore-files", "--hidden", "-I", "-c", "hello", "a.txt"], kind: nil),
        Case(path: "/home/dev/.local/share/claude/versions/2.1.330", argv: ["rg", "--files"], kind: nil),
        Case(path: sdk, argv: ["bfs", ".", "-name", "x"], kind: nil),
        // Packages ship other tools: ripgrep beside the agent is not the agent.
        Case(path: "/usr/lib/node_modules/@anthropic-ai/claude-code/vendor/ripgrep/x64-linux/rg", argv: ["rg", "-l", "x"], kind: nil),
        Case(path: "/usr/lib/node_modules/@openai/codex/vendor/x86_64-unknown-linux-musl/path/rg", argv: ["rg"], kind: nil),
        Case(path: "/home/dev/.local/share/claude/versions/2.1.330/helper", argv: ["helper"], kind: nil),
        // amp only as the npm package; a bare `amp` binary is something else.
        Case(path: "/usr/bin/amp", argv: ["amp"], kind: nil),
        Case(path: "/usr/bin/node", argv: ["node"], kind: nil),
        Case(path: "/usr/bin/python3", argv: [], kind: nil),
    ]

    @Test(arguments: agents + notAgents)
    func detects(_ c: Case) {
        let match = AgentDetector().detect(path: c.path, argv: c.argv)
        #expect(match?.kind == c.kind)
        if let runtime = c.runtime { #expect(match?.runtime == runtime) }
        if let evidence = c.evidence { #expect(match?.evidence == evidence) }
    }

    @Test func namesAreStable() {
        let match = AgentDetector().detect(path: "/usr/local/bin/codex", argv: ["codex"])
        #expect(match?.name == "codex")
        #expect(match?.displayName == "OpenAI Codex")
        #expect(
            AgentDetector.defaultSignatures.map(\.kind.rawValue) == [
                "claude-code", "codex", "gemini-cli", "cursor-agent", "aider", "goose", "opencode", "amp",
            ])
    }

    @Test func theTableIsExtensible() {
        var detector = AgentDetector()
        let crush = AgentKind(rawValue: "crush")
        #expect(detector.detect(path: "/usr/bin/crush", argv: ["crush"]) == nil)
        detector.signatures.append(AgentSignature(kind: crush, displayName: "Crush", binaryNames: ["crush"]))
        #expect(detector.detect(path: "/usr/bin/crush", argv: ["crush"])?.kind == crush)
    }

    @Test func detectsFromAnExecEvent() {
        let exec = ExecEvent(
            header: EventHeader(ktimeNanoseconds: 1, pid: 7, tid: 7, session: 0), ppid: 1, uid: 1000, gid: 1000,
            cgroupID: 0, exeDevice: 0, exeInode: 0, path: "/usr/bin/node",
            argv: ["node", "/usr/lib/node_modules/@openai/codex/bin/codex.js"])
        #expect(AgentDetector().detect(exec)?.evidence == "argv[1] /usr/lib/node_modules/@openai/codex/bin/codex.js")
    }

    @Test(arguments: [
        ("node", AgentRuntime.javascript), ("node22", .javascript), ("bun", .javascript), ("python3", .python),
        ("python3.11", .python), ("python", .python), ("pypy3", .python),
    ])
    func interpreters(_ name: String, _ runtime: AgentRuntime) {
        #expect(AgentDetector.runtime(ofInterpreter: name) == runtime)
    }

    @Test(arguments: ["python3-config", "nodemon", "bash", "sh", "env"])
    func notInterpreters(_ name: String) {
        #expect(AgentDetector.runtime(ofInterpreter: name) == nil)
    }
}

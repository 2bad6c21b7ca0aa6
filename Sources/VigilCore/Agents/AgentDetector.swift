// SPDX-License-Identifier: Apache-2.0
// Which AI coding agent CLI an exec started, from what the kernel saw: the resolved path of the
// executed file and the argv on the new stack. Pure and table-driven, so the daemon can spot agents
// started outside Vigil and the rules can be extended without touching the matcher.
//
// Only the executed file and, for interpreters, the script or module they run are looked at —
// never free argv words — so `grep claude`, `vim claude-notes.txt` or `bash codex-report.sh` are
// not agents. Shells are not interpreters here: a wrapper script execs the real agent next.

/// A kind of agent. A struct over a stable string so new kinds don't break clients.
public struct AgentKind: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let claudeCode = AgentKind(rawValue: "claude-code")
    public static let codex = AgentKind(rawValue: "codex")
    public static let geminiCLI = AgentKind(rawValue: "gemini-cli")
    public static let cursorAgent = AgentKind(rawValue: "cursor-agent")
    public static let aider = AgentKind(rawValue: "aider")
    public static let goose = AgentKind(rawValue: "goose")
    public static let opencode = AgentKind(rawValue: "opencode")
    public static let amp = AgentKind(rawValue: "amp")

    public var description: String { rawValue }
}

/// How the agent's code was started.
public enum AgentRuntime: String, Sendable, Hashable, Codable {
    /// The executed file is the agent (a compiled or single-file binary).
    case native
    /// node, bun or deno running the agent's script.
    case javascript
    /// A Python interpreter running the agent's script or module.
    case python
}

/// One way to recognise an agent. Every list may be empty; a signature matches when any rule does.
public struct AgentSignature: Sendable, Hashable {
    public var kind: AgentKind
    public var displayName: String
    /// Exact basenames of the executed file.
    public var binaryNames: Set<String>
    /// Basename prefixes that must be followed by a CPU architecture (`codex-x86_64-unknown-linux-musl`).
    public var binaryArchPrefixes: [String]
    /// Directories whose direct entries are the agent's binaries, whatever their names
    /// (`~/.local/share/claude/versions/2.1.330`). Not deeper: packages also ship other tools (ripgrep).
    public var versionDirectories: [String]
    /// Path fragments of the agent's package: a script under one is the agent (`cli.js` of
    /// `/node_modules/@anthropic-ai/claude-code/`). Scripts only, for the same reason.
    public var packagePaths: [String]
    /// Interpreters that run the agent's scripts, and the scripts' basenames (any `.js`/`.mjs`/`.cjs`/`.py`
    /// extension dropped) — npm and pip put `bin/codex` or `aider` on PATH.
    public var scriptRuntimes: Set<AgentRuntime>
    public var scriptNames: Set<String>
    /// `python -m <module>` (also `<module>.<sub>`).
    public var pythonModules: Set<String>
    /// argv[0] basenames under which the agent's own binary is *not* the agent (Claude Code re-execs
    /// itself as `rg`, `ugrep`, `bfs` for the Bash tool's grep/find).
    public var helperAliases: Set<String>

    public init(
        kind: AgentKind, displayName: String, binaryNames: Set<String> = [], binaryArchPrefixes: [String] = [],
        versionDirectories: [String] = [], packagePaths: [String] = [], scriptRuntimes: Set<AgentRuntime> = [], scriptNames: Set<String> = [],
        pythonModules: Set<String> = [], helperAliases: Set<String> = []
    ) {
        self.kind = kind
        self.displayName = displayName
        self.binaryNames = binaryNames
        self.binaryArchPrefixes = binaryArchPrefixes
        self.versionDirectories = versionDirectories
        self.packagePaths = packagePaths
        self.scriptRuntimes = scriptRuntimes
        self.scriptNames = scriptNames
        self.pythonModules = pythonModules
        self.helperAliases = helperAliases
    }
}

/// A positive detection.
public struct AgentMatch: Sendable, Hashable, Codable {
    public var kind: AgentKind
    /// Stable identifier for logs, audit and JSON (`claude-code`, `codex`, …).
    public var name: String { kind.rawValue }
    public var displayName: String
    public var runtime: AgentRuntime
    /// What matched, for the audit entry: `path /usr/bin/codex`,
    /// `argv[1] /usr/lib/node_modules/@openai/codex/bin/codex.js`, `argv[1..2] -m aider`.
    public var evidence: String

    public init(kind: AgentKind, displayName: String, runtime: AgentRuntime, evidence: String) {
        self.kind = kind
        self.displayName = displayName
        self.runtime = runtime
        self.evidence = evidence
    }
}

public struct AgentDetector: Sendable {
    public var signatures: [AgentSignature]

    public init(signatures: [AgentSignature] = AgentDetector.defaultSignatures) {
        self.signatures = signatures
    }

    public static let defaultSignatures: [AgentSignature] = [
        AgentSignature(
            kind: .claudeCode, displayName: "Claude Code", binaryNames: ["claude"],
            versionDirectories: ["/.local/share/claude/versions/"], packagePaths: ["/node_modules/@anthropic-ai/claude-code/"],
            scriptRuntimes: [.javascript], scriptNames: ["claude"],
            helperAliases: ["rg", "ugrep", "bfs", "grep", "egrep", "fgrep", "find"]),
        AgentSignature(
            kind: .codex, displayName: "OpenAI Codex", binaryNames: ["codex"], binaryArchPrefixes: ["codex-"],
            packagePaths: ["/node_modules/@openai/codex/"], scriptRuntimes: [.javascript], scriptNames: ["codex"]),
        AgentSignature(
            kind: .geminiCLI, displayName: "Gemini CLI", binaryNames: ["gemini"],
            packagePaths: ["/node_modules/@google/gemini-cli/"], scriptRuntimes: [.javascript], scriptNames: ["gemini"]),
        AgentSignature(
            kind: .cursorAgent, displayName: "Cursor Agent", binaryNames: ["cursor-agent"],
            packagePaths: ["/.local/share/cursor-agent/versions/"], scriptRuntimes: [.javascript],
            scriptNames: ["cursor-agent"]),
        AgentSignature(
            kind: .aider, displayName: "Aider", scriptRuntimes: [.python], scriptNames: ["aider"], pythonModules: ["aider"]),
        AgentSignature(kind: .goose, displayName: "Goose", binaryNames: ["goose"]),
        AgentSignature(
            kind: .opencode, displayName: "opencode", binaryNames: ["opencode"],
            packagePaths: ["/node_modules/opencode-ai/"], scriptRuntimes: [.javascript], scriptNames: ["opencode"]),
        // `amp` alone is too common a binary name: only the npm package counts.
        AgentSignature(
            kind: .amp, displayName: "Amp", packagePaths: ["/node_modules/@sourcegraph/amp/"],
            scriptRuntimes: [.javascript], scriptNames: ["amp"]),
    ]

    /// The agent an exec started, or nil.
    public func detect(_ exec: ExecEvent) -> AgentMatch? { detect(path: exec.path, argv: exec.argv) }

    /// - Parameters:
    ///   - path: the kernel-resolved path of the executed file (for a `#!` script: its interpreter).
    ///   - argv: as on the new process's stack.
    public func detect(path: String, argv: [String]) -> AgentMatch? {
        let base = Self.basename(path)
        let argv0 = argv.first.map(Self.basename) ?? base
        if let runtime = Self.runtime(ofInterpreter: base) {
            return detectInterpreted(runtime: runtime, argv: argv)
        }
        for signature in signatures where Self.isBinary(path: path, base: base, of: signature) {
            // The agent binary run under another name is one of its embedded tools.
            if argv0 != base, signature.helperAliases.contains(argv0) { return nil }
            return AgentMatch(
                kind: signature.kind, displayName: signature.displayName, runtime: .native, evidence: "path \(path)")
        }
        return nil
    }

    private func detectInterpreted(runtime: AgentRuntime, argv: [String]) -> AgentMatch? {
        switch Self.target(of: runtime, argv: argv) {
        case .script(let index, let script):
            let name = Self.stripExtension(Self.basename(script))
            for signature in signatures where signature.scriptRuntimes.contains(runtime) {
                if signature.packagePaths.contains(where: { script.contains($0) }) || signature.scriptNames.contains(name) {
                    return AgentMatch(
                        kind: signature.kind, displayName: signature.displayName, runtime: runtime,
                        evidence: "argv[\(index)] \(script)")
                }
            }
        case .module(let index, let module):
            let root = module.split(separator: ".", maxSplits: 1).first.map(String.init) ?? module
            for signature in signatures where signature.pythonModules.contains(root) {
                return AgentMatch(
                    kind: signature.kind, displayName: signature.displayName, runtime: .python,
                    evidence: "argv[\(index - 1)..\(index)] -m \(module)")
            }
        case .none:
            break
        }
        return nil
    }

    private static func isBinary(path: String, base: String, of signature: AgentSignature) -> Bool {
        if signature.binaryNames.contains(base) { return true }
        for prefix in signature.binaryArchPrefixes where base.hasPrefix(prefix) {
            let rest = base.dropFirst(prefix.count)
            if architectures.contains(where: { rest.hasPrefix($0) }) { return true }
        }
        return signature.versionDirectories.contains { directory in
            guard let range = path.firstRange(of: directory) else { return false }
            return !path[range.upperBound...].contains("/")
        }
    }

    private static let architectures = ["x86_64-", "aarch64-", "arm64-", "x64-", "linux-"]

    /// What an interpreter was asked to run.
    enum Target: Equatable {
        case script(index: Int, String)
        case module(index: Int, String)
        case none
    }

    /// The first operand after the interpreter's own options; nil for inline code (`-c`, `-e`).
    static func target(of runtime: AgentRuntime, argv: [String]) -> Target {
        let takesValue: Set<String>
        let inline: Set<String>
        switch runtime {
        case .python:
            takesValue = ["-W", "-X", "--check-hash-based-pycs"]
            inline = ["-c"]
        case .javascript:
            takesValue = [
                "-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file", "-C", "--conditions",
                "--title", "--cwd", "--config", "--preload",
            ]
            inline = ["-e", "--eval", "-p", "--print"]
        case .native:
            return .none
        }
        var i = 1
        while i < argv.count {
            let word = argv[i]
            if word == "--" { return i + 1 < argv.count ? .script(index: i + 1, argv[i + 1]) : .none }
            if runtime == .python, word == "-m" { return i + 1 < argv.count ? .module(index: i + 1, argv[i + 1]) : .none }
            if runtime == .python, word.hasPrefix("-m"), word.count > 2, !word.hasPrefix("--") {
                return .module(index: i, String(word.dropFirst(2)))
            }
            if inline.contains(word) { return .none }
            if word.hasPrefix("-") {
                i += takesValue.contains(word) ? 2 : 1
                continue
            }
            // `bun run x.js`, `deno run -A x.ts`.
            if runtime == .javascript, word == "run" || word == "x" { i += 1; continue }
            return .script(index: i, word)
        }
        return .none
    }

    static func runtime(ofInterpreter base: String) -> AgentRuntime? {
        if ["node", "nodejs", "bun", "deno"].contains(base) { return .javascript }
        if base.hasPrefix("node"), base.dropFirst(4).allSatisfy(\.isNumber) { return .javascript }
        for stem in ["python", "pypy"] where base.hasPrefix(stem) {
            if base.dropFirst(stem.count).allSatisfy({ $0.isNumber || $0 == "." }) { return .python }
        }
        return nil
    }

    static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func stripExtension(_ name: String) -> String {
        for ext in [".js", ".mjs", ".cjs", ".ts", ".py"] where name.hasSuffix(ext) && name.count > ext.count {
            return String(name.dropLast(ext.count))
        }
        return name
    }
}

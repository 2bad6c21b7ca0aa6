// SPDX-License-Identifier: Apache-2.0
// `Tool(specifier)` parsed into what it matches. Claude Code's forms plus Vigil's kernel kinds.

/// How a rule picks tool names: exactly, a whole MCP server, or a glob.
enum ToolNameMatcher: Sendable, Hashable {
    case exact(String)
    /// `mcp__server`: every tool of that server.
    case mcpServer(String)
    case glob(Glob)

    func matches(_ name: String) -> Bool {
        switch self {
        case .exact(let exact): name == exact
        case .mcpServer(let server): name == server || name.hasPrefix(server + "__")
        case .glob(let glob): glob.matches(name)
        }
    }
}

/// Which tools a path rule governs (reference §2.4).
enum PathFamily: String, Sendable, Hashable {
    case read = "Read"
    case edit = "Edit"
    case write = "Write"
}

/// What one rule matches.
enum RulePattern: Sendable, Hashable {
    /// `Tool` or `Tool(*)`: every call of the tool(s).
    case anyCall(ToolNameMatcher)
    case bash(CommandPattern)
    case path(PathFamily, PathPattern)
    case domain(DomainPattern)
    /// `Tool(key:value)`: an input field's value.
    case parameter(ToolNameMatcher, key: String, value: Glob)
    /// `Agent(Explore)`, `Skill(name)`: the tool's main field (`subagent_type`, `skill`).
    case field(tool: String, key: String, value: Glob)
    case exec(ExecPattern)
    case open(OpenPattern)
    case connect(ConnectPattern)
    /// `Peer(…)`: a local process outside the session reached from it (the session boundary).
    case peer(PeerPattern)

    var isKernel: Bool {
        switch self {
        case .exec, .open, .connect, .peer: true
        default: false
        }
    }

    static let kernelKinds: Set<String> = ["Exec", "Open", "Connect", "Peer"]
    static let bashParameters: Set<String> = ["run_in_background", "timeout", "description", "dangerouslyDisableSandbox"]
    static let mainFields: [String: String] = ["Agent": "subagent_type", "Skill": "skill", "SlashCommand": "command"]

    /// - Parameter action: relative path patterns are anchored differently for allow (see `PathPattern`).
    init(parsing text: String, action: PolicyAction) throws(PatternError) {
        let trimmed = String(text.trimmingSpaces)
        var name = trimmed
        var specifier: String?
        if let open = trimmed.firstIndex(of: "(") {
            guard trimmed.hasSuffix(")") else { throw PatternError("'\(trimmed)' is missing its closing ')'") }
            name = String(trimmed[..<open])
            specifier = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
        }
        guard let first = name.first, first.isLetter,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-*.".contains($0)) })
        else {
            throw PatternError("'\(name)' is not a tool name")
        }
        if name == "Task" { name = "Agent" }  // legacy alias, reported as Agent by Claude Code too
        if RulePattern.kernelKinds.contains(name) {
            guard let specifier, !specifier.trimmingSpaces.isEmpty else {
                throw PatternError("\(name)(…) needs a pattern")
            }
            switch name {
            case "Exec": self = .exec(try ExecPattern(specifier))
            case "Open": self = .open(try OpenPattern(specifier))
            case "Peer": self = .peer(try PeerPattern(specifier))
            default: self = .connect(try ConnectPattern(specifier))
            }
            return
        }
        let names = RulePattern.nameMatcher(name)
        guard let specifier, specifier != "*" else {
            self = .anyCall(names)
            return
        }
        guard !specifier.isEmpty else { throw PatternError("'\(trimmed)' has an empty specifier") }
        if let (key, value) = RulePattern.parameterForm(specifier, tool: name) {
            self = .parameter(names, key: key, value: Glob(value))
            return
        }
        guard case .exact = names else {
            throw PatternError("a tool-name glob takes only key:value specifiers, not '\(specifier)'")
        }
        switch name {
        case "Bash":
            self = .bash(try CommandPattern(specifier))
        case "Read", "Edit", "Write":
            let mode: PathPattern.RelativeMode = action == .allow ? .gitignore : .anywhere
            self = .path(PathFamily(rawValue: name)!, try PathPattern(specifier, relative: mode))
        case "WebFetch":
            guard specifier.hasPrefix("domain:") else {
                throw PatternError("WebFetch takes 'domain:HOST', not '\(specifier)' (Claude Code rejects it too)")
            }
            self = .domain(try DomainPattern(String(specifier.dropFirst("domain:".count))))
        default:
            guard let key = RulePattern.mainFields[name] else {
                throw PatternError("\(name)(…) takes only key:value specifiers, not '\(specifier)'")
            }
            self = .field(tool: name, key: key, value: Glob(specifier))
        }
    }

    private static func nameMatcher(_ name: String) -> ToolNameMatcher {
        if name.contains("*") { return .glob(Glob(name)) }
        if name.hasPrefix("mcp__"), !name.dropFirst(5).contains("__") { return .mcpServer(name) }
        return .exact(name)
    }

    /// `key:value` where key is an input field name. For Bash only its own parameters count,
    /// so `Bash(git:*)` stays a legacy prefix rule; `WebFetch(domain:…)` is its own form.
    private static func parameterForm(_ specifier: String, tool: String) -> (String, String)? {
        guard let colon = specifier.firstIndex(of: ":") else { return nil }
        let key = String(specifier[..<colon])
        let value = String(specifier[specifier.index(after: colon)...])
        guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            return nil
        }
        switch tool {
        case "Bash": return bashParameters.contains(key) ? (key, value) : nil
        case "WebFetch": return nil
        case "Read", "Edit", "Write": return nil
        default: return (key, value)
        }
    }
}

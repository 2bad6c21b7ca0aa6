// SPDX-License-Identifier: Apache-2.0
// Ties each kernel event of an agent session to the Claude Code tool call that caused it. Pure: the
// daemon feeds it the allowed PreToolUse calls, their ends, and the session's events in ring order.
//
// The shapes it relies on, seen on Claude Code 2.1.330 under `vigil trace`:
// - Claude Code (pid A, one Bun process; its threads' syscalls carry pid A) forks one child per Bash
//   call. The child execs the user's shell with a single script:
//     /bin/bash -c "source ~/.claude/shell-snapshots/snapshot-bash-<ts>-<rand>.sh 2>/dev/null || true
//       && \builtin shopt -u extglob … || true && eval '<COMMAND>' < /dev/null && pwd -P >| /tmp/claude-XXXX-cwd"
//   where <COMMAND> is single-quoted, each `'` written `'"'"'`. No syscall runs between the fork and
//   the exec. Everything the command starts descends from that shell (pipes, `( … &)`, setsid,
//   and `grep`/`find`, which re-exec the claude binary as `ugrep`/`bfs`).
// - Read/Write/Edit run inside A: it opens the file many times (stat-like checks, the read, the
//   diff), and Write/Edit write `<file>.tmp.<pid>.<hex>` then rename it over the file.
// - A also forks processes no tool call asked for: `git ls-files` and `bash -c env` and the shell
//   snapshot at startup, hook commands (`/bin/sh -c …`), MCP stdio servers.
//
// Rules, in order, for an event of pid P:
// 1. P is attributed (recorded when it was forked or exec'd): that call. A fork by an attributed
//    pid attributes the child at fork time, so double fork, setsid and reparenting to init stay
//    attributed; the mapping outlives the call's end (background commands) until P exits.
// 2. P is a child of an agent process, at its first exec: the pending (or just ended) Bash call
//    whose command appears in its argv — as `eval '<quoted>'` or as a whole argument — else, for a
//    Claude Code tool shell (the `eval … pwd -P >|` wrapper), the oldest pending Bash call with no
//    process yet; else, for `rg` (argv[0]), the newest pending Grep/Glob call. Otherwise P is the
//    agent's own helper (rule 5); a nested agent's unmatched child keeps its parent's call instead.
// 3. P is the agent and the event an open: the pending call whose `filePath` is the path (or its
//    `.tmp.` sibling); with two candidates, one whose tool writes for a write open.
// 4. P is the agent and the event an inet connect/send while a WebFetch/WebSearch call is pending
//    (`command` = the URL): the call whose URL names that address and port; else the newest such
//    call, unless the endpoint is one the agent used while no web call was pending (the model API,
//    telemetry). A heuristic: host names are not resolved here, and the DNS lookup counts as the call's.
// A file, web or search call has no process of its own unless rule 2 gives it one (rg).
// 5. P is an agent helper (or descends from one): while exactly one call is pending and it is an
//    MCP call (`mcp__…`), that call — an MCP server works for it; else nil.
// Everything else is nil: the agent's own work between calls is not a tool call's.

/// Why an event was tied to a call.
public enum AttributionRule: String, Sendable, Hashable, Codable {
    /// The process (or an ancestor, at fork time) was already attributed.
    case inherited
    /// The tool shell's argv carries the call's command.
    case bashCommand
    /// A tool shell with no command match: the oldest pending Bash call without a process.
    case bashOldestPending
    /// `rg` started by the agent for a Grep/Glob call.
    case searchHelper
    /// The agent opened the call's file.
    case filePath
    /// The agent connected while a web call was pending.
    case network
    /// An agent helper (MCP server) while only an MCP call was pending.
    case mcpServer
}

public struct Attribution: Sendable, Hashable {
    public var toolUseID: String
    public var rule: AttributionRule

    public init(toolUseID: String, rule: AttributionRule) {
        self.toolUseID = toolUseID
        self.rule = rule
    }
}

public struct ToolCallAttributor: Sendable {
    public struct Limits: Sendable, Hashable {
        /// Pending calls kept per session; the oldest is dropped (and counted) beyond it.
        public var pendingPerSession = 256
        /// Ended calls still matched by command, for a shell whose exec is read after the call ended.
        public var recentlyEndedPerSession = 64
        /// Processes tracked per session (exits free them; lost exits are evicted least recently
        /// started or forking first).
        public var processesPerSession = 65_536
        /// Endpoints remembered as the agent's own traffic.
        public var baselineEndpoints = 64
        public var sessions = 4_096

        public init() {}
    }

    /// Every bound that dropped state, counted.
    public struct Counters: Sendable, Hashable {
        public var pendingDropped = 0
        public var processesEvicted = 0
        public var sessionsEvicted = 0
        public var attributed = 0
        public var unattributed = 0
    }

    public let limits: Limits
    public private(set) var counters = Counters()
    private var sessions: [SessionID: SessionState] = [:]
    private var sessionOrder: [SessionID] = []
    private var sessionOfCall: [String: SessionID] = [:]

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Tells which process is the agent of `session`, before any call (so the helpers it starts at
    /// startup, like MCP servers, are known). `begin` does the same.
    public mutating func registerAgent(session: SessionID, agentPID: Int32) {
        withSession(session) { $0.agents.insert(agentPID) }
    }

    /// A tool call the daemon allowed: its processes may start from now on.
    /// - Parameters:
    ///   - command: the Bash command; for WebFetch the URL.
    ///   - filePath: `file_path` (or `notebook_path`) of a file tool, absolute as the hook gives it.
    public mutating func begin(
        session: SessionID, agentPID: Int32, toolUseID: String, tool: String, command: String?, filePath: String?
    ) {
        let limits = limits
        var dropped: [String] = []
        withSession(session) { state in
            state.agents.insert(agentPID)
            state.pending.removeAll { $0.id == toolUseID }
            state.pending.append(PendingCall(id: toolUseID, tool: tool, agent: agentPID, command: command, filePath: filePath))
            while state.pending.count > limits.pendingPerSession {
                dropped.append(state.pending.removeFirst().id)
            }
        }
        counters.pendingDropped += dropped.count
        for id in dropped { sessionOfCall[id] = nil }
        sessionOfCall[toolUseID] = session
    }

    /// The call is over (PostToolUse, PostToolUseFailure, or denied): no new process is matched to
    /// it by default, but processes it started stay attributed.
    public mutating func end(toolUseID: String) {
        guard let session = sessionOfCall.removeValue(forKey: toolUseID), var state = sessions[session] else { return }
        if let index = state.pending.firstIndex(where: { $0.id == toolUseID }) {
            let call = state.pending.remove(at: index)
            if call.tool == "Bash", call.command != nil {
                state.recentlyEnded.append(call)
                if state.recentlyEnded.count > limits.recentlyEndedPerSession { state.recentlyEnded.removeFirst() }
            }
        }
        sessions[session] = state
    }

    /// Forgets a session that is over.
    public mutating func forget(session: SessionID) {
        guard let state = sessions.removeValue(forKey: session) else { return }
        for call in state.pending { sessionOfCall[call.id] = nil }
        sessionOrder.removeAll { $0 == session }
    }

    /// The tool_use_id the event belongs to, or nil.
    public mutating func attribute(_ event: SensorEvent) -> String? { explain(event)?.toolUseID }

    /// The call the event belongs to and the rule that tied it.
    public mutating func explain(_ event: SensorEvent) -> Attribution? {
        guard let header = event.header, var state = sessions[header.session] else {
            counters.unattributed += 1
            return nil
        }
        let result = state.apply(event, pid: header.pid, limits: limits, counters: &counters)
        for id in state.orphanedCalls { sessionOfCall[id] = nil }
        state.orphanedCalls.removeAll()
        sessions[header.session] = state
        if result == nil { counters.unattributed += 1 } else { counters.attributed += 1 }
        return result
    }

    /// Ids of the calls pending in `session`, oldest first.
    public func pending(in session: SessionID) -> [String] { sessions[session]?.pending.map(\.id) ?? [] }

    /// Processes tracked in `session` (attributed, helpers and agent children awaiting exec).
    public func trackedProcesses(in session: SessionID) -> Int {
        guard let state = sessions[session] else { return 0 }
        return state.processes.count
    }

    private mutating func withSession(_ session: SessionID, _ body: (inout SessionState) -> Void) {
        var state = sessions[session] ?? SessionState()
        if sessions[session] == nil {
            sessionOrder.append(session)
            while sessionOrder.count > limits.sessions {
                let old = sessionOrder.removeFirst()
                if let gone = sessions.removeValue(forKey: old) {
                    for call in gone.pending { sessionOfCall[call.id] = nil }
                }
                counters.sessionsEvicted += 1
            }
        }
        body(&state)
        sessions[session] = state
    }
}

// MARK: - State

private struct PendingCall: Sendable {
    var id: String
    var tool: String
    var agent: Int32
    var command: String?
    var filePath: String?
    /// The command as Claude Code's wrapper writes it: `eval '<command, ' as '"'"'>'`.
    var evalForm: String?
    var processes = 0

    init(id: String, tool: String, agent: Int32, command: String?, filePath: String?) {
        self.id = id
        self.tool = tool
        self.agent = agent
        self.command = command
        self.filePath = filePath
        if tool == "Bash", let command, !command.isEmpty {
            evalForm = "eval " + ShellQuoting.singleQuoted(command)
        }
    }

    var isWeb: Bool { tool == "WebFetch" || tool == "WebSearch" }
    var isSearch: Bool { tool == "Grep" || tool == "Glob" }
    var isMCP: Bool { tool.hasPrefix("mcp__") }
    var writes: Bool { ["Write", "Edit", "MultiEdit", "NotebookEdit"].contains(tool) }
}

private enum ProcessRole: Sendable, Hashable {
    /// Tied to a call.
    case attributed(String)
    /// Forked by an agent, not exec'd yet; `inherited` is the agent's own call (nested agents).
    case agentChild(agent: Int32, inherited: String?)
    /// The agent's own helper (MCP server, git, hook), or a descendant of one.
    case helper(agent: Int32)
}

private struct SessionState: Sendable {
    var agents: Set<Int32> = []
    var pending: [PendingCall] = []
    var recentlyEnded: [PendingCall] = []
    var processes: [Int32: (role: ProcessRole, serial: UInt64)] = [:]
    /// Insertion order for eviction when exits are lost; entries whose serial no longer matches are stale.
    var order: [(pid: Int32, serial: UInt64)] = []
    var orderHead = 0
    var serial: UInt64 = 0
    /// Per agent: inet endpoints it used while no web call was pending.
    var baseline: [Int32: [String]] = [:]
    /// Calls dropped because their agent exited, for the caller to forget.
    var orphanedCalls: [String] = []

    mutating func apply(
        _ event: SensorEvent, pid: Int32, limits: ToolCallAttributor.Limits,
        counters: inout ToolCallAttributor.Counters
    ) -> Attribution? {
        switch event {
        case .fork(let e):
            return fork(parent: pid, child: e.childPID, limits: limits, counters: &counters)
        case .exec(let e):
            return exec(
                pid: pid, argv: e.argv, truncated: e.header.flags.contains(.argvTruncated), limits: limits,
                counters: &counters)
        case .exit:
            let result = ambient(pid)
            processes[pid] = nil
            if agents.remove(pid) != nil {
                // Its calls can no longer end normally.
                orphanedCalls += pending.filter { $0.agent == pid }.map(\.id)
                pending.removeAll { $0.agent == pid }
                baseline[pid] = nil
            }
            return result
        case .open(let e):
            // A nested agent's own work that matches none of its calls is its parent call's.
            if agents.contains(pid), let found = agentOpen(pid, e) { return found }
            return ambient(pid)
        case .connect(let e), .send(let e):
            if agents.contains(pid), let found = agentNetwork(pid, e, limits: limits) { return found }
            return ambient(pid)
        case .procAccess:
            return ambient(pid)
        case .gap:
            return nil
        }
    }

    /// Rules 1 and 5 for a process's own events.
    func ambient(_ pid: Int32) -> Attribution? {
        switch processes[pid]?.role {
        case .attributed(let id): return Attribution(toolUseID: id, rule: .inherited)
        case .agentChild(_, let inherited): return inherited.map { Attribution(toolUseID: $0, rule: .inherited) }
        case .helper(let agent): return mcpCall(of: agent)
        case nil: return nil
        }
    }

    func mcpCall(of agent: Int32) -> Attribution? {
        let calls = pending.filter { $0.agent == agent }
        guard calls.count == 1, calls[0].isMCP else { return nil }
        return Attribution(toolUseID: calls[0].id, rule: .mcpServer)
    }

    mutating func fork(
        parent: Int32, child: Int32, limits: ToolCallAttributor.Limits,
        counters: inout ToolCallAttributor.Counters
    ) -> Attribution? {
        let parentRole = processes[parent]?.role
        // A parent that forks is alive: it moves to the back of the eviction order (a long-lived
        // shell must outlast the children whose exits were lost).
        if let parentRole { track(parent, parentRole, limits: limits, counters: &counters) }
        if agents.contains(parent) {
            // A nested agent (run by a Bash call) keeps its own call for children it does not explain.
            var inherited: String? = nil
            if case .attributed(let id)? = parentRole { inherited = id }
            track(child, .agentChild(agent: parent, inherited: inherited), limits: limits, counters: &counters)
            return inherited.map { Attribution(toolUseID: $0, rule: .inherited) }
        }
        switch parentRole {
        case .attributed(let id):
            track(child, .attributed(id), limits: limits, counters: &counters)
            return Attribution(toolUseID: id, rule: .inherited)
        case .agentChild(let agent, let inherited):
            // Forked again before exec (a spawn helper): still the agent's child to resolve.
            track(child, .agentChild(agent: agent, inherited: inherited), limits: limits, counters: &counters)
            return inherited.map { Attribution(toolUseID: $0, rule: .inherited) }
        case .helper(let agent):
            track(child, .helper(agent: agent), limits: limits, counters: &counters)
            return mcpCall(of: agent)
        case nil:
            return nil
        }
    }

    mutating func exec(
        pid: Int32, argv: [String], truncated: Bool, limits: ToolCallAttributor.Limits,
        counters: inout ToolCallAttributor.Counters
    ) -> Attribution? {
        guard case .agentChild(let agent, let inherited)? = processes[pid]?.role else { return ambient(pid) }
        let found = resolve(agent: agent, argv: argv, truncated: truncated)
        if let found {
            track(pid, .attributed(found.toolUseID), limits: limits, counters: &counters)
            if let index = pending.firstIndex(where: { $0.id == found.toolUseID }) { pending[index].processes += 1 }
            return found
        }
        if let inherited {
            track(pid, .attributed(inherited), limits: limits, counters: &counters)
            return Attribution(toolUseID: inherited, rule: .inherited)
        }
        track(pid, .helper(agent: agent), limits: limits, counters: &counters)
        return mcpCall(of: agent)
    }

    /// Rule 2.
    func resolve(agent: Int32, argv: [String], truncated: Bool) -> Attribution? {
        let bash = pending.filter { $0.agent == agent && $0.tool == "Bash" }
        let ended = recentlyEnded.filter { $0.agent == agent }.reversed()
        let script = argv.last ?? ""
        // The sensor cuts long argv: then the script ends inside the quoted command.
        let cut = truncated ? script.firstRange(of: "eval '").map { script[$0.lowerBound...] } : nil
        let matches = (bash + ended).filter { call in
            guard let evalForm = call.evalForm else { return false }
            if script.contains(evalForm) || argv.dropFirst().contains(call.command ?? "") { return true }
            if let cut, cut.count >= 32, evalForm.hasPrefix(cut) { return true }
            return false
        }
        // Prefer a call with no process yet: two calls may run the same command.
        if let call = matches.first(where: { $0.processes == 0 }) ?? matches.first {
            return Attribution(toolUseID: call.id, rule: .bashCommand)
        }
        if ShellQuoting.isToolShell(argv), let call = bash.first(where: { $0.processes == 0 }) {
            return Attribution(toolUseID: call.id, rule: .bashOldestPending)
        }
        if let first = argv.first, ShellQuoting.basename(first) == "rg",
            let call = pending.last(where: { $0.agent == agent && $0.isSearch })
        {
            return Attribution(toolUseID: call.id, rule: .searchHelper)
        }
        return nil
    }

    /// Rule 3.
    func agentOpen(_ agent: Int32, _ open: OpenEvent) -> Attribution? {
        let candidates = pending.filter { call in
            guard call.agent == agent, let file = call.filePath, !file.isEmpty else { return false }
            return open.path == file || open.path.hasPrefix(file + ".tmp.")
        }
        guard !candidates.isEmpty else { return nil }
        let call = candidates.first(where: { $0.writes == open.isWrite }) ?? candidates[0]
        return Attribution(toolUseID: call.id, rule: .filePath)
    }

    /// Rule 4.
    mutating func agentNetwork(_ agent: Int32, _ event: NetworkEvent, limits: ToolCallAttributor.Limits) -> Attribution? {
        guard event.family == .inet || event.family == .inet6 else { return nil }
        let endpoint = "\(event.address) \(event.port)"
        let web = pending.filter { $0.agent == agent && $0.isWeb }
        guard let newest = web.last else {
            var known = baseline[agent] ?? []
            if !known.contains(endpoint) {
                known.append(endpoint)
                if known.count > limits.baselineEndpoints { known.removeFirst() }
                baseline[agent] = known
            }
            return nil
        }
        // A URL naming the address and port itself needs no heuristic.
        if let call = web.first(where: { call in
            guard let url = call.command, let host = ShellQuoting.urlHost(url) else { return false }
            return host == event.address && ShellQuoting.urlPort(url) == event.port
        }) {
            return Attribution(toolUseID: call.id, rule: .network)
        }
        if baseline[agent]?.contains(endpoint) == true { return nil }
        return Attribution(toolUseID: newest.id, rule: .network)
    }

    mutating func track(
        _ pid: Int32, _ role: ProcessRole, limits: ToolCallAttributor.Limits,
        counters: inout ToolCallAttributor.Counters
    ) {
        serial += 1
        processes[pid] = (role, serial)
        order.append((pid, serial))
        while processes.count > limits.processesPerSession, orderHead < order.count {
            let (old, stamp) = order[orderHead]
            orderHead += 1
            if processes[old]?.serial == stamp {
                processes[old] = nil
                counters.processesEvicted += 1
            }
        }
        // Compact once the stale prefix or the stale entries dominate.
        if orderHead > 1024 && orderHead * 2 > order.count || order.count > 4 * max(processes.count, 256) {
            order = order[orderHead...].filter { processes[$0.pid]?.serial == $0.serial }
            orderHead = 0
        }
    }
}

// MARK: - Shell text

enum ShellQuoting {
    /// `'…'` with each `'` as `'"'"'`, as Claude Code quotes the command it hands to `eval`.
    static func singleQuoted(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\"'\"'") + "'"
    }

    /// Claude Code's Bash tool wrapper: `<shell> -c "source <snapshot> … eval '…' < /dev/null && pwd -P >| /tmp/claude-XXXX-cwd"`.
    /// The snapshot's own creation (`bash -c -l SNAPSHOT_FILE=…`) and hooks (`/bin/sh -c <hook>`) are not.
    static func isToolShell(_ argv: [String]) -> Bool {
        guard argv.count >= 3, argv.dropLast().contains("-c"), let script = argv.last, script.contains("eval '") else {
            return false
        }
        // The tail can be cut off a long argv; the head then still names the snapshot.
        return script.contains("pwd -P >| ") || (script.hasPrefix("source ") && script.contains("/shell-snapshots/snapshot-"))
    }

    static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The host of `scheme://[user@]host[:port]/…`, brackets removed for IPv6.
    static func urlHost(_ url: String) -> String? {
        guard var rest = authority(url) else { return nil }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }

    /// The explicit port, else the scheme's (http 80, https 443).
    static func urlPort(_ url: String) -> UInt16? {
        guard var rest = authority(url) else { return nil }
        if let close = rest.firstIndex(of: "]") { rest = rest[rest.index(after: close)...] }
        if let colon = rest.firstIndex(of: ":") { return UInt16(rest[rest.index(after: colon)...]) }
        if url.hasPrefix("https://") { return 443 }
        if url.hasPrefix("http://") { return 80 }
        return nil
    }

    private static func authority(_ url: String) -> Substring? {
        guard let scheme = url.firstRange(of: "://") else { return nil }
        var rest = url[scheme.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        return rest
    }
}

// SPDX-License-Identifier: Apache-2.0
// What the daemon keeps about a session: its summary (rewritten as it changes) and its timeline
// (appended: prompts, tool calls, what each tool call ran, opened and connected, results).
// GET /v1/sessions answers [SessionRecord]; GET /v1/sessions/ID a SessionDetail.
import Glibc

/// One agent session as the daemon knows it.
public struct SessionRecord: Codable, Sendable, Hashable {
    public enum Origin: String, Codable, Sendable {
        /// Started by `vigil claude`: its own cgroup from the first instruction.
        case wrapped
        /// A Claude Code Vigil did not launch, adopted when it called the managed hooks.
        case adopted
    }

    /// Vigil's session id (16 hex digits), the tag the kernel carries on every process of it.
    public var id: String
    public var origin: Origin
    public var agent: String
    public var uid: UInt32
    public var user: String
    /// The agent process (for a wrapped session, the `vigil claude` process that became claude).
    public var rootPID: Int32
    public var cgroup: String?
    /// Claude Code's own session ids seen on hook calls from this session's agent.
    public var claudeSessionIDs: [String] = []
    public var transcriptPath: String?
    public var cwd: String?
    /// Unix time, nanoseconds.
    public var startedAt: Int64
    public var endedAt: Int64?
    public var kernelEvents: UInt64 = 0
    /// Kernel events tied to a tool call.
    public var attributedEvents: UInt64 = 0
    public var toolCalls = 0
    public var deniedToolCalls = 0
    public var prompts = 0
    /// Items read from Claude Code's transcript (prompts, responses, tool calls and results).
    public var conversationItems = 0
    /// Transcript lines that could not be read (malformed or oversized), counted.
    public var transcriptSkipped = 0
    /// Kernel decisions by outcome (allow, deny, kill, flag).
    public var decisions: [String: Int] = [:]
    public var enforcementFailures = 0
    /// What could not be set up or recorded for this session (never silent).
    public var problems: [String] = []

    public var isLive: Bool { endedAt == nil }

    public init(
        id: String, origin: Origin, agent: String, uid: UInt32, user: String, rootPID: Int32,
        cgroup: String? = nil, claudeSessionIDs: [String] = [], transcriptPath: String? = nil,
        cwd: String? = nil, startedAt: Int64, endedAt: Int64? = nil, kernelEvents: UInt64 = 0,
        attributedEvents: UInt64 = 0, toolCalls: Int = 0, deniedToolCalls: Int = 0, prompts: Int = 0,
        conversationItems: Int = 0, transcriptSkipped: Int = 0, decisions: [String: Int] = [:],
        enforcementFailures: Int = 0, problems: [String] = []
    ) {
        self.id = id
        self.origin = origin
        self.agent = agent
        self.uid = uid
        self.user = user
        self.rootPID = rootPID
        self.cgroup = cgroup
        self.claudeSessionIDs = claudeSessionIDs
        self.transcriptPath = transcriptPath
        self.cwd = cwd
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.kernelEvents = kernelEvents
        self.attributedEvents = attributedEvents
        self.toolCalls = toolCalls
        self.deniedToolCalls = deniedToolCalls
        self.prompts = prompts
        self.conversationItems = conversationItems
        self.transcriptSkipped = transcriptSkipped
        self.decisions = decisions
        self.enforcementFailures = enforcementFailures
        self.problems = problems
    }
}

/// One line of a session's timeline.
public struct TimelineRecord: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable {
        case sessionStart, prompt, toolCall, toolResult, kernel, assistant, sessionEnd, notice
    }

    public var kind: Kind
    /// Unix time, nanoseconds.
    public var time: Int64
    public var toolUseID: String?
    public var tool: String?
    /// Prompt or assistant text, a tool input summary, a tool result excerpt, a kernel event in one line.
    public var text: String?
    /// allow, deny, ask, kill, flag.
    public var decision: String?
    public var rule: String?
    public var reason: String?
    public var pid: Int32?
    /// The parent at fork time (kernel records): what lets a reader draw the commands as a tree.
    public var ppid: Int32?
    /// exec, open, connect, send (kernel records).
    public var event: String?
    /// How a refusal was carried out: `hookDeny`, `fanotify-deny` (EPERM), `cgroup-deny` (EPERM),
    /// `bpf-sigkill`, `pidfd-kill`, `flag`, with its detail. nil for allows.
    public var mechanism: String?

    public init(
        kind: Kind, time: Int64 = TimelineRecord.now(), toolUseID: String? = nil, tool: String? = nil, text: String? = nil,
        decision: String? = nil, rule: String? = nil, reason: String? = nil, pid: Int32? = nil, ppid: Int32? = nil,
        event: String? = nil, mechanism: String? = nil
    ) {
        self.kind = kind
        self.time = time
        self.toolUseID = toolUseID
        self.tool = tool
        self.text = text
        self.decision = decision
        self.rule = rule
        self.reason = reason
        self.pid = pid
        self.ppid = ppid
        self.event = event
        self.mechanism = mechanism
    }

    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// An agent process running outside every Vigil session.
public struct UnmanagedAgent: Codable, Sendable, Hashable {
    public var pid: Int32
    public var uid: UInt32
    public var agent: String
    public var exe: String
    public var evidence: String
    /// Why it is outside: started before the daemon, in another mount namespace, never called the hooks…
    public var note: String
    public var firstSeen: Int64

    public init(pid: Int32, uid: UInt32, agent: String, exe: String, evidence: String, note: String, firstSeen: Int64) {
        self.pid = pid
        self.uid = uid
        self.agent = agent
        self.exe = exe
        self.evidence = evidence
        self.note = note
        self.firstSeen = firstSeen
    }
}

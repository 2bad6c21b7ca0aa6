// SPDX-License-Identifier: Apache-2.0
// What the daemon keeps about a session: its summary (rewritten as it changes) and its timeline
// (appended: prompts, tool calls, what each tool call ran, opened and connected, results).
import Foundation
import Glibc
import Synchronization
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

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
    /// exec, open, connect, send (kernel records).
    public var event: String?

    public init(kind: Kind, time: Int64 = TimelineRecord.now(), toolUseID: String? = nil, tool: String? = nil, text: String? = nil,
                decision: String? = nil, rule: String? = nil, reason: String? = nil, pid: Int32? = nil, event: String? = nil) {
        self.kind = kind
        self.time = time
        self.toolUseID = toolUseID
        self.tool = tool
        self.text = text
        self.decision = decision
        self.rule = rule
        self.reason = reason
        self.pid = pid
        self.event = event
    }

    /// The line as the timeline file holds it (the Codable form, written by hand: one line per
    /// kernel event, so JSONEncoder's cost showed).
    public func jsonLine() -> String {
        var o = JSONObjectWriter()
        if let decision { o.string("decision", decision) }
        if let event { o.string("event", event) }
        o.string("kind", kind.rawValue)
        if let pid { o.int("pid", Int64(pid)) }
        if let reason { o.string("reason", reason) }
        if let rule { o.string("rule", rule) }
        if let text { o.string("text", text) }
        o.int("time", time)
        if let tool { o.string("tool", tool) }
        if let toolUseID { o.string("toolUseID", toolUseID) }
        return o.finish()
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
}

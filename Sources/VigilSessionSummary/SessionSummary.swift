// SPDX-License-Identifier: Apache-2.0
// A session summarised for a person: the prompts and answers, and per tool call its input, the
// hook's decision (rule, reason), its result and, under it, what ran in the kernel — the commands as
// a tree (the user's command, not Claude Code's Bash wrapper), network destinations, the files the
// command chose to open (the system's own folded into one counted line per category), denials and
// kills first, identical events collapsed with a count. Pure: built from what GET /v1/sessions/ID
// answers (`SessionDetail`), so the CLI and the console show the same thing.
import VigilAPI

/// The summary of one session.
public struct SessionSummary: Codable, Sendable, Hashable {
    public var record: SessionRecord
    public var steps: [Step]
    /// Kernel events tied to no tool call: the agent's own work (its model API, its helpers).
    public var unattributedEvents: Int
    /// Those events summarised: a refusal among them is shown like any other, never only counted.
    public var agentActivity: KernelSummary?
    /// Timeline lines the daemon could not read back (counted, never dropped silently).
    public var unreadableTimelineLines: Int
    /// How the session ended, as the daemon wrote it (with the kernel events beyond the timeline's cap,
    /// if any); nil while it is live.
    public var ended: String?

    /// One step of the session, in order.
    public struct Step: Codable, Sendable, Hashable {
        public enum Kind: String, Codable, Sendable {
            case prompt, assistantText, toolCall
            /// Kernel activity (or a decision, or a result) of a call the conversation does not show.
            case orphanActivity
        }

        public var kind: Kind
        /// ISO-8601 from the transcript, or the timeline's Unix time in nanoseconds as text.
        public var timestamp: String?
        public var text: String?
        public var toolUseID: String?
        public var tool: String?
        /// The tool input as compact JSON.
        public var input: String?
        /// A Bash call's command, read from its input.
        public var command: String?
        public var decision: Decision?
        public var result: Result?
        public var kernel: KernelSummary?
    }

    /// What the PreToolUse hook answered.
    public struct Decision: Codable, Sendable, Hashable {
        /// allow, deny, ask.
        public var verdict: String
        public var rule: String?
        public var reason: String?
    }

    public struct Result: Codable, Sendable, Hashable {
        public var text: String
        public var isError: Bool
        /// Claude Code's own permission decision (transcript), or how the call ended (timeline).
        public var permission: String?
    }

    /// What one tool call did in the kernel.
    public struct KernelSummary: Codable, Sendable, Hashable {
        /// Every kernel event of the call.
        public var events: Int
        /// Denials, kills and flags, each once with a count: the first thing to read (a refused open or
        /// connect is here only; a refused exec is also marked in the tree).
        public var refusals: [Refusal]
        /// The commands, as a forest (usually one tree under Claude Code's shell).
        public var processes: [Process]
        public var network: [Destination]
        /// Files opened outside the system's own, identical opens counted.
        public var files: [FileAccess]
        /// The system's own files, one count per category.
        public var systemFiles: [SystemFiles]
        /// Events of no other group (process access, …), identical ones counted.
        public var other: [Other]
    }

    public struct Refusal: Codable, Sendable, Hashable {
        /// exec, open, connect, send, …
        public var event: String
        /// deny, kill, flag.
        public var decision: String
        public var what: String
        public var rule: String?
        public var mechanism: String?
        public var count: Int
    }

    /// One command. Identical siblings (same command, no children) are one node with a count.
    public struct Process: Codable, Sendable, Hashable {
        public var pid: Int32
        /// What a person reads: the user's command for Claude Code's shell, else the argv.
        public var command: String
        /// The executable, when its name differs from the command's (a renamed or re-exec'd binary).
        public var executable: String?
        /// Claude Code's Bash wrapper running the user's command.
        public var isToolShell: Bool
        /// Later execs of the same process (`setsid sh -c …` becoming `sh`), in order.
        public var thenExecuted: [String]
        /// deny, kill or flag when a rule refused the exec; nil for allowed.
        public var decision: String?
        public var rule: String?
        public var count: Int
        public var children: [Process]
    }

    public struct Destination: Codable, Sendable, Hashable {
        /// connect or send.
        public var event: String
        /// inet, inet6, unix.
        public var family: String
        /// `ADDR port P`; a unix socket's path alone.
        public var endpoint: String
        /// The boundary crossing it made (a listener outside the session), if any.
        public var peer: String?
        /// Attempts that failed (a negative result other than EINPROGRESS), by errno name.
        public var failure: String?
        public var count: Int
    }

    public struct FileAccess: Codable, Sendable, Hashable {
        public var path: String
        public var write: Bool
        /// The errno name when the open failed (ENOENT, EACCES).
        public var failure: String?
        public var count: Int
    }

    public struct SystemFiles: Codable, Sendable, Hashable {
        public var category: SystemFileCategory
        public var count: Int
    }

    public struct Other: Codable, Sendable, Hashable {
        public var text: String
        public var count: Int
    }
}

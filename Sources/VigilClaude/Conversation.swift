// SPDX-License-Identifier: Apache-2.0
// One session told as a story: prompt → tool call (the hook's decision) → what actually ran,
// opened and connected in the kernel (each with its decision) → the result the model saw.
// Pure: the conversation comes from the transcript, the rest from the daemon, joined by tool_use_id.
import Foundation
import VigilAPI

/// One kernel event tied to a tool call, as the timeline shows it.
public struct KernelActivity: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable { case exec, open, connect, send }
    public enum Decision: String, Codable, Sendable { case allow, deny, kill, flag }

    public var kind: Kind
    public var pid: Int32
    /// One line: `/usr/bin/curl -s https://x`, `/etc/shadow (r)`, `93.184.215.14:443`.
    public var detail: String
    public var decision: Decision
    public var ruleID: String?
    /// How a refusal was carried out (EPERM from fanotify or a cgroup hook, an in-kernel SIGKILL, a flag…).
    public var mechanism: String?

    public init(kind: Kind, pid: Int32, detail: String, decision: Decision, ruleID: String? = nil, mechanism: String? = nil) {
        self.kind = kind
        self.pid = pid
        self.detail = detail
        self.decision = decision
        self.ruleID = ruleID
        self.mechanism = mechanism
    }
}

/// What the PreToolUse hook answered for a call.
public struct ToolCallDecision: Codable, Sendable, Hashable {
    public enum Verdict: String, Codable, Sendable { case allow, deny, ask }

    public var verdict: Verdict
    public var ruleID: String?
    public var reason: String?

    public init(verdict: Verdict, ruleID: String? = nil, reason: String? = nil) {
        self.verdict = verdict
        self.ruleID = ruleID
        self.reason = reason
    }
}

/// The joined story of a session.
public struct SessionTimeline: Sendable {
    public struct Limits: Sendable, Hashable {
        /// Kernel lines shown per tool call; the rest are counted (`… 12 more`).
        public var activityPerCall = 200
        /// Characters of a prompt, text, input or result shown in the text form.
        public var textCharacters = 400

        public init() {}
    }

    /// One step of the story.
    public struct Entry: Codable, Sendable, Hashable {
        public enum Kind: String, Codable, Sendable {
            case prompt, assistantText, toolCall
            /// Kernel activity (or a result) of a call the conversation does not show (yet).
            case orphanActivity
        }

        public var kind: Kind
        public var timestamp: String?
        public var text: String?
        public var toolUseID: String?
        public var tool: String?
        public var input: String?
        public var decision: ToolCallDecision?
        public var activity: [KernelActivity]?
        /// Kernel lines not shown (over the per-call limit).
        public var activityOmitted: Int?
        public var result: Result?

        public struct Result: Codable, Sendable, Hashable {
            public var text: String
            public var isError: Bool
            /// Claude Code's own permission decision, from the transcript.
            public var permission: String?
            public var timestamp: String?
        }

        init(kind: Kind, timestamp: String? = nil) {
            self.kind = kind
            self.timestamp = timestamp
        }
    }

    public var entries: [Entry]

    /// Joins the three sources. Activity and decisions whose call is not in `items` become
    /// `orphanActivity` entries at the end, so nothing the kernel saw drops out of the story.
    public init(
        items: [ConversationItem], activity: [String: [KernelActivity]] = [:], decisions: [String: ToolCallDecision] = [:],
        limits: Limits = Limits()
    ) {
        var results: [String: ConversationItem] = [:]
        for item in items {
            if case .toolResult(let id, _, _, _) = item.content, results[id] == nil { results[id] = item }
        }
        var entries: [Entry] = []
        var shown: Set<String> = []
        func attach(_ id: String, to entry: inout Entry) {
            let all = activity[id] ?? []
            entry.decision = decisions[id]
            entry.activity = Array(all.prefix(limits.activityPerCall))
            if all.count > limits.activityPerCall { entry.activityOmitted = all.count - limits.activityPerCall }
            if let result = results[id], case .toolResult(_, let text, let isError, let permission) = result.content {
                entry.result = Entry.Result(text: text, isError: isError, permission: permission, timestamp: result.timestamp)
            }
        }
        for item in items {
            switch item.content {
            case .prompt(let text):
                var entry = Entry(kind: .prompt, timestamp: item.timestamp)
                entry.text = text
                entries.append(entry)
            case .assistantText(let text):
                var entry = Entry(kind: .assistantText, timestamp: item.timestamp)
                entry.text = text
                entries.append(entry)
            case .toolUse(let id, let name, let input):
                guard shown.insert(id).inserted else { continue }
                var entry = Entry(kind: .toolCall, timestamp: item.timestamp)
                entry.toolUseID = id
                entry.tool = name
                entry.input = input
                attach(id, to: &entry)
                entries.append(entry)
            case .toolResult:
                continue  // shown under its call
            }
        }
        let orphans = Set(activity.keys).union(decisions.keys).union(results.keys).subtracting(shown)
        for id in orphans.sorted() {
            var entry = Entry(kind: .orphanActivity)
            entry.toolUseID = id
            attach(id, to: &entry)
            entries.append(entry)
        }
        self.entries = entries
        self.limits = limits
    }

    private let limits: Limits

    // MARK: Forms

    /// The readable form, one block per step.
    public func text() -> String {
        var out = ""
        for entry in entries {
            let time = entry.timestamp.map { Self.clock($0) + " " } ?? ""
            switch entry.kind {
            case .prompt:
                out += "\(time)prompt: \(short(entry.text ?? ""))\n"
            case .assistantText:
                out += "\(time)assistant: \(short(entry.text ?? ""))\n"
            case .toolCall, .orphanActivity:
                var head =
                    entry.kind == .toolCall
                    ? "\(time)tool \(entry.tool ?? "?") \(entry.toolUseID ?? "") \(short(entry.input ?? ""))"
                    : "\(time)activity of \(entry.toolUseID ?? "") (call not in the transcript)"
                if let d = entry.decision {
                    head += " → \(d.verdict.rawValue)"
                    if let rule = d.ruleID { head += " [\(rule)]" }
                    if let reason = d.reason, d.verdict != .allow { head += ": \(short(reason))" }
                }
                out += head + "\n"
                for a in entry.activity ?? [] {
                    var line = "    \(a.kind.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) pid \(a.pid)  \(short(a.detail))"
                    line += "  \(a.decision.rawValue)"
                    if let rule = a.ruleID { line += " [\(rule)]" }
                    if let mechanism = a.mechanism, a.decision != .allow { line += " (\(short(mechanism)))" }
                    out += line + "\n"
                }
                if let omitted = entry.activityOmitted { out += "    … \(omitted) more kernel events\n" }
                if let r = entry.result {
                    var line = "  " + (r.isError ? "error: " : "result: ") + short(r.text)
                    if let permission = r.permission { line += "  (claude: \(permission))" }
                    out += line + "\n"
                }
            }
        }
        return out
    }

    /// The JSON form: `{"entries":[…]}`, keys sorted.
    public func json() -> String {
        struct Document: Encodable { var entries: [Entry] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(Document(entries: entries))).map { String(decoding: $0, as: UTF8.self) } ?? "{\"entries\":[]}"
    }

    /// One line, at most `textCharacters` long.
    private func short(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎")
        guard flat.count > limits.textCharacters else { return flat }
        return flat.prefix(limits.textCharacters) + "…"
    }

    /// `2026-11-22T04:56:20.851Z` → `04:56:20.851`.
    static func clock(_ timestamp: String) -> String {
        guard let t = timestamp.firstIndex(of: "T") else { return timestamp }
        return String(timestamp[timestamp.index(after: t)...].prefix { $0 != "Z" })
    }
}

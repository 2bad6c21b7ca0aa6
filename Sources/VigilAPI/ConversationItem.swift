// SPDX-License-Identifier: Apache-2.0
// One conversation event as Claude Code's transcript holds it (VigilClaude's TranscriptReader reads
// them), in the flat shape the daemon stores and GET /v1/sessions/ID answers.

/// One conversation event from a transcript.
public struct ConversationItem: Codable, Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        case prompt(text: String)
        case assistantText(text: String)
        /// `input` is the tool input as compact JSON with sorted keys.
        case toolUse(id: String, name: String, input: String)
        /// `decision` summarises the line's `permissionDecision` (`accept (mode)`, `reject (hook: hook:PreToolUse)`).
        case toolResult(id: String, text: String, isError: Bool, decision: String?)
    }

    public var content: Content
    /// ISO-8601 UTC as Claude Code wrote it (`2026-11-22T04:56:20.851Z`); empty when the line had none.
    public var timestamp: String
    /// The line's `uuid`; items from one assistant line share it.
    public var uuid: String
    /// `promptId` on user lines: the hook's `prompt_id`.
    public var promptID: String?
    /// True in subagent transcripts.
    public var isSidechain: Bool

    public init(
        _ content: Content, timestamp: String, uuid: String, promptID: String? = nil,
        isSidechain: Bool = false
    ) {
        self.content = content
        self.timestamp = timestamp
        self.uuid = uuid
        self.promptID = promptID
        self.isSidechain = isSidechain
    }

    /// The tool_use_id of a tool call or result.
    public var toolUseID: String? {
        switch content {
        case .toolUse(let id, _, _), .toolResult(let id, _, _, _): id
        case .prompt, .assistantText: nil
        }
    }

    // A flat JSON shape (`{"kind":"toolUse","id":…}`) for the console and the daemon's store,
    // spelled like the daemon's timeline records.
    private enum Key: String, CodingKey {
        case kind, timestamp, uuid, promptID, isSidechain, text, id, name, input, isError, decision
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        timestamp = try c.decode(String.self, forKey: .timestamp)
        uuid = try c.decode(String.self, forKey: .uuid)
        promptID = try c.decodeIfPresent(String.self, forKey: .promptID)
        isSidechain = try c.decodeIfPresent(Bool.self, forKey: .isSidechain) ?? false
        switch try c.decode(String.self, forKey: .kind) {
        case "prompt": content = .prompt(text: try c.decode(String.self, forKey: .text))
        case "assistantText": content = .assistantText(text: try c.decode(String.self, forKey: .text))
        case "toolUse":
            content = .toolUse(
                id: try c.decode(String.self, forKey: .id), name: try c.decode(String.self, forKey: .name),
                input: try c.decode(String.self, forKey: .input))
        case "toolResult":
            content = .toolResult(
                id: try c.decode(String.self, forKey: .id), text: try c.decode(String.self, forKey: .text),
                isError: try c.decode(Bool.self, forKey: .isError), decision: try c.decodeIfPresent(String.self, forKey: .decision))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown conversation item kind '\(other)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(uuid, forKey: .uuid)
        try c.encodeIfPresent(promptID, forKey: .promptID)
        if isSidechain { try c.encode(true, forKey: .isSidechain) }
        switch content {
        case .prompt(let text):
            try c.encode("prompt", forKey: .kind)
            try c.encode(text, forKey: .text)
        case .assistantText(let text):
            try c.encode("assistantText", forKey: .kind)
            try c.encode(text, forKey: .text)
        case .toolUse(let id, let name, let input):
            try c.encode("toolUse", forKey: .kind)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(input, forKey: .input)
        case .toolResult(let id, let text, let isError, let decision):
            try c.encode("toolResult", forKey: .kind)
            try c.encode(id, forKey: .id)
            try c.encode(text, forKey: .text)
            try c.encode(isError, forKey: .isError)
            try c.encodeIfPresent(decision, forKey: .decision)
        }
    }
}

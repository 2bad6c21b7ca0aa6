// SPDX-License-Identifier: Apache-2.0
// Claude Code hook input (stdin of a command hook, body of an http hook), as observed on 2.1.330.
// Decoded leniently — unknown fields are kept, optional fields of the wrong type read as absent —
// but what a decision needs is validated: a PreToolUse payload without a tool name, an input
// object, a cwd or a tool_use_id is an error that names the field, never a guess.
import Foundation
import VigilJSON
import VigilPolicy

/// The hook events Vigil installs handlers for, and any other name Claude Code may send.
public enum HookEvent: Sendable, Hashable, CustomStringConvertible {
    case preToolUse
    case postToolUse
    case postToolUseFailure
    case userPromptSubmit
    case sessionStart
    case sessionEnd
    case stop
    /// Any other event name (Claude Code 2.1.330 has 33); recorded, never decided.
    case other(String)

    /// The events the managed-settings drop-in installs, in the order they fire in a session.
    public static let installed: [HookEvent] = [
        .sessionStart, .userPromptSubmit, .preToolUse, .postToolUse, .postToolUseFailure, .stop, .sessionEnd,
    ]

    public init(name: String) {
        switch name {
        case "PreToolUse": self = .preToolUse
        case "PostToolUse": self = .postToolUse
        case "PostToolUseFailure": self = .postToolUseFailure
        case "UserPromptSubmit": self = .userPromptSubmit
        case "SessionStart": self = .sessionStart
        case "SessionEnd": self = .sessionEnd
        case "Stop": self = .stop
        default: self = .other(name)
        }
    }

    /// The name as Claude Code spells it in `hook_event_name` and in settings.
    public var name: String {
        switch self {
        case .preToolUse: "PreToolUse"
        case .postToolUse: "PostToolUse"
        case .postToolUseFailure: "PostToolUseFailure"
        case .userPromptSubmit: "UserPromptSubmit"
        case .sessionStart: "SessionStart"
        case .sessionEnd: "SessionEnd"
        case .stop: "Stop"
        case .other(let name): name
        }
    }

    public var description: String { name }

    /// Events whose `matcher` filters on the tool name (`"*"` = every tool).
    public var takesToolMatcher: Bool {
        switch self {
        case .preToolUse, .postToolUse, .postToolUseFailure: true
        default: false
        }
    }
}

/// Why a payload cannot be used, naming the field and the event.
public struct HookPayloadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The event name when it could be read, so a caller can still answer in that event's format.
    public var event: HookEvent?
    public var field: String?
    public var reason: String

    public init(event: HookEvent? = nil, field: String? = nil, reason: String) {
        self.event = event
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var text = "malformed hook payload"
        if let event { text += " (\(event.name))" }
        if let field { text += ": field '\(field)'" }
        return text + ": " + reason
    }
}

/// One tool call as a tool event carries it.
public struct ToolUse: Sendable, Hashable {
    /// `Bash`, `Read`, `mcp__sec__echo`, …
    public var name: String
    /// The exact input Claude sent (`file_path` already absolute for Read/Write/Edit).
    public var input: [String: JSONValue]
    /// The id shared with the transcript and OTel; absent only on events that have none.
    public var id: String?

    public init(name: String, input: [String: JSONValue], id: String?) {
        self.name = name
        self.input = input
        self.id = id
    }
}

/// One decoded hook input.
public struct HookPayload: Sendable, Hashable {
    public enum Detail: Sendable, Hashable {
        case preToolUse(ToolUse)
        case postToolUse(ToolUse, response: JSONValue?, durationMs: Int?)
        case postToolUseFailure(ToolUse, error: String?, isInterrupt: Bool, durationMs: Int?)
        case userPromptSubmit(prompt: String)
        /// `source`: startup, resume, clear, compact, fork.
        case sessionStart(source: String?)
        /// `reason`: clear, resume, logout, prompt_input_exit, other.
        case sessionEnd(reason: String?)
        case stop(stopHookActive: Bool, lastAssistantMessage: String?)
        case other
    }

    public var event: HookEvent
    public var sessionID: String
    /// Absolute working directory of the session; required for tool calls.
    public var cwd: String?
    public var transcriptPath: String?
    public var promptID: String?
    /// `default`, `acceptEdits`, `plan`, `auto`, `dontAsk`, `bypassPermissions`; absent on some events.
    public var permissionMode: String?
    /// Present only inside a subagent (or with `--agent`).
    public var agentID: String?
    public var agentType: String?
    public var detail: Detail
    /// Every field as received, including the ones this type does not model.
    public var fields: [String: JSONValue]

    /// The tool call of a tool event.
    public var toolUse: ToolUse? {
        switch detail {
        case .preToolUse(let tool), .postToolUse(let tool, _, _), .postToolUseFailure(let tool, _, _, _): tool
        default: nil
        }
    }

    /// Payloads above this size are refused (Claude Code's are kilobytes; a Write can carry a file).
    public static let maximumSize = 64 << 20

    /// Decodes one payload.
    /// - Throws: ``HookPayloadError`` naming the missing or mistyped field.
    public init(json bytes: some Collection<UInt8>) throws(HookPayloadError) {
        guard bytes.count <= Self.maximumSize else {
            throw HookPayloadError(reason: "\(bytes.count) bytes exceeds the \(Self.maximumSize >> 20) MiB limit")
        }
        guard bytes.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else {
            throw HookPayloadError(reason: "stdin was empty (expected one JSON object)")
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw HookPayloadError(reason: "not valid JSON (\(Self.describe(error)))")
        }
        guard case .object(let object) = value else {
            throw HookPayloadError(reason: "expected a JSON object, got \(Self.kind(of: value))")
        }
        try self.init(object: object)
    }

    /// Validates an already-parsed object (an http hook body, a test vector).
    public init(object: [String: JSONValue]) throws(HookPayloadError) {
        let name = try Self.requiredString("hook_event_name", in: object, event: nil)
        let event = HookEvent(name: name)
        fields = object
        self.event = event
        sessionID = try Self.requiredString("session_id", in: object, event: event)
        cwd = object["cwd"]?.stringValue
        transcriptPath = object["transcript_path"]?.stringValue
        promptID = object["prompt_id"]?.stringValue
        permissionMode = object["permission_mode"]?.stringValue
        agentID = object["agent_id"]?.stringValue
        agentType = object["agent_type"]?.stringValue
        switch event {
        case .preToolUse:
            // A decision needs all four: what, with which input, where, and which call it answers.
            let cwd = try Self.requiredString("cwd", in: object, event: event)
            guard cwd.hasPrefix("/") else {
                throw HookPayloadError(event: event, field: "cwd", reason: "'\(cwd)' is not an absolute path")
            }
            let tool = try Self.toolUse(object, event: event, requireID: true)
            detail = .preToolUse(tool)
        case .postToolUse:
            let tool = try Self.toolUse(object, event: event, requireID: false)
            detail = .postToolUse(tool, response: object["tool_response"], durationMs: Self.int(object["duration_ms"]))
        case .postToolUseFailure:
            let tool = try Self.toolUse(object, event: event, requireID: false)
            detail = .postToolUseFailure(
                tool, error: object["error"]?.stringValue, isInterrupt: Self.bool(object["is_interrupt"]) ?? false,
                durationMs: Self.int(object["duration_ms"]))
        case .userPromptSubmit:
            detail = .userPromptSubmit(prompt: object["prompt"]?.stringValue ?? "")
        case .sessionStart:
            detail = .sessionStart(source: object["source"]?.stringValue)
        case .sessionEnd:
            detail = .sessionEnd(reason: object["reason"]?.stringValue)
        case .stop:
            detail = .stop(
                stopHookActive: Self.bool(object["stop_hook_active"]) ?? false,
                lastAssistantMessage: object["last_assistant_message"]?.stringValue)
        case .other:
            detail = .other
        }
    }

    /// Best effort: the event name of bytes that failed to decode, so the answer can use its format.
    public static func eventName(inMalformed bytes: some Collection<UInt8>) -> HookEvent? {
        guard bytes.count <= maximumSize,
            let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)),
            case .object(let object) = value, let name = object["hook_event_name"]?.stringValue, !name.isEmpty
        else { return nil }
        return HookEvent(name: name)
    }

    private static func toolUse(_ object: [String: JSONValue], event: HookEvent, requireID: Bool) throws(HookPayloadError) -> ToolUse {
        let name = try requiredString("tool_name", in: object, event: event)
        guard let raw = object["tool_input"] else {
            throw HookPayloadError(event: event, field: "tool_input", reason: "missing")
        }
        guard case .object(let input) = raw else {
            throw HookPayloadError(event: event, field: "tool_input", reason: "expected an object, got \(kind(of: raw))")
        }
        let id: String?
        if requireID {
            id = try requiredString("tool_use_id", in: object, event: event)
        } else {
            id = object["tool_use_id"]?.stringValue
        }
        return ToolUse(name: name, input: input, id: id)
    }

    private static func requiredString(_ field: String, in object: [String: JSONValue], event: HookEvent?) throws(HookPayloadError) -> String {
        guard let value = object[field] else { throw HookPayloadError(event: event, field: field, reason: "missing") }
        guard case .string(let string) = value else {
            throw HookPayloadError(event: event, field: field, reason: "expected a string, got \(kind(of: value))")
        }
        guard !string.isEmpty else { throw HookPayloadError(event: event, field: field, reason: "empty") }
        return string
    }

    private static func int(_ value: JSONValue?) -> Int? {
        if case .int(let number)? = value { return Int(exactly: number) }
        guard case .number(let number)? = value, number.isFinite, abs(number) < 1e15 else { return nil }
        return Int(number)
    }

    private static func bool(_ value: JSONValue?) -> Bool? {
        guard case .bool(let bool)? = value else { return nil }
        return bool
    }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        }
        return "\(error)"
    }
}

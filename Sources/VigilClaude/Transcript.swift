// SPDX-License-Identifier: Apache-2.0
// Claude Code's session transcript (`~/.claude/projects/<enc-cwd>/<session>.jsonl`), read
// incrementally into conversation items: what the user asked, what the model said, which tools it
// called with what input, and what came back.
//
// Shape on 2.1.330 (one JSON object per line, appended as the session runs):
// - `user` lines: the prompt (`message.content` a string, or text blocks), or tool results
//   (`message.content` = `[{type:"tool_result", tool_use_id, content, is_error}]`, plus
//   `permissionDecision` {decision, source, reasonType, reasonCode} and `toolUseResult`).
//   `isMeta:true` user lines are injected by Claude Code, not typed by anyone.
// - `assistant` lines: one per content block as streamed — `text`, `tool_use {id,name,input}`, `thinking`.
// - Everything else is context or bookkeeping, not conversation: `attachment` (environment, model,
//   skill_listing, prompt_snapshot, hook_success, …), `system` (stop_hook_summary), `queue-operation`,
//   `api-request`, `api-request-shape`, `api-request-blob` (tens of KB each), `tools-used`,
//   `last-prompt`, `cost-state`, `atis-latch`.
// Pure core (`read(_:from:)` over bytes); one I/O entry point reads a file window.
import Foundation
import VigilAPI
import VigilJSON
import VigilPolicy

/// What one read produced.
public struct TranscriptChunk: Sendable, Hashable {
    public var items: [ConversationItem]
    /// Where the next read starts: just past the last line consumed (a torn last line is left for later).
    public var newOffset: UInt64
    /// True when the item cap stopped the read before the end of the complete lines: read again.
    public var hasMore: Bool
    /// What this read skipped or cut, by cause.
    public var counters: TranscriptCounters
}

/// Everything a reader passed over, so nothing is lost silently.
public struct TranscriptCounters: Codable, Sendable, Hashable {
    /// Complete lines consumed.
    public var lines = 0
    /// Known lines that carry no conversation (attachments, bookkeeping, `isMeta`, thinking-only).
    public var ignored = 0
    /// Lines of a `type` this reader does not know.
    public var unknown = 0
    /// Lines that are not a JSON object, or a conversation line missing what it needs.
    public var malformed = 0
    /// Lines longer than the line cap, skipped unread.
    public var oversized = 0
    /// Texts cut to the text cap (the item says how much was cut).
    public var truncatedTexts = 0

    public init() {}

    public static func += (lhs: inout TranscriptCounters, rhs: TranscriptCounters) {
        lhs.lines += rhs.lines
        lhs.ignored += rhs.ignored
        lhs.unknown += rhs.unknown
        lhs.malformed += rhs.malformed
        lhs.oversized += rhs.oversized
        lhs.truncatedTexts += rhs.truncatedTexts
    }
}

/// Why a transcript file could not be read; names the file.
public struct TranscriptError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        case unreadable
        /// The file is shorter than the offset: it was replaced or truncated; start again at 0.
        case shrank
    }

    public var code: Code
    public var path: String
    public var reason: String

    public init(_ code: Code, path: String, reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot read the transcript \(path): \(reason)" }
}

/// An incremental transcript reader. Keep one per transcript: it remembers being inside an
/// oversized line between reads.
public struct TranscriptReader: Sendable {
    public struct Limits: Sendable, Hashable {
        /// Longer lines are skipped (counted). Real ones reach ~40 KB (`api-request-shape`); a Read
        /// of a large file can make a tool result line megabytes long.
        public var lineBytes = 4 << 20
        /// Items returned by one read; the rest waits for the next read (`hasMore`).
        public var items = 4_096
        /// Texts and tool inputs are cut beyond this many UTF-8 bytes.
        public var textBytes = 16 << 10
        /// Bytes one file read takes in.
        public var windowBytes = 16 << 20

        public init() {}
    }

    public var limits: Limits
    /// Totals over every read.
    public private(set) var totals = TranscriptCounters()
    /// Inside a line longer than the cap: its bytes are dropped up to its newline.
    private var skippingOversizedLine = false

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Parses `bytes`, which start at `offset` of the transcript.
    public mutating func read(_ bytes: some Collection<UInt8>, from offset: UInt64) -> TranscriptChunk {
        let bytes = Array(bytes)
        var counters = TranscriptCounters()
        var items: [ConversationItem] = []
        var start = 0
        var hasMore = false
        while start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                // A torn last line, left for the next read — unless it already exceeds the cap.
                if bytes.count - start > limits.lineBytes {
                    skippingOversizedLine = true
                    start = bytes.count
                }
                break
            }
            if skippingOversizedLine || newline - start > limits.lineBytes {
                skippingOversizedLine = false
                counters.oversized += 1
                counters.lines += 1
                start = newline + 1
                continue
            }
            if items.count >= limits.items {
                hasMore = true
                break
            }
            counters.lines += 1
            parseLine(bytes[start..<newline], into: &items, counters: &counters)
            start = newline + 1
        }
        totals += counters
        return TranscriptChunk(items: items, newOffset: offset + UInt64(start), hasMore: hasMore, counters: counters)
    }

    /// Reads the transcript file from `offset` (at most `limits.windowBytes`).
    /// - Throws: ``TranscriptError`` when the file cannot be read, or is shorter than `offset`.
    public mutating func read(path: String, from offset: UInt64) throws(TranscriptError) -> TranscriptChunk {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            if size < offset {
                throw TranscriptError(.shrank, path: path, reason: "it has \(size) bytes, fewer than the offset \(offset)")
            }
            try handle.seek(toOffset: offset)
            data = try handle.read(upToCount: limits.windowBytes) ?? Data()
        } catch let error as TranscriptError {
            throw error
        } catch {
            throw TranscriptError(.unreadable, path: path, reason: "\(error)")
        }
        return read(data, from: offset)
    }

    // MARK: Lines

    private func parseLine(_ line: ArraySlice<UInt8>, into items: inout [ConversationItem], counters: inout TranscriptCounters) {
        guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else {
            counters.ignored += 1
            return
        }
        // Bookkeeping lines lead with their type (`{"type":"api-request-shape",…`, tens of KB): no need to parse them.
        if let type = Self.leadingType(line), Self.knownOtherTypes.contains(type) {
            counters.ignored += 1
            return
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line)), case .object(let object) = value,
            let type = object["type"]?.stringValue
        else {
            counters.malformed += 1
            return
        }
        switch type {
        case "user": parseUser(object, into: &items, counters: &counters)
        case "assistant": parseAssistant(object, into: &items, counters: &counters)
        case _ where Self.knownOtherTypes.contains(type): counters.ignored += 1
        default: counters.unknown += 1
        }
    }

    private static let typePrefix = Array(#"{"type":""#.utf8)

    /// The value of a leading `"type"` key, when the line starts with one.
    static func leadingType(_ line: ArraySlice<UInt8>) -> String? {
        guard line.starts(with: typePrefix) else { return nil }
        let rest = line.dropFirst(typePrefix.count)
        guard let quote = rest.prefix(64).firstIndex(of: 0x22) else { return nil }
        return String(decoding: rest[..<quote], as: UTF8.self)
    }

    static let knownOtherTypes: Set<String> = [
        "attachment", "system", "queue-operation", "api-request", "api-request-shape", "api-request-blob", "tools-used",
        "last-prompt", "cost-state", "atis-latch", "summary", "file-history-snapshot",
    ]

    private func parseUser(_ line: [String: JSONValue], into items: inout [ConversationItem], counters: inout TranscriptCounters) {
        guard case .object(let message)? = line["message"], let content = message["content"] else {
            counters.malformed += 1
            return
        }
        if line["isMeta"] == .bool(true) {
            counters.ignored += 1
            return
        }
        let stamp = Stamp(line)
        switch content {
        case .string(let text):
            items.append(stamp.item(.prompt(text: cut(text, &counters))))
        case .array(let blocks):
            var texts: [String] = []
            let before = items.count
            for case .object(let block) in blocks {
                switch block["type"]?.stringValue {
                case "tool_result":
                    guard let id = block["tool_use_id"]?.stringValue else { continue }
                    let isError = block["is_error"] == .bool(true)
                    let text = cut(Self.resultText(block["content"]), &counters)
                    items.append(stamp.item(.toolResult(id: id, text: text, isError: isError, decision: Self.decision(line))))
                case "text":
                    if let text = block["text"]?.stringValue { texts.append(text) }
                default:
                    break  // images, documents
                }
            }
            if !texts.isEmpty && items.count == before {
                items.append(stamp.item(.prompt(text: cut(texts.joined(separator: "\n"), &counters))))
            } else if items.count == before {
                counters.ignored += 1
            }
        default:
            counters.malformed += 1
        }
    }

    private func parseAssistant(_ line: [String: JSONValue], into items: inout [ConversationItem], counters: inout TranscriptCounters) {
        guard case .object(let message)? = line["message"], case .array(let blocks)? = message["content"] else {
            counters.malformed += 1
            return
        }
        let stamp = Stamp(line)
        let before = items.count
        for case .object(let block) in blocks {
            switch block["type"]?.stringValue {
            case "text":
                if let text = block["text"]?.stringValue, !text.isEmpty {
                    items.append(stamp.item(.assistantText(text: cut(text, &counters))))
                }
            case "tool_use", "server_tool_use":
                guard let id = block["id"]?.stringValue, let name = block["name"]?.stringValue else { continue }
                items.append(stamp.item(.toolUse(id: id, name: name, input: cut(Self.compactJSON(block["input"] ?? .null), &counters))))
            default:
                break  // thinking, redacted_thinking
            }
        }
        if items.count == before { counters.ignored += 1 }
    }

    /// The common fields of the items of one line.
    private struct Stamp {
        var timestamp: String
        var uuid: String
        var promptID: String?
        var isSidechain: Bool

        init(_ line: [String: JSONValue]) {
            timestamp = line["timestamp"]?.stringValue ?? ""
            uuid = line["uuid"]?.stringValue ?? ""
            promptID = line["promptId"]?.stringValue
            isSidechain = line["isSidechain"] == .bool(true)
        }

        func item(_ content: ConversationItem.Content) -> ConversationItem {
            ConversationItem(content, timestamp: timestamp, uuid: uuid, promptID: promptID, isSidechain: isSidechain)
        }
    }

    /// A tool result's content: a string, or blocks whose texts are joined (images named).
    static func resultText(_ content: JSONValue?) -> String {
        switch content {
        case .string(let text)?: return text
        case .array(let blocks)?:
            return blocks.compactMap { block -> String? in
                guard case .object(let b) = block else { return nil }
                if let text = b["text"]?.stringValue { return text }
                return b["type"]?.stringValue.map { "[\($0)]" }
            }.joined(separator: "\n")
        default: return ""
        }
    }

    /// `accept (mode)`, `reject (hook: hook:PreToolUse)`, `reject (config: bashMiss:no-rule-match)`.
    static func decision(_ line: [String: JSONValue]) -> String? {
        guard case .object(let d)? = line["permissionDecision"], let decision = d["decision"]?.stringValue else { return nil }
        let why = [d["reasonType"]?.stringValue ?? d["source"]?.stringValue, d["reasonCode"]?.stringValue].compactMap { $0 }
        return why.isEmpty ? decision : "\(decision) (\(why.joined(separator: ": ")))"
    }

    static func compactJSON(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// Cuts at a character boundary within `limits.textBytes` and says how much was cut.
    private func cut(_ text: String, _ counters: inout TranscriptCounters) -> String {
        let utf8 = text.utf8
        guard utf8.count > limits.textBytes else { return text }
        counters.truncatedTexts += 1
        var end = utf8.index(utf8.startIndex, offsetBy: limits.textBytes)
        while end > utf8.startIndex, end.samePosition(in: text) == nil {  // not inside a character
            end = utf8.index(before: end)
        }
        let kept = String(text[..<end])
        return kept + "…[\(utf8.count - kept.utf8.count) more bytes]"
    }
}

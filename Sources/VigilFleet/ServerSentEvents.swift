// SPDX-License-Identifier: Apache-2.0
// The text/event-stream format (WHATWG HTML §9.2) as far as the console uses it: `event`, `data`,
// `id` fields, comment lines (heartbeats), events ended by a blank line, LF or CRLF.

public struct ServerSentEvent: Sendable, Equatable {
    public var event: String
    public var data: String
    public var id: String?

    public init(event: String, data: String, id: String?) {
        self.event = event
        self.data = data
        self.id = id
    }
}

public struct ServerSentEventParser: Sendable {
    private var pending: [UInt8] = []
    private var event = "message"
    private var data: [String] = []
    private var id: String?
    /// A line longer than this is a broken stream, not an event.
    public static let maxLineBytes = 64 * 1024

    public init() {}

    /// The events completed by `bytes`.
    public mutating func feed(_ bytes: [UInt8]) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        pending += bytes
        while let newline = pending.firstIndex(of: 0x0A) {
            var line = Array(pending[..<newline])
            pending.removeFirst(newline + 1)
            if line.last == 0x0D { line.removeLast() }
            if let event = take(String(decoding: line, as: UTF8.self)) { events.append(event) }
        }
        if pending.count > Self.maxLineBytes { pending.removeAll() }
        return events
    }

    private mutating func take(_ line: String) -> ServerSentEvent? {
        if line.isEmpty {
            defer {
                event = "message"
                data = []
            }
            guard !data.isEmpty else { return nil }
            return ServerSentEvent(event: event, data: data.joined(separator: "\n"), id: id)
        }
        if line.hasPrefix(":") { return nil }
        let (field, value): (Substring, Substring)
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            var rest = line[line.index(after: colon)...]
            if rest.first == " " { rest = rest.dropFirst() }
            value = rest
        } else {
            (field, value) = (Substring(line), "")
        }
        switch field {
        case "event": event = String(value)
        case "data": data.append(String(value))
        case "id": id = String(value)
        default: break
        }
        return nil
    }
}

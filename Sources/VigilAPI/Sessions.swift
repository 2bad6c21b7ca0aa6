// SPDX-License-Identifier: Apache-2.0
// The local API's session calls: POST /v1/sessions (`vigil claude` asks for a session for itself)
// and GET /v1/sessions/ID.

/// Body of POST /v1/sessions.
public struct SessionRequest: Codable, Sendable {
    public var cwd: String?
    public var argv: [String]
    public init(cwd: String?, argv: [String]) {
        self.cwd = cwd
        self.argv = argv
    }
}

/// Answer to POST /v1/sessions.
public struct SessionGrant: Codable, Sendable {
    public var session: String
    public var cgroup: String?

    public init(session: String, cgroup: String? = nil) {
        self.session = session
        self.cgroup = cgroup
    }
}

/// GET /v1/sessions/ID.
public struct SessionDetail: Codable, Sendable {
    public var record: SessionRecord
    public var timeline: [TimelineRecord]
    public var unreadableTimelineLines: Int
    /// From Claude Code's transcript.
    public var conversation: [ConversationItem]

    public init(
        record: SessionRecord, timeline: [TimelineRecord], unreadableTimelineLines: Int,
        conversation: [ConversationItem]
    ) {
        self.record = record
        self.timeline = timeline
        self.unreadableTimelineLines = unreadableTimelineLines
        self.conversation = conversation
    }
}

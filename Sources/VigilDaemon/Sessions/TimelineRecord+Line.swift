// SPDX-License-Identifier: Apache-2.0
// A timeline line as the daemon's timeline file holds it.
import VigilAPI
import VigilCore

extension TimelineRecord {
    /// The line as the timeline file holds it (the Codable form, written by hand: one line per
    /// kernel event, so JSONEncoder's cost showed).
    public func jsonLine() -> String {
        var o = JSONObjectWriter()
        if let decision { o.string("decision", decision) }
        if let event { o.string("event", event) }
        o.string("kind", kind.rawValue)
        if let mechanism { o.string("mechanism", mechanism) }
        if let pid { o.int("pid", Int64(pid)) }
        if let ppid { o.int("ppid", Int64(ppid)) }
        if let reason { o.string("reason", reason) }
        if let rule { o.string("rule", rule) }
        if let text { o.string("text", text) }
        o.int("time", time)
        if let tool { o.string("tool", tool) }
        if let toolUseID { o.string("toolUseID", toolUseID) }
        return o.finish()
    }
}

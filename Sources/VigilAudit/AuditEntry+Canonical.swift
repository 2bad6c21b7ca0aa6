// SPDX-License-Identifier: Apache-2.0
// The canonical JSON encoding of an entry: hand-written for speed, keys in byte order, no whitespace.
import VigilJSON

extension AuditEntry {
    /// Canonical JSON: object keys in UTF-8 byte order, no whitespace, integers only, `nil`
    /// fields and empty collections omitted, strings escaped minimally (`"`, `\`, control characters).
    /// Decodes with `JSONDecoder` to an equal entry. About 10× faster than `JSONEncoder`.
    public func canonicalJSON() -> [UInt8] {
        // Entry v1's spelling (`\b` and `\f` as `\u0008` and `\u000c`): every leaf written so far hashes it.
        var w = CanonicalJSONWriter(format: .auditEntryV1, capacity: 512)
        w.begin()
        w.field("action") { action.write(to: &$0) }
        if !ancestry.isEmpty {
            w.field("ancestry") { w in
                w.array(ancestry) { w, link in
                    w.begin()
                    w.field("exe") { $0.string(link.exe) }
                    w.field("pid") { $0.int(Int64(link.pid)) }
                    if let sha = link.sha256 { w.field("sha256") { $0.string(sha) } }
                    if let error = link.sha256Error { w.field("sha256Error") { $0.string(error) } }
                    w.end()
                }
            }
        }
        if let decision { w.field("decision") { $0.string(decision.rawValue) } }
        w.field("deviceId") { $0.string(deviceId) }
        if let enforcement {
            w.field("enforcement") { w in
                w.begin()
                w.field("action") { $0.string(enforcement.action) }
                if let detail = enforcement.detail { w.field("detail") { $0.string(detail) } }
                w.field("succeeded") { $0.bool(enforcement.succeeded) }
                w.end()
            }
        }
        if !extra.isEmpty {
            w.field("extra") { w in
                w.begin()
                for key in extra.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                    w.field(key) { $0.string(extra[key]!) }
                }
                w.end()
            }
        }
        if let gap {
            w.field("gap") { w in
                w.begin()
                w.field("lost") { $0.uint(gap.lost) }
                if let reason = gap.reason { w.field("reason") { $0.string(reason) } }
                w.field("source") { $0.string(gap.source) }
                w.end()
            }
        }
        w.field("kind") { $0.string(kind.rawValue) }
        if !matchedRules.isEmpty { w.field("matchedRules") { $0.array(matchedRules) { $0.string($1) } } }
        if let monotonicNs { w.field("monotonicNs") { $0.uint(monotonicNs) } }
        if let policyVersion { w.field("policyVersion") { $0.string(policyVersion) } }
        if let postureRef { w.field("postureRef") { $0.string(postureRef) } }
        if let sessionId { w.field("sessionId") { $0.string(sessionId) } }
        if let subject {
            w.field("subject") { w in
                w.begin()
                if let login = subject.loginUid { w.field("loginUid") { $0.uint(UInt64(login)) } }
                w.field("uid") { $0.uint(UInt64(subject.uid)) }
                if let name = subject.userName { w.field("userName") { $0.string(name) } }
                w.end()
            }
        }
        w.field("time") { $0.int(time) }
        if let winningRule { w.field("winningRule") { $0.string(winningRule) } }
        w.end()
        return w.out
    }
}

extension AuditEntry.Action {
    fileprivate func write(to w: inout CanonicalJSONWriter) {
        w.begin()
        if let address { w.field("address") { $0.string(address) } }
        if let argv { w.field("argv") { $0.array(argv) { $0.string($1) } } }
        if let bytes { w.field("bytes") { $0.int(bytes) } }
        if let cwd { w.field("cwd") { $0.string(cwd) } }
        if let mode { w.field("mode") { $0.string(mode) } }
        if let path { w.field("path") { $0.string(path) } }
        if let port { w.field("port") { $0.uint(UInt64(port)) } }
        if let toolInput { w.field("toolInput") { $0.string(toolInput) } }
        if let toolName { w.field("toolName") { $0.string(toolName) } }
        if let transport { w.field("transport") { $0.string(transport) } }
        w.end()
    }
}

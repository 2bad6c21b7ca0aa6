// SPDX-License-Identifier: Apache-2.0
// Versioned vectors for the audit entry's canonical JSON: leaves hash these bytes, so a change to
// the writer that moves one byte would make new entries disagree with every log already written.
import Foundation
import Testing
@testable import VigilAudit

@Suite("Canonical entry vectors")
struct CanonicalVectorTests {
    /// Every control character, the two characters JSON must escape, "/" (never escaped), non-ASCII
    /// of two, three and four UTF-8 bytes (🚀 is a surrogate pair in UTF-16), DEL and U+2028 (neither
    /// escaped).
    static let awkward = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\"\\/é€🚀\u{7f}\u{2028}"

    /// `awkward` in audit entry v1: `\n`, `\r`, `\t` short; `\b` and `\f` as `\u0008` and `\u000c`.
    static let awkwardV1 =
        #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\t\n\u000b\u000c\r\u000e\u000f"#
        + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#
        + #"\"\\/é€🚀"# + "\u{7f}\u{2028}\""

    static func vectorEntry() -> AuditEntry {
        AuditEntry(
            time: Int64.min, monotonicNs: UInt64.max, kind: "custom.kind",
            subject: .init(uid: UInt32.max, userName: "dév", loginUid: 0), deviceId: awkward, sessionId: "s\u{08}\u{0c}",
            action: .init(
                argv: ["", awkward], cwd: "/", path: "/a/b", mode: "rw", address: "::1", port: 65535, transport: "tcp",
                bytes: -1, toolName: "Bash", toolInput: #"{"command":"echo \"x\""}"#),
            decision: .deny, matchedRules: ["b", "a"], winningRule: "b", policyVersion: "v1",
            enforcement: .init(action: "kill", succeeded: false, detail: "\u{1f}"),
            ancestry: [.init(pid: Int32.min, exe: "/bin/sh", sha256: nil), .init(pid: 1, exe: "/sbin/init", sha256: "ab")],
            postureRef: "p", gap: .init(source: "ring", lost: 0, reason: "\u{0}"),
            extra: ["b": "\u{08}\u{0c}", "B": "B", "é": "é", "a/b": "/", "\u{01}": "ctl", "aa": "", "a": "a"])
    }

    /// Entry v1: keys in UTF-8 byte order (control < upper < lower < "/" inside a key < non-ASCII), no
    /// whitespace, integers at their extremes as plain decimals, array order kept.
    static let entryV1 =
        #"{"action":{"address":"::1","argv":["","# + awkwardV1 + #"],"bytes":-1,"cwd":"/","mode":"rw","path":"/a/b","#
        + #""port":65535,"toolInput":"{\"command\":\"echo \\\"x\\\"\"}","toolName":"Bash","transport":"tcp"},"#
        + #""ancestry":[{"exe":"/bin/sh","pid":-2147483648},{"exe":"/sbin/init","pid":1,"sha256":"ab"}],"#
        + #""decision":"deny","deviceId":"# + awkwardV1 + #","enforcement":{"action":"kill","detail":"\u001f","succeeded":false},"#
        + #""extra":{"\u0001":"ctl","B":"B","a":"a","a/b":"/","aa":"","b":"\u0008\u000c","é":"é"},"#
        + #""gap":{"lost":0,"reason":"\u0000","source":"ring"},"kind":"custom.kind","matchedRules":["b","a"],"#
        + #""monotonicNs":18446744073709551615,"policyVersion":"v1","postureRef":"p","sessionId":"s\u0008\u000c","#
        + #""subject":{"loginUid":0,"uid":4294967295,"userName":"dév"},"time":-9223372036854775808,"winningRule":"b"}"#

    @Test func entryV1BytesArePinned() throws {
        let bytes = Self.vectorEntry().canonicalJSON()
        #expect(String(decoding: bytes, as: UTF8.self) == Self.entryV1)
        #expect(bytes == Array(Self.entryV1.utf8))
        // The vector is JSON that decodes to the same entry: the pin is of a valid encoding.
        #expect(try JSONDecoder().decode(AuditEntry.self, from: Data(bytes)) == Self.vectorEntry())
    }

    @Test func entryV1LeafHashIsPinned() {
        var leaf: [UInt8] = []
        AuditLeaf.write(index: 7, prev: RFC6962.leafHash([]), recorded: 42, entryJSON: Self.vectorEntry().canonicalJSON(), to: &leaf)
        #expect(RFC6962.leafHash(leaf).description == Self.entryV1LeafHash)
    }

    /// A link with no digest says why (issue 16): the key sorts after `sha256`, old links are unchanged.
    @Test func aLinkWithoutADigestCarriesItsReason() throws {
        var entry = AuditEntry(kind: .exec, deviceId: "d", action: .init(path: "/bin/ls"))
        entry.ancestry = [
            .init(pid: 2, exe: "/bin/ls", sha256: "ab"), .init(pid: 1, exe: "/sbin/init", sha256: nil, sha256Error: "cannot open /proc/1/exe"),
        ]
        let text = String(decoding: entry.canonicalJSON(), as: UTF8.self)
        #expect(
            text.contains(
                #""ancestry":[{"exe":"/bin/ls","pid":2,"sha256":"ab"},{"exe":"/sbin/init","pid":1,"sha256Error":"cannot open /proc/1/exe"}]"#),
            "\(text)")
        #expect(try JSONDecoder().decode(AuditEntry.self, from: Data(entry.canonicalJSON())) == entry)
    }

    static let entryV1LeafHash = "7d2ff258aef27a49cd97cff1eee27e6e4f001d6cf23b399a9f1d3601478b9088"
}

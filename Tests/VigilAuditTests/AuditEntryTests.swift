// SPDX-License-Identifier: Apache-2.0
// The canonical entry encoding: valid JSON, sorted keys, round-trips through JSONDecoder.
import Foundation
import Testing
@testable import VigilAudit

@Suite("Entry encoding")
struct AuditEntryTests {
    @Test(arguments: [0, 1, 2, 5])
    func canonicalJSONRoundTrips(_ i: Int) throws {
        let entry = TestLog.entry(i)
        let decoded = try JSONDecoder().decode(AuditEntry.self, from: Data(entry.canonicalJSON()))
        #expect(decoded == entry)
    }

    @Test func awkwardStringsAndSparseEntriesRoundTrip() throws {
        var entry = AuditEntry(time: -5, kind: "custom.kind", deviceId: "d\"q\\b/\u{01}\n\t\r")
        entry.extra = ["zeta": "ü ✓ 🚀", "Alpha": "\u{7f}", "a": ""]
        entry.action.argv = ["", "sh", "-c", "echo \"$HOME\"\\n"]
        entry.action.port = 65535
        entry.monotonicNs = UInt64.max
        entry.gap = .init(source: "s", lost: UInt64.max, reason: nil)
        let json = entry.canonicalJSON()
        #expect(try JSONDecoder().decode(AuditEntry.self, from: Data(json)) == entry)
        #expect(try JSONSerialization.jsonObject(with: Data(json)) is [String: Any])
        let minimal = AuditEntry(time: 1, kind: .session, deviceId: "d")
        #expect(String(decoding: minimal.canonicalJSON(), as: UTF8.self) == #"{"action":{},"deviceId":"d","kind":"session","time":1}"#)
    }

    @Test func keysAreInByteOrderAndEncodingIsDeterministic() throws {
        let entry = TestLog.entry(3)
        let text = String(decoding: entry.canonicalJSON(), as: UTF8.self)
        let keys = [
            "\"action\"", "\"ancestry\"", "\"decision\"", "\"deviceId\"", "\"enforcement\"", "\"kind\"", "\"matchedRules\"",
            "\"policyVersion\"", "\"postureRef\"", "\"sessionId\"", "\"subject\"", "\"time\"", "\"winningRule\"",
        ]
        let positions = keys.map { text.range(of: $0)!.lowerBound }
        #expect(positions == positions.sorted())
        #expect(entry.canonicalJSON() == entry.canonicalJSON())
    }

    @Test func leafHeaderParsesOnlyTheFixedLayout() {
        var leaf: [UInt8] = []
        AuditLeaf.write(index: 12, prev: RFC6962.leafHash([1]), recorded: 99, entryJSON: Array("{}".utf8), to: &leaf)
        let header = leaf.withUnsafeBytes { AuditLeaf.parseHeader($0) }
        #expect(header == AuditLeaf.Header(index: 12, prev: RFC6962.leafHash([1]), recorded: 99))
        for bad in [#"{"v":2,"index":1"#, #"{"v":1,"index":01,"prev":""#, #"{"index":1,"v":1}"#] {
            #expect(Array(bad.utf8).withUnsafeBytes { AuditLeaf.parseHeader($0) } == nil)
        }
        let upper = String(decoding: leaf, as: UTF8.self).uppercased()
        #expect(Array(upper.utf8).withUnsafeBytes { AuditLeaf.parseHeader($0) } == nil)
    }
}

// SPDX-License-Identifier: Apache-2.0
// Versioned vectors for the posture snapshot's canonical JSON: audit entries carry the snapshot's
// hash and a decoded snapshot is checked by recomputing it, so these bytes must never move.
import Foundation
import Testing
import VigilCore
import VigilPosture

@Suite struct SnapshotVectorTests {
    /// Every control character, the two characters JSON must escape, "/" (never escaped), non-ASCII
    /// of two, three and four UTF-8 bytes (🚀 is a surrogate pair in UTF-16), DEL and U+2028 (neither
    /// escaped).
    static let awkward = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\"\\/é€🚀\u{7f}\u{2028}"

    /// `awkward` in snapshot v1: `\b`, `\f`, `\n`, `\r`, `\t` short (unlike the audit entry's v1,
    /// which writes `\u0008` and `\u000c`), the other controls as `\u00xx` in lower case.
    static let awkwardV1 =
        #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
        + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#
        + #"\"\\/é€🚀"# + "\u{7f}\u{2028}\""

    static func vectorSnapshot() -> PostureSnapshot {
        PostureSnapshot(
            takenAt: Date(timeIntervalSince1970: 1_795_000_000.1234),
            observations: [
                .diskEncrypted: PostureObservation(
                    .string(awkward), evidence: [.init(source: awkward, detail: awkward), .init(source: "/b", detail: "")]),
                .edrRunning: PostureObservation(.notApplicable(reason: "\u{08}\u{0c}")),
                .osPatchAgeDays: PostureObservation(.int(Int.min)),
                .secureBoot: PostureObservation(.bool(true)),
                .yamaPtraceScope: PostureObservation(.unknown(reason: "é")),
            ])
    }

    /// Snapshot v1: keys in UTF-8 byte order, no whitespace, evidence in the order probed.
    static let snapshotV1 =
        #"{"facts":{"disk_encrypted":{"evidence":[{"detail":"# + awkwardV1 + #","source":"# + awkwardV1
        + #"},{"detail":"","source":"/b"}],"fact":{"type":"string","value":"# + awkwardV1 + #"}},"#
        + #""edr_running":{"evidence":[],"fact":{"reason":"\b\f","type":"not_applicable"}},"#
        + #""os_patch_age_days":{"evidence":[],"fact":{"type":"int","value":-9223372036854775808}},"#
        + #""secure_boot":{"evidence":[],"fact":{"type":"bool","value":true}},"#
        + #""yama_ptrace_scope":{"evidence":[],"fact":{"reason":"é","type":"unknown"}}},"#
        + #""taken_at":"2026-11-18T11:06:40.123Z"}"#

    static let snapshotV1Hash = "f342eba0aba2abef715a80be3d20222e98a4b552d66d3318c1b1ed3fe8f3bfef"

    @Test func snapshotV1BytesAndHashArePinned() throws {
        let snapshot = Self.vectorSnapshot()
        #expect(snapshot.canonicalJSON == Self.snapshotV1)
        #expect(snapshot.hash == Self.snapshotV1Hash)
        #expect(try JSONSerialization.jsonObject(with: Data(snapshot.canonicalJSON.utf8)) is [String: Any])
    }

    /// A snapshot encoded by today's code keeps verifying when decoded by a later one.
    @Test func encodedSnapshotV1StillVerifies() throws {
        let data = try JSONEncoder().encode(Self.vectorSnapshot())
        let decoded = try JSONDecoder().decode(PostureSnapshot.self, from: data)
        #expect(decoded.hash == Self.snapshotV1Hash)
        #expect(decoded.isHashValid)
    }
}

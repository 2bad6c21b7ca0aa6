// SPDX-License-Identifier: Apache-2.0
import Crypto
import Foundation
import Testing
import VigilCore
import VigilJSON
import VigilPosture

@Suite struct SnapshotTests {
    let time = Date(timeIntervalSince1970: 1_795_000_000.1234)

    func sample(edr: PostureFact = .bool(true), evidence: String = "pid 7") -> PostureSnapshot {
        PostureSnapshot(
            takenAt: time,
            observations: [
                .edrRunning: PostureObservation(edr, evidence: [.init(source: "/proc/*/comm", detail: evidence)]),
                .kernelVersion: PostureObservation(.string("6.18.0"), evidence: []),
                .secureBoot: PostureObservation(.notApplicable(reason: "no EFI")),
                .yamaPtraceScope: PostureObservation(.unknown(reason: "absent")),
                .osPatchAgeDays: PostureObservation(.int(3)),
            ])
    }

    @Test func canonicalJSONIsSortedCompactAndCoversEverything() {
        let snapshot = PostureSnapshot(
            takenAt: Date(timeIntervalSince1970: 0),
            observations: [
                .secureBoot: PostureObservation(.bool(false), evidence: [.init(source: "/x", detail: "a\"b")]),
                .diskEncrypted: PostureObservation(.unknown(reason: "r")),
            ])
        #expect(
            snapshot.canonicalJSON == #"{"facts":{"disk_encrypted":{"evidence":[],"fact":{"reason":"r","type":"unknown"}},"#
                + #""secure_boot":{"evidence":[{"detail":"a\"b","source":"/x"}],"fact":{"type":"bool","value":false}}},"#
                + #""taken_at":"1970-01-01T00:00:00.000Z"}"#)
        #expect(snapshot.hash == SHA256.hexDigest(Array(snapshot.canonicalJSON.utf8)))
        #expect(snapshot.hash.count == 64)
    }

    @Test func hashDependsOnContentNotInsertionOrder() {
        #expect(sample().hash == sample().hash)
        var reversed: [PostureKey: PostureObservation] = [:]
        for (key, value) in sample().observations.sorted(by: { $0.key > $1.key }) { reversed[key] = value }
        #expect(PostureSnapshot(takenAt: time, observations: reversed).hash == sample().hash)
        #expect(sample(evidence: "pid 8").hash != sample().hash)
        #expect(sample(edr: .bool(false)).hash != sample().hash)
        #expect(PostureSnapshot(takenAt: time.addingTimeInterval(1), observations: sample().observations).hash != sample().hash)
    }

    @Test func codableRoundTripKeepsHashValid() throws {
        let snapshot = sample()
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970  // must not matter
        let data = try encoder.encode(snapshot)
        let decoded = try JSONDecoder().decode(PostureSnapshot.self, from: data)
        #expect(decoded == snapshot)
        #expect(decoded.isHashValid)
        #expect(decoded.takenAt == PostureTimestamp.truncatedToMilliseconds(time))
    }

    @Test func tamperedSnapshotFailsHashCheck() throws {
        let text = String(decoding: try JSONEncoder().encode(sample()), as: UTF8.self)
        let tampered = text.replacingOccurrences(of: "6.18.0", with: "6.18.1")
        #expect(tampered != text)
        let decoded = try JSONDecoder().decode(PostureSnapshot.self, from: Data(tampered.utf8))
        #expect(!decoded.isHashValid)
    }

    @Test func malformedTimestampIsADecodingError() {
        let json = #"{"taken_at":"yesterday","facts":{},"hash":"00"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(PostureSnapshot.self, from: Data(json.utf8)) }
    }

    @Test func factCodingCoversEveryCase() throws {
        let facts: [PostureFact] = [.bool(true), .int(-4), .string("x"), .unknown(reason: "u"), .notApplicable(reason: "n")]
        let decoded = try JSONDecoder().decode([PostureFact].self, from: JSONEncoder().encode(facts))
        #expect(decoded == facts)
        let bad = #"[{"type":"float","value":1.5}]"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([PostureFact].self, from: Data(bad.utf8)) }
    }

    @Test func changesReportBeforeAndAfterPerFact() {
        let earlier = sample()
        var observations = earlier.observations
        observations[.edrRunning] = PostureObservation(.bool(false))
        observations[.osPatchAgeDays] = nil
        observations[.screenLocked] = PostureObservation(.bool(true))
        observations[.kernelVersion] = PostureObservation(.string("6.18.0"), evidence: [.init(source: "new", detail: "only evidence")])
        let later = PostureSnapshot(takenAt: time.addingTimeInterval(60), observations: observations)
        #expect(
            later.changes(from: earlier) == [
                PostureChange(key: .edrRunning, before: .bool(true), after: .bool(false)),
                PostureChange(key: .osPatchAgeDays, before: .int(3), after: nil),
                PostureChange(key: .screenLocked, before: nil, after: .bool(true)),
            ])
        #expect(earlier.changes(from: earlier).isEmpty)
    }

    @Test func updatingReplacesOnlyGivenKeysAndRehashes() {
        let earlier = sample()
        let later = earlier.updating([.edrRunning: PostureObservation(.bool(false))], at: time.addingTimeInterval(5))
        #expect(later[.edrRunning] == .bool(false))
        #expect(later[.kernelVersion] == .string("6.18.0"))
        #expect(later.hash != earlier.hash)
        #expect(later.isHashValid)
        #expect(later[.firewallActive].isUnknownWithReason)
    }

    @Test func reportListsFactsEvidenceAndHash() {
        let report = sample().report
        #expect(report.contains("edr_running"))
        #expect(report.contains("/proc/*/comm: pid 7"))
        #expect(report.contains("unknown (absent)"))
        #expect(report.hasSuffix("sha256 \(sample().hash)"))
    }

    @Test func everyKeyHasItsWireName() {
        #expect(
            PostureKey.allCases.map(\.rawValue) == [
                "disk_encrypted", "secure_boot", "firewall_active", "edr_running", "os_patch_age_days", "kernel_version",
                "os_release", "screen_locked", "kernel_lockdown", "io_uring_disabled", "unprivileged_bpf_disabled",
                "yama_ptrace_scope", "ptrace_restricted", "vigil_sensor_attached", "vigil_enforcement_mode", "vigil_drops",
            ])
    }
}

@Suite struct CanonicalJSONAndTimestampTests {
    @Test func escapesControlCharactersQuotesAndKeepsUnicode() {
        let value = JSONValue.object(["b": .array([.null, .int(-1)]), "a": .string("é\u{01}\n\\\"/")])
        #expect(value.text(.postureSnapshotV1) == #"{"a":"é\u0001\n\\\"/","b":[null,-1]}"#)
    }

    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (951_782_400.5, "2000-02-29T00:00:00.500Z"),
        (1_795_000_000.1234, "2026-11-18T11:06:40.123Z"),
        (-1.0, "1969-12-31T23:59:59.000Z"),
    ])
    func formatsAndParsesUTC(seconds: Double, text: String) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(PostureTimestamp.format(date) == text)
        #expect(PostureTimestamp.parse(text) == PostureTimestamp.truncatedToMilliseconds(date))
    }

    @Test func rejectsMalformedTimestamps() {
        for text in ["", "2026-13-01T00:00:00.000Z", "2026-11-18 10:26:40.123Z", "2026-11-18T10:26:40Z"] {
            #expect(PostureTimestamp.parse(text) == nil, "\(text)")
        }
    }
}

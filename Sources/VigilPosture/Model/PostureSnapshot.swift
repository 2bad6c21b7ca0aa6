// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// The whole device posture at one instant, with a stable hash that audit entries can carry.

import Foundation
import VigilCore
import VigilJSON

/// Every posture fact at one instant, each with its evidence, and a SHA-256 over a canonical encoding.
///
/// The hash is the lower-case hex SHA-256 of ``canonicalJSON``: the `taken_at` timestamp and every
/// observation (fact and evidence), with keys sorted and no whitespace, spelled as `JSONFormat.postureSnapshotV1`. Two
/// snapshots with the same time and the same observations have the same hash on every platform.
public struct PostureSnapshot: Sendable, Equatable {
    /// When the probes ran, truncated to whole milliseconds so it round-trips exactly.
    public let takenAt: Date
    /// One observation per probed fact.
    public let observations: [PostureKey: PostureObservation]
    /// Hex SHA-256 of ``canonicalJSON`` as computed when this snapshot was made (or as decoded).
    public let hash: String

    public init(takenAt: Date, observations: [PostureKey: PostureObservation]) {
        self.takenAt = PostureTimestamp.truncatedToMilliseconds(takenAt)
        self.observations = observations
        self.hash = SHA256.hexDigest(Array(Self.canonicalJSON(takenAt: self.takenAt, observations: observations).utf8))
    }

    private init(takenAt: Date, observations: [PostureKey: PostureObservation], hash: String) {
        self.takenAt = takenAt
        self.observations = observations
        self.hash = hash
    }

    /// The fact for `key`; `.unknown` with a reason when the snapshot has no observation for it.
    public subscript(key: PostureKey) -> PostureFact {
        observations[key]?.fact ?? .unknown(reason: "not probed in this snapshot")
    }

    /// The exact text the hash covers.
    public var canonicalJSON: String { Self.canonicalJSON(takenAt: takenAt, observations: observations) }

    /// `true` when ``hash`` matches the content (always for snapshots built here; checks decoded ones).
    public var isHashValid: Bool { SHA256.hexDigest(Array(canonicalJSON.utf8)) == hash }

    private static func canonicalJSON(takenAt: Date, observations: [PostureKey: PostureObservation]) -> String {
        var facts: [String: JSONValue] = [:]
        for (key, observation) in observations { facts[key.rawValue] = observation.canonical }
        let snapshot: JSONValue = .object([
            "taken_at": .string(PostureTimestamp.format(takenAt)),
            "facts": .object(facts),
        ])
        // Snapshot v1's spelling (`\b`, `\f` short): hashes already in audit entries cover it.
        return snapshot.text(.postureSnapshotV1)
    }
}

extension PostureObservation {
    var canonical: JSONValue {
        .object([
            "fact": fact.canonical,
            "evidence": .array(evidence.map { .object(["source": .string($0.source), "detail": .string($0.detail)]) }),
        ])
    }
}

extension PostureFact {
    var canonical: JSONValue {
        switch self {
        case .bool(let value): .object(["type": .string("bool"), "value": .bool(value)])
        case .int(let value): .object(["type": .string("int"), "value": .int(Int64(value))])
        case .string(let value): .object(["type": .string("string"), "value": .string(value)])
        case .unknown(let reason): .object(["type": .string("unknown"), "reason": .string(reason)])
        case .notApplicable(let reason): .object(["type": .string("not_applicable"), "reason": .string(reason)])
        }
    }
}

extension PostureSnapshot: Codable {
    private enum CodingKeys: String, CodingKey {
        case takenAt = "taken_at"
        case facts, hash
    }

    /// Same member names as ``canonicalJSON`` plus `hash`. The timestamp is always the fixed UTC text
    /// form, whatever the encoder's date strategy.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(PostureTimestamp.format(takenAt), forKey: .takenAt)
        try container.encode(observations, forKey: .facts)
        try container.encode(hash, forKey: .hash)
    }

    /// Keeps the decoded `hash` as is; check ``isHashValid`` before trusting a snapshot from elsewhere.
    /// - Throws: `DecodingError` for a missing member or a malformed `taken_at`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .takenAt)
        guard let takenAt = PostureTimestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: .takenAt, in: container, debugDescription: "expected yyyy-MM-ddTHH:mm:ss.SSSZ, got \(text)")
        }
        self.init(
            takenAt: takenAt,
            observations: try container.decode([PostureKey: PostureObservation].self, forKey: .facts),
            hash: try container.decode(String.self, forKey: .hash))
    }
}

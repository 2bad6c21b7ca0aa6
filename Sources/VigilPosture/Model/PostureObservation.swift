// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// A fact together with the evidence it was derived from.

/// One piece of evidence: where a probe looked and what it saw there.
public struct PostureEvidence: Codable, Sendable, Hashable {
    /// The file (relative to the probe root, written as an absolute path), command line, or input read.
    public var source: String
    /// What was read or concluded from it, in a few words (`"CRYPT-LUKS2-… → dm-crypt"`).
    public var detail: String

    public init(source: String, detail: String) {
        self.source = source
        self.detail = detail
    }
}

/// A posture fact plus the evidence behind it.
public struct PostureObservation: Codable, Sendable, Hashable {
    public var fact: PostureFact
    public var evidence: [PostureEvidence]

    public init(_ fact: PostureFact, evidence: [PostureEvidence] = []) {
        self.fact = fact
        self.evidence = evidence
    }
}

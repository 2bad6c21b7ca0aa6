// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// Diffing two snapshots, and replacing some facts when a live event changes them.

import Foundation

/// One fact whose value differs between two snapshots. Evidence-only differences are not changes.
public struct PostureChange: Codable, Sendable, Hashable {
    public var key: PostureKey
    /// The value in the earlier snapshot; `nil` if it had no observation for ``key``.
    public var before: PostureFact?
    /// The value in the later snapshot; `nil` if it has no observation for ``key``.
    public var after: PostureFact?

    public init(key: PostureKey, before: PostureFact?, after: PostureFact?) {
        self.key = key
        self.before = before
        self.after = after
    }
}

extension PostureSnapshot {
    /// The facts whose values differ from `earlier`, sorted by key name.
    public func changes(from earlier: PostureSnapshot) -> [PostureChange] {
        let keys = Set(observations.keys).union(earlier.observations.keys).sorted()
        return keys.compactMap { key in
            let before = earlier.observations[key]?.fact
            let after = observations[key]?.fact
            return before == after ? nil : PostureChange(key: key, before: before, after: after)
        }
    }

    /// A new snapshot taken at `date` with `updates` replacing those keys' observations; the rest are
    /// carried over. The hash is recomputed. Used to apply a live re-evaluation (e.g. an EDR exit).
    public func updating(_ updates: [PostureKey: PostureObservation], at date: Date) -> PostureSnapshot {
        PostureSnapshot(takenAt: date, observations: observations.merging(updates) { _, new in new })
    }
}

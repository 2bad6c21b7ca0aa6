// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// The human-readable rendering `vigil posture` prints.

extension PostureSnapshot {
    /// One block per fact in key order: `name  value`, then its evidence indented, then the hash.
    public var report: String {
        let width = (PostureKey.allCases.map(\.rawValue.count).max() ?? 0) + 2
        var lines = ["Device posture at \(PostureTimestamp.format(takenAt))", ""]
        for key in observations.keys.sorted(by: { Self.order(of: $0) < Self.order(of: $1) }) {
            let observation = observations[key]!
            let name = key.rawValue.padding(to: width)
            lines.append(name + observation.fact.description)
            for evidence in observation.evidence {
                lines.append("    \(evidence.source): \(evidence.detail)")
            }
        }
        lines.append("")
        lines.append("sha256 \(hash)")
        return lines.joined(separator: "\n")
    }

    private static func order(of key: PostureKey) -> Int { PostureKey.allCases.firstIndex(of: key) ?? 0 }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

// SPDX-License-Identifier: Apache-2.0
// A policy version as devices receive it: a JWS (ES256) by the console's policy key, which devices
// pinned at enrolment, so a bundle verifies again from disk when the console is out of reach.
import Foundation
import Synchronization
import VigilAPI
import VigilSignatures

final class PolicyBundleSigner: Sendable {
    let key: P256SigningKey
    /// The newest version's JWS, signed once: after a change every device fetches the same bytes.
    private let newest = Mutex<(version: Int, jws: String)?>(nil)

    init(key: P256SigningKey) { self.key = key }

    func sign(_ bundle: PolicyBundle) throws -> String {
        if let cached = newest.withLock({ $0 }), cached.version == bundle.version { return cached.jws }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let jws = try CompactJWS.sign(payload: Array(try encoder.encode(bundle)), key: key, keyID: key.publicKey.keyID, type: PolicyBundle.jwsType)
        newest.withLock { if ($0?.version ?? 0) <= bundle.version { $0 = (bundle.version, jws) } }
        return jws
    }
}

/// A line diff of two policy texts (what the audit entry of a change carries): `-`/`+` lines
/// around the changed middle, the common head and tail left out.
enum PolicyDiff {
    static func unified(from old: String, to new: String) -> String {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false)
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        let removed = a[head..<(a.count - tail)].map { "-" + $0 }
        let added = b[head..<(b.count - tail)].map { "+" + $0 }
        return (["@@ line \(head + 1)"] + removed + added).joined(separator: "\n")
    }
}

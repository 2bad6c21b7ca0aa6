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

    /// The JWS of `version` if it is the one signed last.
    func signed(version: Int) -> String? { newest.withLock { $0?.version == version ? $0?.jws : nil } }

    func sign(_ bundle: PolicyBundle) throws -> String {
        if let cached = newest.withLock({ $0 }), cached.version == bundle.version { return cached.jws }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let jws = try CompactJWS.sign(payload: Array(try encoder.encode(bundle)), key: key, keyID: key.publicKey.keyID, type: PolicyBundle.jwsType)
        newest.withLock { if ($0?.version ?? 0) <= bundle.version { $0 = (bundle.version, jws) } }
        return jws
    }
}

// SPDX-License-Identifier: Apache-2.0
// The fingerprints Vigil writes as text (policy documents, posture snapshots, the hooks drop-in,
// summarised tool inputs) are swift-crypto's SHA-256, spelled as lower-case hex.
import Crypto
import Foundation

extension SHA256 {
    /// The digest of `message` as 64 lower-case hex digits.
    public static func hexDigest(_ message: some DataProtocol) -> String {
        hash(data: message).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

// SPDX-License-Identifier: Apache-2.0
// ES256 compact JWS (RFC 7515/7518): what the console signs policy bundles with.
import Crypto
import Foundation
import Testing
import VigilSignatures

@Suite struct CompactJWSTests {
    let key = P256SigningKey(P256.Signing.PrivateKey())

    @Test func roundTripAndEveryRefusal() throws {
        let payload = Array(#"{"version":3}"#.utf8)
        let jws = try CompactJWS.sign(payload: payload, key: key, keyID: key.publicKey.keyID, type: "t")
        #expect(try CompactJWS.verify(jws, key: key.publicKey, keyID: key.publicKey.keyID, type: "t") == payload)

        let parts = jws.split(separator: ".").map(String.init)
        let other = P256SigningKey(P256.Signing.PrivateKey())
        #expect(throws: JWSError.badSignature) {
            try CompactJWS.verify(jws, key: other.publicKey, keyID: key.publicKey.keyID, type: "t")
        }
        #expect(throws: JWSError.wrongKey(key.publicKey.keyID)) {
            try CompactJWS.verify(jws, key: key.publicKey, keyID: other.publicKey.keyID, type: "t")
        }
        #expect(throws: JWSError.malformed("typ t is not u")) {
            try CompactJWS.verify(jws, key: key.publicKey, keyID: key.publicKey.keyID, type: "u")
        }
        // A changed payload with the old signature.
        let otherPayload = Data(#"{"version":4}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        #expect(otherPayload != parts[1])
        let forged = [parts[0], otherPayload, parts[2]].joined(separator: ".")
        #expect(throws: JWSError.badSignature) { try CompactJWS.verify(forged, key: key.publicKey, keyID: key.publicKey.keyID, type: "t") }
        for garbage in ["", "a.b", "a.b.c.d", "!!.x.y", jws + "x"] {
            #expect(throws: JWSError.self) { try CompactJWS.verify(garbage, key: key.publicKey, keyID: key.publicKey.keyID, type: "t") }
        }
        // alg none is never accepted.
        let none = Data(#"{"alg":"none","kid":"\#(key.publicKey.keyID)","typ":"t"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        #expect(throws: JWSError.malformed("alg none is not ES256")) {
            try CompactJWS.verify("\(none).\(parts[1]).", key: key.publicKey, keyID: key.publicKey.keyID, type: "t")
        }
    }
}

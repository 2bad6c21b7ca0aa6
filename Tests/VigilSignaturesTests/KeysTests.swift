// SPDX-License-Identifier: Apache-2.0
// Keys: the stored form round-trips and refuses garbage, the key ID is the hash of that form, and
// signatures have the RFC 9421 shape (64 raw bytes for both algorithms).
import Crypto
import Foundation
import Testing
import VigilSignatures

@Suite("Keys")
struct KeysTests {
    @Test func encodedFormRoundTripsForBothAlgorithms() throws {
        let p256 = P256SigningKey(P256.Signing.PrivateKey()).publicKey
        let ed25519 = Ed25519SigningKey(Curve25519.Signing.PrivateKey()).publicKey
        #expect(p256.encoded.hasPrefix("ecdsa-p256-sha256:") && p256.algorithm == .ecdsaP256SHA256)
        #expect(ed25519.encoded.hasPrefix("ed25519:") && ed25519.algorithm == .ed25519)
        #expect(try MessageVerificationKey(encoded: p256.encoded) == p256)
        #expect(try MessageVerificationKey(encoded: ed25519.encoded) == ed25519)
        #expect(p256 != ed25519)
        #expect(p256 != P256SigningKey(P256.Signing.PrivateKey()).publicKey)
    }

    @Test func encodedIsBase64OfTheX963AndRawForms() throws {
        let p256 = P256.Signing.PrivateKey().publicKey
        #expect(MessageVerificationKey.p256(p256).encoded == "ecdsa-p256-sha256:" + p256.x963Representation.base64EncodedString())
        #expect(p256.x963Representation.count == 65)
        let ed = Curve25519.Signing.PrivateKey().publicKey
        #expect(MessageVerificationKey.ed25519(ed).encoded == "ed25519:" + ed.rawRepresentation.base64EncodedString())
    }

    @Test func keyIDIsSHA256HexOfTheEncodedText() throws {
        // The RFC 9421 B.1.4 public key, so the expected value is fixed: its encoded form is known.
        let key = try MessageVerificationKey(encoded: "ed25519:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=")
        let expected = SHA256.hash(data: Array("ed25519:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=".utf8)).map { String(format: "%02x", $0) }
            .joined()
        #expect(key.keyID == "sha256:" + expected)
        #expect(key.keyID.count == 7 + 64 && key.keyID == key.keyID.lowercased())
        let other = Ed25519SigningKey(Curve25519.Signing.PrivateKey()).publicKey
        #expect(other.keyID != key.keyID)
    }

    @Test(arguments: [
        "",
        "ed25519",
        "ed25519:",
        "rsa-pss-sha512:AAAA",
        "ED25519:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=",
        "ed25519:not base64!",
        "ed25519:AAAA",
        "ed25519:JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs",
        "ed25519: JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=",
        "ecdsa-p256-sha256:JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=",
        // Not a point on P-256: 0x04 then 64 bytes of 0x01.
        "ecdsa-p256-sha256:BAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB",
    ])
    func garbageIsRefused(_ text: String) {
        #expect(throws: KeyEncodingError.self) { try MessageVerificationKey(encoded: text) }
    }

    @Test func aCompressedP256PointIsNotTheCanonicalForm() throws {
        let key = P256.Signing.PrivateKey().publicKey
        let compressed = "ecdsa-p256-sha256:" + key.compressedRepresentation.base64EncodedString()
        // Refused (or, if swift-crypto parsed it, refused as non-canonical): one key, one key ID.
        #expect(throws: KeyEncodingError.self) { try MessageVerificationKey(encoded: compressed) }
    }

    @Test func signaturesAre64RawBytesAndVerify() throws {
        let message = Array("the signature base".utf8)
        let p256 = P256SigningKey(P256.Signing.PrivateKey())
        let ed25519 = Ed25519SigningKey(Curve25519.Signing.PrivateKey())
        for key in [p256 as any MessageSigningKey, ed25519] {
            let signature = try key.signature(for: message)
            #expect(signature.count == 64)
            let publicKey = key.algorithm == .ed25519 ? ed25519.publicKey : p256.publicKey
            #expect(publicKey.isValidSignature(signature, for: message))
            #expect(!publicKey.isValidSignature(signature, for: message + [0]))
        }
        // ECDSA is r‖s, not DER: the DER form of the same signature is refused.
        let ecdsa = try p256.privateKey.signature(for: message)
        #expect(p256.publicKey.isValidSignature(Array(ecdsa.rawRepresentation), for: message))
        #expect(!p256.publicKey.isValidSignature(Array(ecdsa.derRepresentation), for: message))
        #expect(!p256.publicKey.isValidSignature(Array(ecdsa.rawRepresentation) + [0], for: message))
        #expect(!p256.publicKey.isValidSignature(Array(ecdsa.rawRepresentation.prefix(63)), for: message))
    }

    @Test func errorDescriptionNamesTheProblem() {
        #expect(throws: KeyEncodingError.malformed("unknown algorithm \"rsa\" (expected ecdsa-p256-sha256 or ed25519)")) {
            try MessageVerificationKey(encoded: "rsa:AAAA")
        }
        #expect(KeyEncodingError.malformed("x").description == "The verification key is malformed: x.")
    }
}

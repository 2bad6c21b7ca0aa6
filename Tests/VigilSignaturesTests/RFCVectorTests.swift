// SPDX-License-Identifier: Apache-2.0
// The RFC 9421 Appendix B examples and the RFC 9530 digests, byte for byte (vectors in RFCVectors.swift).
import Crypto
import Foundation
import Testing
@testable import VigilSignatures

@Suite("RFC 9421 and RFC 9530 vectors")
struct RFCVectorTests {
    static let ed25519 = Ed25519SigningKey(try! Curve25519.Signing.PrivateKey(rawRepresentation: base64URLDecode(RFC9421.ed25519D)))
    static let ed25519Public = MessageVerificationKey.ed25519(try! Curve25519.Signing.PublicKey(rawRepresentation: base64URLDecode(RFC9421.ed25519X)))
    static let p256Public = MessageVerificationKey.p256(
        try! P256.Signing.PublicKey(x963Representation: [0x04] + base64URLDecode(RFC9421.p256X) + base64URLDecode(RFC9421.p256Y)))

    @Test func theTestKeysAgreeWithThemselves() throws {
        // B.1.4: the PKCS#8 PEM ends with the JWK's seed, the SPKI PEM with its public key.
        #expect(Array(base64Decode(RFC9421.ed25519PrivatePEM).suffix(32)) == base64URLDecode(RFC9421.ed25519D))
        #expect(Array(base64Decode(RFC9421.ed25519PublicPEM).suffix(32)) == base64URLDecode(RFC9421.ed25519X))
        #expect(Self.ed25519.publicKey == Self.ed25519Public)
        // B.1.3: the private scalar d gives the public point (x, y).
        let p256 = try P256.Signing.PrivateKey(rawRepresentation: base64URLDecode(RFC9421.p256D))
        #expect(P256SigningKey(p256).publicKey == Self.p256Public)
    }

    @Test func b26SignatureBaseIsTheRFCs() throws {
        let base = try SignatureBase.make(RFC9421.testRequest, components: RFC9421.b26Components, signatureParams: RFC9421.b26SignatureParams)
        #expect(base == RFC9421.b26SignatureBase)
        #expect(!base.hasSuffix("\n"))
    }

    @Test func b26Ed25519SignatureIsTheRFCsByteForByte() throws {
        let signature = try Self.ed25519.signature(for: Array(RFC9421.b26SignatureBase.utf8))
        // Ed25519 is deterministic (RFC 8032); swift-crypto on Linux signs with BoringSSL's, which is.
        #expect(signature == base64Decode(RFC9421.b26SignatureBytes))
        #expect(Self.ed25519Public.isValidSignature(base64Decode(RFC9421.b26SignatureBytes), for: Array(RFC9421.b26SignatureBase.utf8)))
        var flipped = base64Decode(RFC9421.b26SignatureBytes)
        flipped[10] ^= 1
        #expect(!Self.ed25519Public.isValidSignature(flipped, for: Array(RFC9421.b26SignatureBase.utf8)))
    }

    @Test func b26HeadersParseToTheRFCsBaseAndVerify() throws {
        var request = RFC9421.testRequest
        request.headers += [("Signature-Input", RFC9421.b26SignatureInput), ("Signature", RFC9421.b26Signature)]
        let received = try ReceivedSignature(request) { $0 == "test-key-ed25519" ? Self.ed25519Public : nil }
        #expect(received.label == "sig-b26")
        #expect(received.components == RFC9421.b26Components)
        #expect(received.signatureParams == RFC9421.b26SignatureParams)
        #expect(received.created == 1_618_884_473 && received.nonce == nil && received.alg == nil)
        let base = try SignatureBase.make(request, components: received.components, signatureParams: received.signatureParams)
        #expect(base == RFC9421.b26SignatureBase)
        #expect(received.key.isValidSignature(received.signature, for: Array(base.utf8)))

        // Vigil's verifier requires a nonce, which the RFC example does not carry.
        let verifier = MessageVerifier(requiredComponents: [], nonces: NonceCache())
        #expect(throws: SignatureError.missingParameter("nonce")) {
            try verifier.verify(request, now: 1_618_884_473) { $0 == "test-key-ed25519" ? Self.ed25519Public : nil }
        }
    }

    @Test func b3EcdsaP256SignatureVerifies() throws {
        let request = RFC9421.b3Request
        let base = try SignatureBase.make(request, components: RFC9421.b3Components, signatureParams: RFC9421.b3SignatureParams)
        #expect(base == RFC9421.b3SignatureBase)
        let signature = base64Decode(RFC9421.b3SignatureBytes)
        #expect(signature.count == 64)
        #expect(Self.p256Public.isValidSignature(signature, for: Array(base.utf8)))
        #expect(!Self.ed25519Public.isValidSignature(signature, for: Array(base.utf8)))
        var flipped = signature
        flipped[40] ^= 0x80
        #expect(!Self.p256Public.isValidSignature(flipped, for: Array(base.utf8)))

        let received = try ReceivedSignature(request) { $0 == "test-key-ecc-p256" ? Self.p256Public : nil }
        #expect(received.label == "ttrp" && received.signatureParams == RFC9421.b3SignatureParams && received.signature == signature)
        #expect(try SignatureBase.make(request, components: received.components, signatureParams: received.signatureParams) == base)
    }

    @Test func b4SignatureBaseAndSignatureAreTheRFCs() throws {
        let (_, original, _) = RFC9421.b4Messages[0]
        let received = try ReceivedSignature(original) { _ in Self.ed25519Public }
        let base = try SignatureBase.make(original, components: received.components, signatureParams: received.signatureParams)
        #expect(base == RFC9421.b4SignatureBase)
        #expect(try Self.ed25519.signature(for: Array(base.utf8)) == base64Decode(RFC9421.b4SignatureBytes))
    }

    @Test(arguments: 0..<6)
    func b4TransformationsKeepOrBreakTheSignatureAsTheRFCSays(_ index: Int) throws {
        let (name, request, holds) = RFC9421.b4Messages[index]
        let received = try ReceivedSignature(request) { _ in Self.ed25519Public }
        let base = try SignatureBase.make(request, components: received.components, signatureParams: received.signatureParams)
        #expect(received.key.isValidSignature(received.signature, for: Array(base.utf8)) == holds, "\(name)")
    }

    @Test func contentDigestIsRFC9530s() throws {
        #expect(ContentDigest.header(for: Array(RFC9530.helloWorld.utf8)) == "sha-256=\(RFC9530.helloWorldSHA256)")
        #expect(ContentDigest.header(for: Array(RFC9530.helloWorldLF.utf8)) == RFC9530.helloWorldLFSHA256)
        #expect(ContentDigest.header(for: []) == RFC9530.emptySHA256)
        #expect(ContentDigest.header(for: Array(RFC9530.partial.utf8)) == RFC9530.partialSHA256)

        try ContentDigest.verify(header: "sha-256=\(RFC9530.helloWorldSHA256)", body: Array(RFC9530.helloWorld.utf8))
        try ContentDigest.verify(header: "sha-512=\(RFC9530.helloWorldSHA512)", body: Array(RFC9530.helloWorld.utf8))
        try ContentDigest.verify(
            header: "sha-512=\(RFC9530.helloWorldSHA512), sha-256=\(RFC9530.helloWorldSHA256)", body: Array(RFC9530.helloWorld.utf8))
        // The RFC 9421 test-request carries the same sha-512 digest of its body.
        try ContentDigest.verify(header: RFC9421.testRequest.fieldValue("content-digest")!, body: Array(RFC9421.testRequestBody.utf8))
        #expect(throws: ContentDigestError.mismatch("sha-512")) {
            try ContentDigest.verify(header: "sha-512=\(RFC9530.helloWorldSHA512)", body: Array(RFC9530.helloWorldLF.utf8))
        }
    }
}

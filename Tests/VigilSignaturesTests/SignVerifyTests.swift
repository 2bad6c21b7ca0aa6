// SPDX-License-Identifier: Apache-2.0
// Sign, then verify: round trips for both algorithms, the exact header serialisation, and every
// way a signed request is refused (each SignatureError case at least once).
import Crypto
import Foundation
import Testing
@testable import VigilSignatures

/// A device key, its keyid, and a console-like verifier that knows only that key.
struct SigningFixture {
    let key: any MessageSigningKey
    let publicKey: MessageVerificationKey
    var keyID: String { publicKey.keyID }
    let now: Int64 = 1_760_000_000
    let body = Array(#"{"device":"laptop-7","posture":"ok"}"#.utf8)

    static let p256: SigningFixture = {
        let key = P256SigningKey(P256.Signing.PrivateKey())
        return SigningFixture(key: key, publicKey: key.publicKey)
    }()
    static let ed25519: SigningFixture = {
        let key = Ed25519SigningKey(Curve25519.Signing.PrivateKey())
        return SigningFixture(key: key, publicKey: key.publicKey)
    }()

    var request: SignableRequest {
        SignableRequest(
            method: "POST", authority: "console.example:8443", path: "/api/v1/devices/laptop-7", query: "since=5",
            headers: [("Content-Type", "application/json"), ("Content-Digest", ContentDigest.header(for: body))])
    }

    func signer(_ components: [String]? = nil) -> MessageSigner {
        components.map { MessageSigner(key: key, keyID: keyID, components: $0) } ?? MessageSigner(key: key, keyID: keyID)
    }

    func signed(
        _ request: SignableRequest? = nil, created: Int64? = nil, expires: Int64? = nil, nonce: String? = "nonce-1", by signer: MessageSigner? = nil
    ) throws -> SignableRequest {
        var request = request ?? self.request
        let (input, signature) = try (signer ?? self.signer()).sign(request, created: created ?? now, expires: expires, nonce: nonce)
        request.headers += [("Signature-Input", input), ("Signature", signature)]
        return request
    }

    func verifier(_ nonces: NonceCache = NonceCache(), required: [String]? = nil) -> MessageVerifier {
        required.map { MessageVerifier(requiredComponents: $0, nonces: nonces) } ?? MessageVerifier(nonces: nonces)
    }

    func lookup(_ keyID: String) -> MessageVerificationKey? {
        keyID == self.keyID ? publicKey : nil
    }

    func verify(_ request: SignableRequest, now: Int64? = nil, with verifier: MessageVerifier? = nil) throws(SignatureError) -> VerifiedSignature {
        try (verifier ?? self.verifier()).verify(request, now: now ?? self.now, key: lookup)
    }
}

extension SignableRequest {
    /// The request with every field named `name` replaced by one with `value` (or removed when nil).
    func replacing(_ name: String, with value: String?) -> SignableRequest {
        var copy = self
        copy.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        if let value { copy.headers.append((name, value)) }
        return copy
    }
}

@Suite("Sign and verify")
struct SignVerifyTests {
    @Test(arguments: ["p256", "ed25519"])
    func roundTrip(_ algorithm: String) throws {
        let f = algorithm == "p256" ? SigningFixture.p256 : SigningFixture.ed25519
        let request = try f.signed()
        let verified = try f.verify(request)
        #expect(
            verified
                == VerifiedSignature(
                    keyID: f.keyID, created: f.now, nonce: "nonce-1", label: "sig1",
                    components: ["@method", "@authority", "@path", "@query", "content-digest"]))
        try ContentDigest.verify(header: request.fieldValue("content-digest")!, body: f.body)
    }

    @Test func headersAreSerialisedAsSpecified() throws {
        let f = SigningFixture.p256
        let (input, signature) = try f.signer().sign(f.request, created: 1_700_000_000, nonce: "abc")
        #expect(
            input
                == #"sig1=("@method" "@authority" "@path" "@query" "content-digest");created=1700000000;keyid="\#(f.keyID)";nonce="abc";alg="ecdsa-p256-sha256""#
        )
        #expect(signature.hasPrefix("sig1=:") && signature.hasSuffix(":"))
        #expect(Data(base64Encoded: String(signature.dropFirst(6).dropLast()))?.count == 64)

        let (withExpiry, _) = try MessageSigner(key: SigningFixture.ed25519.key, keyID: "d\"q", label: "vigil", components: ["@method"])
            .sign(f.request, created: 10, expires: 70, nonce: "n")
        #expect(withExpiry == #"vigil=("@method");created=10;expires=70;keyid="d\"q";nonce="n";alg="ed25519""#)
    }

    @Test func theSignatureBaseOfASignedRequestIsWhatWasSigned() throws {
        let f = SigningFixture.ed25519
        let request = try f.signed(created: 1_700_000_000, nonce: "abc")
        let received = try ReceivedSignature(request, key: f.lookup)
        let base = try SignatureBase.make(request, components: received.components, signatureParams: received.signatureParams)
        #expect(
            base == """
                "@method": POST
                "@authority": console.example:8443
                "@path": /api/v1/devices/laptop-7
                "@query": ?since=5
                "content-digest": \(ContentDigest.header(for: f.body))
                "@signature-params": ("@method" "@authority" "@path" "@query" "content-digest");created=1700000000;keyid="\(f.keyID)";nonce="abc";alg="ed25519"
                """)
    }

    @Test func randomNoncesAre16BytesOfBase64URL() {
        let nonces = (0..<100).map { _ in MessageSigner.randomNonce() }
        #expect(Set(nonces).count == 100)
        for nonce in nonces {
            #expect(nonce.count == 22)
            #expect(nonce.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        }
    }

    @Test func aNilNonceIsRandomAndVerifies() throws {
        let f = SigningFixture.p256
        let request = try f.signed(nonce: nil)
        #expect(try f.verify(request).nonce.count == 22)
    }

    // MARK: Tampering

    @Test(arguments: ["path", "method", "query", "digest", "authority"])
    func aTamperedRequestDoesNotVerify(_ part: String) throws {
        let f = SigningFixture.p256
        var request = try f.signed()
        switch part {
        case "path": request.path = "/api/v1/devices/laptop-8"
        case "method": request.method = "PUT"
        case "query": request.query = "since=4"
        case "digest": request = request.replacing("Content-Digest", with: ContentDigest.header(for: f.body + [0x0A]))
        default: request.authority = "evil.example:8443"
        }
        #expect(throws: SignatureError.invalidSignature) { try f.verify(request) }
    }

    @Test func authorityCaseAndUncoveredHeadersDoNotMatter() throws {
        let f = SigningFixture.ed25519
        var request = try f.signed()
        request.authority = "CONSOLE.Example:8443"
        request.headers.insert(("X-Forwarded-For", "10.0.0.1"), at: 0)
        request = request.replacing("content-type", with: "text/plain")
        #expect(try f.verify(request).keyID == f.keyID)
    }

    @Test func theWrongKeyDoesNotVerify() throws {
        let f = SigningFixture.p256
        let other = P256SigningKey(P256.Signing.PrivateKey()).publicKey
        let request = try f.signed()
        #expect(throws: SignatureError.invalidSignature) {
            try f.verifier().verify(request, now: f.now) { _ in other }
        }
    }

    @Test func anUnknownKeyIDIsRefused() throws {
        let f = SigningFixture.p256
        let request = try f.signed()
        #expect(throws: SignatureError.unknownKey(f.keyID)) { try f.verifier().verify(request, now: f.now) { _ in nil } }
    }

    @Test func theAlgParameterMustMatchTheKey() throws {
        // An ed25519 signature whose keyid the verifier maps to a P-256 key.
        let ed = SigningFixture.ed25519
        let request = try ed.signed()
        let p256 = SigningFixture.p256.publicKey
        #expect(throws: SignatureError.algorithmMismatch(expected: "ecdsa-p256-sha256", got: "ed25519")) {
            try ed.verifier().verify(request, now: ed.now) { _ in p256 }
        }
    }

    // MARK: Headers

    @Test func missingHeadersAreNamed() throws {
        let f = SigningFixture.p256
        let request = try f.signed()
        #expect(throws: SignatureError.missingHeader("Signature-Input")) { try f.verify(request.replacing("signature-input", with: nil)) }
        #expect(throws: SignatureError.missingHeader("Signature")) { try f.verify(request.replacing("Signature", with: nil)) }
        #expect(throws: SignatureError.missingHeader("Signature-Input")) { try f.verify(f.request) }
    }

    @Test(arguments: [
        ("Signature-Input", "sig1=(\"@method\"", "Signature-Input is not a structured-field dictionary"),
        ("Signature-Input", "(\"@method\");created=1", "Signature-Input is not a structured-field dictionary"),
        ("Signature-Input", "", "Signature-Input has no members"),
        ("Signature-Input", "sig1=:AAAA:", "the Signature-Input member \"sig1\" is not an inner list"),
        ("Signature", "sig1=:not base64!:", "Signature is not a structured-field dictionary"),
        ("Signature", "sig1=\"AAAA\"", "the Signature member \"sig1\" is not a byte sequence"),
        ("Signature", "sig1=(:AAAA:)", "the Signature member \"sig1\" is not a byte sequence"),
        ("Signature", "sig1=:AAA:", "the Signature member \"sig1\" is not base64"),
    ])
    func garbageHeadersAreMalformed(_ name: String, _ value: String, _ reason: String) throws {
        let f = SigningFixture.p256
        let request = try f.signed().replacing(name, with: value)
        #expect(throws: SignatureError.malformed(reason)) { try f.verify(request) }
    }

    @Test func garbageSignatureInputParametersAreMalformed() throws {
        let f = SigningFixture.p256
        let cases: [(String, String)] = [
            (#"sig1=("@method";req "@authority");created=1;keyid="K";nonce="n""#, "covers a component that is not a bare string"),
            (#"sig1=(method "@path");created=1;keyid="K";nonce="n""#, "covers a component that is not a bare string"),
            (#"sig1=("@method");created="1";keyid="K";nonce="n""#, "the created parameter of \"sig1\" is not an integer"),
            (#"sig1=("@method");created=1;keyid="K";nonce=1"#, "the nonce parameter of \"sig1\" is not a string"),
            (#"sig1=("@method");created=1;keyid="K";nonce="n";alg=ed25519"#, "the alg parameter of \"sig1\" is not a string"),
            (#"sig1=("@method");created=1;keyid=K"#, "the keyid of Signature-Input member \"sig1\" is not a string"),
        ]
        for (input, reason) in cases {
            let request = try f.signed().replacing("Signature-Input", with: input.replacingOccurrences(of: "\"K\"", with: "\"\(f.keyID)\""))
            #expect(throws: SignatureError.self) { try f.verify(request) }
            do {
                _ = try f.verify(request)
            } catch {
                guard case .malformed(let what) = error else {
                    Issue.record("\(input): expected malformed, got \(error)")
                    continue
                }
                #expect(what.contains(reason), "\(input): \(what)")
            }
        }
    }

    @Test func anOverlongHeaderIsRefusedUnparsed() throws {
        let f = SigningFixture.p256
        let long = "sig1=:" + String(repeating: "A", count: 9000) + ":"
        #expect(throws: SignatureError.malformed("Signature is 9007 bytes, over the 8192 this verifier parses")) {
            try f.verify(try f.signed().replacing("Signature", with: long))
        }
    }

    @Test func aLabelWithoutASignatureIsNamed() throws {
        let f = SigningFixture.p256
        let request = try f.signed()
        let renamed = request.replacing("Signature", with: "other" + request.fieldValue("signature")!.dropFirst(4))
        #expect(throws: SignatureError.labelMissing("sig1")) { try f.verify(renamed) }
    }

    @Test func missingParametersAreNamed() throws {
        let f = SigningFixture.p256
        let request = try f.signed(created: 1_760_000_000, nonce: "abc")
        let input = request.fieldValue("signature-input")!
        for (parameter, cut) in [("created", ";created=1760000000"), ("nonce", ";nonce=\"abc\""), ("keyid", ";keyid=\"\(f.keyID)\"")] {
            #expect(input.contains(cut))
            let stripped = request.replacing("Signature-Input", with: input.replacingOccurrences(of: cut, with: ""))
            #expect(throws: SignatureError.missingParameter(parameter)) { try f.verify(stripped) }
        }
    }

    // MARK: Coverage

    @Test func aRequiredComponentMustBeCovered() throws {
        let f = SigningFixture.ed25519
        let request = try f.signed(by: f.signer(["@method", "@authority", "@path"]))
        #expect(throws: SignatureError.componentNotCovered("content-digest")) { try f.verify(request) }
        #expect(try f.verify(request, with: f.verifier(required: ["@path", "@method"])).components == ["@method", "@authority", "@path"])
    }

    @Test func aCoveredHeaderMustBePresent() throws {
        let f = SigningFixture.ed25519
        let signer = f.signer(["@method", "@authority", "@path", "content-digest", "x-vigil-device"])
        let request = try f.signed(f.request.replacing("X-Vigil-Device", with: "laptop-7"), by: signer)
        #expect(try f.verify(request).components.last == "x-vigil-device")
        #expect(throws: SignatureError.componentAbsent("x-vigil-device")) { try f.verify(request.replacing("x-vigil-device", with: nil)) }
        // Signing needs it too: a request without a Content-Digest cannot be signed covering it.
        #expect(throws: SignatureError.componentAbsent("content-digest")) { try f.signed(f.request.replacing("Content-Digest", with: nil)) }
    }

    @Test func componentsThatCannotBeInABaseAreRefused() throws {
        let f = SigningFixture.ed25519
        let cases: [([String], String)] = [
            (["@method", "@method"], "the component \"@method\" is covered twice"),
            (["@target-uri"], "the derived component \"@target-uri\" is not supported"),
            (["@signature-params"], "\"@signature-params\" cannot be a covered component"),
            (["Content-Type"], "\"Content-Type\" is not a lowercase HTTP field name"),
            (["content type"], "\"content type\" is not a lowercase HTTP field name"),
            ([""], "\"\" is not a lowercase HTTP field name"),
        ]
        for (components, reason) in cases {
            #expect(throws: SignatureError.malformed(reason)) { try f.signer(components).sign(f.request, created: 1) }
        }
    }

    @Test func valuesThatCouldForgeLinesAreRefused() throws {
        let f = SigningFixture.ed25519
        let signer = f.signer(["@method", "x-note"])
        for value in ["a\nb", "a\r\n\"@method\": GET", "caf\u{E9}", "nul\u{0}"] {
            #expect(throws: SignatureError.malformed("the value of \"x-note\" has a character outside printable ASCII")) {
                try signer.sign(f.request.replacing("X-Note", with: value), created: 1)
            }
        }
        var request = f.request
        request.path = "/a\nb"
        #expect(throws: SignatureError.malformed("the value of \"@path\" has a character outside printable ASCII")) {
            try f.signer().sign(request, created: 1)
        }
        // A tab inside is fine, and surrounding spaces and tabs are trimmed.
        let signed = try f.signed(f.request.replacing("X-Note", with: " \ta\tb \t"), by: signer)
        let received = try ReceivedSignature(signed, key: f.lookup)
        #expect(
            try SignatureBase.make(signed, components: received.components, signatureParams: "()").hasPrefix("\"@method\": POST\n\"x-note\": a\tb\n"))
    }

    @Test func sameNameFieldsCombineInOrder() throws {
        let request = SignableRequest(
            method: "GET", authority: "a", path: "", query: nil, headers: [("Accept", " x "), ("Other", "o"), ("ACCEPT", "y")])
        #expect(request.fieldValue("accept") == "x, y")
        #expect(request.fieldValue("missing") == nil)
        let base = try SignatureBase.make(request, components: ["accept", "@path", "@query", "@request-target"], signatureParams: "()")
        #expect(base == "\"accept\": x, y\n\"@path\": /\n\"@query\": ?\n\"@request-target\": /\n\"@signature-params\": ()")
        var withQuery = request
        withQuery.query = ""
        #expect(try SignatureBase.make(withQuery, components: ["@query"], signatureParams: "()") == "\"@query\": ?\n\"@signature-params\": ()")
        withQuery.query = "a=1"
        #expect(try SignatureBase.make(withQuery, components: ["@request-target"], signatureParams: "()").hasPrefix("\"@request-target\": /?a=1\n"))
    }

    // MARK: Time

    @Test func createdMayBeAheadByTheSkewAndNoMore() throws {
        let f = SigningFixture.p256
        #expect(throws: Never.self) { try f.verify(try f.signed(created: f.now + 60)) }
        #expect(throws: SignatureError.createdInFuture(by: 10)) { try f.verify(try f.signed(created: f.now + 70)) }
    }

    @Test func aSignatureOlderThanMaxAgeHasExpired() throws {
        let f = SigningFixture.p256
        #expect(throws: Never.self) { try f.verify(try f.signed(created: f.now - 300)) }
        #expect(throws: SignatureError.expired(by: 10)) { try f.verify(try f.signed(created: f.now - 310)) }
    }

    @Test func aSignaturePastItsExpiresHasExpired() throws {
        let f = SigningFixture.ed25519
        #expect(throws: Never.self) { try f.verify(try f.signed(created: f.now - 10, expires: f.now)) }
        #expect(throws: SignatureError.expired(by: 5)) { try f.verify(try f.signed(created: f.now - 10, expires: f.now - 5)) }
    }

    // MARK: Replay

    @Test func aReplayedNonceIsRefused() throws {
        let f = SigningFixture.p256
        let verifier = f.verifier()
        let request = try f.signed()
        _ = try f.verify(request, with: verifier)
        #expect(throws: SignatureError.replayed(nonce: "nonce-1")) { try f.verify(request, with: verifier) }
        // A new signature with the same nonce is a replay too; another nonce is not.
        #expect(throws: SignatureError.replayed(nonce: "nonce-1")) { try f.verify(try f.signed(created: f.now - 1), with: verifier) }
        #expect(try f.verify(try f.signed(nonce: "nonce-2"), with: verifier).nonce == "nonce-2")
        #expect(verifier.nonces.count == 2)
    }

    @Test func aFailedVerificationDoesNotBurnTheNonce() throws {
        let f = SigningFixture.p256
        let verifier = f.verifier()
        let request = try f.signed()
        var forged = request
        forged.path = "/api/v1/devices/other"
        #expect(throws: SignatureError.invalidSignature) { try f.verify(forged, with: verifier) }
        #expect(throws: SignatureError.expired(by: 100)) { try f.verify(request, now: f.now + 400, with: verifier) }
        #expect(throws: SignatureError.unknownKey(f.keyID)) { try verifier.verify(request, now: f.now) { _ in nil } }
        #expect(verifier.nonces.count == 0)
        #expect(try f.verify(request, with: verifier).nonce == "nonce-1")
    }

    // MARK: Signature shape

    @Test(arguments: [63, 65, 72])
    func anEcdsaSignatureThatIsNot64BytesIsRefused(_ length: Int) throws {
        let f = SigningFixture.p256
        let request = try f.signed()
        var bytes = base64Decode(String(request.fieldValue("signature")!.dropFirst(6).dropLast()))
        if length == 72 {
            // The DER form of the same signature, as a careless TPM integration might send.
            bytes = Array(try P256.Signing.ECDSASignature(rawRepresentation: bytes).derRepresentation)
            #expect(bytes.count >= 70)
        } else {
            bytes = length < 64 ? Array(bytes.prefix(length)) : bytes + [0]
        }
        let reshaped = request.replacing("Signature", with: "sig1=:\(Data(bytes).base64EncodedString()):")
        #expect(throws: SignatureError.malformed("the Signature member \"sig1\" is \(bytes.count) bytes; an ecdsa-p256-sha256 signature is 64")) {
            try f.verify(reshaped)
        }
    }

    @Test func aSigningKeyThatAnswersDERIsRefused() throws {
        struct DERKey: MessageSigningKey {
            let key = P256SigningKey(P256.Signing.PrivateKey())
            var algorithm: SignatureAlgorithm { .ecdsaP256SHA256 }
            func signature(for data: [UInt8]) throws -> [UInt8] { Array(try key.privateKey.signature(for: data).derRepresentation) }
        }
        let signer = MessageSigner(key: DERKey(), keyID: "k")
        #expect(throws: SignatureError.self) { try signer.sign(SigningFixture.p256.request, created: 1) }
    }

    @Test func badLabelsAndKeyIDsCannotBeSigned() throws {
        let f = SigningFixture.ed25519
        #expect(throws: SignatureError.malformed("the label \"Sig\" is not a structured-field key (lowercase letters, digits, _-.*)")) {
            try MessageSigner(key: f.key, keyID: f.keyID, label: "Sig").sign(f.request, created: 1)
        }
        #expect(throws: SignatureError.self) { try MessageSigner(key: f.key, keyID: "caf\u{E9}").sign(f.request, created: 1) }
    }

    // MARK: Several signatures, received parameter order

    @Test func theFirstLabelWhoseKeyResolvesIsVerified() throws {
        let f = SigningFixture.p256
        let stranger = SigningFixture.ed25519
        let theirs = try stranger.signer().sign(f.request, created: f.now, nonce: "theirs")
        let ours = try MessageSigner(key: f.key, keyID: f.keyID, label: "sig2").sign(f.request, created: f.now, nonce: "ours")
        // Two field lines each: combined with ", " into one dictionary (RFC 9421 §2.1, RFC 9110 §5.3).
        var request = f.request
        request.headers += [
            ("Signature-Input", theirs.signatureInput), ("Signature", theirs.signature), ("Signature-Input", ours.signatureInput),
            ("Signature", ours.signature),
        ]
        let verified = try f.verify(request)
        #expect(verified.label == "sig2" && verified.nonce == "ours")
        // When no keyid resolves, the error names the first label's key.
        #expect(throws: SignatureError.unknownKey(stranger.keyID)) { try f.verifier().verify(request, now: f.now) { _ in nil } }
    }

    @Test func parametersAreVerifiedInTheOrderReceived() throws {
        // A signer that writes its parameters in another order (as http-message-signatures does)
        // and adds a tag: the base must use exactly what was received.
        let f = SigningFixture.ed25519
        let params = #"("@method" "@authority" "@path" "content-digest");keyid="\#(f.keyID)";alg="ed25519";tag="vigil";nonce="n9";created=\#(f.now)"#
        let base = try SignatureBase.make(f.request, components: ["@method", "@authority", "@path", "content-digest"], signatureParams: params)
        let signature = try f.key.signature(for: Array(base.utf8))
        var request = f.request
        request.headers += [("Signature-Input", "tagged=\(params)"), ("Signature", "tagged=:\(Data(signature).base64EncodedString()):")]
        let verified = try f.verify(request)
        #expect(verified.label == "tagged" && verified.nonce == "n9" && verified.created == f.now)
    }

    // MARK: Messages

    @Test func everyErrorSaysWhatAndWhere() {
        let all: [SignatureError] = [
            .missingHeader("Signature-Input"), .malformed("Signature is not a structured-field dictionary"), .labelMissing("sig1"),
            .missingParameter("nonce"), .componentNotCovered("content-digest"), .componentAbsent("x-vigil-device"), .unknownKey("sha256:ab"),
            .algorithmMismatch(expected: "ed25519", got: "ecdsa-p256-sha256"), .invalidSignature, .createdInFuture(by: 7), .expired(by: 8),
            .replayed(nonce: "n1"),
        ]
        let subjects = [
            "Signature-Input", "structured-field dictionary", "sig1", "nonce", "content-digest", "x-vigil-device", "sha256:ab",
            "ecdsa-p256-sha256", "does not verify", "7 s", "8 s", "n1",
        ]
        for (error, subject) in zip(all, subjects) {
            #expect(error.description.contains(subject), "\(error.description)")
            #expect(error.description.hasSuffix("."))
        }
        #expect(Set(all.map(\.description)).count == all.count)
    }
}

// SPDX-License-Identifier: Apache-2.0
// Content-Digest refusals: each error case, and the members that are ignored rather than refused.
import Crypto
import Foundation
import Testing
import VigilSignatures

@Suite("Content-Digest")
struct ContentDigestTests {
    let body = Array(#"{"event":"exec","argv":["sh"]}"#.utf8)

    @Test func theWrittenHeaderVerifiesAndOnlyForItsBody() throws {
        let header = ContentDigest.header(for: body)
        #expect(header.hasPrefix("sha-256=:") && header.hasSuffix(":"))
        try ContentDigest.verify(header: header, body: body)
        #expect(throws: ContentDigestError.mismatch("sha-256")) { try ContentDigest.verify(header: header, body: body + [0x20]) }
        #expect(throws: ContentDigestError.mismatch("sha-256")) { try ContentDigest.verify(header: header, body: []) }
    }

    @Test func sha512IsAcceptedAndEveryKnownMemberMustMatch() throws {
        let sha512 = "sha-512=:\(Data(SHA512.hash(data: body)).base64EncodedString()):"
        try ContentDigest.verify(header: sha512, body: body)
        let wrong256 = ContentDigest.header(for: [1, 2, 3])
        #expect(throws: ContentDigestError.mismatch("sha-256")) { try ContentDigest.verify(header: "\(sha512), \(wrong256)", body: body) }
    }

    @Test func unknownAlgorithmsAreIgnoredButOneKnownIsNeeded() throws {
        try ContentDigest.verify(header: "md5=:Sd/dVLAcvNLSq16eXua5uQ==:, \(ContentDigest.header(for: body))", body: body)
        #expect(throws: ContentDigestError.noSupportedAlgorithm) { try ContentDigest.verify(header: "md5=:Sd/dVLAcvNLSq16eXua5uQ==:", body: body) }
        #expect(throws: ContentDigestError.noSupportedAlgorithm) { try ContentDigest.verify(header: "", body: body) }
        // Algorithm names are case-sensitive dictionary keys; SHA-256 is not a key at all.
        #expect(throws: ContentDigestError.malformed("not a structured-field dictionary")) {
            try ContentDigest.verify(header: "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", body: body)
        }
    }

    @Test(arguments: [
        ("sha-256", "the sha-256 member is not a byte sequence"),  // a bare key is boolean true
        ("sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", "not a structured-field dictionary"),
        ("sha-256=:X48E9qOokqq:garbage", "not a structured-field dictionary"),
        ("sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"", "the sha-256 member is not a byte sequence"),
        ("sha-256=(:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:)", "the sha-256 member is not a byte sequence"),
        ("md5=1, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", "the md5 member is not a byte sequence"),
        ("sha-512=:abc:", "the sha-512 member is not base64"),
    ])
    func garbageIsMalformed(_ header: String, _ reason: String) {
        #expect(throws: ContentDigestError.malformed(reason)) { try ContentDigest.verify(header: header, body: self.body) }
    }

    @Test func errorsSayWhatIsWrong() {
        #expect(ContentDigestError.mismatch("sha-512").description == "The Content-Digest sha-512 digest does not match the body.")
        #expect(ContentDigestError.noSupportedAlgorithm.description.contains("sha-256 or sha-512"))
        #expect(ContentDigestError.malformed("x").description == "The Content-Digest header is malformed: x.")
    }
}

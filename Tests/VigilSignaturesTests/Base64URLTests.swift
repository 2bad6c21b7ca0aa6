// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import VigilAPI

@Suite struct Base64URLTests {
    /// RFC 4648 §10's vectors, padding dropped (§5 without padding, as JWS and the tokens use it).
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(_ plain: String, _ encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test func theURLAlphabetReplacesPlusAndSlash() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbf]
        #expect(Data(bytes).base64EncodedString() == "+/+/")
        #expect(Base64URL.encode(bytes) == "-_-_")
        #expect(Base64URL.decode("-_-_") == bytes)
    }

    @Test(arguments: ["+/+/", "Zg==", "Zm9v Yg", "Zm9vY", "Zé", "Zm9v\n"])
    func anythingOutsideTheAlphabetAndImpossibleLengthsAreRefused(_ text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test func randomBytesRoundTrip() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let encoded = Base64URL.encode(bytes)
            #expect(!encoded.contains("=") && !encoded.contains("+") && !encoded.contains("/"))
            #expect(Base64URL.decode(encoded) == bytes)
            #expect(Base64URL.decode(encoded[...]) == bytes)
        }
    }
}

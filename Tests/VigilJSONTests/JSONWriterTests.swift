// SPDX-License-Identifier: Apache-2.0
// The writer's formats differ only where they are named to, and a value is written one way only.
import Foundation
import Testing
import VigilJSON

@Suite struct JSONWriterTests {
    static let controls = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined()

    @Test func theFormatsDifferOnlyInBackspaceAndFormFeed() {
        let audit = JSONString.quote(Self.controls, .newlineReturnTab)
        let snapshot = JSONString.quote(Self.controls, .rfc8259)
        #expect(audit.contains(#"\u0008"#) && audit.contains(#"\u000c"#) && !audit.contains(#"\b"#) && !audit.contains(#"\f"#))
        #expect(snapshot.contains(#"\b"#) && snapshot.contains(#"\f"#) && !snapshot.contains(#"\u0008"#))
        #expect(audit.replacingOccurrences(of: #"\u0008"#, with: #"\b"#).replacingOccurrences(of: #"\u000c"#, with: #"\f"#) == snapshot)
        #expect(JSONFormat.auditEntryV1.controlEscapes == .newlineReturnTab)
        #expect(JSONFormat.postureSnapshotV1.controlEscapes == .rfc8259)
    }

    @Test func everyControlEscapeDecodesBack() throws {
        for escapes in [JSONFormat.ControlEscapes.newlineReturnTab, .rfc8259] {
            let text = "[" + JSONString.quote(Self.controls + "\"\\/é🚀\u{7f}\u{2028}", escapes) + "]"
            let decoded = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String]
            #expect(decoded == [Self.controls + "\"\\/é🚀\u{7f}\u{2028}"])
        }
    }

    @Test func quoteAndAppendAgreeAndPlainStringsAreCopied() {
        for s in ["", "plain/path", "tab\there", "\u{0}", "é\u{1f}🚀\"\\"] {
            var bytes: [UInt8] = []
            JSONString.append(s, .rfc8259, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == JSONString.quote(s, .rfc8259))
        }
        #expect(JSONString.quote("a/b") == #""a/b""#)
    }

    @Test func objectKeysAreSortedByUTF8BytesAtEveryDepth() {
        let value: JSONValue = ["é": 1, "b": ["z": true, "a": .null], "B": [.string("x"), -3], "\u{1}": "", "a/b": false, "aa": 0]
        #expect(value.text(.plain) == #"{"\u0001":"","B":["x",-3],"a/b":false,"aa":0,"b":{"a":null,"z":true},"é":1}"#)
    }

    @Test func integersAreDecimalsAtTheirExtremesAndDoublesRoundTrip() {
        let value: JSONValue = [.int(.min), .int(.max), .number(2), .number(-0.0), .number(1.5), .number(.infinity), .number(.nan)]
        #expect(value.text(.plain) == "[-9223372036854775808,9223372036854775807,2,0,1.5,null,null]")
        var writer = CanonicalJSONWriter(format: .plain)
        writer.uint(.max)
        #expect(String(decoding: writer.out, as: UTF8.self) == "18446744073709551615")
    }

    @Test func streamedFieldsKeepTheirOrder() {
        var w = CanonicalJSONWriter(format: .auditEntryV1)
        w.begin()
        w.field("z") { $0.string("\u{8}") }
        w.field("a") { $0.array([1, 2]) { $0.int($1) } }
        w.field("m") { $0.value(["y": .null, "x": .bool(false)]) }
        w.end()
        #expect(String(decoding: w.out, as: UTF8.self) == #"{"z":"\u0008","a":[1,2],"m":{"x":false,"y":null}}"#)
    }

    @Test func decodedNumbersAreDoublesAsThePolicyReadsThem() throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"n":5,"s":"x","l":[true,null]}"#.utf8))
        #expect(value == ["n": .number(5), "s": "x", "l": [true, .null]])
        #expect(value["s"]?.stringValue == "x" && value["missing"] == nil)
    }
}

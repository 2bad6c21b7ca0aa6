// SPDX-License-Identifier: Apache-2.0
// RFC 9530 Content-Digest: the digest of the body as sent, so that a signature covering the header
// covers the body too. Writes sha-256; reads sha-256 and sha-512.
import Crypto
import Foundation
import RawStructuredFieldValues

/// RFC 9530 `Content-Digest` values.
public enum ContentDigest {
    /// The header value for `body`: `sha-256=:<base64>:`.
    public static func header(for body: [UInt8]) -> String {
        "sha-256=:\(Data(SHA256.hash(data: body)).base64EncodedString()):"
    }

    /// Checks `header` (an RFC 8941 dictionary of algorithm → byte sequence) against `body`.
    /// Members with other algorithm names are ignored, as RFC 9530 §2 allows; every sha-256 and
    /// sha-512 member present must match, and at least one must be present.
    public static func verify(header: String, body: [UInt8]) throws(ContentDigestError) {
        let members: OrderedMap<String, ItemOrInnerList>
        do {
            var parser = StructuredFieldValueParser(Array(header.utf8))
            members = try parser.parseDictionaryFieldValue()
        } catch {
            throw .malformed("not a structured-field dictionary")
        }
        var checked = 0
        for (algorithm, member) in members {
            guard case .item(let item) = member, case .undecodedByteSequence(let base64) = item.rfc9651BareItem else {
                throw .malformed("the \(algorithm) member is not a byte sequence")
            }
            let expected: [UInt8]
            switch algorithm {
            case "sha-256": expected = Array(SHA256.hash(data: body))
            case "sha-512": expected = Array(SHA512.hash(data: body))
            default: continue
            }
            guard let digest = Data(base64Encoded: base64) else {
                throw .malformed("the \(algorithm) member is not base64")
            }
            guard Array(digest) == expected else { throw .mismatch(algorithm) }
            checked += 1
        }
        guard checked > 0 else { throw .noSupportedAlgorithm }
    }
}

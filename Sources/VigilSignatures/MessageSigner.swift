// SPDX-License-Identifier: Apache-2.0
// Signs a request (RFC 9421 §3.1): builds the covered list and its parameters, the signature base,
// and returns the Signature-Input and Signature header values to add. The key does the signing, so
// a TPM-held key plugs in behind `MessageSigningKey` unchanged.
import Foundation
import RawStructuredFieldValues
import VigilAPI

/// Signs requests with one key under one label and one covered component list.
public struct MessageSigner: Sendable {
    public let key: any MessageSigningKey
    public let keyID: String
    public let label: String
    public let components: [String]

    /// `components` defaults to what the console requires (see `MessageVerifier`) plus `@query`; a
    /// request with a body must carry a `Content-Digest` header (`ContentDigest.header(for:)`) before
    /// it is signed, since `content-digest` is covered and a covered header must be present.
    public init(
        key: any MessageSigningKey, keyID: String, label: String = "sig1",
        components: [String] = ["@method", "@authority", "@path", "@query", "content-digest"]
    ) {
        self.key = key
        self.keyID = keyID
        self.label = label
        self.components = components
    }

    /// The two header values to add: `Signature-Input` and `Signature`. `created` (and `expires`)
    /// are unix seconds; `nonce` is 16 random bytes, base64url without padding, when nil.
    /// The parameters are written as `;created=…;expires=…;keyid="…";nonce="…";alg="…"`.
    public func sign(_ request: SignableRequest, created: Int64, expires: Int64? = nil, nonce: String? = nil) throws -> (
        signatureInput: String, signature: String
    ) {
        var parameters = OrderedMap<String, RFC9651BareItem>()
        parameters["created"] = .integer(created)
        if let expires { parameters["expires"] = .integer(expires) }
        parameters["keyid"] = .string(keyID)
        parameters["nonce"] = .string(nonce ?? Self.randomNonce())
        parameters["alg"] = .string(key.algorithm.rawValue)
        var covered = BareInnerList()
        for name in components { covered.append(Item(bareItem: RFC9651BareItem.string(name), parameters: [:])) }
        let list = InnerList(bareInnerList: covered, parameters: parameters)

        let base = try SignatureBase.make(request, components: components, signatureParams: try SignatureBase.serialize(list))
        let signature = try key.signature(for: Array(base.utf8))
        guard signature.count == 64 else {
            // A TPM answering DER for ecdsa would land here: RFC 9421 §3.3.4 wants raw r‖s.
            throw SignatureError.malformed("the \(key.algorithm.rawValue) key returned a \(signature.count)-byte signature, not 64 bytes")
        }
        var input = OrderedMap<String, ItemOrInnerList>()
        input[label] = .innerList(list)
        var value = OrderedMap<String, ItemOrInnerList>()
        value[label] = .item(Item(bareItem: RFC9651BareItem.undecodedByteSequence(Data(signature).base64EncodedString()), parameters: [:]))
        do {
            var serializer = StructuredFieldValueSerializer()
            let signatureInput = String(decoding: try serializer.writeDictionaryFieldValue(input), as: UTF8.self)
            let signatureValue = String(decoding: try serializer.writeDictionaryFieldValue(value), as: UTF8.self)
            return (signatureInput, signatureValue)
        } catch {
            throw SignatureError.malformed("the label \"\(label)\" is not a structured-field key (lowercase letters, digits, _-.*)")
        }
    }

    /// 16 bytes from the system's CSPRNG, base64url without padding (22 characters).
    public static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Base64URL.encode(bytes)
    }
}

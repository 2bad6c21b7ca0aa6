// SPDX-License-Identifier: Apache-2.0
// Verifies a signed request (RFC 9421 §3.2) under Vigil's policy: required components, a nonce,
// bounded age and skew, one use per nonce. The body is not read here: the caller, who has it,
// checks Content-Digest with `ContentDigest.verify`.
import Foundation
import RawStructuredFieldValues

/// What a verified signature said: who signed, when, under which nonce and label, covering what.
public struct VerifiedSignature: Sendable, Equatable {
    public let keyID: String
    public let created: Int64
    public let nonce: String
    public let label: String
    public let components: [String]

    /// Public so that callers' tests can stand one in for a verification.
    public init(keyID: String, created: Int64, nonce: String, label: String, components: [String]) {
        self.keyID = keyID
        self.created = created
        self.nonce = nonce
        self.label = label
        self.components = components
    }
}

/// Checks request signatures against known keys, refusing replays through a shared `NonceCache`.
///
/// By default `content-digest` must be covered, which binds the body only once the caller has
/// also checked that header against the body with `ContentDigest.verify(header:body:)`; a verified
/// signature over a Content-Digest that was never compared with the body proves nothing about it.
public struct MessageVerifier: Sendable {
    public let requiredComponents: [String]
    public let maxSkew: Int64
    public let maxAge: Int64
    public let nonces: NonceCache

    /// `maxSkew`: how far in the future `created` may be; `maxAge`: how old. The nonce cache must
    /// remember longer than a signature can be accepted (`window > maxAge + maxSkew`), or a nonce
    /// could be forgotten and replayed while its signature still passes; that is a precondition.
    public init(
        requiredComponents: [String] = ["@method", "@authority", "@path", "content-digest"],
        maxSkew: Int64 = 60, maxAge: Int64 = 300, nonces: NonceCache
    ) {
        precondition(maxSkew >= 0 && maxAge >= 0, "MessageVerifier: maxSkew and maxAge must not be negative")
        precondition(
            nonces.window > maxAge + maxSkew,
            "MessageVerifier: the nonce window (\(nonces.window) s) must exceed maxAge + maxSkew (\(maxAge + maxSkew) s)")
        self.requiredComponents = requiredComponents
        self.maxSkew = maxSkew
        self.maxAge = maxAge
        self.nonces = nonces
    }

    /// Verifies the signature of the first `Signature-Input` label whose `keyid` `key` resolves
    /// (the only one, usually), with `now` in unix seconds. The @signature-params line is the
    /// received inner list and its parameters re-serialized in received order (RFC 8941 §4.1), so a
    /// signer's parameter order and extra parameters (`tag`, …) verify as signed. The nonce is
    /// recorded only after the signature verifies: a forged request cannot burn a real one's nonce.
    /// A Signature-Input or Signature value over 8192 bytes is refused unparsed.
    public func verify(_ request: SignableRequest, now: Int64, key: (String) -> MessageVerificationKey?) throws(SignatureError)
        -> VerifiedSignature
    {
        let received = try ReceivedSignature(request, key: key)
        for required in requiredComponents where !received.components.contains(required) {
            throw .componentNotCovered(required)
        }
        guard let created = received.created else { throw .missingParameter("created") }
        guard let nonce = received.nonce else { throw .missingParameter("nonce") }
        if created - now > maxSkew { throw .createdInFuture(by: created - now - maxSkew) }
        if now - created > maxAge { throw .expired(by: now - created - maxAge) }
        if let expires = received.expires, now > expires { throw .expired(by: now - expires) }
        let algorithm = received.key.algorithm.rawValue
        if let alg = received.alg, alg != algorithm { throw .algorithmMismatch(expected: algorithm, got: alg) }
        guard received.signature.count == 64 else {
            throw .malformed("the Signature member \"\(received.label)\" is \(received.signature.count) bytes; an \(algorithm) signature is 64")
        }

        let base = try SignatureBase.make(request, components: received.components, signatureParams: received.signatureParams)
        guard received.key.isValidSignature(received.signature, for: Array(base.utf8)) else { throw .invalidSignature }
        guard nonces.insert(nonce, keyID: received.keyID, now: now) else { throw .replayed(nonce: nonce) }
        return VerifiedSignature(keyID: received.keyID, created: created, nonce: nonce, label: received.label, components: received.components)
    }

    /// The key a request names: the `keyid` of its first Signature-Input member, read without
    /// parsing the signature or checking anything. For a caller that must look the key up (in a
    /// store, asynchronously) before `verify`, which checks everything again.
    public static func namedKeyID(_ request: SignableRequest) throws(SignatureError) -> String {
        let inputs = try ReceivedSignature.dictionary("Signature-Input", in: request)
        do {
            // With no key known, select fails on the first member: unreadable, or naming its key.
            _ = try ReceivedSignature.select(inputs) { _ in nil }
        } catch .unknownKey(let named) {
            return named
        }
        throw .malformed("Signature-Input has no members")
    }
}

/// One signature as received: the selected `Signature-Input` member, parsed and type-checked, and
/// its `Signature` bytes. No policy (required components, times, nonce) is applied here.
struct ReceivedSignature {
    var label: String
    var keyID: String
    var key: MessageVerificationKey
    var components: [String]
    var created: Int64?
    var expires: Int64?
    var nonce: String?
    var alg: String?
    /// The `@signature-params` value: the received inner list re-serialized.
    var signatureParams: String
    var signature: [UInt8]

    /// The largest Signature-Input or Signature value parsed, in bytes; longer ones are refused
    /// before parsing (a handful of labels fit in far less).
    static let maxHeaderLength = 8192

    init(_ request: SignableRequest, key: (String) -> MessageVerificationKey?) throws(SignatureError) {
        let inputs = try Self.dictionary("Signature-Input", in: request)
        let signatures = try Self.dictionary("Signature", in: request)
        guard let (label, list, keyID, found) = try Self.select(inputs, key: key) else {
            throw .malformed("Signature-Input has no members")
        }
        guard let member = signatures[label] else { throw .labelMissing(label) }
        self.label = label
        self.keyID = keyID
        self.key = found

        components = []
        for item in list.bareInnerList {
            guard case .string(let name) = item.rfc9651BareItem, item.rfc9651Parameters.count == 0 else {
                throw .malformed(
                    "Signature-Input member \"\(label)\" covers a component that is not a bare string (component parameters are not supported)")
            }
            components.append(name)
        }
        let parameters = list.rfc9651Parameters
        created = try Self.integer("created", label, parameters)
        expires = try Self.integer("expires", label, parameters)
        nonce = try Self.string("nonce", label, parameters)
        alg = try Self.string("alg", label, parameters)
        _ = try Self.string("tag", label, parameters)
        signatureParams = try SignatureBase.serialize(list)

        guard case .item(let item) = member, case .undecodedByteSequence(let base64) = item.rfc9651BareItem else {
            throw .malformed("the Signature member \"\(label)\" is not a byte sequence")
        }
        guard let bytes = Data(base64Encoded: base64) else { throw .malformed("the Signature member \"\(label)\" is not base64") }
        signature = Array(bytes)
    }

    static func dictionary(_ name: String, in request: SignableRequest) throws(SignatureError) -> OrderedMap<String, ItemOrInnerList> {
        guard let value = request.fieldValue(name) else { throw .missingHeader(name) }
        guard value.utf8.count <= Self.maxHeaderLength else {
            throw .malformed("\(name) is \(value.utf8.count) bytes, over the \(Self.maxHeaderLength) this verifier parses")
        }
        do {
            var parser = StructuredFieldValueParser(Array(value.utf8))
            return try parser.parseDictionaryFieldValue()
        } catch {
            throw .malformed("\(name) is not a structured-field dictionary")
        }
    }

    /// The first inner-list member whose string `keyid` resolves. When none does, the error is the
    /// first member's: not an inner list, no keyid, or an unknown one.
    static func select(_ inputs: OrderedMap<String, ItemOrInnerList>, key: (String) -> MessageVerificationKey?) throws(SignatureError)
        -> (String, InnerList, String, MessageVerificationKey)?
    {
        for (label, member) in inputs {
            guard case .innerList(let list) = member, case .string(let keyID)? = list.rfc9651Parameters["keyid"] else { continue }
            if let found = key(keyID) { return (label, list, keyID, found) }
        }
        guard let (label, first) = inputs.first else { return nil }
        guard case .innerList(let list) = first else { throw .malformed("the Signature-Input member \"\(label)\" is not an inner list") }
        guard let keyID = list.rfc9651Parameters["keyid"] else { throw .missingParameter("keyid") }
        guard case .string(let name) = keyID else { throw .malformed("the keyid of Signature-Input member \"\(label)\" is not a string") }
        throw .unknownKey(name)
    }

    private static func integer(_ name: String, _ label: String, _ parameters: OrderedMap<String, RFC9651BareItem>) throws(SignatureError) -> Int64? {
        guard let value = parameters[name] else { return nil }
        guard case .integer(let number) = value else { throw .malformed("the \(name) parameter of \"\(label)\" is not an integer") }
        return number
    }

    private static func string(_ name: String, _ label: String, _ parameters: OrderedMap<String, RFC9651BareItem>) throws(SignatureError) -> String? {
        guard let value = parameters[name] else { return nil }
        guard case .string(let text) = value else { throw .malformed("the \(name) parameter of \"\(label)\" is not a string") }
        return text
    }
}

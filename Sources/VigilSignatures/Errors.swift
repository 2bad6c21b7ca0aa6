// SPDX-License-Identifier: Apache-2.0
// Why a signature, a Content-Digest or a stored key was refused: one case per reason, each with a
// sentence an operator can act on (the console logs them, vigild shows them).

/// Why a signed request was refused (or could not be signed).
public enum SignatureError: Error, Equatable, CustomStringConvertible {
    /// `Signature-Input` or `Signature` is not in the request.
    case missingHeader(String)
    /// A header or component that does not parse or cannot be used: which one, and what is wrong.
    case malformed(String)
    /// A `Signature-Input` label with no `Signature` member of the same name.
    case labelMissing(String)
    /// `created`, `keyid` or `nonce` is absent from the signature parameters.
    case missingParameter(String)
    /// A component the verifier requires is not in the covered list.
    case componentNotCovered(String)
    /// A covered header field is not in the request.
    case componentAbsent(String)
    /// The `keyid` is not known to the caller.
    case unknownKey(String)
    /// The `alg` parameter names another algorithm than the key's.
    case algorithmMismatch(expected: String, got: String)
    /// The signature does not verify over the signature base.
    case invalidSignature
    /// `created` is later than now plus the allowed skew, by this many seconds.
    case createdInFuture(by: Int64)
    /// Past `expires`, or older than the verifier's maximum age, by this many seconds.
    case expired(by: Int64)
    /// This key already used this nonce within the replay window.
    case replayed(nonce: String)

    public var description: String {
        switch self {
        case .missingHeader(let name): "The request has no \(name) header."
        case .malformed(let what): "The signature is malformed: \(what)."
        case .labelMissing(let label): "Signature-Input has the label \"\(label)\" but the Signature header has no member of that name."
        case .missingParameter(let name): "The signature parameters in Signature-Input have no \"\(name)\" parameter."
        case .componentNotCovered(let name): "The signature does not cover \"\(name)\", which this verifier requires."
        case .componentAbsent(let name): "The signature covers the header field \"\(name)\", which is not in the request."
        case .unknownKey(let keyID): "The signature's keyid \"\(keyID)\" is not a known key."
        case .algorithmMismatch(let expected, let got): "The signature's alg is \"\(got)\" but its key is \(expected)."
        case .invalidSignature: "The signature does not verify over the request with the named key."
        case .createdInFuture(let seconds): "The signature's created time is \(seconds) s beyond the allowed clock skew in the future."
        case .expired(let seconds): "The signature expired \(seconds) s ago (past its expires time, or older than the maximum age)."
        case .replayed(let nonce): "The signature's nonce \"\(nonce)\" was already used by this key: a replay."
        }
    }
}

/// Why a `Content-Digest` header was refused.
public enum ContentDigestError: Error, Equatable, CustomStringConvertible {
    /// The header is not a structured-field dictionary of byte sequences: what is wrong.
    case malformed(String)
    /// No member names an algorithm this side accepts (sha-256, sha-512).
    case noSupportedAlgorithm
    /// The digest under this algorithm does not match the body.
    case mismatch(String)

    public var description: String {
        switch self {
        case .malformed(let what): "The Content-Digest header is malformed: \(what)."
        case .noSupportedAlgorithm: "The Content-Digest header has no sha-256 or sha-512 digest."
        case .mismatch(let algorithm): "The Content-Digest \(algorithm) digest does not match the body."
        }
    }
}

/// Why a stored verification key (`MessageVerificationKey.encoded`) was refused.
public enum KeyEncodingError: Error, Equatable, CustomStringConvertible {
    /// What is wrong with the text.
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let what): "The verification key is malformed: \(what)."
        }
    }
}

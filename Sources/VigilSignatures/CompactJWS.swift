// SPDX-License-Identifier: Apache-2.0
// JWS compact serialisation (RFC 7515) with ES256 (RFC 7518 §3.4: P-256, SHA-256, raw r‖s): how the
// console signs a policy bundle so a device can keep it on disk and verify it again, offline.
import Crypto
import Foundation
import VigilAPI

public enum CompactJWS {
    public struct Header: Codable, Sendable, Equatable {
        public var alg: String
        public var kid: String
        public var typ: String?
    }

    /// `base64url(header).Base64URL.encode(payload).Base64URL.encode(signature)`.
    public static func sign(payload: [UInt8], key: P256SigningKey, keyID: String, type: String) throws -> String {
        let header = try JSONEncoder().encode(Header(alg: "ES256", kid: keyID, typ: type))
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let signature = try key.signature(for: Array(input.utf8))
        return input + "." + Base64URL.encode(signature)
    }

    /// The payload of `jws` if it is ES256, names `key` by `keyID`, has `type`, and its signature verifies.
    public static func verify(_ jws: String, key: MessageVerificationKey, keyID: String, type: String) throws(JWSError) -> [UInt8] {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else {
            throw .malformed("not three base64url parts joined by '.'")
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else { throw .malformed("the header is not JSON") }
        guard header.alg == "ES256", key.algorithm == .ecdsaP256SHA256 else { throw .malformed("alg \(header.alg) is not ES256") }
        guard header.kid == keyID else { throw .wrongKey(header.kid) }
        guard header.typ == type else { throw .malformed("typ \(header.typ ?? "none") is not \(type)") }
        let input = Array("\(parts[0]).\(parts[1])".utf8)
        guard signature.count == 64, key.isValidSignature(signature, for: input) else { throw .badSignature }
        return payload
    }
}

public enum JWSError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case wrongKey(String)
    case badSignature

    public var description: String {
        switch self {
        case .malformed(let why): "the signed bundle is malformed: \(why)"
        case .wrongKey(let kid): "the bundle is signed by key \(kid), not by the pinned console key"
        case .badSignature: "the bundle's signature does not verify with the pinned console key"
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// JWS compact serialisation (RFC 7515) with ES256 (RFC 7518 §3.4: P-256, SHA-256, raw r‖s): how the
// console signs a policy bundle so a device can keep it on disk and verify it again, offline.
import Crypto
import Foundation

public enum CompactJWS {
    public struct Header: Codable, Sendable, Equatable {
        public var alg: String
        public var kid: String
        public var typ: String?
    }

    /// `base64url(header).base64url(payload).base64url(signature)`.
    public static func sign(payload: [UInt8], key: P256SigningKey, keyID: String, type: String) throws -> String {
        let header = try JSONEncoder().encode(Header(alg: "ES256", kid: keyID, typ: type))
        let input = base64url(Array(header)) + "." + base64url(payload)
        let signature = try key.signature(for: Array(input.utf8))
        return input + "." + base64url(signature)
    }

    /// The payload of `jws` if it is ES256, names `key` by `keyID`, has `type`, and its signature verifies.
    public static func verify(_ jws: String, key: MessageVerificationKey, keyID: String, type: String) throws(JWSError) -> [UInt8] {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = decode(parts[0]), let payload = decode(parts[1]), let signature = decode(parts[2]) else {
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

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map { [UInt8]($0) }
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

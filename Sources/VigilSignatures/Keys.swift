// SPDX-License-Identifier: Apache-2.0
// The keys a request signature is made and checked with: a signing protocol (a file key today, a
// TPM-held key later, behind the same two members) and the public half in a stable stored form.
import Crypto
import Foundation

/// The RFC 9421 §6.2 algorithm names Vigil signs and verifies with.
public enum SignatureAlgorithm: String, Sendable {
    case ecdsaP256SHA256 = "ecdsa-p256-sha256"
    case ed25519 = "ed25519"
}

/// Anything that signs: a file key today, a TPM key later.
public protocol MessageSigningKey: Sendable {
    var algorithm: SignatureAlgorithm { get }
    /// The signature over `data` as RFC 9421 carries it: for ecdsa-p256-sha256 the raw 64 bytes
    /// r‖s (§3.3.4, not DER), for ed25519 the 64-byte signature.
    func signature(for data: [UInt8]) throws -> [UInt8]
}

// `@unchecked Sendable` below: swift-crypto 3.12 does not mark its key types Sendable, but they are
// immutable once made (an EC_KEY behind a class that no method mutates, or fixed bytes), and
// BoringSSL signs and verifies with a const key, so sharing them across threads is safe.

/// A P-256 key held in memory (ecdsa-p256-sha256).
public struct P256SigningKey: MessageSigningKey, @unchecked Sendable {
    public let privateKey: P256.Signing.PrivateKey

    public init(_ key: P256.Signing.PrivateKey) {
        privateKey = key
    }

    public var algorithm: SignatureAlgorithm { .ecdsaP256SHA256 }

    public var publicKey: MessageVerificationKey { .p256(privateKey.publicKey) }

    public func signature(for data: [UInt8]) throws -> [UInt8] {
        Array(try privateKey.signature(for: data).rawRepresentation)
    }
}

/// An Ed25519 key held in memory.
public struct Ed25519SigningKey: MessageSigningKey, @unchecked Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey

    public init(_ key: Curve25519.Signing.PrivateKey) {
        privateKey = key
    }

    public var algorithm: SignatureAlgorithm { .ed25519 }

    public var publicKey: MessageVerificationKey { .ed25519(privateKey.publicKey) }

    public func signature(for data: [UInt8]) throws -> [UInt8] {
        Array(try privateKey.signature(for: data))
    }
}

/// The public half a verifier holds for a device or a console.
public enum MessageVerificationKey: @unchecked Sendable, Equatable {
    case p256(P256.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    public static func == (lhs: MessageVerificationKey, rhs: MessageVerificationKey) -> Bool {
        switch (lhs, rhs) {
        case (.p256(let a), .p256(let b)): a.rawRepresentation == b.rawRepresentation
        case (.ed25519(let a), .ed25519(let b)): a.rawRepresentation == b.rawRepresentation
        default: false
        }
    }

    public var algorithm: SignatureAlgorithm {
        switch self {
        case .p256: .ecdsaP256SHA256
        case .ed25519: .ed25519
        }
    }

    /// A stable textual form for storage: `ecdsa-p256-sha256:` + base64(X9.63 uncompressed point),
    /// or `ed25519:` + base64(32 raw bytes). `keyID` hashes exactly this text.
    public var encoded: String {
        switch self {
        case .p256(let key): "\(SignatureAlgorithm.ecdsaP256SHA256.rawValue):\(key.x963Representation.base64EncodedString())"
        case .ed25519(let key): "\(SignatureAlgorithm.ed25519.rawValue):\(key.rawRepresentation.base64EncodedString())"
        }
    }

    /// Parses `encoded`. Only the canonical text is accepted (the form `encoded` writes), since the
    /// key ID is a hash of that text: two spellings of one key would otherwise get two IDs.
    public init(encoded: String) throws(KeyEncodingError) {
        guard let colon = encoded.firstIndex(of: ":") else {
            throw .malformed("expected \"<algorithm>:<base64>\", found no colon")
        }
        let name = String(encoded[..<colon])
        guard let algorithm = SignatureAlgorithm(rawValue: name) else {
            throw .malformed("unknown algorithm \"\(name)\" (expected ecdsa-p256-sha256 or ed25519)")
        }
        guard let bytes = Data(base64Encoded: String(encoded[encoded.index(after: colon)...])) else {
            throw .malformed("the key after \"\(name):\" is not base64")
        }
        do {
            switch algorithm {
            case .ecdsaP256SHA256: self = .p256(try P256.Signing.PublicKey(x963Representation: bytes))
            case .ed25519: self = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: bytes))
            }
        } catch {
            throw .malformed("\(bytes.count) bytes are not a \(name) public key")
        }
        guard self.encoded == encoded else {
            throw .malformed("not the canonical form (\(name): base64 of the \(algorithm == .ed25519 ? "raw" : "uncompressed X9.63") key)")
        }
    }

    /// The keyid devices sign with: `sha256:` + lowercase hex of SHA-256 over `encoded`'s UTF-8 bytes.
    public var keyID: String {
        "sha256:"
            + SHA256.hash(data: Array(encoded.utf8)).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
    }

    /// Whether `signature` (in the RFC 9421 form, see `MessageSigningKey`) is this key's over `data`.
    /// An ecdsa signature that is not exactly 64 bytes is refused, never reinterpreted.
    public func isValidSignature(_ signature: [UInt8], for data: [UInt8]) -> Bool {
        guard signature.count == 64 else { return false }
        switch self {
        case .p256(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: data)
        case .ed25519(let key):
            return key.isValidSignature(signature, for: data)
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// C2SP signed-note verifier keys: `<name>+<hex key ID>+<base64(type ‖ public key)>`.
import Crypto
import Foundation

/// A public key in the C2SP signed-note verifier-key format, `name+hhhhhhhh+base64(type ‖ key)`.
///
/// Two signature types: `0x01` Ed25519 (key ID: the first four bytes of
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)`), and `0x02` ECDSA P-256 with SHA-256 as transparency-dev's
/// witness implements it (the key is its DER SubjectPublicKeyInfo, signatures are ASN.1 DER, and the
/// key ID is the first four bytes of `SHA-256(SPKI)`, without the name). Type 0x02 is what a TPM can
/// hold: TPM 2.0 has no Ed25519.
public struct NoteVerifierKey: Hashable, Sendable, CustomStringConvertible {
    public static let ed25519: UInt8 = 0x01
    public static let ecdsaP256: UInt8 = 0x02

    public let name: String
    public let signatureType: UInt8
    /// Ed25519: the 32 raw bytes; ECDSA: the DER SubjectPublicKeyInfo.
    public let publicKey: [UInt8]
    /// The 4-byte key ID as a big-endian integer.
    public let keyID: UInt32

    /// Builds the key for an Ed25519 public key and a key name.
    public init(name: String, ed25519PublicKey: [UInt8]) throws(AuditError) {
        try Self.checkName(name)
        guard ed25519PublicKey.count == 32 else {
            throw AuditError(.keyInvalid, "an Ed25519 public key is 32 bytes, got \(ed25519PublicKey.count)")
        }
        self.name = name
        signatureType = Self.ed25519
        publicKey = ed25519PublicKey
        keyID = Self.computeKeyID(name: name, type: Self.ed25519, key: ed25519PublicKey)
    }

    /// Builds the key for a P-256 public key (type 0x02) and a key name.
    public init(name: String, ecdsaP256PublicKey key: P256.Signing.PublicKey) throws(AuditError) {
        try Self.checkName(name)
        self.name = name
        signatureType = Self.ecdsaP256
        publicKey = Array(key.derRepresentation)
        keyID = Self.prefixID(SHA256.hash(data: publicKey))
    }

    /// Parses `name+hex+base64`, checking that the key ID matches the name and key.
    public init(parsing text: String) throws(AuditError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // Base64 may contain '+', names and key IDs may not: split at the first two only.
        let parts = trimmed.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw AuditError(.keyInvalid, "a verifier key is name+keyid+base64, got \(parts.count) '+'-separated fields")
        }
        guard parts[1].count == 8, let id = UInt32(parts[1], radix: 16) else {
            throw AuditError(.keyInvalid, "key ID '\(parts[1])' is not 8 hexadecimal digits")
        }
        guard let raw = Data(base64Encoded: String(parts[2])), let type = raw.first else {
            throw AuditError(.keyInvalid, "key material is not base64")
        }
        switch type {
        case Self.ed25519:
            try self.init(name: String(parts[0]), ed25519PublicKey: Array(raw.dropFirst()))
        case Self.ecdsaP256:
            let der = Array(raw.dropFirst())
            // Only the canonical SPKI: the key ID hashes these bytes, so two spellings would be two IDs.
            guard let key = try? P256.Signing.PublicKey(derRepresentation: der), Array(key.derRepresentation) == der else {
                throw AuditError(.keyInvalid, "type 0x02 key material is not the DER SubjectPublicKeyInfo of a P-256 key")
            }
            try self.init(name: String(parts[0]), ecdsaP256PublicKey: key)
        default:
            throw AuditError(
                .keyInvalid, "signature type 0x\(String(type, radix: 16)) is not supported (0x01 Ed25519 and 0x02 ECDSA P-256 are)")
        }
        guard keyID == id else {
            throw AuditError(.keyInvalid, "key ID \(parts[1]) does not match name and key (expected \(hexID))")
        }
    }

    public var hexID: String { String(format: "%08x", keyID) }

    /// `Ed25519` or `ECDSA P-256`, for reports.
    public var kind: String { signatureType == Self.ecdsaP256 ? "ECDSA P-256" : "Ed25519" }

    public var description: String {
        "\(name)+\(hexID)+\(Data([signatureType] + publicKey).base64EncodedString())"
    }

    /// `true` when `signature` is a valid signature of `message` by this key. Never throws.
    /// ECDSA signatures must be DER (signed-note type 0x02); swift-crypto hashes with SHA-256.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        switch signatureType {
        case Self.ecdsaP256:
            guard let key = try? P256.Signing.PublicKey(derRepresentation: publicKey),
                let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature)
            else { return false }
            return key.isValidSignature(parsed, for: message)
        default:
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
            return key.isValidSignature(signature, for: message)
        }
    }

    static func computeKeyID(name: String, type: UInt8, key: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0A, type] + key)
        return prefixID(hasher.finalize())
    }

    static func prefixID(_ digest: SHA256Digest) -> UInt32 {
        digest.withUnsafeBytes { $0.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } }
    }

    /// Key names are non-empty and contain no whitespace and no '+' (C2SP signed-note).
    static func checkName(_ name: String) throws(AuditError) {
        guard !name.isEmpty, !name.contains("+"), !name.unicodeScalars.contains(where: { $0.properties.isWhitespace })
        else {
            throw AuditError(.keyInvalid, "key name '\(name)' must be non-empty, without spaces and without '+'")
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// C2SP signed-note verifier keys: `<name>+<hex key ID>+<base64(type ‖ public key)>`.
import Crypto
import Foundation

/// A public key in the C2SP signed-note verifier-key format, `name+hhhhhhhh+base64(0x01 ‖ key)`.
///
/// The key ID is the first four bytes of `SHA-256(name ‖ 0x0A ‖ type ‖ public key)`. Only
/// signature type `0x01` (Ed25519) is implemented; a TPM signer would add `0x02` (ECDSA P-256).
public struct NoteVerifierKey: Hashable, Sendable, CustomStringConvertible {
    public static let ed25519: UInt8 = 0x01

    public let name: String
    public let signatureType: UInt8
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
        guard let raw = Data(base64Encoded: String(parts[2])), raw.count >= 1 else {
            throw AuditError(.keyInvalid, "key material is not base64")
        }
        guard raw.first == Self.ed25519 else {
            throw AuditError(.keyInvalid, "signature type 0x\(String(raw.first!, radix: 16)) is not supported (only 0x01 Ed25519)")
        }
        try self.init(name: String(parts[0]), ed25519PublicKey: Array(raw.dropFirst()))
        guard keyID == id else {
            throw AuditError(.keyInvalid, "key ID \(parts[1]) does not match name and key (expected \(hexID))")
        }
    }

    public var hexID: String { String(format: "%08x", keyID) }

    public var description: String {
        "\(name)+\(hexID)+\(Data([signatureType] + publicKey).base64EncodedString())"
    }

    /// `true` when `signature` is a valid signature of `message` by this key. Never throws.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }

    static func computeKeyID(name: String, type: UInt8, key: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0A, type] + key)
        return hasher.finalize().withUnsafeBytes { $0.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } }
    }

    /// Key names are non-empty and contain no whitespace and no '+' (C2SP signed-note).
    static func checkName(_ name: String) throws(AuditError) {
        guard !name.isEmpty, !name.contains("+"), !name.unicodeScalars.contains(where: { $0.properties.isWhitespace })
        else {
            throw AuditError(.keyInvalid, "key name '\(name)' must be non-empty, without spaces and without '+'")
        }
    }
}

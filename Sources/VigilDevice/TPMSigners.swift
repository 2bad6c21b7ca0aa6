// SPDX-License-Identifier: Apache-2.0
// The TPM key behind the two signing seams: RFC 9421 request signatures (raw r‖s) and C2SP
// checkpoint notes (signed-note type 0x02, DER).
import Crypto
import VigilAudit
import VigilSignatures

/// The TPM key as an RFC 9421 `ecdsa-p256-sha256` key: the TPM signs SHA-256 of the signature
/// base, and the signature goes out as the raw 64 bytes r‖s §3.3.4 wants, not DER.
public struct TPMMessageSigningKey: MessageSigningKey {
    public let key: TPMKey

    public init(_ key: TPMKey) { self.key = key }

    public var algorithm: SignatureAlgorithm { .ecdsaP256SHA256 }

    public var publicKey: MessageVerificationKey { .p256(key.publicKey) }

    public func signature(for data: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: data).rawRepresentation)
    }
}

/// The TPM key as the audit log's checkpoint signer.
public struct TPMAuditSigner: AuditSigner {
    public let key: TPMKey
    public let verifierKey: NoteVerifierKey

    /// `name` is the log's origin (e.g. `vigil/<hostname>`).
    public init(_ key: TPMKey, name: String) throws(AuditError) {
        self.key = key
        verifierKey = try NoteVerifierKey(name: name, ecdsaP256PublicKey: key.publicKey)
    }

    public var keyHolder: KeyHolder { .tpm }

    public func sign(_ message: [UInt8]) throws(AuditError) -> [UInt8] {
        do {
            return try key.derSignature(forDigest: SHA256.hash(data: message))
        } catch {
            throw AuditError(.keyInvalid, "the TPM did not sign the checkpoint: \(error)")
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// A software ECDSA P-256 checkpoint signer (signed-note type 0x02): the same signatures a TPM key
// makes, from a key in memory, for comparison (vigil-bench) and where a P-256 file key is wanted.
import Crypto

/// An ``AuditSigner`` over a P-256 private key held in memory; DER signatures over SHA-256.
public struct P256NoteSigner: AuditSigner, @unchecked Sendable {
    // @unchecked: swift-crypto's key types are not marked Sendable but are immutable once made.
    public let verifierKey: NoteVerifierKey
    private let privateKey: P256.Signing.PrivateKey

    public init(name: String, privateKey: P256.Signing.PrivateKey = P256.Signing.PrivateKey()) throws(AuditError) {
        self.privateKey = privateKey
        verifierKey = try NoteVerifierKey(name: name, ecdsaP256PublicKey: privateKey.publicKey)
    }

    public var keyHolder: KeyHolder { .file }

    public func sign(_ message: [UInt8]) throws(AuditError) -> [UInt8] {
        do {
            return Array(try privateKey.signature(for: message).derRepresentation)
        } catch {
            throw AuditError(.keyInvalid, "P-256 signing failed: \(error)")
        }
    }
}

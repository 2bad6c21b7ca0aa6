// SPDX-License-Identifier: Apache-2.0
// The signing seam: the log asks a signer for signatures over checkpoint notes and nothing else.
/// Something that signs checkpoint notes for one key: an Ed25519 key file today, a TPM key later.
///
/// The log only ever asks for signatures over checkpoint note bodies (a few per second at most),
/// so a slow hardware signer fits. Implementations must be safe to call from any thread.
public protocol AuditSigner: Sendable {
    /// The public half, in signed-note verifier-key form. Its `name` is the checkpoint origin.
    var verifierKey: NoteVerifierKey { get }

    /// Signs `message` (a note body, including its final newline) and returns the raw signature.
    /// - Throws: ``AuditError`` when the key cannot be used (a TPM signer may be unavailable).
    func sign(_ message: [UInt8]) throws(AuditError) -> [UInt8]
}

// SPDX-License-Identifier: Apache-2.0
// The signing seam: the log asks a signer for signatures over checkpoint notes and nothing else.
/// Something that signs checkpoint notes for one key: an Ed25519 or P-256 key file, or a TPM key.
///
/// The log only ever asks for signatures over checkpoint note bodies (a few per second at most),
/// so a slow hardware signer fits. Implementations must be safe to call from any thread.
public protocol AuditSigner: Sendable {
    /// The public half, in signed-note verifier-key form. Its `name` is the checkpoint origin.
    var verifierKey: NoteVerifierKey { get }

    /// Where the private key lives. Written into each checkpoint (see ``KeyHolder``), so it is
    /// covered by the signature; a claim of the signer's, not attested.
    var keyHolder: KeyHolder { get }

    /// Signs `message` (a note body, including its final newline) and returns the signature in the
    /// form the key's signed-note type wants (Ed25519: 64 bytes; ECDSA: ASN.1 DER).
    /// - Throws: ``AuditError`` when the key cannot be used (a TPM signer may be unavailable).
    func sign(_ message: [UInt8]) throws(AuditError) -> [UInt8]
}

/// Where a signing key's private half is held. The key is not attested: a file key could claim
/// `tpm`, and only key attestation (EK → AK → certify), not done yet, would tell them apart.
public enum KeyHolder: String, Sendable, Codable, CaseIterable {
    case tpm
    case file

    /// The checkpoint extension line that states the holder: `vigil-key-holder <tpm|file>`.
    public var checkpointExtension: String { "\(Self.extensionPrefix)\(rawValue)" }

    static let extensionPrefix = "vigil-key-holder "

    /// The holder a checkpoint's extension lines state, nil when none does (logs of earlier versions).
    public init?(checkpoint: Checkpoint) {
        guard let line = checkpoint.extensions.first(where: { $0.hasPrefix(Self.extensionPrefix) }) else { return nil }
        self.init(rawValue: String(line.dropFirst(Self.extensionPrefix.count)))
    }
}

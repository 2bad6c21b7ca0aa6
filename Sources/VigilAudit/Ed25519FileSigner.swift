// SPDX-License-Identifier: Apache-2.0
// The software signer: an Ed25519 key in a root-only file, in Go's `note` private-key format.
import Crypto
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// An ``AuditSigner`` over an Ed25519 private key kept in a file that only its owner can read.
///
/// File format (one line, as `golang.org/x/mod/sumdb/note` writes it):
/// `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ 32-byte seed)>`.
/// Loading refuses a file that is missing, not a regular file, not owned by the effective user,
/// or has any group/other permission bit set.
public struct Ed25519FileSigner: AuditSigner {
    public let verifierKey: NoteVerifierKey
    public var keyHolder: KeyHolder { .file }
    /// The 32-byte seed; the swift-crypto key type is not `Sendable`, so it is rebuilt per signature.
    private let seed: [UInt8]

    /// Generates a fresh key named `name` (the log origin, e.g. `vigil/host-42`).
    public static func generate(name: String) throws(AuditError) -> Ed25519FileSigner {
        try Ed25519FileSigner(name: name, privateKey: Curve25519.Signing.PrivateKey())
    }

    private init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(AuditError) {
        seed = Array(privateKey.rawRepresentation)
        verifierKey = try NoteVerifierKey(name: name, ed25519PublicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// Parses the private-key line (no permission checks: use ``init(keyFile:)`` for files).
    public init(privateKeyString text: String) throws(AuditError) {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY" else {
            throw AuditError(.keyInvalid, "not a PRIVATE+KEY+name+keyid+base64 key")
        }
        guard let raw = Data(base64Encoded: String(parts[4])), raw.count == 33, raw.first == NoteVerifierKey.ed25519,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw.dropFirst())
        else { throw AuditError(.keyInvalid, "key material is not base64(0x01 ‖ 32-byte Ed25519 seed)") }
        try self.init(name: String(parts[2]), privateKey: key)
        guard verifierKey.hexID == parts[3].lowercased() else {
            throw AuditError(.keyInvalid, "key ID \(parts[3]) does not match the key (expected \(verifierKey.hexID))")
        }
    }

    /// Loads a key file, refusing one that others could read or replace.
    /// - Throws: ``AuditError/Code/keyMissing``, ``AuditError/Code/keyInsecure``, ``AuditError/Code/keyInvalid``.
    public init(keyFile path: String) throws(AuditError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { throw AuditError(.keyMissing, "signing key file does not exist", path: path) }
            throw PosixFile.fail("stat key file", path)
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw AuditError(.keyInsecure, "signing key is not a regular file (symlinks are refused)", path: path)
        }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw AuditError(
                .keyInsecure, "signing key file has mode \(String(mode, radix: 8)); group/others must have no access (chmod 600)",
                path: path)
        }
        guard st.st_uid == geteuid() else {
            throw AuditError(.keyInsecure, "signing key file is owned by uid \(st.st_uid), not by us (\(geteuid()))", path: path)
        }
        guard let bytes = try PosixFile.readAll(path) else {
            throw AuditError(.keyMissing, "signing key file disappeared", path: path)
        }
        try self.init(privateKeyString: String(decoding: bytes, as: UTF8.self))
    }

    /// The private-key line. Treat as secret.
    public var privateKeyString: String {
        let raw = Data([NoteVerifierKey.ed25519] + seed).base64EncodedString()
        return "PRIVATE+KEY+\(verifierKey.name)+\(verifierKey.hexID)+\(raw)"
    }

    /// Writes the key to a new file with mode 0600 (refuses to overwrite) and makes it durable.
    public func write(toKeyFile path: String) throws(AuditError) {
        try PosixFile.createExclusive(path, with: Array((privateKeyString + "\n").utf8), mode: 0o600)
    }

    public func sign(_ message: [UInt8]) throws(AuditError) -> [UInt8] {
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            return Array(try key.signature(for: message))
        } catch {
            throw AuditError(.keyInvalid, "Ed25519 signing failed: \(error)")
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// The offline verifier's entry points: verify a directory, read its entries.
/// Offline verification of a log directory: needs the directory and (ideally) a pinned public key.
public enum AuditVerifier {
    public struct Options: Sendable {
        /// Decode every entry's JSON too (schema check); the Merkle checks are always done.
        public var decodeEntries: Bool
        /// Checkpoint notes obtained out of band (from the console or an earlier audit). The log
        /// must contain each one (same root at that size): this is what catches a rollback of all files.
        public var trustedCheckpoints: [String]
        public init(decodeEntries: Bool = true, trustedCheckpoints: [String] = []) {
            self.decodeEntries = decodeEntries
            self.trustedCheckpoints = trustedCheckpoints
        }
    }

    /// Recomputes everything: every record's framing and CRC, the leaf layout, index and hash
    /// chain, each entry's JSON, the Merkle root at every checkpoint, each checkpoint's signature,
    /// origin and order, RFC 6962 consistency between consecutive checkpoints, and the witness.
    ///
    /// - Parameter publicKey: the key to trust. When `nil`, `DIR/audit.pub` is used and the report
    ///   says so: that only proves the directory is self-consistent, since whoever can rewrite the
    ///   directory can replace that file too.
    /// - Returns: the report; ``VerificationReport/failure`` names the first bad index and evidence.
    /// - Throws: ``AuditError`` only when verification cannot run (no key, unreadable files).
    public static func verify(
        directory: String, publicKey: NoteVerifierKey? = nil, options: Options = Options()
    ) throws(AuditError) -> VerificationReport {
        try scan(directory: directory, publicKey: publicKey, options: options).report
    }

    /// Calls `body` with each leaf of a log that verifies, in order, with its leaf hash; returns the
    /// key it verified with. What exporters read: nothing of a log that does not verify.
    /// - Throws: ``AuditError/Code/logDoesNotVerify`` with the report, before any `body` call.
    @discardableResult
    public static func forEachVerifiedLeaf(
        directory: String, publicKey: NoteVerifierKey? = nil, _ body: (AuditLeaf, MerkleHash) -> Void
    ) throws(AuditError) -> NoteVerifierKey {
        let scan = try scan(directory: directory, publicKey: publicKey, options: .init(decodeEntries: false))
        guard scan.report.isValid, let key = scan.report.key else {
            throw AuditError(.logDoesNotVerify, "refusing to read a log that does not verify", path: directory, report: scan.report)
        }
        for index in 0..<scan.tree.size {
            body(try AuditLeaf.decode(Array(scan.leaf(at: index))), scan.tree.leafHash(at: index))
        }
        return key
    }

    static func scan(directory: String, publicKey: NoteVerifierKey?, options: Options) throws(AuditError) -> LogScan {
        let layout = AuditLogLayout(directory: directory)
        let (key, fromDirectory) = try resolveKey(layout, publicKey)
        var scan = try LogScanner.scan(
            layout, key: key,
            options: .init(decodeEntries: options.decodeEntries, trustedCheckpoints: options.trustedCheckpoints))
        scan.report.keyFromDirectory = fromDirectory
        return scan
    }

    static func resolveKey(_ layout: AuditLogLayout, _ key: NoteVerifierKey?) throws(AuditError) -> (NoteVerifierKey, Bool) {
        if let key { return (key, false) }
        guard let bytes = try PosixFile.readAll(layout.publicKey) else {
            throw AuditError(.keyMissing, "no verifier key given and none in the directory", path: layout.publicKey)
        }
        return (try NoteVerifierKey(parsing: String(decoding: bytes, as: UTF8.self)), true)
    }

    /// Reads entries in order without a key (for display): stops at the first damaged or
    /// malformed record and says why in `problem`. Use ``verify(directory:publicKey:options:)`` to trust them.
    public static func readEntries(directory: String) throws(AuditError) -> (leaves: [AuditLeaf], problem: String?) {
        let layout = AuditLogLayout(directory: directory)
        guard let bytes = try PosixFile.readAll(layout.entries) else {
            throw AuditError(.invalidArgument, "no audit log here (no entries file)", path: layout.entries)
        }
        guard bytes.starts(with: RecordFraming.entriesMagic) else {
            return ([], "entries file has a bad header")
        }
        var leaves: [AuditLeaf] = []
        var offset = RecordFraming.headerSize
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { RecordFraming.read($0, at: offset) }
            guard case .record(let range, let next, _) = result else {
                return (leaves, "record \(leaves.count) at byte \(offset) is damaged: \(result)")
            }
            do {
                leaves.append(try AuditLeaf.decode(Array(bytes[range])))
            } catch {
                return (leaves, "record \(leaves.count) does not decode: \(error)")
            }
            offset = next
        }
        return (leaves, nil)
    }
}

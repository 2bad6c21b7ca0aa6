// SPDX-License-Identifier: Apache-2.0
// Opening a log: create it, or verify everything first and refuse to append to a log that fails.
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

extension AuditLog {
    /// Opens (or creates) the log in `directory` for appending with `signer`'s key.
    ///
    /// An existing log is verified in full first (``AuditVerifier`` rules, against the signer's
    /// public key). Anything that fails makes `open` throw ``AuditError/Code/logDoesNotVerify``
    /// with the report; nothing is repaired. The one exception is a torn tail: damage confined to
    /// the final, unacknowledged batch and past every checkpoint. Its bytes are preserved in
    /// `entries.torn-at-<offset>` (or `checkpoints.torn-at-<offset>`), the file is truncated to the
    /// intact prefix, and a `gap` entry recording the exclusion is appended and checkpointed.
    ///
    /// - Throws: ``AuditError/Code/logDoesNotVerify``, ``AuditError/Code/logLocked`` (another writer),
    ///   ``AuditError/Code/keyInvalid`` (the directory's `audit.pub` names another key),
    ///   ``AuditError/Code/io``.
    public static func open(
        directory: String, signer: some AuditSigner, options: Options = Options()
    ) throws(AuditError) -> AuditLog {
        let layout = AuditLogLayout(directory: directory)
        try createDirectory(layout.directory)
        let lockFD = try PosixFile.lockExclusive(layout.lock)
        do {
            let log = try openLocked(layout: layout, signer: signer, options: options, lockFD: lockFD)
            log.startTimer()
            return log
        } catch {
            Glibc.close(lockFD)
            throw error
        }
    }

    private static func openLocked(
        layout: AuditLogLayout, signer: any AuditSigner, options: Options, lockFD: Int32
    ) throws(AuditError) -> AuditLog {
        let key = signer.verifierKey
        if let bytes = try PosixFile.readAll(layout.publicKey) {
            let pinned = try NoteVerifierKey(parsing: String(decoding: bytes, as: UTF8.self))
            guard pinned == key else {
                throw AuditError(
                    .keyInvalid, "this log belongs to key \(pinned), not to the signer's key \(key)", path: layout.publicKey)
            }
        }
        var scan = try LogScanner.scan(
            layout, key: key,
            options: .init(decodeEntries: options.decodeEntriesOnOpen, trustedCheckpoints: options.trustedCheckpoints))
        if scan.isFresh {
            try create(layout, signer: signer)
            scan = try LogScanner.scan(layout, key: key, options: .init(decodeEntries: false))
        }
        if let failure = scan.report.failure {
            throw AuditError(
                .logDoesNotVerify, "refusing to append: the existing log does not verify\n\(failure)",
                path: layout.directory, report: scan.report)
        }
        var tornEntries = false
        for torn in scan.report.tornTails {
            try preserveAndTruncate(torn, layout: layout)
            tornEntries = tornEntries || torn.file == layout.entries
        }
        if scan.witnessLags, let last = scan.checkpoints.last {
            try PosixFile.replaceAtomically(layout.latestCheckpoint, with: Array(last.note.text.utf8), mode: 0o644)
        }
        let entriesFD = try PosixFile.openAppend(layout.entries, create: false)
        let checkpointsFD: Int32
        do {
            checkpointsFD = try PosixFile.openAppend(layout.checkpoints, create: false)
        } catch {
            Glibc.close(entriesFD)
            throw error
        }
        let state = State(
            entriesFD: entriesFD, checkpointsFD: checkpointsFD, lockFD: lockFD, range: MerkleCompactRange(tree: scan.tree),
            prev: scan.tree.size == 0 ? .zero : scan.tree.leafHash(at: scan.tree.size - 1),
            lastCheckpoint: scan.checkpoints.last!.checkpoint, lastCheckpointAt: .now)
        let log = AuditLog(layout: layout, options: options, signer: signer, openReport: scan.report, state: state)
        if tornEntries {
            for torn in scan.report.tornTails where torn.file == layout.entries {
                try log.append(
                    .gap(
                        deviceId: options.deviceId, source: "audit.tornTail", lost: 0,
                        reason: "crash remnant excluded on reopen: \(torn.reason)",
                        extra: [
                            "offset": String(torn.offset), "bytes": String(torn.length), "firstIndex": String(torn.position),
                            "evidence": layout.tornTailEvidence(file: "entries", offset: torn.offset),
                        ]))
            }
            try log.checkpoint()
        }
        return log
    }

    /// Creates a new log: `checkpoints` with a signed size-0 checkpoint, the witness, `audit.pub`,
    /// and `entries` last (its presence is what marks the log as created).
    private static func create(_ layout: AuditLogLayout, signer: any AuditSigner) throws(AuditError) {
        let empty = Checkpoint(
            origin: signer.verifierKey.name, size: 0, root: RFC6962.emptyRoot, extensions: [signer.keyHolder.checkpointExtension])
        let note = Array(try SignedNote.sign(body: empty.body, with: signer).text.utf8)
        var checkpoints = RecordFraming.checkpointsMagic
        note.withUnsafeBytes { RecordFraming.append(payload: $0, batchStart: true, to: &checkpoints) }
        try PosixFile.replaceAtomically(layout.checkpoints, with: checkpoints)
        try PosixFile.replaceAtomically(layout.latestCheckpoint, with: note, mode: 0o644)
        try PosixFile.replaceAtomically(layout.publicKey, with: Array("\(signer.verifierKey)\n".utf8), mode: 0o644)
        try PosixFile.replaceAtomically(layout.entries, with: RecordFraming.entriesMagic)
    }

    /// Copies the torn bytes aside (never overwriting earlier evidence), then truncates and syncs.
    private static func preserveAndTruncate(_ torn: TornTail, layout: AuditLogLayout) throws(AuditError) {
        let name = torn.file == layout.entries ? "entries" : "checkpoints"
        guard let bytes = try PosixFile.readAll(torn.file), bytes.count == torn.offset + torn.length else {
            throw AuditError(.io, "file changed while opening", path: torn.file)
        }
        var evidence = layout.tornTailEvidence(file: name, offset: torn.offset)
        var attempt = 1
        while PosixFile.fileExists(evidence) {
            evidence = layout.tornTailEvidence(file: name, offset: torn.offset) + ".\(attempt)"
            attempt += 1
        }
        try PosixFile.createExclusive(evidence, with: Array(bytes[torn.offset...]), mode: 0o600)
        let fd = try PosixFile.openAppend(torn.file, create: false)
        defer { Glibc.close(fd) }
        try PosixFile.truncate(fd, to: torn.offset, path: torn.file)
        try PosixFile.sync(fd, path: torn.file)
    }

    private static func createDirectory(_ path: String) throws(AuditError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw AuditError(.invalidArgument, "not a directory", path: path) }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AuditError(.io, "cannot create the log directory: \(error)", path: path)
        }
        let parent = (path as NSString).deletingLastPathComponent
        try PosixFile.syncDirectory(parent.isEmpty ? "." : parent)
    }
}

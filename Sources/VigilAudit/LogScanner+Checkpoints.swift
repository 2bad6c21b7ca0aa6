// SPDX-License-Identifier: Apache-2.0
// Checkpoint checks: framing, signature, origin, order; the witness; checkpoints held by others.
import Foundation
extension LogScanner {
    /// Reads every checkpoint record. Returns `false` after recording a failure.
    static func readCheckpoints(
        _ bytes: [UInt8], layout: AuditLogLayout, key: NoteVerifierKey, into scan: inout LogScan
    ) -> Bool {
        let file = layout.checkpoints
        return bytes.withUnsafeBytes { raw in
            var offset = RecordFraming.headerSize
            var ordinal = 0
            while offset < raw.count {
                let result = RecordFraming.read(raw, at: offset)
                guard case .record(let range, let next, _) = result else {
                    // Each checkpoint is its own batch: only the very last record may be torn.
                    if let reason = tornReason(result, raw, at: offset, everyRecordIsABatch: true) {
                        scan.report.tornTails.append(
                            TornTail(file: file, offset: offset, length: raw.count - offset, position: ordinal, reason: reason))
                        break
                    }
                    scan.report.failure = damageFailure(result, file: file, offset: offset, index: nil, checkpoint: ordinal)
                    return false
                }
                let text = String(decoding: raw[range], as: UTF8.self)
                guard let checked = checkNote(text, file: file, offset: offset, ordinal: ordinal, key: key, into: &scan.report)
                else { return false }
                if let previous = scan.checkpoints.last?.checkpoint {
                    let backwards = checked.checkpoint.size < previous.size
                    let forked = checked.checkpoint.size == previous.size && checked.checkpoint.root != previous.root
                    if backwards || forked {
                        scan.report.failure = VerificationFailure(
                            .checkpointOrder, index: checked.checkpoint.size, checkpoint: ordinal, file: file, offset: offset,
                            backwards
                                ? "checkpoint size goes backwards (replaced or reordered checkpoint)"
                                : "two checkpoints of the same size have different roots",
                            evidence: [
                                .init("previous checkpoint #\(ordinal - 1)", previous.description),
                                .init("this checkpoint #\(ordinal)", checked.checkpoint.description),
                            ])
                        return false
                    }
                }
                scan.checkpoints.append(checked)
                CheckpointSigners.add(ordinal, key: key, holder: KeyHolder(checkpoint: checked.checkpoint), to: &scan.report.signers)
                scan.report.checkpoints += 1
                offset = next
                ordinal += 1
            }
            scan.checkpointsEnd = offset
            scan.report.latest = scan.checkpoints.last?.checkpoint
            return true
        }
    }

    /// Parses and authenticates one note; records a failure and returns `nil` when it is not acceptable.
    static func checkNote(
        _ text: String, file: String, offset: Int?, ordinal: Int?, key: NoteVerifierKey, into report: inout VerificationReport
    ) -> ScannedCheckpoint? {
        guard let note = SignedNote(text: text), let checkpoint = Checkpoint(body: note.body) else {
            report.failure = VerificationFailure(
                .checkpointMalformed, checkpoint: ordinal, file: file, offset: offset,
                "not a C2SP signed checkpoint note", evidence: [.init("text", String(text.prefix(300)))])
            return nil
        }
        guard note.isSigned(by: key) else {
            report.failure = VerificationFailure(
                .checkpointSignature, index: checkpoint.size, checkpoint: ordinal, file: file, offset: offset,
                "no valid signature by the verifier key",
                evidence: [
                    .init("verifier key", key.description),
                    .init("signature lines", note.signatures.map { "\($0.name) id \(String(format: "%08x", $0.keyID))" }.joined(separator: ", ")),
                    .init("checkpoint", checkpoint.description),
                ])
            return nil
        }
        guard checkpoint.origin == key.name else {
            report.failure = VerificationFailure(
                .originMismatch, checkpoint: ordinal, file: file, offset: offset,
                "checkpoint origin is not the key's log name",
                evidence: [.init("origin", checkpoint.origin), .init("key name", key.name)])
            return nil
        }
        return ScannedCheckpoint(checkpoint: checkpoint, note: note, ordinal: ordinal ?? -1)
    }

    /// The witness must equal the log's last checkpoint, or the one before it (crash between the
    /// two writes). A witness ahead of the log means the checkpoints were rolled back.
    static func checkWitness(
        _ bytes: [UInt8]?, layout: AuditLogLayout, key: NoteVerifierKey, into scan: inout LogScan
    ) -> Checkpoint? {
        let file = layout.latestCheckpoint
        guard let bytes else {
            scan.report.failure = VerificationFailure(
                .witnessMismatch, file: file, "the latest-checkpoint witness is missing (deleted?)",
                evidence: [.init("log's last checkpoint", scan.report.latest?.description ?? "none")])
            return nil
        }
        guard
            let witness = checkNote(
                String(decoding: bytes, as: UTF8.self), file: file, offset: 0, ordinal: nil, key: key, into: &scan.report)?
                .checkpoint
        else { return nil }
        scan.report.witness = witness
        let log = scan.checkpoints.map(\.checkpoint)
        guard let last = log.last, witness.size <= last.size else {
            scan.report.failure = VerificationFailure(
                .checkpointRollback, index: log.last?.size ?? 0, checkpoint: log.count, file: layout.checkpoints,
                "the witness holds a checkpoint newer than any in the log: checkpoints were rolled back or truncated",
                evidence: [
                    .init("witness", witness.description),
                    .init("log's last checkpoint", log.last?.description ?? "none"),
                    .init("log checkpoints", String(log.count)),
                ])
            return nil
        }
        if witness == last { return witness }
        if log.count >= 2, witness == log[log.count - 2] {
            scan.witnessLags = true
            scan.report.notes.append("witness is one checkpoint behind (crash between checkpoint append and witness update)")
            return witness
        }
        let sameSize = log.first { $0.size == witness.size }
        scan.report.failure = VerificationFailure(
            .witnessMismatch, index: witness.size, file: file,
            sameSize.map { $0.root != witness.root } == true
                ? "the witness and the log disagree about the root at the same size (fork)"
                : "the witness is older than the log's last two checkpoints (witness rolled back)",
            evidence: [.init("witness", witness.description), .init("log's last checkpoint", last.description)])
        return nil
    }

    static func parseTrusted(
        _ text: String, number: Int, key: NoteVerifierKey, into report: inout VerificationReport
    ) -> Checkpoint? {
        checkNote(text, file: "trusted checkpoint #\(number)", offset: nil, ordinal: nil, key: key, into: &report)?.checkpoint
    }
}

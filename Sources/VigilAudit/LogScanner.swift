// SPDX-License-Identifier: Apache-2.0
// Reads a log directory and recomputes everything; shared by the offline verifier and the writer's open.
/// What scanning a directory produced: the report, and (when useful) the rebuilt tree and leaves.
struct LogScan: Sendable {
    var report: VerificationReport
    var tree = MerkleTree()
    /// The raw `entries` file and each leaf's payload range in it.
    var entryBytes: [UInt8] = []
    var leafRanges: [Range<Int>] = []
    /// Byte length of the intact prefix of each file (where a torn tail, if any, starts).
    var entriesEnd = 0
    var checkpointsEnd = 0
    var checkpoints: [ScannedCheckpoint] = []
    /// True when no log exists yet (nothing but possibly an unfinished creation).
    var isFresh = false
    /// True when the witness is one checkpoint behind the log (a crash between the two writes).
    var witnessLags = false

    func leaf(at index: Int) -> ArraySlice<UInt8> { entryBytes[leafRanges[index]] }
}

struct ScannedCheckpoint: Sendable {
    var checkpoint: Checkpoint
    var note: SignedNote
    var ordinal: Int
}

/// The verification algorithm. Only I/O errors throw; every integrity finding goes in the report.
enum LogScanner {
    struct Options: Sendable {
        /// Also decode every entry's JSON (schema check), not just its framing, layout and hashes.
        var decodeEntries = true
        /// Checkpoint notes obtained out of band (console, auditor): the log must contain them.
        var trustedCheckpoints: [String] = []
    }

    static func scan(
        _ layout: AuditLogLayout, key: NoteVerifierKey, options: Options = Options()
    ) throws(AuditError) -> LogScan {
        var scan = LogScan(report: VerificationReport(directory: layout.directory))
        scan.report.key = key
        let entries = try PosixFile.readAll(layout.entries)
        let checkpoints = try PosixFile.readAll(layout.checkpoints)
        let witness = try PosixFile.readAll(layout.latestCheckpoint)

        // A log exists once its `entries` file does; creation writes it last.
        guard let entries else {
            if checkpoints == nil && witness == nil {
                scan.isFresh = true
                scan.report.failure = VerificationFailure(
                    .missingFile, file: layout.entries, "no audit log in this directory (no entries file)")
            } else if isUnfinishedCreation(checkpoints: checkpoints, witness: witness) {
                scan.isFresh = true
                scan.report.failure = VerificationFailure(
                    .missingFile, file: layout.entries, "log creation did not finish (no entries file, no entries checkpointed)")
            } else {
                scan.report.failure = VerificationFailure(
                    .missingFile, file: layout.entries, "entries file is missing but checkpoints exist",
                    evidence: [.init("checkpoints file bytes", String(checkpoints?.count ?? 0))])
            }
            return scan
        }
        guard let checkpoints else {
            scan.report.failure = VerificationFailure(.missingFile, file: layout.checkpoints, "checkpoints file is missing")
            return scan
        }
        guard checkHeader(entries, RecordFraming.entriesMagic, layout.entries, &scan.report),
            checkHeader(checkpoints, RecordFraming.checkpointsMagic, layout.checkpoints, &scan.report)
        else { return scan }

        guard readCheckpoints(checkpoints, layout: layout, key: key, into: &scan) else { return scan }
        guard let witnessCheckpoint = checkWitness(witness, layout: layout, key: key, into: &scan) else { return scan }
        var covered = max(scan.checkpoints.last?.checkpoint.size ?? 0, witnessCheckpoint.size)
        var trusted: [Checkpoint] = []
        for (number, text) in options.trustedCheckpoints.enumerated() {
            guard let checkpoint = parseTrusted(text, number: number, key: key, into: &scan.report) else { return scan }
            trusted.append(checkpoint)
            covered = max(covered, checkpoint.size)
        }
        scan.entryBytes = entries
        guard readEntries(layout: layout, covered: covered, options: options, into: &scan) else { return scan }
        guard checkCoverage(layout: layout, witness: witnessCheckpoint, trusted: trusted, into: &scan) else { return scan }
        return scan
    }

    /// Creation writes `checkpoints` (one size-0 checkpoint), then the witness, then `entries`.
    /// Without `entries`, nothing was ever appended: only size-0 checkpoints may exist.
    private static func isUnfinishedCreation(checkpoints: [UInt8]?, witness: [UInt8]?) -> Bool {
        if let witness, let note = SignedNote(text: String(decoding: witness, as: UTF8.self)),
            let checkpoint = Checkpoint(body: note.body), checkpoint.size != 0
        {
            return false
        }
        guard let checkpoints else { return true }
        var offset = RecordFraming.headerSize
        return checkpoints.withUnsafeBytes { raw in
            guard raw.count >= offset else { return true }
            while case .record(let range, let next, _) = RecordFraming.read(raw, at: offset) {
                guard let note = SignedNote(text: String(decoding: raw[range], as: UTF8.self)),
                    let checkpoint = Checkpoint(body: note.body), checkpoint.size == 0
                else { return false }
                offset = next
            }
            return true
        }
    }

    private static func checkHeader(
        _ bytes: [UInt8], _ magic: [UInt8], _ path: String, _ report: inout VerificationReport
    ) -> Bool {
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
            report.failure = VerificationFailure(
                .badFileHeader, file: path, offset: 0, "file does not start with the expected magic",
                evidence: [
                    .init("expected", String(decoding: magic, as: UTF8.self)),
                    .init("found (hex)", HexCoding.encode(bytes.prefix(magic.count))),
                ])
            return false
        }
        return true
    }
}

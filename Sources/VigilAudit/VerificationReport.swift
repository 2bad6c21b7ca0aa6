// SPDX-License-Identifier: Apache-2.0
// The verifier's answer: a value naming what was checked, what was excluded, and the first failure.
/// The outcome of verifying one log directory. Failure is a value here: ``failure`` is `nil`
/// when every check passed.
public struct VerificationReport: Sendable, CustomStringConvertible {
    public var directory: String
    /// The verifier key used, and whether it was supplied or read from the directory itself.
    public var key: NoteVerifierKey?
    public var keyFromDirectory: Bool = false
    /// Entries read and checked (all of them when valid; those before the failure otherwise).
    public var entries: Int = 0
    /// Checkpoints whose signature, order and root were checked.
    public var checkpoints: Int = 0
    /// Consistency proofs generated and verified between consecutive checkpoints.
    public var consistencyProofs: Int = 0
    /// The last valid checkpoint in the log.
    public var latest: Checkpoint?
    /// The rollback witness (`checkpoint` file), when present and valid.
    public var witness: Checkpoint?
    /// Bytes after the last checkpoint that a crash left incomplete (never acknowledged); excluded.
    public var tornTails: [TornTail] = []
    /// Which key signed which checkpoints, in runs of consecutive checkpoints with one key and holder.
    public var signers: [CheckpointSigners] = []
    /// Things worth knowing that are not failures.
    public var notes: [String] = []
    public var failure: VerificationFailure?

    public var isValid: Bool { failure == nil }

    public init(directory: String) { self.directory = directory }

    public var description: String {
        var lines: [String] = []
        if let failure {
            lines.append("FAILED: \(directory)")
            lines.append(failure.description)
        } else {
            lines.append("OK: \(directory)")
        }
        lines.append("  entries verified: \(entries); checkpoints verified: \(checkpoints); consistency proofs: \(consistencyProofs)")
        if let latest { lines.append("  latest checkpoint: size \(latest.size) root \(latest.root.base64)") }
        if let key { lines.append("  key: \(key)\(keyFromDirectory ? " (read from the directory: pin it with --key)" : "")") }
        for run in signers { lines.append("  \(run)") }
        for torn in tornTails { lines.append("  excluded: \(torn)") }
        for note in notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n")
    }
}

/// A run of consecutive checkpoints signed by one key, held as their extension line says.
public struct CheckpointSigners: Sendable, Hashable, CustomStringConvertible {
    /// Checkpoint ordinals, first and last (inclusive).
    public var first: Int
    public var last: Int
    /// `Ed25519` or `ECDSA P-256` (``NoteVerifierKey/kind``).
    public var kind: String
    public var keyName: String
    public var keyID: String
    /// What the signed checkpoints state; nil in checkpoints written before the holder was recorded.
    public var holder: KeyHolder?

    public var description: String {
        let which = first == last ? "checkpoint #\(first)" : "checkpoints #\(first)-#\(last)"
        let held: String
        switch holder {
        case .tpm: held = "held in a TPM (as the checkpoints state; the key is not attested)"
        case .file: held = "held in a file"
        case nil: held = "holder not stated (written before vigil recorded it)"
        }
        return "\(which): signed by \(kind) key \(keyName) id \(keyID), \(held)"
    }

    /// Adds checkpoint `ordinal` to the last run when it has the same key and holder, else starts one.
    static func add(_ ordinal: Int, key: NoteVerifierKey, holder: KeyHolder?, to runs: inout [CheckpointSigners]) {
        if let last = runs.last, last.keyID == key.hexID, last.holder == holder, last.last == ordinal - 1 {
            runs[runs.count - 1].last = ordinal
        } else {
            runs.append(
                CheckpointSigners(first: ordinal, last: ordinal, kind: key.kind, keyName: key.name, keyID: key.hexID, holder: holder))
        }
    }
}

/// A crash remnant: an incomplete record at the very end of a file, past every checkpoint.
public struct TornTail: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// Byte offset of the first damaged record; the tail runs to the end of the file.
    public var offset: Int
    public var length: Int
    /// The index the damaged record would have had (entries), or the checkpoint ordinal.
    public var position: Int
    public var reason: String

    public var description: String {
        "torn tail of \(file) at byte \(offset) (\(length) bytes, record \(position)): \(reason)"
    }
}

/// The first check that failed, where, and the evidence.
public struct VerificationFailure: Sendable, CustomStringConvertible {
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let missingFile = Kind(rawValue: "missingFile")
        public static let badFileHeader = Kind(rawValue: "badFileHeader")
        /// A record's length field is impossible, or the file ends inside a record before a checkpoint.
        public static let recordFraming = Kind(rawValue: "recordFraming")
        /// A record's bytes do not match its CRC (a flipped bit or byte).
        public static let recordChecksum = Kind(rawValue: "recordChecksum")
        public static let malformedLeaf = Kind(rawValue: "malformedLeaf")
        /// A leaf sits at the wrong position (reordered, duplicated or deleted entries).
        public static let indexMismatch = Kind(rawValue: "indexMismatch")
        /// A leaf's `prev` link does not match the previous leaf's hash (an entry was replaced).
        public static let chainBroken = Kind(rawValue: "chainBroken")
        public static let malformedEntry = Kind(rawValue: "malformedEntry")
        public static let checkpointMalformed = Kind(rawValue: "checkpointMalformed")
        public static let checkpointSignature = Kind(rawValue: "checkpointSignature")
        public static let originMismatch = Kind(rawValue: "originMismatch")
        /// Checkpoint sizes go backwards, or two checkpoints of one size disagree.
        public static let checkpointOrder = Kind(rawValue: "checkpointOrder")
        /// A checkpoint's signed root is not the root of the entries on disk.
        public static let rootMismatch = Kind(rawValue: "rootMismatch")
        /// An RFC 6962 consistency proof between two checkpoints failed.
        public static let inconsistentCheckpoints = Kind(rawValue: "inconsistentCheckpoints")
        /// Fewer entries than a signed checkpoint covers.
        public static let entriesTruncated = Kind(rawValue: "entriesTruncated")
        /// The witness (or a trusted checkpoint) is ahead of the log: checkpoints were rolled back.
        public static let checkpointRollback = Kind(rawValue: "checkpointRollback")
        /// The witness is missing, invalid, or matches no checkpoint in the log.
        public static let witnessMismatch = Kind(rawValue: "witnessMismatch")
    }

    public struct Evidence: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var kind: Kind
    /// The first entry index that is (or may be) bad; `nil` when the failure is not about entries.
    public var index: Int?
    /// The ordinal of the checkpoint record concerned (0-based, in the `checkpoints` file).
    public var checkpoint: Int?
    public var file: String
    public var offset: Int?
    public var message: String
    public var evidence: [Evidence]

    public init(
        _ kind: Kind, index: Int? = nil, checkpoint: Int? = nil, file: String, offset: Int? = nil,
        _ message: String, evidence: [Evidence] = []
    ) {
        self.kind = kind
        self.index = index
        self.checkpoint = checkpoint
        self.file = file
        self.offset = offset
        self.message = message
        self.evidence = evidence
    }

    public var description: String {
        var head = "  \(kind)"
        if let index { head += " at entry index \(index)" }
        if let checkpoint { head += " (checkpoint #\(checkpoint))" }
        head += " in \(file)"
        if let offset { head += " at byte \(offset)" }
        var lines = [head, "  \(message)"]
        for item in evidence { lines.append("    \(item.name): \(item.value)") }
        return lines.joined(separator: "\n")
    }
}

// SPDX-License-Identifier: Apache-2.0
// The writer: durable, batched appends of entries as Merkle leaves, with signed checkpoints.
import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// An open audit log that appends entries and issues signed checkpoints. One writer per directory
/// (enforced with `flock`); safe to share between threads and tasks.
///
/// Durability contract:
/// - ``append(_:)`` MUST NOT return before every entry it was given is on stable storage: all of
///   them are written with one `write(2)` and made durable with one `fdatasync(2)` of `entries` (the
///   file's directory entry was made durable when the log was created). A returned index range is
///   an acknowledgement; an entry whose `append` threw was not acknowledged (and, if it reached the
///   disk partially, is a torn tail the next ``open(directory:signer:options:)`` reports and excludes).
/// - A checkpoint only ever covers acknowledged entries. It is appended to `checkpoints` and
///   `fsync`ed, then the `checkpoint` witness is replaced atomically (temp file, `fsync`, `rename`,
///   `fsync` of the directory). Checkpoints are issued every ``Options/checkpointEvery`` entries,
///   within about ``Options/checkpointInterval`` of an unsealed append, and on ``close()``.
/// - After any write or sync failure the log refuses further appends (``AuditError/Code/failedEarlier``):
///   its on-disk state is unknown until it is reopened, which verifies it.
public final class AuditLog: Sendable {
    public let layout: AuditLogLayout
    public let options: Options
    /// What opening found: the verification report of the existing content, torn tails excluded, notes.
    public let openReport: VerificationReport
    let signer: any AuditSigner
    let state: Mutex<State>
    let timer: Mutex<(any DispatchSourceTimer)?> = Mutex(nil)

    struct State: ~Copyable {
        var entriesFD: Int32
        var checkpointsFD: Int32
        var lockFD: Int32
        var range: MerkleCompactRange
        var prev: MerkleHash
        var lastCheckpoint: Checkpoint
        var lastCheckpointAt: ContinuousClock.Instant
        var failed: AuditError?
        var closed = false
        var buffer: [UInt8] = []
        var leaf: [UInt8] = []
    }

    init(
        layout: AuditLogLayout, options: Options, signer: any AuditSigner, openReport: VerificationReport,
        state: consuming State
    ) {
        self.layout = layout
        self.options = options
        self.signer = signer
        self.openReport = openReport
        self.state = Mutex(state)
    }

    deinit {
        try? close()
    }

    /// The number of acknowledged entries (the next index).
    public var size: Int { state.withLock { $0.range.size } }

    /// The most recent checkpoint this writer issued or found.
    public var latestCheckpoint: Checkpoint { state.withLock { $0.lastCheckpoint } }

    public var verifierKey: NoteVerifierKey { signer.verifierKey }
    /// Where the checkpoint key is held (stated in every checkpoint).
    public var keyHolder: KeyHolder { signer.keyHolder }

    /// Appends one entry; durable on return. See ``append(_:)``.
    @discardableResult
    public func append(_ entry: AuditEntry) throws(AuditError) -> Int {
        try append([entry]).lowerBound
    }

    /// Appends `entries` as consecutive leaves with one `write` and one `fsync`.
    /// - Returns: the indices assigned, once every entry is durable (the acknowledgement).
    /// - Throws: ``AuditError/Code/entryTooLarge`` before anything is written; ``AuditError/Code/io`` when the write or sync fails (nothing is acknowledged, and the
    ///   log then refuses appends); ``AuditError/Code/closed``; ``AuditError/Code/failedEarlier``.
    @discardableResult
    public func append(_ entries: [AuditEntry]) throws(AuditError) -> Range<Int> {
        let encoded = entries.map { $0.canonicalJSON() }
        let entriesPath = layout.entries
        return try state.withLock { (state) throws(AuditError) -> Range<Int> in
            try Self.checkUsable(state)
            let recorded = AuditEntry.now()  // under the lock, so `recorded` never decreases with the index
            let start = state.range.size
            guard !encoded.isEmpty else { return start..<start }
            var range = state.range
            var prev = state.prev
            state.buffer.removeAll(keepingCapacity: true)
            for (i, json) in encoded.enumerated() {
                state.leaf.removeAll(keepingCapacity: true)
                AuditLeaf.write(index: range.size, prev: prev, recorded: recorded, entryJSON: json, to: &state.leaf)
                guard state.leaf.count <= RecordFraming.maxPayload else {
                    throw AuditError(
                        .entryTooLarge, "entry \(i) of the batch encodes to \(state.leaf.count) bytes (limit \(RecordFraming.maxPayload))")
                }
                let hash = state.leaf.withUnsafeBytes { RFC6962.leafHash($0) }
                state.leaf.withUnsafeBytes { RecordFraming.append(payload: $0, batchStart: i == 0, to: &state.buffer) }
                range.append(hash)
                prev = hash
            }
            do throws(AuditError) {
                try PosixFile.writeAll(state.entriesFD, state.buffer, path: entriesPath)
                try PosixFile.syncData(state.entriesFD, path: entriesPath)
            } catch {
                state.failed = error
                throw error
            }
            state.range = range
            state.prev = prev
            if range.size - state.lastCheckpoint.size >= options.checkpointEvery || isIntervalDue(state) {
                // The entries are durable and acknowledged; a checkpoint failure poisons the log
                // and surfaces on the next call instead of un-acknowledging them.
                do throws(AuditError) { try checkpointLocked(&state) } catch { state.failed = error }
            }
            if buffer(state.buffer.capacity, exceeds: 8 << 20) { state.buffer = [] }
            return start..<range.size
        }
    }

    /// Issues a checkpoint now if any acknowledged entry is not yet covered by one.
    /// - Returns: the new checkpoint, or `nil` when the last one is current.
    @discardableResult
    public func checkpoint() throws(AuditError) -> Checkpoint? {
        try state.withLock { (state) throws(AuditError) -> Checkpoint? in
            try Self.checkUsable(state)
            guard state.range.size != state.lastCheckpoint.size else { return nil }
            try checkpointLocked(&state)
            return state.lastCheckpoint
        }
    }

    /// Seals pending entries with a final checkpoint, stops the timer and closes the files.
    /// Closing twice is harmless.
    /// - Throws: the failure that poisoned the log, or the final checkpoint's failure.
    public func close() throws(AuditError) {
        timer.withLock { timer in
            timer?.cancel()
            timer = nil
        }
        try state.withLock { (state) throws(AuditError) in
            guard !state.closed else { return }
            defer {
                Glibc.close(state.entriesFD)
                Glibc.close(state.checkpointsFD)
                Glibc.close(state.lockFD)
                state.closed = true
            }
            if let failed = state.failed {
                throw AuditError(.failedEarlier, "the log failed earlier: \(failed)", path: layout.directory)
            }
            if state.range.size != state.lastCheckpoint.size { try checkpointLocked(&state) }
        }
    }

    private static func checkUsable(_ state: borrowing State) throws(AuditError) {
        guard !state.closed else { throw AuditError(.closed, "the log is closed") }
        if let failed = state.failed {
            throw AuditError(.failedEarlier, "the log failed earlier and must be reopened: \(failed)")
        }
    }

    private func buffer(_ capacity: Int, exceeds limit: Int) -> Bool { capacity > limit }
}

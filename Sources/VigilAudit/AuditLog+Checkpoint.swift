// SPDX-License-Identifier: Apache-2.0
// Issuing checkpoints: sign, append to `checkpoints`, fsync, then replace the witness atomically.
import Dispatch
import Synchronization

extension AuditLog {
    func isIntervalDue(_ state: borrowing State) -> Bool {
        state.range.size > state.lastCheckpoint.size
            && ContinuousClock.now - state.lastCheckpointAt >= options.checkpointInterval
    }

    /// Signs the current tree head and makes it durable in both places. Caller holds the lock.
    func checkpointLocked(_ state: inout State) throws(AuditError) {
        let checkpoint = Checkpoint(
            origin: verifierKey.name, size: state.range.size, root: state.range.root, extensions: [signer.keyHolder.checkpointExtension])
        let note = try SignedNote.sign(body: checkpoint.body, with: signer)
        let text = Array(note.text.utf8)
        var record: [UInt8] = []
        text.withUnsafeBytes { RecordFraming.append(payload: $0, batchStart: true, to: &record) }
        try PosixFile.writeAll(state.checkpointsFD, record, path: layout.checkpoints)
        try PosixFile.sync(state.checkpointsFD, path: layout.checkpoints)
        try PosixFile.replaceAtomically(layout.latestCheckpoint, with: text, mode: 0o644)
        state.lastCheckpoint = checkpoint
        state.lastCheckpointAt = .now
    }

    /// Starts the background timer that enforces ``Options/checkpointInterval`` without appends.
    func startTimer() {
        guard options.backgroundCheckpoints else { return }
        let period = options.checkpointInterval / 2
        let nanos = max(1_000_000, Int(period.components.seconds * 1_000_000_000 + period.components.attoseconds / 1_000_000_000))
        timer.withLock { timer in
            let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "vigil.audit.checkpoint"))
            source.schedule(deadline: .now() + .nanoseconds(nanos), repeating: .nanoseconds(nanos), leeway: .milliseconds(5))
            source.setEventHandler { [weak self] in self?.timerTick() }
            source.activate()
            timer = source
        }
    }

    private func timerTick() {
        state.withLock { state in
            guard !state.closed, state.failed == nil, isIntervalDue(state) else { return }
            do throws(AuditError) { try checkpointLocked(&state) } catch { state.failed = error }
        }
    }
}

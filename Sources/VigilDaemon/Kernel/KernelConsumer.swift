// SPDX-License-Identifier: Apache-2.0
// The one ring-buffer consumer: every batch is decoded once, its gaps audited, the executables it
// ran hashed (outside every lock: a first hash of a big binary takes a while), and its events
// handed to the sessions service in chunks, so hook calls are never held up long. The entries are
// then appended together (kernel entries share fsyncs) and the timelines written.
import Foundation
import Glibc
import ServiceLifecycle
import Synchronization
import VigilAudit
import VigilCore
import VigilHost
import VigilRuntime
import VigilSensor

final class KernelCounters: Sendable {
    let decodeErrors = Atomic<Int>(0)
    let gaps = Atomic<Int>(0)
}

struct KernelConsumer: Service {
    let sensor: Sensor
    let stream: AsyncStream<SensorBatch>
    let sessions: SessionRegistry
    let policy: PolicyService
    let journal: DaemonJournal
    let counters: KernelCounters
    /// One cache of executable hashes for the consumer and the hook-caller check, kept in the
    /// state directory so a restart does not read every binary (Claude Code's is 400 MB) again.
    let hasher: ExecutableHasher

    func run() async throws {
        await withGracefulShutdownHandler {
            await consume()
        } onGracefulShutdown: {
            sensor.stop()
        }
    }

    /// Consumes the sensor until `stop()`; returns when the stream has drained.
    func consume() async {
        let offset = realtimeOffset()
        var lastHousekeeping = monotonicNanoseconds()
        for await batch in stream {
            var events: [SensorEvent] = []
            events.reserveCapacity(batch.records)
            do {
                try batch.bytes.withUnsafeBytes { try EventDecoder.decodeBatch($0) { events.append($0) } }
            } catch {
                counters.decodeErrors.add(1, ordering: .relaxed)
                journal.noteError("a ring-buffer batch did not decode (\(batch.records) records): \(error)")
            }
            sensor.acknowledge(batch)
            process(events, gaps: batch.gaps, realtimeOffset: offset)
            let now = monotonicNanoseconds()
            if now - lastHousekeeping > 500_000_000 {
                lastHousekeeping = now
                sessions.housekeeping(drainedBefore: batch.drainedBefore)
            }
        }
        sessions.housekeeping(drainedBefore: .max)  // the stream has ended: everything is drained
    }

    /// Decides and records one batch.
    func process(_ events: [SensorEvent], gaps: [GapEvent], realtimeOffset: Int64) {
        var entries: [AuditEntry] = []
        for gap in gaps {
            counters.gaps.add(1, ordering: .relaxed)
            entries.append(AuditEntry.gap(deviceId: sessions.deviceID, source: "sensor", lost: gap.lost, reason: gap.cause.rawValue, extra: [:]))
        }
        var hashes: [Int32: Result<String, HashFailure>] = [:]
        for event in events {
            if case .exec(let e) = event, e.header.session != 0 {
                hashes[e.header.pid] = hasher.hashResult(pid: e.header.pid, path: e.path, identity: e.exeIdentity)
            }
        }
        // Processes in these events' ancestry that no exec of the session's showed (the agent's own
        // ancestors, a shell, a terminal, started before the session): hashed once, here, outside the
        // lock, so that every entry's ancestry carries a digest or the reason there is none.
        var ancestors: [Int32: Result<String, HashFailure>] = [:]
        for node in sessions.unhashedAncestry(of: events) {
            ancestors[node.pid] = hasher.hashResult(pid: node.pid, path: node.exePath, inode: node.exeInode)
        }
        var agentsSeen: [(ExecEvent, AgentMatch)] = []
        let currentPolicy = policy.current
        var index = 0
        while index < events.count {
            let chunk = events[index..<min(index + 512, events.count)]
            let first = index == 0
            index += chunk.count
            sessions.apply(
                chunk, policy: currentPolicy, hashes: hashes, ancestorHashes: first ? ancestors : [:], realtimeOffset: realtimeOffset,
                entries: &entries, agentsSeen: &agentsSeen)
        }
        for (exec, match) in agentsSeen {
            sessions.reportUnmanaged(pid: exec.header.pid, uid: exec.uid, path: exec.path, argv: exec.argv, match: match)
        }
        entries += sessions.engine.takeKept()
        journal.recordKernel(entries, force: false)
        sessions.flushTimelines()
    }
}

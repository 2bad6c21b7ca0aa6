// SPDX-License-Identifier: Apache-2.0
// `vigil trace`: runs a command (or adopts a running tree) as a session and streams every
// event of its whole tree until the last process of the tree has exited.
import Foundation
import Glibc
import Synchronization
import VigilCore
import VigilHost

public struct TraceSummary: Sendable {
    public var session: SessionID
    public var events: UInt64 = 0
    /// Lost records: kernel ring full plus consumer queue full.
    public var dropped: UInt64 = 0
    public var gaps: UInt64 = 0
    /// Processes whose exit was not seen but /proc showed gone (after a loss).
    public var resynced: UInt64 = 0
    public var decodeErrors: UInt64 = 0
    /// Execs whose executable could not be hashed (gone, unreadable, or another inode by the time
    /// it was read): their `sha256` is null.
    public var unhashed: UInt64 = 0
    public var processes: Int = 0
    /// The command's wait status, when Vigil started it.
    public var waitStatus: Int32?
    public var cgroup: String?

    public init(session: SessionID, cgroup: String? = nil) {
        self.session = session
        self.cgroup = cgroup
    }

    /// Exit status to propagate: the command's own, or 128 + signal.
    public var exitCode: Int32 {
        guard let s = waitStatus else { return 0 }
        if s & 0x7f == 0 { return (s >> 8) & 0xff }
        return 128 + (s & 0x7f)
    }
}

/// What a session is, for whoever sets up enforcement on it before its root runs.
public struct SessionStart: Sendable {
    public var session: SessionID
    public var cgroup: SessionCgroup
    public var rootPID: Int32
}

public final class Tracer: Sendable {
    public let sensor: Sensor
    let hasher: ExecutableHasher
    /// Ancestry (with hashes) for every event, not only exec: what the audit log records.
    let ancestryForAllEvents: Bool

    public init(sensor: Sensor, ancestryForAllEvents: Bool = false, hasher: ExecutableHasher = ExecutableHasher()) {
        self.sensor = sensor
        self.ancestryForAllEvents = ancestryForAllEvents
        self.hasher = hasher
    }

    /// Runs `argv` as the root of a new session. `prepare` runs once the root exists and is
    /// tagged, before it runs its first instruction (enforcement goes in place there);
    /// `onBatch` after each batch of events (and on the reader's heartbeat).
    /// - Throws: `SensorError` if the session cannot be set up or the command cannot start, or
    ///   what `prepare` throws (the command is then not run). `account`: the command runs as it
    ///   (taken in the child before the gate), else as this process.
    public func run(
        command argv: [String],
        as account: UserAccount? = nil,
        prepare: (SessionStart) throws(SensorError) -> Void = { _ in },
        onBatch: () -> Void = {},
        onEvent: (SensorEvent, RenderedContext) -> Void
    ) async throws(SensorError) -> TraceSummary {
        let session = Self.newSessionID()
        let cgroup = try SessionCgroup.create(name: EventRenderer.hex(session))
        let procsFD = try cgroup.openProcs()
        defer { close(procsFD) }
        var tree = ProcessTree()
        for node in ProcScanner.scan() { tree.seed(node) }

        let stream = sensor.start()
        let child = try GatedProcess.spawn(argv, cgroupProcsFD: procsFD, as: account)
        do {
            try sensor.track(pid: child.pid, session: session)
        } catch {
            child.abandon()
            throw error
        }
        tree.startSession(session, root: child.pid, parent: getpid())
        // The root's ancestors (this process and those above it) are hashed now, before the root
        // runs, and not on its first exec while the command competes for the CPU (Vigil's own
        // binary is tens of MB).
        hashMissing(in: tree.ancestry(of: getpid()), tree: &tree)
        do {
            try prepare(SessionStart(session: session, cgroup: cgroup, rootPID: child.pid))
        } catch {
            child.abandon()
            sensor.endSession(session)
            cgroup.remove()
            throw error
        }
        let waitStatus = Mutex<Int32?>(nil)
        let reaper = Thread {
            var status: Int32 = 0
            while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
            waitStatus.withLock { $0 = status }
        }
        reaper.start()
        do {
            try child.release()
        } catch {
            sensor.endSession(session)
            throw error
        }

        var summary = TraceSummary(session: session, cgroup: cgroup.path)
        await consume(stream, session: session, tree: &tree, summary: &summary, onBatch: onBatch, onEvent: onEvent) {
            waitStatus.withLock { $0 } != nil
        }
        summary.waitStatus = waitStatus.withLock { $0 }
        sensor.endSession(session)
        cgroup.remove()
        return summary
    }

    /// Adopts the running tree of `pid` as a new session.
    public func attach(
        pid: Int32, onEvent: (SensorEvent, RenderedContext) -> Void
    ) async throws(SensorError) -> TraceSummary {
        let session = Self.newSessionID()
        var tree = ProcessTree()
        let stream = sensor.start()
        var tracked = Set<Int32>()
        // Twice: processes forked between the scan and the tagging are caught by the second pass
        // (after the first pass, new children of tagged processes are tagged by the kernel).
        for _ in 0..<2 {
            let nodes = ProcScanner.scan()
            guard nodes.contains(where: { $0.pid == pid && !$0.exited }) else {
                throw SensorError(.procScanFailed, "vigil: no running process with pid \(pid)")
            }
            // Seeding must not overwrite the session membership given in the first pass.
            for node in nodes where !tracked.contains(node.pid) { tree.seed(node) }
            for node in ProcScanner.descendants(of: pid, in: nodes) where !node.exited && !tracked.contains(node.pid) {
                try sensor.track(pid: node.pid, session: session)
                tracked.insert(node.pid)
                tree.startSession(session, root: node.pid, parent: node.ppid)
            }
        }
        var summary = TraceSummary(session: session)
        await consume(stream, session: session, tree: &tree, summary: &summary, onBatch: {}, onEvent: onEvent) { true }
        sensor.endSession(session)
        return summary
    }

    private func consume(
        _ stream: AsyncStream<SensorBatch>, session: SessionID, tree: inout ProcessTree,
        summary: inout TraceSummary, onBatch: () -> Void, onEvent: (SensorEvent, RenderedContext) -> Void,
        rootReaped: () -> Bool
    ) async {
        let offset = realtimeOffset()
        var seenPIDs = Set<Int32>()
        var lastResync = monotonicNanoseconds()
        var resync = ExitResync()
        var finishing = false
        func handle(_ event: SensorEvent) {
            if let h = event.header, h.session != session { return }
            var context = RenderedContext(realtimeOffsetNanoseconds: offset)
            if let h = event.header {
                seenPIDs.insert(h.pid)
                if case .fork(let f) = event { seenPIDs.insert(f.childPID) }
            }
            tree.apply(event)
            if case .exec(let e) = event {
                switch hasher.hashResult(pid: e.header.pid, path: e.path, identity: e.exeIdentity) {
                case .success(let sha): tree.setHash(sha, for: e.header.pid)
                case .failure(let failure):
                    summary.unhashed += 1
                    tree.setHashUnavailable(for: e.header.pid, reason: failure.reason)
                }
                var ancestry = tree.ancestry(of: e.header.pid)
                // Ancestors seeded from /proc have no hash yet: done once, then the tree has it.
                if ancestry.dropFirst().contains(where: { $0.needsHash }) {
                    hashMissing(in: ancestry.dropFirst(), tree: &tree)
                    ancestry = tree.ancestry(of: e.header.pid)
                }
                context.ancestry = ancestry
            } else if ancestryForAllEvents, let h = event.header {
                context.ancestry = tree.ancestry(of: h.pid)
            }
            if let h = event.header { context.ppid = tree[h.pid]?.ppid }
            summary.events += 1
            onEvent(event, context)
        }
        for await batch in stream {
            for gap in batch.gaps {
                summary.gaps += 1
                summary.dropped += gap.lost
                onEvent(.gap(gap), RenderedContext(realtimeOffsetNanoseconds: offset))
            }
            do {
                try batch.bytes.withUnsafeBytes { try EventDecoder.decodeBatch($0) { handle($0) } }
            } catch {
                summary.decodeErrors += 1
            }
            sensor.acknowledge(batch)
            onBatch()
            let now = monotonicNanoseconds()
            // Processes gone without an exit event: after a loss, or every second.
            let lost = batch.gaps.contains { $0.lost > 0 }
            if lost || now - lastResync > 1_000_000_000 {
                lastResync = now
                let gone = (tree.live[session] ?? []).filter { !ProcScanner.isAlive($0) }
                for pid in resync.check(gone: gone, afterLoss: lost) {
                    tree.markExited(pid)
                    summary.resynced += 1
                }
            }
            if !finishing && tree.liveCount(of: session) == 0 && rootReaped() {
                finishing = true
                sensor.stop()  // drains what is left; the stream then ends
            }
        }
        summary.processes = seenPIDs.count
    }

    /// Hashes the executables of the live `nodes` whose hash is not known yet.
    private func hashMissing(in nodes: some Sequence<ProcessNode>, tree: inout ProcessTree) {
        for node in nodes where node.needsHash {
            switch hasher.hashResult(pid: node.pid, path: node.exePath, inode: node.exeInode) {
            case .success(let sha): tree.setHash(sha, for: node.pid)
            case .failure(let failure): tree.setHashUnavailable(for: node.pid, reason: failure.reason)
            }
        }
    }

    /// A random, non-zero session id (0 means "no session" in the kernel's map).
    public static func newSessionID() -> SessionID {
        var rng = SystemRandomNumberGenerator()
        var id: UInt64 = 0
        while id == 0 { id = rng.next() }
        return id
    }
}

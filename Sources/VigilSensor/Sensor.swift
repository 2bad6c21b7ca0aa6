// SPDX-License-Identifier: Apache-2.0
// The loaded BPF sensor: programs, the session map, counters, and the ring-buffer reader.
internal import CVigilBPF
import Foundation
import Glibc
import Synchronization
import VigilCore
import VigilHost

/// Options that shape what the kernel side emits.
public struct SensorOptions: Sendable {
    /// Emit exec events for processes outside every session (to spot agents started outside Vigil).
    public var execAll: Bool = true
    public var ioUring: Bool = true
    /// Kernel ring size (power of two).
    public var ringBytes: UInt32 = 32 << 20
    /// Records per CPU between forced wakeups; in between, the reader drains on its poll timeout.
    public var wakeupEvery: UInt32 = 4096
    /// Poll timeout of the reader thread: the worst-case added latency of a batched event.
    public var pollMilliseconds: Int32 = 20
    /// Bytes of records the consumer may fall behind before the reader drops (and counts) them.
    public var queueBytes: Int = 64 << 20

    public init() {}
}

/// One program of the sensor and whether it runs.
public struct ProgramStatus: Sendable, Hashable {
    public var name: String
    /// nil when attached; else the errno of the failure.
    public var errorCode: Int32?
    public var attached: Bool { errorCode == nil }
}

/// What the reader hands the consumer: a batch of raw records, plus losses seen since the last.
public struct SensorBatch: Sendable {
    public var bytes: [UInt8]
    public var records: Int
    public var gaps: [GapEvent]
    /// Monotonic time taken before the ring was read: every record committed before it is in
    /// this batch or an earlier one. A consumer that has processed this batch has seen all of them.
    public var drainedBefore: UInt64 = 0
}

public final class Sensor: @unchecked Sendable {
    // The handle is only touched under `lock` or by the reader thread's poll, which libbpf allows
    // concurrently with map updates (separate fds).
    private let handle: OpaquePointer
    private let lock = Mutex(())
    private let options: SensorOptions
    private let stopFlag = Atomic<Bool>(false)
    private let readerDone = DispatchSemaphore(value: 0)
    private var readerStarted = false
    private var trackedSessions = Set<SessionID>()
    /// Batches (and their records) the consumer queue had no room for.
    public let consumerDroppedRecords = Atomic<UInt64>(0)
    public let consumerDroppedBatches = Atomic<UInt64>(0)
    public let kernelDroppedRecords = Atomic<UInt64>(0)
    private let queuedBytes = Atomic<Int>(0)

    /// Tells the reader a batch has been processed, freeing its room in the queue.
    public func acknowledge(_ batch: SensorBatch) {
        queuedBytes.subtract(batch.bytes.count, ordering: .relaxed)
    }

    public let programs: [ProgramStatus]

    /// Loads and attaches the sensor.
    /// - Throws: `SensorError` naming the check, program or syscall that failed.
    public init(options: SensorOptions = SensorOptions()) throws(SensorError) {
        try Environment.checkPrerequisites()
        var opts = vigil_bpf_options(
            exec_all: options.execAll, io_uring: options.ioUring,
            ring_bytes: options.ringBytes, wakeup_every: options.wakeupEvery)
        var message = [CChar](repeating: 0, count: 1024)
        guard let handle = vigil_bpf_open(&opts, &message, message.count) else {
            throw SensorError(
                .loadFailed, "vigil sensor: " + String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.handle = handle
        self.options = options
        self.programs = (0..<vigil_bpf_program_count(handle)).map { index in
            let error = vigil_bpf_program_error(handle, index)
            return ProgramStatus(name: String(cString: vigil_bpf_program_name(handle, index)), errorCode: error == 0 ? nil : -error)
        }
    }

    deinit {
        stop()
        vigil_bpf_close(handle)
    }

    /// Runs `body` with the C handle under the lock (map updates and attachments).
    func withHandle<T>(_ body: (OpaquePointer) -> T) -> T {
        lock.withLock { _ in body(handle) }
    }

    /// Degraded modes in force, in words (empty when the sensor runs in full).
    public var degradedModes: [String] {
        programs.filter { !$0.attached }.map { "\($0.name) not attached: \(String(cString: strerror($0.errorCode ?? 0)))" }
    }

    // MARK: Sessions

    /// Tags `pid` (and, through fork, everything it starts) as part of `session`.
    public func track(pid: Int32, session: SessionID) throws(SensorError) {
        let rc = lock.withLock { _ in
            let rc = vigil_bpf_track(handle, UInt32(pid), session)
            if rc == 0, trackedSessions.insert(session).inserted {
                vigil_bpf_set_tracked_sessions(handle, UInt32(trackedSessions.count))
            }
            return rc
        }
        if rc != 0 {
            throw SensorError(.trackFailed, "vigil sensor: tagging pid \(pid) for session \(session) failed: \(String(cString: strerror(-rc)))")
        }
    }

    public func untrack(pid: Int32) {
        lock.withLock { _ in _ = vigil_bpf_untrack(handle, UInt32(pid)) }
    }

    public func session(of pid: Int32) -> SessionID {
        lock.withLock { _ in vigil_bpf_session_of(handle, UInt32(pid)) }
    }

    /// Ends a session: its processes stop producing events once untracked.
    public func endSession(_ session: SessionID) {
        lock.withLock { _ in
            if trackedSessions.remove(session) != nil {
                vigil_bpf_set_tracked_sessions(handle, UInt32(trackedSessions.count))
            }
        }
    }

    // MARK: Counters

    public struct Counters: Sendable, Hashable {
        public var emitted: [String: UInt64] = [:]
        public var dropped: [String: UInt64] = [:]
        public var trackFailed: UInt64 = 0
        public var pathTruncated: UInt64 = 0
        public var argvTruncated: UInt64 = 0
        public var uringPendingFull: UInt64 = 0
        /// Connects/sends refused with EPERM by the cgroup hooks.
        public var networkDenied: UInt64 = 0
        /// Execs SIGKILLed in the kernel (Exec(name) rules).
        public var execKilled: UInt64 = 0
        /// Openers SIGKILLed in the kernel (Open(**/NAME) rules).
        public var openKilled: UInt64 = 0
        /// Callers of ptrace, process_vm_* or pidfd_getfd on a process outside their session, SIGKILLed at entry.
        public var processAccessKilled: UInt64 = 0
        /// Connects/sends of session processes to a local socket outside their session (crossings).
        public var peerOutside: UInt64 = 0
        /// ... of them refused with EPERM by the session boundary.
        public var peerDenied: UInt64 = 0
        public var totalDropped: UInt64 { dropped.values.reduce(0, +) }
        public var totalEmitted: UInt64 { emitted.values.reduce(0, +) }
    }

    public func counters() -> Counters {
        var raw = [UInt64](repeating: 0, count: Int(VIGIL_CTR_MAX.rawValue))
        _ = vigil_bpf_read_counters(handle, &raw, raw.count)
        var c = Counters()
        for kind in EventKind.allCases {
            c.emitted[kind.name] = raw[Int(VIGIL_CTR_EMITTED_BASE.rawValue) + Int(kind.rawValue)]
            c.dropped[kind.name] = raw[Int(VIGIL_CTR_DROPPED_BASE.rawValue) + Int(kind.rawValue)]
        }
        c.trackFailed = raw[Int(VIGIL_CTR_TRACK_FAILED.rawValue)]
        c.pathTruncated = raw[Int(VIGIL_CTR_PATH_TRUNCATED.rawValue)]
        c.argvTruncated = raw[Int(VIGIL_CTR_ARGV_TRUNCATED.rawValue)]
        c.uringPendingFull = raw[Int(VIGIL_CTR_URING_PENDING_FULL.rawValue)]
        c.networkDenied = raw[Int(VIGIL_CTR_NET_DENIED.rawValue)]
        c.execKilled = raw[Int(VIGIL_CTR_EXEC_KILLED.rawValue)]
        c.openKilled = raw[Int(VIGIL_CTR_OPEN_KILLED.rawValue)]
        c.processAccessKilled = raw[Int(VIGIL_CTR_PROC_ACCESS_KILLED.rawValue)]
        c.peerOutside = raw[Int(VIGIL_CTR_PEER_OUTSIDE.rawValue)]
        c.peerDenied = raw[Int(VIGIL_CTR_PEER_DENIED.rawValue)]
        return c
    }

    /// Processes tagged in the kernel, and the sum of the kernel's tracked-hint slots (the
    /// fast "not tagged" check every handler makes first). Equal whenever no tag is changing; a
    /// hint below the entries would hide tagged processes from the sensor.
    public func tagAccounting() -> (entries: UInt64, hinted: UInt64)? {
        lock.withLock { _ in
            var entries: UInt64 = 0, hinted: UInt64 = 0
            return vigil_bpf_tag_accounting(handle, &entries, &hinted) == 0 ? (entries, hinted) : nil
        }
    }

    /// Run count and total run time of each program (needs `kernel.bpf_stats_enabled=1`).
    public func programStats() -> [String: (runs: UInt64, nanoseconds: UInt64)] {
        var stats: [String: (runs: UInt64, nanoseconds: UInt64)] = [:]
        for (index, program) in programs.enumerated() where program.attached {
            var runs: UInt64 = 0, ns: UInt64 = 0
            if vigil_bpf_program_stats(handle, Int32(index), &runs, &ns) == 0 {
                stats[program.name] = (runs, ns)
            }
        }
        return stats
    }

    // MARK: Reading

    /// Starts the reader thread and returns the bounded stream of batches. Call once.
    public func start() -> AsyncStream<SensorBatch> {
        // Unbounded as a stream, bounded in bytes by `queueBytes`: the consumer acknowledges each
        // batch it has processed.
        let (stream, continuation) = AsyncStream.makeStream(of: SensorBatch.self, bufferingPolicy: .unbounded)
        queuedBytes.store(0, ordering: .relaxed)
        lock.withLock { _ in
            precondition(!readerStarted, "Sensor.start() while a reader runs")
            readerStarted = true
        }
        stopFlag.store(false, ordering: .releasing)
        let thread = Thread { [self] in
            readLoop(continuation)
            continuation.finish()
            readerDone.signal()
        }
        thread.name = "vigil-ring-reader"
        thread.start()
        return stream
    }

    /// Stops the reader after it drained what the ring holds.
    public func stop() {
        guard lock.withLock({ _ in readerStarted }), !stopFlag.exchange(true, ordering: .acquiringAndReleasing) else { return }
        readerDone.wait()
        lock.withLock { _ in readerStarted = false }
    }

    private func readLoop(_ continuation: AsyncStream<SensorBatch>.Continuation) {
        var lastDropped: UInt64 = 0
        var lastCounterRead = DispatchTime.now().uptimeNanoseconds
        var pendingGaps: [GapEvent] = []
        var draining = false
        var lastYield: UInt64 = 0
        while true {
            let stopping = stopFlag.load(ordering: .acquiring)
            var batchPointer: UnsafePointer<UInt8>?
            var length = 0
            let pollStart = monotonicNanoseconds()
            let records = Int(vigil_bpf_poll(handle, stopping ? 0 : options.pollMilliseconds, &batchPointer, &length))
            let now = DispatchTime.now().uptimeNanoseconds
            if now - lastCounterRead > 100_000_000 || stopping {
                lastCounterRead = now
                let dropped = counters().totalDropped
                if dropped > lastDropped {
                    kernelDroppedRecords.add(dropped - lastDropped, ordering: .relaxed)
                    pendingGaps.append(GapEvent(cause: .kernelRingFull, lost: dropped - lastDropped, ktimeNanoseconds: monotonicNanoseconds()))
                    lastDropped = dropped
                }
            }
            // An empty batch now and then is the consumer's heartbeat: it checks its end conditions.
            if records > 0 || !pendingGaps.isEmpty || now - lastYield > 100_000_000 {
                lastYield = now
                let bytes =
                    records > 0 && batchPointer != nil
                    ? Array(UnsafeBufferPointer(start: batchPointer, count: length)) : []
                var batch = SensorBatch(bytes: bytes, records: max(records, 0), gaps: pendingGaps)
                batch.drainedBefore = pollStart
                if queuedBytes.load(ordering: .relaxed) + bytes.count > options.queueBytes {
                    consumerDroppedBatches.add(1, ordering: .relaxed)
                    consumerDroppedRecords.add(UInt64(max(records, 0)), ordering: .relaxed)
                    // The loss itself must reach the consumer: it rides on the next batch.
                    pendingGaps =
                        batch.gaps + [GapEvent(cause: .consumerQueueFull, lost: UInt64(max(records, 0)), ktimeNanoseconds: monotonicNanoseconds())]
                    if records > 0 { continue }
                } else {
                    queuedBytes.add(bytes.count, ordering: .relaxed)
                    continuation.yield(batch)
                    pendingGaps = []
                }
            }
            if stopping {
                // Drain until the ring is empty, then leave.
                if records <= 0 { if draining || records == 0 { break } }
                draining = true
            }
        }
    }
}

/// CLOCK_REALTIME - CLOCK_MONOTONIC, to turn ktime into wall time.
public func realtimeOffset() -> Int64 {
    var real = timespec(), mono = timespec()
    clock_gettime(CLOCK_REALTIME, &real)
    clock_gettime(CLOCK_MONOTONIC, &mono)
    return (Int64(real.tv_sec) - Int64(mono.tv_sec)) * 1_000_000_000 + Int64(real.tv_nsec) - Int64(mono.tv_nsec)
}

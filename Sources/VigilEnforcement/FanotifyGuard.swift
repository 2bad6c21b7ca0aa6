// SPDX-License-Identifier: Apache-2.0
// Real denial of opens and execs: a fanotify group of class FAN_CLASS_CONTENT whose permission events
// (FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM) one thread answers through the caller's decision closure. Only the
// inodes a `MarkPlan` names are marked, so only those opens wait for user space.

import Foundation
import Glibc
import Synchronization

/// The answer to one permission event.
public enum Verdict: Sendable, Hashable {
    case allow
    case deny
}

/// What the guard answers when it cannot ask the closure (the path can't be read, the process vanished, …).
public enum FailMode: Sendable, Hashable {
    /// Deny when `isSessionProcess` says the process belongs to a session, allow otherwise (the default:
    /// an agent never gets a file because of our error; the rest of the machine is never blocked by it).
    case closed
    /// Allow always.
    case open
}

/// Whether the open the event stands for may write.
public enum OpenAccess: Sendable, Hashable {
    case read
    /// Write access, O_CREAT or O_TRUNC (as the sensor's `isWrite`).
    case write
    /// Not readable from /proc/<tid>/syscall (io_uring worker, kernel-internal open).
    case unknown
}

/// One permission event, as the decision closure sees it.
public struct FanotifyEvent: Sendable, Hashable {
    /// The process (thread group): what `Sensor.session(of:)` takes.
    public var pid: Int32
    /// The thread blocked in the open.
    public var tid: Int32
    /// The opened file, resolved by the kernel (symlinks followed).
    public var path: String
    /// FAN_OPEN_EXEC_PERM: the open of an executable by execve/execveat (or of its ELF interpreter).
    public var isExec: Bool
    public var access: OpenAccess
    /// Exec only: the path as the caller passed it to execve (a symlink like /usr/bin/nc, or relative), if readable.
    public var execPath: String?
    /// Exec only: argv, read from the caller's memory while it waits; nil when it could not be read.
    public var argv: [String]?
    /// Exec only: the paths under which the plan marked this inode (e.g. `/usr/bin/nc` for
    /// `/usr/bin/nc.openbsd`), so that a name rule still matches when the kernel resolved a symlink.
    public var markedAs: [String]
}

public struct FanotifyGuardOptions: Sendable {
    public var failMode: FailMode = .closed
    /// Consulted only on internal errors under `.closed`: whether a pid belongs to an agent session.
    public var isSessionProcess: @Sendable (Int32) -> Bool = { _ in true }
    /// Answers slower than this (read to write) are counted in `slowAnswers`.
    public var slowAnswerNanoseconds: UInt64 = 5_000_000
    /// Tree marks: levels below the root, and directories per tree.
    public var maxTreeDepth = 16
    public var maxTreeDirectories = 4096
    /// Mark directories themselves with FAN_ONDIR, so listing a guarded directory is decided too.
    public var markDirectoryOpens = true

    public init() {}
}

/// Counters since start. Every permission event gets exactly one answer: `events == allowed + denied`.
public struct FanotifyCounters: Sendable, Hashable, CustomStringConvertible {
    public var events = 0
    public var allowed = 0
    public var denied = 0
    /// Allowed without asking: the guard's own process.
    public var ownProcess = 0
    /// Answered by the fail mode after an internal error (counted in `errors` too).
    public var failModeAnswers = 0
    /// Internal errors: unreadable path, vanished process, a failed response write, a queue overflow.
    public var errors = 0
    public var slowAnswers = 0
    /// Opens whose access (read/write) could not be determined.
    public var accessUnknown = 0

    public var description: String {
        "events \(events) allowed \(allowed) denied \(denied) own \(ownProcess) errors \(errors) "
            + "fail-mode \(failModeAnswers) slow \(slowAnswers) access-unknown \(accessUnknown)"
    }
}

/// What applying a plan did.
public struct MarkReport: Sendable, Hashable {
    /// Marks added (files and directories).
    public var marked = 0
    /// Directories of tree targets left unmarked by the walk's bounds.
    public var skippedDirectories = 0
    /// Marks the kernel refused: path and errno.
    public var failures: [MarkFailure] = []
    /// Tree targets that hit a bound (their rule is only partly enforced).
    public var truncatedTrees: [String] = []
}

public struct MarkFailure: Sendable, Hashable {
    public var path: String
    public var errorCode: Int32
}

public struct EnforcementError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var errorCode: Int32
}

/// Owns a fanotify fd and the thread answering its permission events.
///
/// - The closure runs on the guard's thread, synchronously, while the opening thread waits in the kernel:
///   it must be quick and must not itself open a marked file (that open would wait for this very thread).
/// - Events of the guard's own process are allowed without calling the closure.
/// - On internal errors the answer follows `FailMode`. The group uses FAN_UNLIMITED_QUEUE, since a
///   permission event that overflows a bounded queue is allowed by the kernel unseen.
/// - `shutdown()` (or deinit) flushes every mark, answers what is queued, then closes the group: the
///   kernel allows anything still pending at close. Nothing stays blocked.
public final class FanotifyGuard: Sendable {
    public typealias Decide = @Sendable (FanotifyEvent) -> Verdict

    private let core: GuardCore

    /// Starts the group and its thread. No marks yet: `apply(_:)` adds them.
    /// - Throws: `EnforcementError` when fanotify_init is refused (not root, no CONFIG_FANOTIFY_ACCESS_PERMISSIONS).
    public init(options: FanotifyGuardOptions = FanotifyGuardOptions(), decide: @escaping Decide) throws(EnforcementError) {
        core = try GuardCore(options: options, decide: decide)
        core.start()
    }

    /// The brief's form: `(pid, path, isExec, write)`. An open whose access is unknown is asked both ways and
    /// denied if either is denied; an exec is asked with write false.
    public convenience init(
        options: FanotifyGuardOptions = FanotifyGuardOptions(),
        decide: @escaping @Sendable (_ pid: Int32, _ path: String, _ isExec: Bool, _ write: Bool) -> Verdict
    ) throws(EnforcementError) {
        try self.init(options: options) { (event: FanotifyEvent) -> Verdict in
            switch event.access {
            case .read: decide(event.pid, event.path, event.isExec, false)
            case .write: decide(event.pid, event.path, event.isExec, true)
            case .unknown:
                decide(event.pid, event.path, event.isExec, false) == .deny
                    || decide(event.pid, event.path, event.isExec, true) == .deny ? .deny : .allow
            }
        }
    }

    deinit {
        core.shutdown()
    }

    /// Counters since start.
    public var counters: FanotifyCounters { core.counters }

    /// Replaces every mark with the plan's: FAN_MARK_FLUSH, then each target anew.
    @discardableResult
    public func apply(_ plan: MarkPlan, fileSystem: some MarkFileSystem = LiveFileSystem()) -> MarkReport {
        core.apply(targets: plan.targets, fileSystem: fileSystem)
    }

    /// Replaces every mark with these targets.
    @discardableResult
    public func apply(targets: [MarkTarget], fileSystem: some MarkFileSystem = LiveFileSystem()) -> MarkReport {
        core.apply(targets: targets, fileSystem: fileSystem)
    }

    /// Removes every mark (the group stays; no open waits for us any more).
    public func clearMarks() {
        core.clearMarks()
    }

    /// Flushes the marks, answers what is queued, stops the thread, closes the group. Idempotent.
    public func shutdown() {
        core.shutdown()
    }
}

/// The group, its marks and its thread; the thread holds the core, never the guard, so the guard's deinit
/// can stop it.
final class GuardCore: Sendable {
    typealias Decide = FanotifyGuard.Decide

    private let fanotifyFD: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let options: FanotifyGuardOptions
    private let decide: Decide
    private let ownPID = getpid()
    private let state = Mutex(GuardState())
    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)

    private struct GuardState {
        var counters = FanotifyCounters()
        /// (device, inode) of exec-marked files → the paths they were marked under.
        var execAliases: [FileID: [String]] = [:]
    }

    struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    init(options: FanotifyGuardOptions, decide: @escaping Decide) throws(EnforcementError) {
        let flags = Fanotify.classContent | Fanotify.cloexec | Fanotify.nonblock | Fanotify.reportTID
            | Fanotify.unlimitedQueue | Fanotify.unlimitedMarks
        let fd = LinuxCalls.fanotifyInit(flags: flags, eventFlags: UInt32(O_RDONLY | O_CLOEXEC) | Fanotify.largeFile)
        guard fd >= 0 else {
            let code = errno
            throw EnforcementError(description: "fanotify_init(FAN_CLASS_CONTENT) failed: \(String(cString: strerror(code)))"
                + (code == EPERM ? " (needs CAP_SYS_ADMIN)" : code == EINVAL ? " (no permission events in this kernel?)" : ""),
                errorCode: code)
        }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            let code = errno
            close(fd)
            throw EnforcementError(description: "pipe failed: \(String(cString: strerror(code)))", errorCode: code)
        }
        for end in pipeFDs { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        fanotifyFD = fd
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        self.options = options
        self.decide = decide
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "vigil-fanotify"
        thread.start()
    }

    var counters: FanotifyCounters { state.withLock { $0.counters } }

    // MARK: - Marks

    func apply(targets: [MarkTarget], fileSystem: some MarkFileSystem = LiveFileSystem()) -> MarkReport {
        var report = MarkReport()
        guard !stopped.withLock({ $0 }) else { return report }
        clearMarks()
        var aliases: [FileID: [String]] = [:]
        for target in targets {
            let perm = target.exec ? Fanotify.openExecPerm : Fanotify.openPerm
            let directoryBits = Fanotify.eventOnChild | (options.markDirectoryOpens && !target.exec ? Fanotify.onDirectory : 0)
            switch target.scope {
            case .file:
                mark(target.path, mask: perm, report: &report)
                if target.exec, let id = GuardCore.fileID(path: target.path) { aliases[id, default: []].append(target.path) }
            case .children:
                mark(target.path, mask: perm | directoryBits, onlyDirectory: true, report: &report)
            case .tree:
                let walk = MarkPlanner.expand(tree: target.path, fileSystem: fileSystem,
                                              maxDepth: options.maxTreeDepth, maxDirectories: options.maxTreeDirectories)
                for directory in walk.directories {
                    mark(directory, mask: perm | directoryBits, onlyDirectory: true, report: &report)
                }
                if walk.skipped > 0 {
                    report.skippedDirectories += walk.skipped
                    report.truncatedTrees.append(target.path)
                }
            }
        }
        state.withLock { $0.execAliases = aliases }
        return report
    }

    /// Removes every inode mark (the group stays).
    func clearMarks() {
        _ = LinuxCalls.fanotifyMark(fanotifyFD, flags: Fanotify.markFlush, mask: 0, path: nil)
        state.withLock { $0.execAliases = [:] }
    }

    private func mark(_ path: String, mask: UInt64, onlyDirectory: Bool = false, report: inout MarkReport) {
        let flags = Fanotify.markAdd | (onlyDirectory ? Fanotify.markOnlyDirectory | Fanotify.markDontFollow : 0)
        if LinuxCalls.fanotifyMark(fanotifyFD, flags: flags, mask: mask, path: path) == 0 {
            report.marked += 1
        } else {
            report.failures.append(MarkFailure(path: path, errorCode: errno))
        }
    }

    private static func fileID(path: String) -> FileID? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    private static func fileID(fd: Int32) -> FileID? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        return FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    // MARK: - Lifecycle

    /// Flushes the marks, answers what is queued, stops the thread, closes the group. Idempotent.
    func shutdown() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        _ = LinuxCalls.fanotifyMark(fanotifyFD, flags: Fanotify.markFlush, mask: 0, path: nil)
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        finished.wait()
        close(fanotifyFD)
        close(wakeRead)
        close(wakeWrite)
    }

    // MARK: - The event thread

    private func run() {
        let capacity = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer {
            buffer.deallocate()
            finished.signal()
        }
        var fds = [pollfd(fd: fanotifyFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                state.withLock { $0.counters.errors += 1 }
                usleep(1000)
                continue
            }
            // Drain first, so that what was queued before shutdown is answered by us.
            drain(buffer)
            if fds[1].revents != 0 { return }
        }
    }

    private func drain(_ buffer: UnsafeMutableRawBufferPointer) {
        while true {
            let count = read(fanotifyFD, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                if errno != EAGAIN { state.withLock { $0.counters.errors += 1 } }
                return
            }
            if count == 0 { return }
            let readAt = monotonicNanoseconds()
            var offset = 0
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            while offset + Fanotify.metadataLength <= count {
                let event = FanotifyEventMetadata(bytes, at: offset)
                guard event.eventLength >= UInt32(Fanotify.metadataLength), offset + Int(event.eventLength) <= count else {
                    state.withLock { $0.counters.errors += 1 }
                    break
                }
                handle(event, readAt: readAt)
                offset += Int(event.eventLength)
            }
        }
    }

    /// The answer after an internal error: fail-closed denies a session's processes and allows the rest.
    static func failVerdict(_ mode: FailMode, pid: Int32, isSessionProcess: (Int32) -> Bool) -> Verdict {
        switch mode {
        case .open: .allow
        case .closed: isSessionProcess(pid) ? .deny : .allow
        }
    }

    private func handle(_ event: FanotifyEventMetadata, readAt: UInt64) {
        if event.mask & Fanotify.queueOverflow != 0 {
            state.withLock { $0.counters.errors += 1 }
        }
        guard event.fd >= 0 else { return }
        defer { close(event.fd) }
        guard event.mask & Fanotify.permissionEvents != 0 else { return }

        var verdict = Verdict.allow
        var own = false
        var failed = false
        var accessUnknown = false
        // The layout is version 3 since 2.6.37; a different one would still place fd where we read it.
        if event.version != Fanotify.metadataVersion {
            failed = true
        }
        let tid = event.pid
        let pid = BlockedCall.threadGroup(of: tid)
        if !failed, pid == ownPID {
            own = true
        } else if !failed, let pid, let path = readLink("/proc/self/fd/\(event.fd)") {
            let isExec = event.mask & Fanotify.openExecPerm != 0
            let call = BlockedCall.read(tid: tid)
            var request = FanotifyEvent(pid: pid, tid: tid, path: path, isExec: isExec, access: call.access,
                                        execPath: nil, argv: nil, markedAs: [])
            if isExec {
                request.access = .read
                request.execPath = call.execPath
                request.argv = call.argv
                if let id = GuardCore.fileID(fd: event.fd) {
                    request.markedAs = state.withLock { $0.execAliases[id] ?? [] }
                }
            } else if call.access == .unknown {
                accessUnknown = true
            }
            verdict = decide(request)
        } else {
            failed = true
        }
        if failed {
            verdict = GuardCore.failVerdict(options.failMode, pid: pid ?? tid, isSessionProcess: options.isSessionProcess)
        }

        // Counted before the answer is written, so that once the opener resumes its event is in the counters.
        let elapsed = monotonicNanoseconds() &- readAt
        state.withLock { state in
            state.counters.events += 1
            if verdict == .allow { state.counters.allowed += 1 } else { state.counters.denied += 1 }
            if own { state.counters.ownProcess += 1 }
            if failed { state.counters.failModeAnswers += 1; state.counters.errors += 1 }
            if accessUnknown { state.counters.accessUnknown += 1 }
            if elapsed > options.slowAnswerNanoseconds { state.counters.slowAnswers += 1 }
        }
        var response = (fd: event.fd, response: verdict == .allow ? Fanotify.allow : Fanotify.deny)
        let written = withUnsafeBytes(of: &response) { write(fanotifyFD, $0.baseAddress, 8) }
        if written != 8 { state.withLock { $0.counters.errors += 1 } }
    }
}

// SPDX-License-Identifier: Apache-2.0
// Real denial of opens and execs: a fanotify group of class FAN_CLASS_CONTENT whose permission events
// (FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM) one thread answers through the caller's decision closure. Only the
// inodes a `MarkPlan` names are marked, so only those opens wait for user space.

import Foundation
import Glibc
import Synchronization
import VigilHost

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
    /// The paths under which the plan marked this inode: for an exec, e.g. `/usr/bin/nc` for
    /// `/usr/bin/nc.openbsd`, so that a name rule still matches when the kernel resolved a symlink; for an
    /// open, the protected name of a file reached by another one (a hard link, a rename out of the tree,
    /// a bind mount), so that the file is decided by what it is, not by the name it was opened under.
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
    /// Files marked by their inode inside tree and directory targets (beyond it, only by name).
    public var maxMarkedFiles = 65536
    /// Watch tree and directory targets for new entries and mark them as they appear.
    public var watchForNewEntries = true
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
    /// Re-plans after a guarded directory got a new entry, and marks that failed in them.
    public var replans = 0
    public var markFailures = 0

    public var description: String {
        "events \(events) allowed \(allowed) denied \(denied) own \(ownProcess) errors \(errors) "
            + "fail-mode \(failModeAnswers) slow \(slowAnswers) access-unknown \(accessUnknown) replans \(replans) mark-failures \(markFailures)"
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
    /// Marks removed because the plan no longer names them, and marks left in place because their
    /// path now names another inode (harmless: the inode's events are decided, and allowed, by the policy).
    public var removed = 0
    public var stale = 0
    /// Files inside guarded directories marked by inode (every name of them is refused).
    public var files = 0
    /// Files left unmarked by `maxMarkedFiles` (protected by name only).
    public var skippedFiles = 0
    /// Why new entries of guarded directories are not watched, if they are not (they are then marked
    /// on the next re-plan only).
    public var watchProblem: String?
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

    /// Puts the plan's marks in force, by difference (see `GuardCore.apply`).
    @discardableResult
    public func apply(_ plan: MarkPlan, fileSystem: some MarkFileSystem = LiveFileSystem()) -> MarkReport {
        core.apply(targets: plan.targets, fileSystem: fileSystem)
    }

    /// Puts these targets' marks in force, by difference.
    @discardableResult
    public func apply(targets: [MarkTarget], fileSystem: some MarkFileSystem = LiveFileSystem()) -> MarkReport {
        core.apply(targets: targets, fileSystem: fileSystem)
    }

    /// The names under which the plan marked the inode at `path`: a tool call about to open it is
    /// decided under them too (hard links, renames and bind mounts reach one inode by other names).
    public func markedNames(of path: String) -> [String] {
        core.markedNames(of: path)
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
    /// The notification group that reports new entries of guarded directories (-1 when unavailable).
    private let watchFD: Int32
    private let watchProblem: String?
    /// Applies (first, and after new entries appear) one at a time.
    private let applyLock = Mutex<Void>(())
    private let replanQueue = DispatchQueue(label: "vigil-fanotify-replan")

    private struct GuardState {
        var counters = FanotifyCounters()
        /// (device, inode) of marked files → the paths they were marked under.
        var aliases: [FileID: [String]] = [:]
        /// Every mark in force, by inode: marks change by difference, never by flush.
        var applied: [FileID: AppliedMark] = [:]
        /// Directories watched for new entries, by inode.
        var watched: [FileID: String] = [:]
        var targets: [MarkTarget] = []
        var replanScheduled = false
    }

    struct AppliedMark {
        var path: String
        var mask: UInt64
        var directory: Bool
    }

    struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    init(options: FanotifyGuardOptions, decide: @escaping Decide) throws(EnforcementError) {
        let flags =
            Fanotify.classContent | Fanotify.cloexec | Fanotify.nonblock | Fanotify.reportTID
            | Fanotify.unlimitedQueue | Fanotify.unlimitedMarks
        let fd = LinuxCalls.fanotifyInit(flags: flags, eventFlags: UInt32(O_RDONLY | O_CLOEXEC) | Fanotify.largeFile)
        guard fd >= 0 else {
            let code = errno
            throw EnforcementError(
                description: "fanotify_init(FAN_CLASS_CONTENT) failed: \(String(cString: strerror(code)))"
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
        if options.watchForNewEntries {
            let watch = LinuxCalls.fanotifyInit(
                flags: Fanotify.classNotify | Fanotify.reportDirFIDName | Fanotify.cloexec | Fanotify.nonblock | Fanotify.unlimitedQueue
                    | Fanotify.unlimitedMarks,
                eventFlags: UInt32(O_RDONLY | O_CLOEXEC))
            watchFD = watch
            watchProblem = watch < 0 ? "fanotify_init(FAN_REPORT_DIR_FID) failed: \(String(cString: strerror(errno)))" : nil
        } else {
            watchFD = -1
            watchProblem = "disabled"
        }
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

    /// Puts `targets` in force by difference: what is new is marked first, then what the plan no longer
    /// names is removed, so a file that stays protected is never unmarked for an instant. Files inside
    /// directory and tree targets are marked by inode too, so every name of them (a hard link, a rename
    /// out of the tree, a bind mount) is refused; new entries of those directories are watched and marked
    /// as they appear.
    func apply(targets: [MarkTarget], fileSystem: some MarkFileSystem = LiveFileSystem()) -> MarkReport {
        var report = MarkReport()
        report.watchProblem = watchProblem
        guard !stopped.withLock({ $0 }) else { return report }
        return applyLock.withLock { _ in
            var desired: [FileID: AppliedMark] = [:]
            var aliases: [FileID: [String]] = [:]
            var watch: [FileID: String] = [:]
            var files = 0
            func want(_ path: String, _ mask: UInt64, directory: Bool, alias: Bool) {
                guard let id = directory ? GuardCore.fileID(lpath: path) : GuardCore.fileID(path: path) else {
                    report.failures.append(MarkFailure(path: path, errorCode: ENOENT))
                    return
                }
                desired[id, default: AppliedMark(path: path, mask: 0, directory: directory)].mask |= mask
                if alias, !(aliases[id]?.contains(path) ?? false) { aliases[id, default: []].append(path) }
            }
            func wantFiles(in directory: String, _ perm: UInt64) {
                for name in fileSystem.regularFiles(in: directory) ?? [] {
                    guard files < options.maxMarkedFiles else {
                        report.skippedFiles += 1
                        continue
                    }
                    files += 1
                    want(MarkPlanner.join(directory, name), perm, directory: false, alias: true)
                }
                if watchFD >= 0, let id = GuardCore.fileID(lpath: directory) { watch[id] = directory }
            }
            for target in targets {
                let perm = target.exec ? Fanotify.openExecPerm : Fanotify.openPerm
                let directoryBits = Fanotify.eventOnChild | (options.markDirectoryOpens && !target.exec ? Fanotify.onDirectory : 0)
                switch target.scope {
                case .file:
                    want(target.path, perm, directory: false, alias: true)
                case .children:
                    want(target.path, perm | directoryBits, directory: true, alias: false)
                    wantFiles(in: target.path, perm)
                case .tree:
                    let walk = MarkPlanner.expand(
                        tree: target.path, fileSystem: fileSystem,
                        maxDepth: options.maxTreeDepth, maxDirectories: options.maxTreeDirectories)
                    for directory in walk.directories {
                        want(directory, perm | directoryBits, directory: true, alias: false)
                        wantFiles(in: directory, perm)
                    }
                    if walk.skipped > 0 {
                        report.skippedDirectories += walk.skipped
                        report.truncatedTrees.append(target.path)
                    }
                }
            }
            report.files = files
            let applied = state.withLock { $0.applied }
            var inForce: [FileID: AppliedMark] = [:]
            // 1. Add: new inodes, and new bits on inodes already marked.
            for (id, mark) in desired {
                let missing = mark.mask & ~(applied[id]?.mask ?? 0)
                if missing == 0 {
                    inForce[id] = mark
                    continue
                }
                if self.mark(mark.path, mask: missing, flags: Fanotify.markAdd, directory: mark.directory, report: &report) {
                    inForce[id] = mark
                    report.marked += 1
                } else if var old = applied[id] {
                    old.path = mark.path
                    inForce[id] = old
                }
            }
            // 2. Remove what is no longer named, by a path that still names the same inode.
            for (id, mark) in applied {
                let extra = mark.mask & ~(desired[id]?.mask ?? 0)
                guard extra != 0 else { continue }
                let current = mark.directory ? GuardCore.fileID(lpath: mark.path) : GuardCore.fileID(path: mark.path)
                guard current == id else {
                    report.stale += 1
                    continue
                }
                if LinuxCalls.fanotifyMark(
                    fanotifyFD, flags: Fanotify.markRemove | (mark.directory ? Fanotify.markDontFollow : 0),
                    mask: extra, path: mark.path) == 0
                {
                    report.removed += 1
                } else if desired[id] == nil {
                    inForce[id] = mark  // still in the kernel: remembered, so a later plan can remove it
                }
            }
            updateWatches(watch, report: &report)
            state.withLock { state in
                state.applied = inForce
                state.aliases = aliases
                state.targets = targets
            }
            return report
        }
    }

    /// The directories watched for new entries, by difference like the permission marks.
    private func updateWatches(_ wanted: [FileID: String], report: inout MarkReport) {
        guard watchFD >= 0 else { return }
        let mask = Fanotify.create | Fanotify.movedTo | Fanotify.onDirectory
        let current = state.withLock { $0.watched }
        var now: [FileID: String] = [:]
        for (id, path) in wanted {
            if current[id] != nil {
                now[id] = path
            } else if LinuxCalls.fanotifyMark(
                watchFD, flags: Fanotify.markAdd | Fanotify.markOnlyDirectory | Fanotify.markDontFollow,
                mask: mask, path: path) == 0
            {
                now[id] = path
            } else if report.watchProblem == nil {
                report.watchProblem = "\(path) cannot be watched for new entries: \(String(cString: strerror(errno)))"
            }
        }
        for (id, path) in current where wanted[id] == nil {
            if GuardCore.fileID(lpath: path) == id {
                _ = LinuxCalls.fanotifyMark(watchFD, flags: Fanotify.markRemove | Fanotify.markDontFollow, mask: mask, path: path)
            }
        }
        state.withLock { $0.watched = now }
    }

    /// A guarded directory has a new entry: the plan in force is applied again (by difference, so only
    /// the new entry is marked), shortly, once for a burst.
    private func scheduleReplan() {
        let first = state.withLock { state in
            defer { state.replanScheduled = true }
            return !state.replanScheduled
        }
        guard first else { return }
        replanQueue.asyncAfter(deadline: .now() + .milliseconds(2)) { [self] in
            let targets = state.withLock { state in
                state.replanScheduled = false
                return state.targets
            }
            guard !stopped.withLock({ $0 }) else { return }
            let report = apply(targets: targets)
            state.withLock { state in
                state.counters.replans += 1
                state.counters.markFailures += report.failures.count
            }
        }
    }

    /// The marked names of the inode at `path` (symlinks followed): what a tool call about to open it
    /// must be decided under as well.
    func markedNames(of path: String) -> [String] {
        guard let id = GuardCore.fileID(path: path) else { return [] }
        return state.withLock { $0.aliases[id] ?? [] }
    }

    /// Removes every inode mark (the group stays).
    func clearMarks() {
        applyLock.withLock { _ in
            _ = LinuxCalls.fanotifyMark(fanotifyFD, flags: Fanotify.markFlush, mask: 0, path: nil)
            if watchFD >= 0 { _ = LinuxCalls.fanotifyMark(watchFD, flags: Fanotify.markFlush, mask: 0, path: nil) }
            state.withLock { state in
                state.aliases = [:]
                state.applied = [:]
                state.watched = [:]
                state.targets = []
            }
        }
    }

    private func mark(_ path: String, mask: UInt64, flags: UInt32, directory: Bool, report: inout MarkReport) -> Bool {
        let flags = flags | (directory ? Fanotify.markOnlyDirectory | Fanotify.markDontFollow : 0)
        if LinuxCalls.fanotifyMark(fanotifyFD, flags: flags, mask: mask, path: path) == 0 { return true }
        report.failures.append(MarkFailure(path: path, errorCode: errno))
        return false
    }

    private static func fileID(path: String) -> FileID? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// The inode of `path` itself (a symlink is not followed).
    private static func fileID(lpath path: String) -> FileID? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
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
        if watchFD >= 0 { close(watchFD) }
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
        var fds = [
            pollfd(fd: fanotifyFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            pollfd(fd: watchFD, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            fds[2].revents = 0
            let ready = poll(&fds, watchFD >= 0 ? 3 : 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                state.withLock { $0.counters.errors += 1 }
                usleep(1000)
                continue
            }
            // Drain first, so that what was queued before shutdown is answered by us.
            drain(buffer)
            if watchFD >= 0, fds[2].revents != 0, drainWatch(buffer) { scheduleReplan() }
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

    /// Reads the new-entry notifications (their content does not matter: any of them re-applies the
    /// plan); true when there was at least one.
    private func drainWatch(_ buffer: UnsafeMutableRawBufferPointer) -> Bool {
        var any = false
        while true {
            let count = read(watchFD, buffer.baseAddress, buffer.count)
            if count > 0 {
                any = true
                continue
            }
            if count < 0, errno == EINTR { continue }
            return any
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
            var request = FanotifyEvent(
                pid: pid, tid: tid, path: path, isExec: isExec, access: call.access,
                execPath: nil, argv: nil, markedAs: [])
            if let id = GuardCore.fileID(fd: event.fd) {
                request.markedAs = state.withLock { $0.aliases[id] ?? [] }
            }
            if isExec {
                request.access = .read
                request.execPath = call.execPath
                request.argv = call.argv
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

// SPDX-License-Identifier: Apache-2.0
// What every service of vigild reports to: the signed audit log (durable appends, failures
// counted; kernel entries batched to share fsyncs) and the operator's list of recent errors
// (`vigil status`).
import Foundation
import Glibc
import Logging
import Synchronization
import VigilAudit
import VigilRuntime

final class JournalCounters: Sendable {
    let auditEntries = Atomic<Int>(0)
    let auditFailures = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
}

final class DaemonJournal: Sendable {
    let audit: AuditLog
    let counters = JournalCounters()
    let logger: Logger
    private let errors = Mutex<[String]>([])
    /// Kernel-event entries waiting to share one durable append (see `recordKernel`).
    private let kernelBatch = KernelAuditBatch()

    init(audit: AuditLog, logger: Logger) {
        self.audit = audit
        self.logger = logger
    }

    /// The last 64 errors, each with its time.
    var recentErrors: [String] { errors.withLock { $0 } }

    /// Something went wrong that the operator must see: kept (the last 64) for `vigil status`.
    /// `metadata` is plain strings so callers need not import Logging.
    func noteError(_ message: String, metadata: [String: String] = [:]) {
        counters.errors.add(1, ordering: .relaxed)
        errors.withLock { recentErrors in
            recentErrors.append("\(Self.isoNow()) \(message)")
            if recentErrors.count > 64 { recentErrors.removeFirst(recentErrors.count - 64) }
        }
        logger.error("\(message)", metadata: metadata.mapValues { .string($0) })
    }

    /// Appends durably; a failure is counted, kept for status, and returned.
    @discardableResult
    func record(_ entries: [AuditEntry]) -> String? {
        guard !entries.isEmpty else { return nil }
        do {
            _ = try audit.append(entries)
            counters.auditEntries.add(entries.count, ordering: .relaxed)
            return nil
        } catch {
            counters.auditFailures.add(1, ordering: .relaxed)
            let message = "audit append of \(entries.count) entries failed: \(error)"
            noteError(message)
            return message
        }
    }

    /// Kernel entries share fsyncs (see `KernelAuditBatch`): denials at once, allows batched;
    /// `force` appends whatever waits.
    func recordKernel(_ entries: [AuditEntry], force: Bool) {
        record(kernelBatch.add(entries, force: force))
    }

    /// Entries appended by someone else on this log (the hook handler appends its own).
    func countAppended(_ count: Int) { counters.auditEntries.add(count, ordering: .relaxed) }

    static func isoNow() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}

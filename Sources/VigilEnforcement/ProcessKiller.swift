// SPDX-License-Identifier: Apache-2.0
// The last resort: SIGKILL through a pidfd, so the signal reaches the process the pidfd was opened on
// even if its pid is reused meanwhile (open the handle as early as possible: at the exec event).

import Glibc

/// A pidfd on one process.
public final class ProcessHandle: Sendable {
    public let pid: Int32
    private let fd: Int32

    /// pidfd_open(pid, 0). Throws when the process is gone (ESRCH) or pidfds are unsupported (ENOSYS).
    public init(pid: Int32) throws(EnforcementError) {
        let fd = LinuxCalls.syscall(LinuxCalls.pidfdOpen, Int(pid), 0)
        guard fd >= 0 else {
            let code = errno
            throw EnforcementError(description: "pidfd_open(\(pid)) failed: \(String(cString: strerror(code)))", errorCode: code)
        }
        self.pid = pid
        self.fd = Int32(fd)
    }

    deinit {
        close(fd)
    }

    /// pidfd_send_signal(SIGKILL): true when sent. A process that already exited gives ESRCH (false).
    @discardableResult
    public func kill() -> KillOutcome {
        let result = LinuxCalls.syscall(LinuxCalls.pidfdSendSignal, Int(fd), Int(SIGKILL), 0, 0)
        return result == 0 ? .killed : KillOutcome(errorCode: errno)
    }
}

public enum KillOutcome: Sendable, Hashable {
    case killed
    /// The process had exited (ESRCH).
    case gone
    case failed(errorCode: Int32)

    init(errorCode: Int32) {
        self = errorCode == ESRCH ? .gone : .failed(errorCode: errorCode)
    }

    public var succeeded: Bool { self == .killed }
}

public enum ProcessKiller {
    /// pidfd_open + pidfd_send_signal(SIGKILL). Between the caller learning the pid and this call the pid
    /// could be reused; a `ProcessHandle` opened earlier closes that window.
    @discardableResult
    public static func kill(pid: Int32) -> KillOutcome {
        do {
            return try ProcessHandle(pid: pid).kill()
        } catch {
            return KillOutcome(errorCode: error.errorCode)
        }
    }
}

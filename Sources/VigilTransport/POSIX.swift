// SPDX-License-Identifier: Apache-2.0
// The few system-call helpers the transport keeps: errno text, monotonic time, poll with a deadline,
// whole-buffer send, and the struct Glibc's Swift module does not import.

import Glibc

enum POSIX {
    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    enum WaitResult { case ready, timedOut, failed(Int32) }

    /// Waits until `fd` has `events` or the monotonic `deadline` (ns) passes. Retries EINTR.
    static func wait(_ fd: Int32, for events: Int16, until deadline: UInt64) -> WaitResult {
        while true {
            let now = monotonicNanoseconds()
            guard now < deadline else { return .timedOut }
            // Round up so a sub-millisecond remainder still waits instead of spinning.
            let milliseconds = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&entry, 1, milliseconds)
            if result > 0 { return .ready }
            if result == 0 { continue }  // re-check the deadline
            if errno == EINTR { continue }
            return .failed(errno)
        }
    }

    /// Sends all of `bytes`; returns 0 on success or the errno. MSG_NOSIGNAL: a peer that went away is an
    /// error value here, never a SIGPIPE that kills the daemon.
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let sent = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent > 0 {
                offset += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                return sent < 0 ? errno : EPIPE
            }
        }
        return 0
    }

    static func setTimeout(_ fd: Int32, option: Int32, _ duration: Duration) {
        let nanoseconds = nanoseconds(duration)
        var value = timeval(tv_sec: Int(nanoseconds / 1_000_000_000), tv_usec: Int(nanoseconds % 1_000_000_000 / 1000))
        setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func setCloseOnExec(_ fd: Int32) {
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
    }

    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    static func socketStream(family: Int32) -> Int32 {
        socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }
}

/// `struct ucred` (behind _GNU_SOURCE in <sys/socket.h>, so not imported): pid, uid, gid as the kernel
/// recorded them when the peer called connect(2) or socketpair(2).
struct UCred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// An errno carried as a value.
struct TransportErrno: Error, Sendable {
    var code: Int32
}

// SPDX-License-Identifier: Apache-2.0
// The few system-call helpers the transport keeps: errno text, durations, whole-buffer send (the tests'
// raw client), socket options, and the struct Glibc's Swift module does not import.

import Glibc

package enum POSIX {
    package static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }

    package static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
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

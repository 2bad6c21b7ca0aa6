// SPDX-License-Identifier: Apache-2.0
// The few system-call helpers the server and the client share: errno text, monotonic time, poll with a
// deadline, whole-buffer send, joinable threads, and the calls Glibc's Swift module does not import.

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

    // accept4(2) is behind _GNU_SOURCE, so Glibc's module does not import it. Resolved once; without it,
    // accept + FD_CLOEXEC (a tiny window in which a concurrent fork+exec could inherit the fd).
    private typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32
    private static let accept4: Accept4? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "accept4") else { return nil }
        return unsafeBitCast(symbol, to: Accept4.self)
    }()

    static func acceptCloseOnExec(_ fd: Int32) -> Int32 {
        if let accept4 { return accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue)) }
        let client = accept(fd, nil, nil)
        if client >= 0 { setCloseOnExec(client) }
        return client
    }
}

/// `struct ucred` (behind _GNU_SOURCE in <sys/socket.h>, so not imported): pid, uid, gid as the kernel
/// recorded them when the peer called connect(2) or socketpair(2).
struct UCred {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// A joinable OS thread. Connection handlers block (reads, the caller's handler), so they run on their own
/// threads and never on Swift's cooperative pool.
enum JoinableThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread, or returns the errno pthread_create gave.
    static func spawn(_ body: @escaping @Sendable () -> Void) -> Result<pthread_t, TransportErrno> {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return .failure(TransportErrno(code: result))
        }
        return .success(thread)
    }

    static func join(_ thread: pthread_t) {
        pthread_join(thread, nil)
    }
}

/// An errno carried as a value.
struct TransportErrno: Error, Sendable {
    var code: Int32
}

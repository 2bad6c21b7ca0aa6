// SPDX-License-Identifier: Apache-2.0
// A minimal HTTP/1.1 server for the daemon's local API and Claude Code's http hooks: one accept thread,
// one thread per connection, blocking I/O. Small enough to audit, and the handler runs on a plain OS
// thread so it may block (policy, audit append) without starving Swift's cooperative pool.
//
// Thread bookkeeping: every connection thread is registered (fd and pthread) under `state` before it can
// finish, removes itself under `state` before closing its fd (so stop() never shuts down a reused fd),
// and is joined exactly once: by the accept thread while running, by stop() after.

import Glibc
import Synchronization

public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest, HTTPConnection) -> HTTPResponse

    public let listener: Listener
    public let configuration: Configuration
    /// The address the listener is bound to (for TCP with port 0, the chosen port).
    public let boundAddress: SocketAddress

    let handler: Handler
    let liveCounters = HTTPServerCounters()
    let stopping = Atomic<Bool>(false)
    private let listenFD: Int32
    /// stop() writes to wake[1]; the accept thread polls wake[0] beside the listener.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// The inode of the Unix socket file this server created, so stop() removes only its own file.
    private let unixSocketInode: ino_t?
    private let state = Mutex(State())
    /// Held for the whole of stop(): a second caller waits for the first to finish, then returns.
    private let stopLock = Mutex(false)

    struct State {
        var acceptThread: pthread_t?
        var connections: [UInt64: (fd: Int32, thread: pthread_t)] = [:]
        /// Connection threads that have finished and wait to be joined.
        var finished: [pthread_t] = []
        var nextID: UInt64 = 1
    }

    /// The bound TCP port; nil for a Unix socket.
    public var port: UInt16? { boundAddress.port }

    /// Live counters (a snapshot).
    public var counters: Counters { liveCounters.snapshot }

    /// Open connections right now.
    public var openConnections: Int { state.withLock { $0.connections.count } }

    /// Binds, listens and starts accepting. `handler` is called on the connection's own thread, one request
    /// at a time per connection.
    /// - Throws: `HTTPServerError` naming the listener and the step that failed.
    public init(listener: Listener, configuration: Configuration = Configuration(), handler: @escaping Handler) throws(HTTPServerError) {
        self.listener = listener
        self.configuration = configuration
        self.handler = handler
        let bound = try HTTPServer.bind(listener, backlog: configuration.backlog)
        listenFD = bound.fd
        boundAddress = bound.address
        unixSocketInode = bound.inode

        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            let code = errno
            HTTPServer.closeListener(bound.fd, listener: listener, inode: bound.inode)
            throw HTTPServerError(.systemCall, listener: listener.description, errno: code, "socketpair for the stop signal")
        }
        wakeRead = pair[0]
        wakeWrite = pair[1]

        switch JoinableThread.spawn({ [self] in acceptLoop() }) {
        case .success(let thread):
            state.withLock { $0.acceptThread = thread }
        case .failure(let error):
            HTTPServer.closeListener(bound.fd, listener: listener, inode: bound.inode)
            close(pair[0])
            close(pair[1])
            throw HTTPServerError(.threadStart, listener: listener.description, errno: error.code, "starting the accept thread")
        }
    }

    /// Stops accepting, lets each connection finish the request it is handling (its response is written with
    /// `Connection: close`), closes idle connections, and joins every thread. Removes the Unix socket file
    /// this server created. Safe to call more than once and from several threads; not from a handler.
    public func stop() {
        stopLock.withLock { stopped in
            guard !stopped else { return }
            stopped = true
            stopping.store(true, ordering: .sequentiallyConsistent)

            var byte: UInt8 = 1
            _ = send(wakeWrite, &byte, 1, Int32(MSG_NOSIGNAL))
            if let accept = state.withLock({ $0.acceptThread }) { JoinableThread.join(accept) }
            HTTPServer.closeListener(listenFD, listener: listener, inode: unixSocketInode)
            close(wakeRead)
            close(wakeWrite)

            // No thread registers a connection any more. SHUT_RD wakes a thread waiting for a request (it reads
            // end-of-file) but leaves a thread inside the handler free to write its response.
            let threads = state.withLock { state -> [pthread_t] in
                for connection in state.connections.values { shutdown(connection.fd, Int32(SHUT_RD)) }
                let threads = state.connections.values.map(\.thread) + state.finished
                state.finished.removeAll()
                return threads
            }
            for thread in threads { JoinableThread.join(thread) }
            // Threads collected above that finished meanwhile re-listed themselves; they are joined already.
            state.withLock { $0.finished.removeAll() }
        }
    }

    // MARK: - Accepting

    private func acceptLoop() {
        var descriptors = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while !stopping.load(ordering: .relaxed) {
            descriptors[0].revents = 0
            descriptors[1].revents = 0
            if poll(&descriptors, 2, -1) < 0 {
                if errno != EINTR {
                    liveCounters.bump(.acceptFailures)
                    usleep(10_000)
                }
                continue
            }
            if descriptors[1].revents != 0 || stopping.load(ordering: .relaxed) { break }
            guard descriptors[0].revents != 0 else { continue }

            let fd = POSIX.acceptCloseOnExec(listenFD)
            if fd < 0 {
                switch errno {
                case EINTR, EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO: continue
                default:
                    // EMFILE/ENFILE/ENOBUFS: the pending connection stays queued, so back off instead of spinning.
                    liveCounters.bump(.acceptFailures)
                    usleep(10_000)
                    continue
                }
            }
            admit(fd)
            // After admitting, so a new client never waits for an old thread to finish exiting.
            reapFinishedThreads()
        }
    }

    private func reapFinishedThreads() {
        let finished = state.withLock { state -> [pthread_t] in
            defer { state.finished.removeAll(keepingCapacity: true) }
            return state.finished
        }
        for thread in finished { JoinableThread.join(thread) }
    }

    private func admit(_ fd: Int32) {
        if state.withLock({ $0.connections.count }) >= configuration.maxConnections {
            reject(fd)
            return
        }
        POSIX.setTimeout(fd, option: SO_SNDTIMEO, configuration.idleTimeout)
        var credentials: PeerCredentials?
        if case .unix = listener {
            do {
                credentials = try PeerIdentity.credentials(ofUnixSocket: fd)
            } catch {
                liveCounters.bump(.peerLookupFailures)
            }
        } else {
            var on: Int32 = 1  // responses are single writes; don't let Nagle hold back a small one
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        let local = SocketAddress.of(fd, local: true) ?? boundAddress
        let remote = SocketAddress.of(fd, local: false) ?? .unix(path: "")

        let admitted = state.withLock { state -> Bool in
            let id = state.nextID
            state.nextID += 1
            let connection = HTTPConnection(id: id, localAddress: local, remoteAddress: remote, peerCredentials: credentials, counters: liveCounters)
            // Counted before the thread runs, so a client that got a response always finds itself counted.
            liveCounters.bump(.connections)
            // Spawned under the lock: the thread's exit path takes the lock, so it cannot unregister before
            // it is registered.
            guard case .success(let thread) = JoinableThread.spawn({ [self] in serve(connection, fd: fd) }) else {
                liveCounters.connections.wrappingSubtract(1, ordering: .relaxed)
                return false
            }
            state.connections[id] = (fd, thread)
            return true
        }
        if !admitted { reject(fd) }
    }

    /// Over the cap or out of threads: a best-effort 503 (never blocking the accept thread), then close.
    private func reject(_ fd: Int32) {
        liveCounters.bump(.rejectedConnections)
        let response = HTTPResponse.text(status: 503, "too many connections").serialized(closing: true, version: .http1_1, head: false)
        _ = response.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        close(fd)
    }

    /// Called by a connection thread as its last act before closing its fd.
    func unregister(_ id: UInt64) {
        state.withLock { state in
            if let entry = state.connections.removeValue(forKey: id) { state.finished.append(entry.thread) }
        }
    }

    // MARK: - Binding

    private static func bind(_ listener: Listener, backlog: Int32) throws(HTTPServerError) -> (fd: Int32, address: SocketAddress, inode: ino_t?) {
        let name = listener.description
        let address: SocketAddress
        switch listener {
        case .tcp(let host, let port):
            guard let parsed = SocketAddress.parse(host: host, port: port) else {
                throw HTTPServerError(.invalidAddress, listener: name, "\(host) is not a numeric IPv4 or IPv6 address")
            }
            address = parsed
        case .unix(let path, _):
            guard !path.isEmpty, path.utf8.count <= SocketAddress.maxUnixPathBytes, !path.utf8.contains(0) else {
                throw HTTPServerError(.invalidAddress, listener: name, "a Unix socket path must be 1...\(SocketAddress.maxUnixPathBytes) bytes")
            }
            try removeStaleSocket(at: path)
            address = .unix(path: path)
        }

        let family: Int32
        switch address {
        case .ip(let bytes, _): family = bytes.count == 4 ? AF_INET : AF_INET6
        case .unix: family = AF_UNIX
        }
        let fd = POSIX.socketStream(family: family)
        guard fd >= 0 else { throw HTTPServerError(.systemCall, listener: name, errno: errno, "socket") }
        if family != AF_UNIX {
            var on: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = address.withSockaddr { Glibc.bind(fd, $0, $1) } ?? -1
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw HTTPServerError(.systemCall, listener: name, errno: code, "bind")
        }

        var inode: ino_t?
        if case .unix(let path, let mode) = listener {
            // chmod between bind and listen: until listen(2) every connect is refused, so no client ever sees
            // the socket with the umask's permissions.
            var info = stat()
            guard chmod(path, mode) == 0, lstat(path, &info) == 0 else {
                let code = errno
                close(fd)
                unlink(path)
                throw HTTPServerError(.systemCall, listener: name, errno: code, "chmod \(String(mode, radix: 8))")
            }
            inode = info.st_ino
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            closeListener(fd, listener: listener, inode: inode)
            throw HTTPServerError(.systemCall, listener: name, errno: code, "listen")
        }
        POSIX.setNonBlocking(fd)  // accept after poll must not block if the client already went away
        return (fd, SocketAddress.of(fd, local: true) ?? address, inode)
    }

    /// A socket file nobody accepts on is left over from a previous run: remove it. A live server's socket,
    /// or any other kind of file, is refused and left in place.
    private static func removeStaleSocket(at path: String) throws(HTTPServerError) {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return }
            throw HTTPServerError(.systemCall, listener: path, errno: errno, "lstat")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw HTTPServerError(.notASocket, listener: path, "the path exists and is not a socket; refusing to remove it")
        }
        let probe = POSIX.socketStream(family: AF_UNIX)
        guard probe >= 0 else { throw HTTPServerError(.systemCall, listener: path, errno: errno, "socket") }
        let connected = SocketAddress.unix(path: path).withSockaddr { connect(probe, $0, $1) } ?? -1
        let code = errno
        close(probe)
        if connected == 0 {
            throw HTTPServerError(.addressInUse, listener: path, "another server is accepting connections on this socket")
        }
        guard code == ECONNREFUSED else {
            throw HTTPServerError(.systemCall, listener: path, errno: code, "probing the existing socket")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw HTTPServerError(.systemCall, listener: path, errno: errno, "removing the stale socket")
        }
    }

    private static func closeListener(_ fd: Int32, listener: Listener, inode: ino_t?) {
        close(fd)
        guard case .unix(let path, _) = listener, let inode else { return }
        var info = stat()
        // Only our own file: a successor may already have replaced it.
        if lstat(path, &info) == 0, info.st_ino == inode, info.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    }
}

// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 server for the daemon's local API and Claude Code's http hooks, on SwiftNIO: NIO's
// parser (llhttp) and event loops, Vigil's rules on top (see `HTTPServerChannelHandler`). The handler
// may block (policy, audit append), so it runs on a thread pool, never on an event loop or on Swift's
// cooperative pool. The listening socket is made here (bind, chmod, listen) and handed to NIO, so a Unix
// socket never accepts a connection with the umask's permissions.

import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest, HTTPConnection) -> HTTPResponse

    public var listener: Listener { core.listener }
    public var configuration: Configuration { core.configuration }
    /// The address the listener is bound to (for TCP with port 0, the chosen port).
    public let boundAddress: SocketAddress

    private let core: HTTPServerCore
    private let serverChannel: any Channel
    /// The inode of the Unix socket file this server created, so stop() removes only its own file.
    private let unixSocketInode: ino_t?
    /// Held for the whole of stop(): a second caller waits for the first to finish, then returns.
    private let stopLock = Mutex(false)

    /// The bound TCP port; nil for a Unix socket.
    public var port: UInt16? { boundAddress.port }

    /// Live counters (a snapshot).
    public var counters: Counters { core.liveCounters.snapshot }

    /// Open connections right now.
    public var openConnections: Int { core.state.withLock { $0.connections.count } }

    /// Binds, listens and starts accepting. `handler` is called on a pool thread, one request at a time per
    /// connection (pipelined requests wait their turn).
    /// - Throws: `HTTPServerError` naming the listener and the step that failed.
    public init(listener: Listener, configuration: Configuration = Configuration(), handler: @escaping Handler) throws(HTTPServerError) {
        let bound = try HTTPServer.bind(listener, backlog: configuration.backlog)
        boundAddress = bound.address
        unixSocketInode = bound.inode
        let core = HTTPServerCore(listener: listener, configuration: configuration, boundAddress: bound.address, handler: handler)
        self.core = core
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in core.admit(channel) }
        do {
            serverChannel = try bootstrap.withBoundSocket(bound.fd).wait()
        } catch {
            try? core.handlerPool.syncShutdownGracefully()
            HTTPServer.removeSocketFile(listener: listener, inode: bound.inode)
            throw HTTPServerError(.threadStart, listener: listener.description, "starting the event loop: \(error)")
        }
    }

    /// Stops accepting, lets each connection finish the request it is handling (its response is written with
    /// `Connection: close`), closes idle connections, and waits for every connection to close. Removes the
    /// Unix socket file this server created. Safe to call more than once and from several threads; not from
    /// a handler or an event loop.
    public func stop() {
        stopLock.withLock { stopped in
            guard !stopped else { return }
            stopped = true
            core.stopping.store(true, ordering: .sequentiallyConsistent)
            try? serverChannel.close().wait()
            HTTPServer.removeSocketFile(listener: listener, inode: unixSocketInode)

            // No connection is admitted any more (admit checks `stopping` under `state`).
            let channels = core.state.withLock { Array($0.connections.values) }
            for channel in channels {
                channel.pipeline.fireUserInboundEventTriggered(HTTPServerStopEvent())
            }
            for channel in channels { try? channel.closeFuture.wait() }
            core.state.withLock { $0.connections.removeAll() }
            try? core.handlerPool.syncShutdownGracefully()
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
            close(fd)
            removeSocketFile(listener: listener, inode: inode)
            throw HTTPServerError(.systemCall, listener: name, errno: code, "listen")
        }
        POSIX.setNonBlocking(fd)
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

    private static func removeSocketFile(listener: Listener, inode: ino_t?) {
        guard case .unix(let path, _) = listener, let inode else { return }
        var info = stat()
        // Only our own file: a successor may already have replaced it.
        if lstat(path, &info) == 0, info.st_ino == inode, info.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    }
}

extension NIOHTTPDecoderLimitConfiguration {
    /// The whole head of a request (every header field name and value) within `headBytes`.
    init(headBytes: Int) {
        self.init()
        maxHeaderFieldSize = headBytes
        maxHeaderListSize = headBytes
    }
}

extension SocketAddress {
    /// Vigil's address for NIO's (the channel's 4-tuple, for the sock_diag lookup).
    init?(nio address: NIOCore.SocketAddress) {
        var storage = sockaddr_storage()
        let length = address.withSockAddr { pointer, length in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: min(length, $0.count))) }
            return length
        }
        self.init(storage: storage, length: length)
    }
}

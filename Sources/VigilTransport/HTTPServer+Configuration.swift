// SPDX-License-Identifier: Apache-2.0
// What the server listens on, its limits, its counters, and the ways starting it can fail.

import Glibc
import Synchronization

extension HTTPServer {
    public enum Listener: Sendable, Hashable, CustomStringConvertible {
        /// A numeric IPv4 or IPv6 host (normally 127.0.0.1). Port 0 picks an ephemeral port: read `port`.
        case tcp(host: String, port: UInt16)
        /// A Unix socket at `path`, chmod-ed to `mode` before it accepts anything. A stale socket file left at
        /// `path` is replaced; anything else there (or a live server) is an error.
        case unix(path: String, mode: mode_t)

        public var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path, _): path
            }
        }
    }

    public struct Configuration: Sendable {
        /// Open connections beyond this are answered 503 and closed at once (counted in `rejectedConnections`).
        public var maxConnections: Int
        /// Request line plus header fields.
        public var maxHeaderBytes: Int
        /// Content-Length above this is refused with 413 before any of the body is read.
        public var maxBodyBytes: Int
        /// How long a connection may wait for the next request, and how long one request may take to arrive;
        /// also the send timeout for a peer that stops reading.
        public var idleTimeout: Duration
        /// listen(2) backlog.
        public var backlog: Int32
        /// Threads that run the handler: how many requests (over all connections) are handled at once.
        public var handlerThreads: Int

        public init(
            maxConnections: Int = 256,
            maxHeaderBytes: Int = 16 * 1024,
            maxBodyBytes: Int = 16 * 1024 * 1024,
            idleTimeout: Duration = .seconds(60),
            backlog: Int32 = 128,
            handlerThreads: Int = 32
        ) {
            self.maxConnections = maxConnections
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.idleTimeout = idleTimeout
            self.backlog = backlog
            self.handlerThreads = handlerThreads
        }
    }

    /// A snapshot of the server's counters. Every refusal and failure lands in exactly one of them.
    public struct Counters: Sendable, Hashable, CustomStringConvertible {
        /// Connections accepted and served.
        public var connections = 0
        /// Connections closed at once: over `maxConnections`, or during stop.
        public var rejectedConnections = 0
        /// accept(2) failures (e.g. EMFILE); NIO retries them itself.
        public var acceptFailures = 0
        /// Complete requests handed to the handler.
        public var requests = 0
        /// Requests refused as malformed: 400, 411, 501, 505.
        public var badRequests = 0
        /// Requests refused for size: 413 (body), 431 (head).
        public var tooLarge = 0
        /// Connections closed because a request did not arrive within `idleTimeout` (partial or not).
        public var idleTimeouts = 0
        /// Connections the peer closed in the middle of a request.
        public var incompleteRequests = 0
        /// Responses that could not be written (peer gone, send timeout).
        public var writeFailures = 0
        /// Failed SO_PEERCRED at accept, or failed `peer(candidatePIDs:)` lookups.
        public var peerLookupFailures = 0

        public init() {}

        public var description: String {
            "connections \(connections) rejected \(rejectedConnections) acceptFailures \(acceptFailures) requests \(requests) "
                + "badRequests \(badRequests) tooLarge \(tooLarge) idleTimeouts \(idleTimeouts) "
                + "incomplete \(incompleteRequests) writeFailures \(writeFailures) peerLookupFailures \(peerLookupFailures)"
        }
    }
}

/// The live counters, shared by the event loops, the handler threads and the connections' peer lookups.
final class HTTPServerCounters: Sendable {
    let connections = Atomic<Int>(0)
    let rejectedConnections = Atomic<Int>(0)
    let acceptFailures = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let badRequests = Atomic<Int>(0)
    let tooLarge = Atomic<Int>(0)
    let idleTimeouts = Atomic<Int>(0)
    let incompleteRequests = Atomic<Int>(0)
    let writeFailures = Atomic<Int>(0)
    let peerLookupFailures = Atomic<Int>(0)

    enum Counter {
        case connections, rejectedConnections, acceptFailures, requests, badRequests, tooLarge
        case idleTimeouts, incompleteRequests, writeFailures, peerLookupFailures
    }

    func bump(_ counter: Counter) {
        switch counter {
        case .connections: connections.wrappingAdd(1, ordering: .relaxed)
        case .rejectedConnections: rejectedConnections.wrappingAdd(1, ordering: .relaxed)
        case .acceptFailures: acceptFailures.wrappingAdd(1, ordering: .relaxed)
        case .requests: requests.wrappingAdd(1, ordering: .relaxed)
        case .badRequests: badRequests.wrappingAdd(1, ordering: .relaxed)
        case .tooLarge: tooLarge.wrappingAdd(1, ordering: .relaxed)
        case .idleTimeouts: idleTimeouts.wrappingAdd(1, ordering: .relaxed)
        case .incompleteRequests: incompleteRequests.wrappingAdd(1, ordering: .relaxed)
        case .writeFailures: writeFailures.wrappingAdd(1, ordering: .relaxed)
        case .peerLookupFailures: peerLookupFailures.wrappingAdd(1, ordering: .relaxed)
        }
    }

    var snapshot: HTTPServer.Counters {
        var counters = HTTPServer.Counters()
        counters.connections = connections.load(ordering: .relaxed)
        counters.rejectedConnections = rejectedConnections.load(ordering: .relaxed)
        counters.acceptFailures = acceptFailures.load(ordering: .relaxed)
        counters.requests = requests.load(ordering: .relaxed)
        counters.badRequests = badRequests.load(ordering: .relaxed)
        counters.tooLarge = tooLarge.load(ordering: .relaxed)
        counters.idleTimeouts = idleTimeouts.load(ordering: .relaxed)
        counters.incompleteRequests = incompleteRequests.load(ordering: .relaxed)
        counters.writeFailures = writeFailures.load(ordering: .relaxed)
        counters.peerLookupFailures = peerLookupFailures.load(ordering: .relaxed)
        return counters
    }
}

/// Starting a server failed: which listener, which step, and the errno where there is one.
public struct HTTPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The host is not a numeric IPv4/IPv6 address, or the Unix path is empty or too long for sun_path.
        case invalidAddress
        /// Something other than a socket is at the Unix socket path; it is left alone.
        case notASocket
        /// A server is already accepting connections on the Unix socket path.
        case addressInUse
        /// lstat, unlink, socket, bind, chmod or listen failed.
        case systemCall
        /// The event loop did not take the listening socket.
        case threadStart
    }

    public let code: Code
    public let listener: String
    public let errno: Int32?
    public let message: String

    public init(_ code: Code, listener: String, errno: Int32? = nil, _ message: String) {
        self.code = code
        self.listener = listener
        self.errno = errno
        self.message = message
    }

    public var description: String {
        let base = "cannot listen on \(listener): \(message)"
        guard let errno else { return base }
        return "\(base): \(POSIX.describe(errno)) (errno \(errno))"
    }
}

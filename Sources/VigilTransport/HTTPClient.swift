// SPDX-License-Identifier: Apache-2.0
// A small blocking HTTP/1.1 client for the CLI and tests: one connection, reused while the server keeps it
// alive, one request at a time. Responses must be Content-Length framed (or end at close); this talks to
// our own server, which never sends chunked responses.

import Glibc

/// A request failed: what, against which endpoint, and the errno where the system gave one.
public struct HTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The host is not numeric, or the Unix path does not fit sun_path.
        case invalidEndpoint
        case connect
        case send
        case receive
        /// The whole request did not complete within the client's timeout.
        case timedOut
        /// The server closed the connection before a complete response.
        case closedEarly
        case malformedResponse
        case responseTooLarge
    }

    public let code: Code
    public let endpoint: HTTPClient.Endpoint
    public let errno: Int32?
    public let message: String

    public init(_ code: Code, endpoint: HTTPClient.Endpoint, errno: Int32? = nil, _ message: String) {
        self.code = code
        self.endpoint = endpoint
        self.errno = errno
        self.message = message
    }

    /// e.g. `connect /run/vigil/vigild.sock: No such file or directory (errno 2)`.
    public var description: String {
        guard let errno else { return "\(message) \(endpoint)" }
        return "\(message) \(endpoint): \(POSIX.describe(errno)) (errno \(errno))"
    }
}

/// Not thread-safe: one request at a time (each CLI invocation or test owns its client).
public final class HTTPClient {
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case unix(path: String)
        case tcp(host: String, port: UInt16)

        public var description: String {
            switch self {
            case .unix(let path): path
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    public let endpoint: Endpoint
    /// The limit for one whole request: connect, send and the complete response.
    public var timeout: Duration
    public var maxResponseBytes: Int
    private var fd: Int32 = -1
    private var pending: [UInt8] = []

    public init(_ endpoint: Endpoint, timeout: Duration = .seconds(10), maxResponseBytes: Int = 64 * 1024 * 1024) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }

    deinit { close() }

    /// Whether a connection is open (kept alive from an earlier request).
    public var isConnected: Bool { fd >= 0 }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        pending.removeAll()
    }

    /// Sends one request and reads its response. Adds Host and Content-Length; keeps the connection for the
    /// next request unless the server closes it. Never retries: a hook event must not be delivered twice.
    /// - Throws: `HTTPClientError`; the connection is closed after any error.
    public func send(_ request: HTTPRequest) throws(HTTPClientError) -> HTTPResponse {
        let deadline = POSIX.monotonicNanoseconds() + POSIX.nanoseconds(timeout)
        do {
            if fd >= 0 && !isReusable() { close() }
            if fd < 0 { try connect(until: deadline) }
            try write(request, until: deadline)
            let (response, keepAlive) = try readResponse(until: deadline, head: request.method == "HEAD")
            if !keepAlive { close() }
            return response
        } catch {
            close()
            throw error
        }
    }

    /// Convenience for `send(HTTPRequest(...))`.
    public func request(_ method: String, _ path: String, headers: HTTPHeaders = [:], body: [UInt8] = []) throws(HTTPClientError) -> HTTPResponse {
        try send(HTTPRequest(method: method, path: path, headers: headers, body: body))
    }

    // MARK: - Connecting and writing

    /// A kept-alive connection is reusable if the server has not closed it meanwhile (e.g. its idle timeout):
    /// nothing readable, or not yet. Checked before sending, so no request is ever sent twice.
    private func isReusable() -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return true }
        // Readable between requests means end of file, a reset, or stray bytes: none of them reusable.
        return false
    }

    private func connect(until deadline: UInt64) throws(HTTPClientError) {
        let address: SocketAddress
        switch endpoint {
        case .unix(let path):
            address = .unix(path: path)
        case .tcp(let host, let port):
            guard let parsed = SocketAddress.parse(host: host, port: port) else {
                throw HTTPClientError(.invalidEndpoint, endpoint: endpoint, "not a numeric IPv4/IPv6 host:")
            }
            address = parsed
        }
        let family: Int32
        switch address {
        case .ip(let bytes, _): family = bytes.count == 4 ? AF_INET : AF_INET6
        case .unix: family = AF_UNIX
        }
        let socket = POSIX.socketStream(family: family)
        guard socket >= 0 else { throw HTTPClientError(.connect, endpoint: endpoint, errno: errno, "socket for") }
        // A blocking connect bounded by SO_SNDTIMEO (Linux applies it to connect for TCP and Unix sockets,
        // including a Unix listener whose backlog is full); non-blocking I/O with poll after that.
        let now = POSIX.monotonicNanoseconds()
        POSIX.setTimeout(socket, option: SO_SNDTIMEO, .nanoseconds(Int64(max(deadline > now ? deadline - now : 0, 1_000_000))))
        var result: Int32?
        repeat {
            result = address.withSockaddr { Glibc.connect(socket, $0, $1) }
        } while result == -1 && errno == EINTR
        guard let result else {
            Glibc.close(socket)
            throw HTTPClientError(.invalidEndpoint, endpoint: endpoint, "a Unix socket path must be 1...\(SocketAddress.maxUnixPathBytes) bytes:")
        }
        if result != 0 {
            let code = errno
            Glibc.close(socket)
            if code == EINPROGRESS || code == EAGAIN || code == ETIMEDOUT {
                throw HTTPClientError(.timedOut, endpoint: endpoint, errno: code, "timed out connecting to")
            }
            throw HTTPClientError(.connect, endpoint: endpoint, errno: code, "cannot connect to")
        }
        POSIX.setNonBlocking(socket)
        if family != AF_UNIX {
            var on: Int32 = 1
            setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        fd = socket
    }

    /// Waits for the connection to become ready for `events` before the deadline.
    private func wait(for events: Int16, until deadline: UInt64, while doing: String) throws(HTTPClientError) {
        switch POSIX.wait(fd, for: events, until: deadline) {
        case .ready: return
        case .timedOut: throw HTTPClientError(.timedOut, endpoint: endpoint, "timed out \(doing)")
        case .failed(let code): throw HTTPClientError(.receive, endpoint: endpoint, errno: code, "poll while \(doing)")
        }
    }

    private func write(_ request: HTTPRequest, until deadline: UInt64) throws(HTTPClientError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + request.body.count)
        bytes.append(contentsOf: "\(request.method) \(request.path) HTTP/1.1\r\n".utf8)
        if request.headers["Host"] == nil { bytes.append(contentsOf: "Host: localhost\r\n".utf8) }
        for field in request.headers where !HTTPHeaders.namesEqual(field.name, "Content-Length") {
            bytes.append(contentsOf: "\(field.name): \(field.value)\r\n".utf8)
        }
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            bytes.append(contentsOf: "Content-Length: \(request.body.count)\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        bytes.append(contentsOf: request.body)

        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && (errno == EAGAIN || errno == EINTR) {
                try wait(for: Int16(POLLOUT), until: deadline, while: "sending to")
            } else {
                throw HTTPClientError(.send, endpoint: endpoint, errno: sent < 0 ? errno : nil, "cannot send to")
            }
        }
    }

    // MARK: - Reading

    /// Reads more bytes into `pending`; false at end of file.
    private func fill(until deadline: UInt64) throws(HTTPClientError) -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received > 0 {
                pending.append(contentsOf: chunk[0..<received])
                guard pending.count <= maxResponseBytes + 64 * 1024 else {
                    throw HTTPClientError(.responseTooLarge, endpoint: endpoint, "response over \(maxResponseBytes) bytes from")
                }
                return true
            }
            if received == 0 { return false }
            guard errno == EAGAIN || errno == EINTR else {
                throw HTTPClientError(.receive, endpoint: endpoint, errno: errno, "cannot receive from")
            }
            try wait(for: Int16(POLLIN), until: deadline, while: "waiting for a response from")
        }
    }

    private func readResponse(until deadline: UInt64, head: Bool) throws(HTTPClientError) -> (HTTPResponse, keepAlive: Bool) {
        while true {
            // Head: up to the blank line.
            var headEnd: Int?
            while headEnd == nil {
                headEnd = HTTPClient.endOfHead(pending)
                if headEnd == nil {
                    guard pending.count <= 64 * 1024 else {
                        throw HTTPClientError(.malformedResponse, endpoint: endpoint, "response head over 64 KiB from")
                    }
                    guard try fill(until: deadline) else {
                        throw HTTPClientError(.closedEarly, endpoint: endpoint, "connection closed before a response from")
                    }
                }
            }
            guard let end = headEnd, var response = HTTPClient.parseHead(pending[0..<end]) else {
                throw HTTPClientError(.malformedResponse, endpoint: endpoint, "malformed response head from")
            }
            pending.removeFirst(end)
            if response.status / 100 == 1 { continue }  // 100 Continue: the real response follows

            let closing = response.headers.values(for: "Connection").contains { $0.lowercased().contains("close") }
            if response.headers["Transfer-Encoding"] != nil {
                throw HTTPClientError(.malformedResponse, endpoint: endpoint, "unsupported Transfer-Encoding from")
            }
            if head || response.status == 204 || response.status == 304 { return (response, !closing) }
            if let text = response.headers["Content-Length"] {
                guard let length = Int(text), length >= 0 else {
                    throw HTTPClientError(.malformedResponse, endpoint: endpoint, "invalid Content-Length from")
                }
                guard length <= maxResponseBytes else {
                    throw HTTPClientError(.responseTooLarge, endpoint: endpoint, "response body of \(length) bytes from")
                }
                while pending.count < length {
                    guard try fill(until: deadline) else {
                        throw HTTPClientError(.closedEarly, endpoint: endpoint, "connection closed mid-body from")
                    }
                }
                response.body = Array(pending[0..<length])
                pending.removeFirst(length)
                return (response, !closing)
            }
            // No length: the body runs to end of file, and the connection is done.
            while try fill(until: deadline) {}
            response.body = pending
            pending.removeAll()
            return (response, false)
        }
    }

    private static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 0x0D && bytes[index + 1] == 0x0A && bytes[index + 2] == 0x0D && bytes[index + 3] == 0x0A {
            return index + 4
        }
        return nil
    }

    /// `HTTP/1.x SP status SP reason` and header fields; nil if malformed.
    private static func parseHead(_ bytes: ArraySlice<UInt8>) -> HTTPResponse? {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n").map(String.init)
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else { return nil }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.add(name: String(line[..<colon]), value: String(line[line.index(after: colon)...].trimmingSpaces))
        }
        return HTTPResponse(status: status, reason: parts.count == 3 ? String(parts[2]) : "", headers: headers)
    }
}

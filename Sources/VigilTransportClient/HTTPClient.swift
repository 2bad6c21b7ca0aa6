// SPDX-License-Identifier: Apache-2.0
// The CLI's and the tests' client for vigild: async-http-client underneath (`http+unix://` for the API
// socket, plain http for loopback TCP), behind a small blocking call, so a command runs one request and
// reads one answer. Errors name the endpoint and carry the errno where the system gave one.

import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import VigilTransport

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

    /// e.g. `cannot connect to /run/vigil/vigild.sock: No such file or directory (errno 2)`.
    public var description: String {
        guard let errno else { return "\(message) \(endpoint)" }
        return "\(message) \(endpoint): \(POSIX.describe(errno)) (errno \(errno))"
    }
}

/// Not thread-safe: one request at a time (each CLI invocation or test owns its client). Not for use on an
/// event loop: `send` blocks until the answer is in.
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
    /// One async-http-client per client: its pool holds this client's one kept-alive connection, and
    /// shutting it down closes that connection.
    private var client: AsyncHTTPClient.HTTPClient?
    private var keptAlive = false

    public init(_ endpoint: Endpoint, timeout: Duration = .seconds(10), maxResponseBytes: Int = 64 * 1024 * 1024) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }

    deinit { close() }

    /// Whether a connection is kept open from an earlier request (the server did not ask to close it).
    public var isConnected: Bool { client != nil && keptAlive }

    public func close() {
        keptAlive = false
        guard let client else { return }
        self.client = nil
        try? client.syncShutdown()
    }

    /// Sends one request and reads its response. Adds Host and Content-Length; keeps the connection for the
    /// next request unless the server closes it. Never retries: a hook event must not be delivered twice.
    /// - Throws: `HTTPClientError`; the connection is closed after any error.
    public func send(_ request: HTTPRequest) throws(HTTPClientError) -> HTTPResponse {
        do {
            let outgoing = try makeRequest(request)
            let client = self.client ?? makeClient()
            self.client = client
            let accumulator = ResponseAccumulator(request: outgoing, maxBodySize: maxResponseBytes)
            let deadline = NIODeadline.now() + TimeAmount.nanoseconds(Int64(clamping: POSIX.nanoseconds(timeout)))
            let answer: AsyncHTTPClient.HTTPClient.Response
            do {
                answer = try client.execute(request: outgoing, delegate: accumulator, deadline: deadline).wait()
            } catch ChannelError.ioOnClosedChannel where keptAlive {
                // The server closed the kept-alive connection (its idle timeout) before this request was
                // written: nothing was delivered, so one more try, on the new connection the pool opens, is safe.
                keptAlive = false
                let again = ResponseAccumulator(request: outgoing, maxBodySize: maxResponseBytes)
                answer = try client.execute(request: outgoing, delegate: again, deadline: deadline).wait()
            }
            let closing = answer.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
            keptAlive = !closing
            if closing { close() }
            let headers = VigilTransport.HTTPHeaders(answer.headers.map { (name: $0.name, value: $0.value) })
            return HTTPResponse(
                status: Int(answer.status.code), reason: answer.status.reasonPhrase, headers: headers,
                body: answer.body.map { Array($0.readableBytesView) } ?? [])
        } catch let error as HTTPClientError {
            close()
            throw error
        } catch {
            close()
            throw clientError(error)
        }
    }

    /// Convenience for `send(HTTPRequest(...))`.
    public func request(
        _ method: String, _ path: String, headers: VigilTransport.HTTPHeaders = [:], body: [UInt8] = []
    ) throws(HTTPClientError) -> HTTPResponse {
        try send(HTTPRequest(method: method, path: path, headers: headers, body: body))
    }

    // MARK: - async-http-client

    private func makeClient() -> AsyncHTTPClient.HTTPClient {
        let limit = TimeAmount.nanoseconds(Int64(clamping: POSIX.nanoseconds(timeout)))
        var configuration = AsyncHTTPClient.HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: limit, read: limit), decompression: .disabled)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        // A local socket that refuses is not flaky: say so at once (vigild is not running) instead of
        // retrying with backoff until the timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        return AsyncHTTPClient.HTTPClient(eventLoopGroup: HTTPClient.eventLoopGroup, configuration: configuration)
    }

    /// One event loop for every client of the process: the request, its connection and its callbacks
    /// then share a thread, so a request costs one wake-up of that loop and one of the caller, not a hop
    /// between the loops of a multi-threaded group at each step.
    private static let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private func makeRequest(_ request: HTTPRequest) throws(HTTPClientError) -> AsyncHTTPClient.HTTPClient.Request {
        let url: URL?
        switch endpoint {
        case .unix(let path):
            guard !path.isEmpty, path.utf8.count <= SocketAddress.maxUnixPathBytes, !path.utf8.contains(0) else {
                throw HTTPClientError(.invalidEndpoint, endpoint: endpoint, "a Unix socket path must be 1...\(SocketAddress.maxUnixPathBytes) bytes:")
            }
            url = URL(httpURLWithSocketPath: path, uri: request.path)
        case .tcp(let host, let port):
            guard SocketAddress.parse(host: host, port: port) != nil else {
                throw HTTPClientError(.invalidEndpoint, endpoint: endpoint, "not a numeric IPv4/IPv6 host:")
            }
            url = URL(string: "http://\(endpoint)\(request.path)")
        }
        guard let url else { throw HTTPClientError(.invalidEndpoint, endpoint: endpoint, "cannot form a URL for \(request.path) on") }
        var headers = NIOHTTP1.HTTPHeaders()
        for field in request.headers where !VigilTransport.HTTPHeaders.namesEqual(field.name, "Content-Length") {
            headers.add(name: field.name, value: field.value)
        }
        // A POST always says how long it is (vigild answers 411 otherwise), an empty one too.
        let sendsBody = !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method)
        do {
            return try AsyncHTTPClient.HTTPClient.Request(
                url: url, method: HTTPMethod(rawValue: request.method), headers: headers, body: sendsBody ? .bytes(request.body) : nil)
        } catch {
            throw HTTPClientError(.invalidEndpoint, endpoint: endpoint, "cannot send \(request.method) \(request.path) to")
        }
    }

    /// async-http-client's and NIO's errors as ours: the step that failed and the errno.
    private func clientError(_ error: any Error) -> HTTPClientError {
        if let io = HTTPClient.ioError(in: error) {
            return HTTPClientError(.connect, endpoint: endpoint, errno: io.errnoCode, "cannot connect to")
        }
        if error is ResponseAccumulator.ResponseTooBigError {
            return HTTPClientError(.responseTooLarge, endpoint: endpoint, "response over \(maxResponseBytes) bytes from")
        }
        if let ahc = error as? AsyncHTTPClient.HTTPClientError {
            if [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(ahc) {
                return HTTPClientError(.timedOut, endpoint: endpoint, "timed out on")
            }
            if ahc == .remoteConnectionClosed {
                return HTTPClientError(.closedEarly, endpoint: endpoint, "connection closed before a response from")
            }
            return HTTPClientError(.receive, endpoint: endpoint, "\(ahc) from")
        }
        if error is HTTPParserError {
            return HTTPClientError(.malformedResponse, endpoint: endpoint, "malformed response from")
        }
        return HTTPClientError(.receive, endpoint: endpoint, "\(error) from")
    }

    /// The system call's error inside what NIO threw for a failed connect (one, or one per address tried).
    private static func ioError(in error: any Error) -> IOError? {
        if let io = error as? IOError { return io }
        if let connection = error as? NIOConnectionError {
            return connection.connectionErrors.lazy.compactMap { $0.error as? IOError }.first
        }
        return nil
    }
}

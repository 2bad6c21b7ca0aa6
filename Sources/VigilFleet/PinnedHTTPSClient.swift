// SPDX-License-Identifier: Apache-2.0
// HTTPS to the console on swift-nio, trusting one certificate: the one whose SHA-256 the enrolment
// token pins, checked on every connection by NIOSSL's verification callback (no CA, no host name).
// async-http-client cannot take such a callback, and trusting the pinned certificate as a root only
// works for self-signed CA certificates; this works for any certificate the console serves.
import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

public struct PinnedHTTPSClient: Sendable {
    public let host: String
    public let port: Int
    /// `sha256:<hex>` of the DER of the one certificate accepted.
    public let pin: String
    public var timeout: TimeAmount = .seconds(30)
    public var maxResponseBytes = 16 << 20

    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
        /// The answer's header fields, in order.
        public var headers: [(String, String)] = []

        /// The first field named `name` (case-insensitive).
        public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    /// One TLS context for every connection: making one parses the system's CA bundle (milliseconds),
    /// which the pin makes pointless, so there are no roots in it at all.
    private let context: NIOSSLContext?
    /// Shared by the copies of this client: the connection short requests reuse.
    private let kept = KeptConnection()

    public init(host: String, port: Int, pin: String) {
        self.host = host
        self.port = port
        self.pin = pin
        var configuration = TLSConfiguration.makeClientConfiguration()
        // Verification on (so the callback's verdict is enforced), the chain and name checks replaced by the pin.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates([])
        configuration.minimumTLSVersion = .tlsv12
        context = try? NIOSSLContext(configuration: configuration)
    }

    public static func pin(ofDER der: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
    }

    /// The Host header (and RFC 9421 @authority) the request carries.
    public var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 443 ? name : "\(name):\(port)"
    }

    /// One request on a new connection; a certificate that is not the pinned one fails the handshake,
    /// so nothing is sent to it.
    public func execute(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]) async throws(FleetError) -> Response {
        let bytes = NIOLockedValueBox<[UInt8]>([])
        let fields = NIOLockedValueBox<[(String, String)]>([])
        let limit = maxResponseBytes
        let status = try await exchange(
            method, path, headers: headers, body: body, deadline: timeout, idle: nil,
            onHead: { head in fields.withLockedValue { $0 = head.headers.map { ($0.name, $0.value) } } }
        ) { buffer in
            try bytes.withLockedValue { bytes in
                guard bytes.count + buffer.readableBytes <= limit else { throw FleetError(.response, "the console's answer is over \(limit) bytes") }
                bytes += buffer.readableBytesView
            }
        }
        return Response(status: status, body: bytes.withLockedValue { $0 }, headers: fields.withLockedValue { $0 })
    }

    /// One request on the kept-alive connection (made on first use, replaced when the console closed it).
    public func executeKeptAlive(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]) async throws(FleetError)
        -> Response
    {
        try await kept.execute(self, head: head(method, path, headers: headers, bodyCount: body.count, keepAlive: true), body: body)
    }

    /// A long-lived request (an event stream): `onStatus` is told the status when the head arrives,
    /// `onBody` gets each part as it comes. Ends when the server ends the answer, or fails when
    /// nothing (not even a heartbeat) arrived for `idle`.
    public func stream(
        _ path: String, headers: [(String, String)], idle: TimeAmount, onStatus: @escaping @Sendable (Int) async throws -> Void,
        onBody: @escaping @Sendable (ByteBuffer) async throws -> Void
    ) async throws(FleetError) {
        _ = try await exchange("GET", path, headers: headers, body: [], deadline: nil, idle: idle, onStatus: onStatus, onBody)
    }

    private func exchange(
        _ method: String, _ path: String, headers: [(String, String)], body: [UInt8], deadline: TimeAmount?, idle: TimeAmount?,
        onStatus: (@Sendable (Int) async throws -> Void)? = nil, onHead: (@Sendable (HTTPResponseHead) -> Void)? = nil,
        _ onBody: @escaping @Sendable (ByteBuffer) async throws -> Void
    ) async throws(FleetError) -> Int {
        let presented = NIOLockedValueBox<String?>(nil)
        let lastActivity = NIOLockedValueBox(NIODeadline.now())
        do {
            let channel = try await connect(presented: presented)
            return try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(.head(head(method, path, headers: headers, bodyCount: body.count, keepAlive: false)))
                        if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                        try await outbound.write(.end(nil))
                        var status = 0
                        for try await part in inbound {
                            lastActivity.withLockedValue { $0 = .now() }
                            switch part {
                            case .head(let response):
                                status = Int(response.status.code)
                                onHead?(response)
                                try await onStatus?(status)
                            case .body(let buffer): try await onBody(buffer)
                            case .end: return status
                            }
                        }
                        throw FleetError(.response, "the console closed the connection before a complete answer")
                    }
                }
                if let deadline {
                    group.addTask {
                        try await Task.sleep(nanoseconds: UInt64(deadline.nanoseconds))
                        throw FleetError(.connect, "no answer from the console within \(deadline.nanoseconds / 1_000_000_000) s")
                    }
                }
                if let idle {
                    group.addTask {
                        while true {
                            try await Task.sleep(nanoseconds: UInt64(idle.nanoseconds) / 4)
                            if NIODeadline.now() - lastActivity.withLockedValue({ $0 }) > idle {
                                throw FleetError(
                                    .connect, "the console sent nothing for \(idle.nanoseconds / 1_000_000_000) s (not even a heartbeat)")
                            }
                        }
                    }
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw FleetError(.connect, "no answer") }
                return first
            }
        } catch let error as FleetError {
            throw error
        } catch {
            throw failure(error, presented: presented)
        }
    }

    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    /// A new TLS connection whose certificate is the pinned one (the handshake fails otherwise, before
    /// anything is sent); `presented` gets what the console showed, to name a wrong one.
    func connect(presented: NIOLockedValueBox<String?>) async throws -> Connection {
        guard let context else { throw FleetError(.connect, "TLS setup failed: BoringSSL refused the client configuration") }
        let pin = self.pin
        let serverName = host.first?.isNumber == true || host.contains(":") ? nil : host
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: serverName) { certificates, promise in
                        let seen = (try? certificates.first?.toDERBytes()).map(Self.pin(ofDER:))
                        presented.withLockedValue { $0 = seen }
                        promise.succeed(seen == pin ? .certificateVerified : .failed)
                    }
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    func failure(_ error: any Error, presented: NIOLockedValueBox<String?>) -> FleetError {
        if let error = error as? FleetError { return error }
        if let seen = presented.withLockedValue({ $0 }), seen != pin {
            return FleetError(
                .pin, "the console at \(authority) presented a certificate (\(seen)) that is not the one the token pins (\(pin)); nothing was sent")
        }
        return FleetError(.connect, "cannot reach the console at \(authority): \(error)")
    }

    func head(_ method: String, _ path: String, headers: [(String, String)], bodyCount: Int, keepAlive: Bool) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "Host", value: authority)
        head.headers.add(name: "Content-Length", value: String(bodyCount))
        head.headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        return head
    }
}

// SPDX-License-Identifier: Apache-2.0
// One connection on NIO: admission (the cap, SO_PEERCRED), and Vigil's rules over NIO's parser. NIO frames
// the requests; this refuses what the hand-written server refused (any Transfer-Encoding, bad or
// conflicting Content-Length, a POST without one, oversize heads and bodies, other versions), answers each
// refusal with its status and a reason and closes, sends 100 Continue, times out idle and slow clients,
// keeps pipelined requests in order, and has NIO's encoder write the responses (with the server's framing).

import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What every connection of one server shares: the handler, its pool, the limits, the counters and the
/// open channels. Separate from `HTTPServer` so the accept path never needs the server half-initialised.
final class HTTPServerCore: Sendable {
    let listener: HTTPServer.Listener
    let configuration: HTTPServer.Configuration
    let boundAddress: SocketAddress
    let handler: HTTPServer.Handler
    let liveCounters = HTTPServerCounters()
    let stopping = Atomic<Bool>(false)
    let handlerPool: NIOThreadPool
    let state = Mutex(State())

    struct State {
        var connections: [UInt64: any Channel] = [:]
        var nextID: UInt64 = 1
    }

    init(listener: HTTPServer.Listener, configuration: HTTPServer.Configuration, boundAddress: SocketAddress, handler: @escaping HTTPServer.Handler) {
        self.listener = listener
        self.configuration = configuration
        self.boundAddress = boundAddress
        self.handler = handler
        // Threads, not connections, bound how many handlers block at once; the rest wait for a thread.
        handlerPool = NIOThreadPool(numberOfThreads: max(1, min(configuration.maxConnections, configuration.handlerThreads)))
        handlerPool.start()
    }

    /// The child channel initializer: admits (or refuses) the connection, reads who is on the other end,
    /// and builds the pipeline: activity → NIO's request decoder and response encoder → Vigil's rules and the handler.
    func admit(_ channel: any Channel) -> EventLoopFuture<Void> {
        let admitted = state.withLock { state -> UInt64? in
            guard !stopping.load(ordering: .relaxed), state.connections.count < configuration.maxConnections else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.connections[id] = channel
            // Counted before any request, so a client that got a response always finds itself counted.
            liveCounters.bump(.connections)
            return id
        }
        guard let id = admitted else { return reject(channel) }
        channel.closeFuture.whenComplete { [self] _ in _ = state.withLock { $0.connections.removeValue(forKey: id) } }

        let local = channel.localAddress.flatMap(SocketAddress.init(nio:)) ?? boundAddress
        let remote = channel.remoteAddress.flatMap(SocketAddress.init(nio:)) ?? .unix(path: "")
        let credentials: EventLoopFuture<PeerCredentials?>
        if case .unix = listener, let provider = channel as? any SocketOptionProvider {
            // SO_PEERCRED through the channel: the kernel's record of the connecting process.
            let ucred: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            credentials = ucred.map { Optional(PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid)) }
                .flatMapErrorThrowing { [liveCounters] _ in
                    liveCounters.bump(.peerLookupFailures)
                    return nil
                }
        } else {
            credentials = channel.eventLoop.makeSucceededFuture(nil)
        }
        return credentials.flatMapThrowing { [self] credentials in
            let connection = HTTPConnection(id: id, localAddress: local, remoteAddress: remote, peerCredentials: credentials, counters: liveCounters)
            let limits = NIOHTTPDecoderLimitConfiguration(headBytes: configuration.maxHeaderBytes)
            let activity = HTTPServerActivityHandler()
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(activity)
            try operations.addHandler(
                ByteToMessageHandler(
                    HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)))
            try operations.addHandler(HTTPResponseEncoder())
            try operations.addHandler(HTTPServerChannelHandler(core: self, connection: connection, activity: activity))
        }
    }

    /// Over the cap or stopping: a best-effort 503, then close.
    private func reject(_ channel: any Channel) -> EventLoopFuture<Void> {
        liveCounters.bump(.rejectedConnections)
        do {
            try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        let (head, body) = HTTPResponse.text(status: 503, "too many connections").parts(closing: true, version: .http1_1, head: false)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        if let body { channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
        return channel.eventLoop.makeSucceededVoidFuture()
    }
}

/// Sent down every open connection by stop().
struct HTTPServerStopEvent: Sendable {}

/// Before the decoder: notes that bytes of a request arrived, which NIO's request parts do not show until
/// a whole head is parsed (a timed-out partial request is answered 408, a silent idle one just closed).
final class HTTPServerActivityHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Bytes arrived since the last complete request.
    var bytesPending = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).readableBytes > 0 { bytesPending = true }
        context.fireChannelRead(data)
    }
}

final class HTTPServerChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: HTTPServerCore
    private let connection: HTTPConnection
    private let activity: HTTPServerActivityHandler

    /// The request being received: its head, its body so far, whether to keep the connection after it.
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// Complete requests waiting for the one in the handler.
    private var queue: [(request: HTTPRequest, keepAlive: Bool)] = []
    /// A request is in the handler or its response is being written.
    private var busy = false
    /// After a refusal or a closing response: nothing more is read or answered.
    private var finished = false
    /// A read NIO asked for while busy: held, so a pipelining client cannot queue without bound.
    private var readPending = false
    private var stopRequested = false
    private var deadline: Scheduled<Void>?

    init(core: HTTPServerCore, connection: HTTPConnection, activity: HTTPServerActivityHandler) {
        self.core = core
        self.connection = connection
        self.activity = activity
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armDeadline(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        switch unwrapInboundIn(data) {
        case .head(let received):
            if let refusal = HTTPServerChannelHandler.refusal(of: received, limits: core.configuration) {
                refuse(refusal, context: context)
                return
            }
            head = received
            body.removeAll(keepingCapacity: true)
            if received.headers.first(name: "expect")?.trimmingSpaces.lowercased() == "100-continue", Self.contentLength(received) ?? 0 > 0 {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            body.append(contentsOf: chunk.readBytes(length: chunk.readableBytes) ?? [])
        case .end:
            guard let received = head else { return }
            head = nil
            activity.bytesPending = false
            let request = HTTPRequest(
                method: received.method.rawValue, path: received.uri, version: received.version.minor == 0 ? .http1_0 : .http1_1,
                headers: HTTPHeaders(received.headers.map { (name: $0.name, value: $0.value) }), body: body)
            body = []
            queue.append((request, received.isKeepAlive))
            deadline?.cancel()
            serveNext(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !finished else { return }
        if let parserError = error as? HTTPParserError, parserError != .invalidEOFState {
            refuse(HTTPServerChannelHandler.refusal(of: parserError), context: context)
        } else {
            // The client closed mid-request (llhttp's invalidEOFState), a reset, or another I/O error.
            if !queue.isEmpty || head != nil || activity.bytesPending { core.liveCounters.bump(.incompleteRequests) }
            finished = true
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        if !finished && (head != nil || activity.bytesPending) && !stopRequested { core.liveCounters.bump(.incompleteRequests) }
        finished = true
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard !finished else { return }
        if event is HTTPServerStopEvent {
            stopRequested = true
            // A request in the handler finishes, and its response closes the connection; nothing else starts.
            queue.removeAll()
            if !busy {
                finished = true
                context.close(promise: nil)
            }
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            // The client finished sending: answer what is complete, then close.
            if head != nil || (activity.bytesPending && !busy && queue.isEmpty) {
                core.liveCounters.bump(.incompleteRequests)
                finished = true
                context.close(promise: nil)
            } else if !busy && queue.isEmpty {
                finished = true
                context.close(promise: nil)
            } else {
                stopRequested = true
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func read(context: ChannelHandlerContext) {
        if busy {
            readPending = true
        } else {
            context.read()
        }
    }

    // MARK: Serving

    private func serveNext(context: ChannelHandlerContext) {
        guard !busy, !finished, !queue.isEmpty else { return }
        let (request, keepAlive) = queue.removeFirst()
        busy = true
        core.liveCounters.bump(.requests)
        let handler = core.handler
        let connection = connection
        let answer = core.handlerPool.runIfActive(eventLoop: context.eventLoop) { handler(request, connection) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        answer.whenComplete { result in
            let (this, context) = bound.value
            let response = (try? result.get()) ?? HTTPResponse.text(status: 503, "vigil: the server is stopping")
            this.respond(response, to: request, keepAlive: keepAlive, context: context)
        }
    }

    private func respond(_ response: HTTPResponse, to request: HTTPRequest, keepAlive: Bool, context: ChannelHandlerContext) {
        let closing = !keepAlive || response.closesConnection || stopRequested || core.stopping.load(ordering: .relaxed)
        let written = write(response.parts(closing: closing, version: request.version, head: request.method == "HEAD"), context: context)
        if closing {
            finished = true
            let channel = context.channel
            written.whenComplete { [core] result in
                if case .failure = result { core.liveCounters.bump(.writeFailures) }
                channel.close(promise: nil)
            }
            return
        }
        busy = false
        written.whenFailure { [core] _ in core.liveCounters.bump(.writeFailures) }
        armDeadline(context: context)
        if !queue.isEmpty {
            serveNext(context: context)
        } else if readPending {
            readPending = false
            context.read()
        }
    }

    /// Refused before the handler: the status and reason, `Connection: close`, and the connection ends (a
    /// framing error leaves the stream unsynchronisable).
    private func refuse(_ error: HTTPRequestError, context: ChannelHandlerContext) {
        core.liveCounters.bump(error.isTooLarge ? .tooLarge : .badRequests)
        finished = true
        deadline?.cancel()
        let channel = context.channel
        write(HTTPResponse.text(status: error.status, error.reason).parts(closing: true, version: .http1_1, head: false), context: context)
            .whenComplete { _ in channel.close(promise: nil) }
    }

    /// One response through NIO's encoder: head, body, end, flushed once.
    private func write(_ parts: (head: HTTPResponseHead, body: [UInt8]?), context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        context.write(wrapOutboundOut(.head(parts.head)), promise: nil)
        if let body = parts.body { context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil) }
        return context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    // MARK: Timeouts

    /// One deadline per request, from the end of the previous response: a client dripping a byte at a time
    /// cannot hold the connection beyond it.
    private func armDeadline(context: ChannelHandlerContext) {
        deadline?.cancel()
        let timeout = TimeAmount.nanoseconds(Int64(clamping: POSIX.nanoseconds(core.configuration.idleTimeout)))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (this, context) = bound.value
            this.deadlinePassed(context: context)
        }
    }

    private func deadlinePassed(context: ChannelHandlerContext) {
        guard !finished, !busy else { return }
        core.liveCounters.bump(.idleTimeouts)
        finished = true
        if head != nil || activity.bytesPending {
            let channel = context.channel
            write(
                HTTPResponse.text(status: 408, "request not received in time").parts(closing: true, version: .http1_1, head: false), context: context
            )
            .whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: The rules

    /// What the hand-written parser refused in a head that llhttp accepts (RFC 9112 §6.3, §2.3).
    static func refusal(of head: HTTPRequestHead, limits: HTTPServer.Configuration) -> HTTPRequestError? {
        guard head.version.major == 1, head.version.minor <= 1 else {
            return HTTPRequestError(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        let encodings = head.headers[canonicalForm: "transfer-encoding"]
        if !encodings.isEmpty {
            // No Transfer-Encoding at all: a Content-Length/Transfer-Encoding disagreement is the classic
            // request-smuggling desync, and no client of ours needs a chunked body.
            if encodings.contains(where: { $0.lowercased() == "chunked" }) {
                return HTTPRequestError(.lengthRequired, "chunked request bodies are not supported; send Content-Length")
            }
            return HTTPRequestError(.notImplemented, "Transfer-Encoding \(encodings.joined(separator: ", ")) is not supported")
        }
        var contentLength: Int?
        for value in head.headers["content-length"] {
            // Digits only: no sign, no spaces inside, no list; at most 18 digits so it cannot overflow.
            guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(value) else {
                return HTTPRequestError(.badRequest, "invalid Content-Length")
            }
            if let earlier = contentLength, earlier != length {
                return HTTPRequestError(.badRequest, "conflicting Content-Length headers")
            }
            contentLength = length
        }
        if contentLength == nil && [.POST, .PUT, .PATCH].contains(head.method) {
            return HTTPRequestError(.lengthRequired, "\(head.method.rawValue) requires Content-Length")
        }
        if let length = contentLength, length > limits.maxBodyBytes {
            return HTTPRequestError(.bodyTooLarge, "body of \(length) bytes exceeds \(limits.maxBodyBytes) bytes")
        }
        return nil
    }

    /// What llhttp refused, as the status and reason the client reads.
    static func refusal(of error: HTTPParserError) -> HTTPRequestError {
        switch error {
        case .headerOverflow:
            return HTTPRequestError(.headerTooLarge, "request head too large")
        case .invalidVersion:
            return HTTPRequestError(.badRequest, "malformed HTTP version")
        case .unexpectedContentLength:
            // A second Content-Length, or one beside Transfer-Encoding: either is a smuggling attempt.
            return HTTPRequestError(.badRequest, "duplicate Content-Length, or Content-Length with Transfer-Encoding")
        case .invalidContentLength:
            return HTTPRequestError(.badRequest, "invalid Content-Length")
        case .invalidMethod:
            return HTTPRequestError(.badRequest, "malformed method")
        case .invalidURL:
            return HTTPRequestError(.badRequest, "malformed request target")
        case .invalidHeaderToken:
            return HTTPRequestError(.badRequest, "malformed header")
        case .invalidConstant, .strictModeAssertion, .lfExpected:
            return HTTPRequestError(.badRequest, "malformed request")
        default:
            return HTTPRequestError(.badRequest, "malformed request (\(error))")
        }
    }

    static func contentLength(_ head: HTTPRequestHead) -> Int? {
        head.headers.first(name: "content-length").flatMap { Int($0) }
    }
}

// SPDX-License-Identifier: Apache-2.0
// One kept-alive HTTPS connection for a device's short requests (the policy fetch, the report), so
// a policy change costs the console one request per device, not a TLS handshake and a request.
// Requests go one at a time in order; a connection the console closed while idle is replaced, and
// a request that had no answer at all on it is sent once more on a new one.
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Synchronization

final class KeptConnection: Sendable {
    /// The worker's jobs, read from the reader, the writer and the drain at the end, one after the other.
    private actor JobQueue {
        private var iterator: AsyncStream<Job>.Iterator
        init(_ stream: AsyncStream<Job>) { iterator = stream.makeAsyncIterator() }
        func next() async -> Job? {
            var taken = iterator
            defer { iterator = taken }
            return await taken.next(isolation: self)
        }
    }

    fileprivate struct Job: Sendable {
        let head: HTTPRequestHead
        let body: [UInt8]
        let reply: @Sendable (Result<PinnedHTTPSClient.Response, Outcome>) -> Void
    }

    /// Why a request failed: `unanswered` (nothing came back: safe to send again) or an answer broke off.
    enum Outcome: Error {
        case unanswered(FleetError)
        case failed(FleetError)
    }

    private struct Worker {
        let id: UInt64
        let jobs: AsyncStream<Job>.Continuation
    }

    /// A connection unused this long is closed by the device (the console may keep it longer).
    static let idleLimit: Duration = .seconds(120)

    private let worker = Mutex<Worker?>(nil)
    private let nextID = Atomic<UInt64>(0)

    func execute(_ client: PinnedHTTPSClient, head: HTTPRequestHead, body: [UInt8]) async throws(FleetError) -> PinnedHTTPSClient.Response {
        var result = await send(client, head: head, body: body)
        if case .failure(.unanswered) = result { result = await send(client, head: head, body: body) }
        switch result {
        case .success(let response): return response
        case .failure(.unanswered(let error)), .failure(.failed(let error)): throw error
        }
    }

    private func send(_ client: PinnedHTTPSClient, head: HTTPRequestHead, body: [UInt8]) async -> Result<PinnedHTTPSClient.Response, Outcome> {
        await withCheckedContinuation { continuation in
            let once = NIOLockedValueBox(false)
            let job = Job(head: head, body: body) { result in
                guard
                    once.withLockedValue({ done in
                        defer { done = true }; return !done
                    })
                else { return }
                continuation.resume(returning: result)
            }
            let jobs = worker.withLock { worker -> AsyncStream<Job>.Continuation in
                if let worker { return worker.jobs }
                let started = start(client)
                worker = started
                return started.jobs
            }
            if case .terminated = jobs.yield(job) {
                // The worker ended between lookup and yield: nothing was sent.
                job.reply(.failure(.unanswered(FleetError(.connect, "the kept connection to the console closed"))))
            }
        }
    }

    private func start(_ client: PinnedHTTPSClient) -> Worker {
        let (stream, jobs) = AsyncStream<Job>.makeStream()
        let id = nextID.add(1, ordering: .relaxed).newValue
        Task { await self.serve(client, stream, jobs, id: id) }
        return Worker(id: id, jobs: jobs)
    }

    /// The worker: one connection, the jobs in order; when it ends (closed, failed, idle) every job
    /// still waiting is told it was not sent.
    private func serve(_ client: PinnedHTTPSClient, _ stream: AsyncStream<Job>, _ jobs: AsyncStream<Job>.Continuation, id: UInt64) async {
        let waiting = JobQueue(stream)
        // Sent and waiting for their answer, oldest first.
        let replies = NIOLockedValueBox<[Job]>([])
        let presented = NIOLockedValueBox<String?>(nil)
        do {
            let connection = try await client.connect(presented: presented)
            let busy = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
            let lastUse = NIOLockedValueBox(ContinuousClock.now)
            let timeout = Duration.nanoseconds(client.timeout.nanoseconds)
            // The watchdog: an answer slower than the client's timeout, or a connection idle too long, is closed.
            let watchdog = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    let now = ContinuousClock.now
                    if let since = busy.withLockedValue({ $0 }), now - since > timeout { connection.channel.close(promise: nil) }
                    if busy.withLockedValue({ $0 }) == nil, now - lastUse.withLockedValue({ $0 }) > Self.idleLimit {
                        connection.channel.close(promise: nil)
                    }
                }
            }
            defer { watchdog.cancel() }
            // A reader that always reads (so a console closing the connection is seen at once, idle or
            // not) and a writer that sends the next request once the previous one is answered.
            try await connection.executeThenClose { inbound, outbound in
                let (answers, answered) = AsyncStream<Void>.makeStream()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        defer { answered.finish() }
                        var status = 0
                        var headers: [(String, String)] = []
                        var body: [UInt8] = []
                        var close = false
                        var started = false
                        do {
                            for try await part in inbound {
                                switch part {
                                case .head(let response):
                                    started = true
                                    status = Int(response.status.code)
                                    headers = response.headers.map { ($0.name, $0.value) }
                                    close = !response.isKeepAlive
                                    body = []
                                case .body(let buffer):
                                    guard body.count + buffer.readableBytes <= client.maxResponseBytes else {
                                        throw FleetError(.response, "the console's answer is over \(client.maxResponseBytes) bytes")
                                    }
                                    body += buffer.readableBytesView
                                case .end:
                                    started = false
                                    busy.withLockedValue { $0 = nil }
                                    lastUse.withLockedValue { $0 = .now }
                                    let job = replies.withLockedValue { $0.isEmpty ? nil : $0.removeFirst() }
                                    job?.reply(.success(PinnedHTTPSClient.Response(status: status, body: body, headers: headers)))
                                    answered.yield()
                                    if close { return }
                                }
                            }
                        } catch {
                            let failure = client.failure(error, presented: presented)
                            for job in replies.withLockedValue({ jobs in
                                defer { jobs = [] }; return jobs
                            }) {
                                job.reply(.failure(started ? .failed(failure) : .unanswered(failure)))
                            }
                            return
                        }
                        // The console closed the connection: whatever was sent on it got no answer.
                        let closed = FleetError(.response, "the console closed the connection before a complete answer")
                        for job in replies.withLockedValue({ jobs in
                            defer { jobs = [] }; return jobs
                        }) {
                            job.reply(.failure(started ? .failed(closed) : .unanswered(closed)))
                        }
                    }
                    group.addTask {
                        var turns = answers.makeAsyncIterator()
                        while let job = await waiting.next() {
                            busy.withLockedValue { $0 = .now }
                            replies.withLockedValue { $0.append(job) }
                            do {
                                try await outbound.write(.head(job.head))
                                if !job.body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: job.body)))) }
                                try await outbound.write(.end(nil))
                            } catch {
                                // The reader tells the job (the connection is going).
                                return
                            }
                            // Its answer (or the reader's end) before the next request.
                            guard await turns.next() != nil else { return }
                        }
                    }
                    // Either side ending ends the connection.
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            // The connection could not be made: the waiting job gets why (a wrong pin is not worth a retry).
            let failure = client.failure(error, presented: presented)
            if let job = await waiting.next() { job.reply(.failure(failure.step == .pin ? .failed(failure) : .unanswered(failure))) }
        }
        // A job the writer took after the reader had ended (or could not send) has had no answer.
        for job in replies.withLockedValue({ jobs in
            defer { jobs = [] }; return jobs
        }) {
            job.reply(.failure(.unanswered(FleetError(.connect, "the kept connection to the console closed before an answer"))))
        }
        worker.withLock { if $0?.id == id { $0 = nil } }
        jobs.finish()
        while let job = await waiting.next() {
            job.reply(.failure(.unanswered(FleetError(.connect, "the kept connection to the console closed before this request was sent"))))
        }
    }
}

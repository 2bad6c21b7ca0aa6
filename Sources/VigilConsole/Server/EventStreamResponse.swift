// SPDX-License-Identifier: Apache-2.0
// One server-sent-events answer for both streams the console serves (devices' policy versions, the
// web pages' changes): each number from `values` as an event, a heartbeat comment in between so
// that both ends notice a dead connection, ended by the console's graceful shutdown.
import Hummingbird
import NIOCore
import ServiceLifecycle

enum EventStreamResponse {
    static func make(_ values: AsyncStream<Int>, heartbeat: Duration, event: @escaping @Sendable (Int) -> String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: ResponseBody { writer in
                let (events, sink) = AsyncStream<String>.makeStream()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await value in values { sink.yield(event(value)) }
                        sink.finish()
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: heartbeat)
                            sink.yield(": heartbeat\n\n")
                        }
                    }
                    for await text in events.cancelOnGracefulShutdown() { try await writer.write(ByteBuffer(string: text)) }
                    group.cancelAll()
                }
                try await writer.finish(nil)
            })
    }
}

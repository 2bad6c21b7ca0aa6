// SPDX-License-Identifier: Apache-2.0
// "Something changed" for the web pages' live updates: a counter that enrolments, reports, revokes
// and policy versions move, and a stream per open page that yields the newest value.
import VigilAudit
import HTTPTypes
import Synchronization

final class ChangeFeed: Sendable {
    private struct State {
        var generation = 0
        var subscribers: [UInt64: AsyncStream<Int>.Continuation] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    func subscribe() -> AsyncStream<Int> {
        let (stream, continuation) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.next += 1
            state.subscribers[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) } }
        return stream
    }

    func changed() {
        let (generation, subscribers) = state.withLock { state in
            state.generation += 1
            return (state.generation, Array(state.subscribers.values))
        }
        for subscriber in subscribers { subscriber.yield(generation) }
    }

    var pages: Int { state.withLock { $0.subscribers.count } }
}

// SPDX-License-Identifier: Apache-2.0
// "Policy version N is current", to every device stream this console holds: the stream carries only
// the number (and heartbeats); the device then fetches the signed bundle. One change costs one
// small write per connected device, not a poll by every device.
import Foundation
import Synchronization

final class PolicyPublisher: Sendable {
    private struct Subscriber {
        let device: String
        let continuation: AsyncStream<Int>.Continuation
    }

    private struct State {
        var version = 0
        var subscribers: [UInt64: Subscriber] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A stream that yields the current version at once, then every newer one.
    func subscribe(device: String) -> AsyncStream<Int> {
        let (stream, continuation) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.next += 1
            state.subscribers[state.next] = Subscriber(device: device, continuation: continuation)
            continuation.yield(state.version)
            return state.next
        }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) } }
        return stream
    }

    /// Announces `version` if it is newer than the one announced.
    func publish(_ version: Int) {
        let subscribers = state.withLock { state -> [Subscriber] in
            guard version > state.version else { return [] }
            state.version = version
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.continuation.yield(version) }
    }

    /// Ends every stream of `device` (revoked: refused at once, also on a connection already open).
    func disconnect(device: String) {
        let ended = state.withLock { state in state.subscribers.values.filter { $0.device == device } }
        for subscriber in ended { subscriber.continuation.finish() }
    }

    var connections: Int { state.withLock { $0.subscribers.count } }

    /// The devices with a stream open here (a replica re-checks them after missing notifications).
    var connectedDevices: Set<String> { state.withLock { Set($0.subscribers.values.map(\.device)) } }

    /// The newest version announced.
    var version: Int { state.withLock { $0.version } }
}

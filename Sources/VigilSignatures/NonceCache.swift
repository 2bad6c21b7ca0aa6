// SPDX-License-Identifier: Apache-2.0
// Replay protection: the nonces of verified signatures, per key, for as long as a signature could
// still be accepted. Bounded, so that a flood of signed requests cannot grow it without end.
import Crypto
import Synchronization

/// Thread-safe, bounded memory of (keyid, nonce) pairs. A nonce is remembered for `window` seconds
/// from its first use; when `capacity` pairs are held, inserting evicts the oldest.
///
/// The window must exceed the verifier's `maxAge + maxSkew` (a `MessageVerifier` precondition): a
/// nonce forgotten sooner could be replayed while its signature is still young enough to pass.
/// Eviction at capacity is the one way a nonce can be forgotten early; only holders of a known key
/// can fill the cache (nonces are recorded after the signature verifies), and the capacity should
/// exceed the signed requests all keys can make in one window.
public final class NonceCache: Sendable {
    public let window: Int64
    public let capacity: Int

    /// SHA-256 over (length of keyid, keyid, nonce): 32 bytes inline, whatever the strings' sizes,
    /// so a million entries stay small and allocate no strings.
    private struct Key: Hashable {
        var a: UInt64, b: UInt64, c: UInt64, d: UInt64

        init(keyID: String, nonce: String) {
            var hash = SHA256()
            withUnsafeBytes(of: UInt64(keyID.utf8.count).bigEndian) { hash.update(bufferPointer: $0) }
            hash.update(data: Array(keyID.utf8))
            hash.update(data: Array(nonce.utf8))
            let words = hash.finalize().withUnsafeBytes { raw in (0..<4).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
            (a, b, c, d) = (words[0], words[1], words[2], words[3])
        }
    }

    private struct State {
        /// When each remembered pair was first used.
        var seen: [Key: Int64] = [:]
        /// The pairs in insertion order, oldest at `head`; the slots before `head` are dead.
        var order: [(key: Key, time: Int64)] = []
        var head = 0

        mutating func dropOldest() {
            let oldest = order[head]
            if seen[oldest.key] == oldest.time { seen[oldest.key] = nil }
            head += 1
            // Compact once the dead prefix is half the array: amortised O(1) per insert.
            if head > 1024 && head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
        }
    }

    private let state = Mutex(State())

    public init(window: Int64 = 600, capacity: Int = 1_000_000) {
        precondition(window > 0 && capacity > 0, "NonceCache: window and capacity must be positive")
        self.window = window
        self.capacity = capacity
    }

    /// Records `nonce` for `keyID` at `now` (unix seconds) and returns true; returns false, recording
    /// nothing, when the pair was seen within the window (a replay). Pairs older than the window are
    /// forgotten first; when the cache is still full, the oldest pair is evicted.
    public func insert(_ nonce: String, keyID: String, now: Int64) -> Bool {
        let key = Key(keyID: keyID, nonce: nonce)
        return state.withLock { state in
            while state.head < state.order.count, state.order[state.head].time <= now - window {
                state.dropOldest()
            }
            if let first = state.seen[key], first > now - window { return false }
            while state.seen.count >= capacity, state.head < state.order.count {
                state.dropOldest()
            }
            state.seen[key] = now
            state.order.append((key, now))
            return true
        }
    }

    /// How many pairs are remembered.
    public var count: Int {
        state.withLock { $0.seen.count }
    }
}

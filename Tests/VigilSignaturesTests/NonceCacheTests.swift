// SPDX-License-Identifier: Apache-2.0
// The nonce cache: a second use within the window is refused, nonces are per key, old ones are
// forgotten, and at capacity the oldest goes first.
import Testing
import VigilSignatures

@Suite("Nonce cache")
struct NonceCacheTests {
    @Test func aSecondUseWithinTheWindowIsARefusal() {
        let cache = NonceCache(window: 600)
        #expect(cache.insert("n1", keyID: "k", now: 1000))
        #expect(!cache.insert("n1", keyID: "k", now: 1000))
        #expect(!cache.insert("n1", keyID: "k", now: 1599))
        #expect(cache.count == 1)
        #expect(cache.insert("n2", keyID: "k", now: 1000))
        #expect(cache.count == 2)
    }

    @Test func noncesArePerKey() {
        let cache = NonceCache()
        #expect(cache.insert("same", keyID: "device-a", now: 1))
        #expect(cache.insert("same", keyID: "device-b", now: 1))
        #expect(!cache.insert("same", keyID: "device-a", now: 2))
        // The pair is hashed with the key ID's length, so the split between the two cannot shift.
        #expect(cache.insert("b", keyID: "a", now: 1))
        #expect(cache.insert("", keyID: "ab", now: 1))
    }

    @Test func aNonceOlderThanTheWindowIsForgotten() {
        let cache = NonceCache(window: 600)
        #expect(cache.insert("old", keyID: "k", now: 1000))
        #expect(cache.insert("newer", keyID: "k", now: 1300))
        #expect(cache.count == 2)
        // At 1600 "old" is exactly a window old: forgotten, and usable again; "newer" is not.
        #expect(cache.insert("other", keyID: "k", now: 1600))
        #expect(cache.count == 2)
        #expect(cache.insert("old", keyID: "k", now: 1600))
        #expect(!cache.insert("newer", keyID: "k", now: 1600))
        #expect(!cache.insert("old", keyID: "k", now: 1601))
    }

    @Test func atCapacityTheOldestIsEvicted() {
        let cache = NonceCache(window: 600, capacity: 3)
        for (i, nonce) in ["a", "b", "c"].enumerated() { #expect(cache.insert(nonce, keyID: "k", now: 100 + Int64(i))) }
        #expect(cache.count == 3)
        #expect(cache.insert("d", keyID: "k", now: 110))
        #expect(cache.count == 3)
        #expect(cache.insert("a", keyID: "k", now: 111), "the oldest, evicted, is forgotten")
        #expect(!cache.insert("c", keyID: "k", now: 112), "the newer ones are still remembered")
        #expect(!cache.insert("d", keyID: "k", now: 112))
        #expect(cache.insert("b", keyID: "k", now: 113), "b was evicted when a came back")
        #expect(cache.count == 3)
    }

    @Test func manyInsertsStayBoundedAndCorrect() {
        let cache = NonceCache(window: 100, capacity: 5000)
        for i in 0..<20000 { #expect(cache.insert("n\(i)", keyID: "k", now: Int64(i / 100))) }
        #expect(cache.count <= 5000)
        // The last second's nonces are remembered; one from second 40, past window and capacity, is not.
        #expect(!cache.insert("n19999", keyID: "k", now: 199))
        #expect(cache.insert("n4000", keyID: "k", now: 199))
    }

    @Test func concurrentInsertsOfOneNonceAdmitExactlyOne() async {
        let cache = NonceCache()
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 { group.addTask { cache.insert("race", keyID: "k", now: 5) } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 1)
    }
}

// SPDX-License-Identifier: Apache-2.0
// The index buckets' lookup structure: a frozen open-addressing hash table from byte strings to rule
// lists. Looked up straight from an input's UTF-8 bytes (a path segment, a command word, a host suffix):
// no String is built, nothing is allocated, and the hash is a few instructions a byte.
//
// Swift compares Strings by canonical equivalence (`"\u{212A}"` == `"K"`), bytes don't. Byte equality is the
// same thing only when both sides are ASCII, so a lookup answers only then; otherwise it says it can't and
// the caller asks the Dictionary the table was built from.

/// A class: immutable once built, shared by reference (the buckets are never copied on the hot path).
final class ByteTable: Sendable {
    /// Every key's bytes, back to back; `keyRanges[entry]` is one key.
    private let keyBytes: [UInt8]
    private let keyRanges: [Range<Int>]
    /// Every bucket's rule indices, back to back, in the order they were added.
    private let values: [Int]
    private let valueRanges: [Range<Int>]
    /// Open addressing, linear probing: entry + 1, or 0 for an empty slot.
    private let slots: [Int32]
    private let mask: Int
    /// Every key is ASCII: byte lookups of ASCII inputs are exact.
    private let asciiKeys: Bool

    static let empty = ByteTable([:])

    /// - Parameter buckets: key → rule indices (kept in their order).
    init(_ buckets: [String: [Int]]) {
        var keyBytes: [UInt8] = []
        var keyRanges: [Range<Int>] = []
        var values: [Int] = []
        var valueRanges: [Range<Int>] = []
        var capacity = 8
        while capacity < buckets.count * 2 { capacity *= 2 }
        var slots = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for (key, rules) in buckets.sorted(by: { $0.key < $1.key }) {
            let bytes = Array(key.utf8)
            let entry = keyRanges.count
            keyRanges.append(keyBytes.count..<(keyBytes.count + bytes.count))
            keyBytes.append(contentsOf: bytes)
            valueRanges.append(values.count..<(values.count + rules.count))
            values.append(contentsOf: rules)
            let hash = bytes.withUnsafeBufferPointer { ByteTable.hash($0, nil) } ?? 0
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry + 1)
        }
        self.keyBytes = keyBytes
        self.keyRanges = keyRanges
        self.values = values
        self.valueRanges = valueRanges
        self.slots = slots
        self.mask = mask
        asciiKeys = keyBytes.allSatisfy { $0 < 0x80 }
    }

    var isEmpty: Bool { keyRanges.isEmpty }

    /// Every rule in the table (bucket order, each bucket in its order).
    var allValues: [Int] { values }

    /// FNV-1a over `first`, then a space and `second` when given (two-word keys such as `git push`); nil when
    /// a byte isn't ASCII.
    @inline(__always)
    private static func hash(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>?) -> UInt64? {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var seen: UInt8 = 0
        for byte in first {
            seen |= byte
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        if let second {
            hash = (hash ^ 0x20) &* 0x0000_0100_0000_01b3
            for byte in second {
                seen |= byte
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
        }
        return seen < 0x80 ? hash ^ (hash >> 29) : nil
    }

    private enum Found {
        case bucket(Range<Int>)
        case none
        /// Not ASCII: only a String comparison can tell.
        case unknown
    }

    /// The bucket of `first` (or `first second`), as a range of `values`.
    private func find(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>?) -> Found {
        if keyRanges.isEmpty { return .none }
        guard asciiKeys, let hash = ByteTable.hash(first, second) else { return .unknown }
        let length = first.count + (second.map { $0.count + 1 } ?? 0)
        var slot = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            keyBytes.withUnsafeBufferPointer { keys in
                while true {
                    let entry = Int(slots[slot]) - 1
                    if entry < 0 { return .none }
                    let range = keyRanges[entry]
                    if range.count == length, ByteTable.equal(keys, range.lowerBound, first, second) {
                        return .bucket(valueRanges[entry])
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    @inline(__always)
    private static func equal(
        _ keys: UnsafeBufferPointer<UInt8>, _ start: Int, _ first: UnsafeBufferPointer<UInt8>,
        _ second: UnsafeBufferPointer<UInt8>?
    ) -> Bool {
        var position = start
        for byte in first {
            if keys[position] != byte { return false }
            position += 1
        }
        guard let second else { return true }
        if keys[position] != 0x20 { return false }
        position += 1
        for byte in second {
            if keys[position] != byte { return false }
            position += 1
        }
        return true
    }

    /// Appends the bucket of `key` (or of `key second`) to `result`.
    /// - Returns: false when the bytes can't decide (non-ASCII): the caller looks the String up instead.
    @discardableResult
    func append(_ key: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>? = nil, into result: inout [Int]) -> Bool {
        switch find(key, second) {
        case .bucket(let range):
            result.append(contentsOf: values[range])
            return true
        case .none: return true
        case .unknown: return false
        }
    }

    func append(_ key: String, into result: inout [Int]) -> Bool {
        if keyRanges.isEmpty { return true }
        var key = key
        return key.withUTF8 { append($0, into: &result) }
    }

    func append(_ key: Substring, into result: inout [Int]) -> Bool {
        if keyRanges.isEmpty { return true }
        var key = key
        return key.withUTF8 { append($0, into: &result) }
    }

    /// `first second` (two words joined by one space).
    func append(_ first: String, _ second: String, into result: inout [Int]) -> Bool {
        if keyRanges.isEmpty { return true }
        var first = first
        var second = second
        return first.withUTF8 { a in second.withUTF8 { b in append(a, b, into: &result) } }
    }

    /// The first value of `key`'s bucket: -1 when there is none, -2 when the bytes can't decide.
    func firstValue(_ key: String) -> Int {
        if keyRanges.isEmpty { return -1 }
        var key = key
        return key.withUTF8 { bytes in
            switch find(bytes, nil) {
            case .bucket(let range): return range.isEmpty ? -1 : values[range.lowerBound]
            case .none: return -1
            case .unknown: return -2
            }
        }
    }
}

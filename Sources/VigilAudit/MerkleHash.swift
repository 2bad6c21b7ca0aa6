// SPDX-License-Identifier: Apache-2.0
// A SHA-256 digest held inline (no heap allocation), the unit of the RFC 6962 tree.
import Crypto
import Foundation

/// A 32-byte SHA-256 value: a leaf hash, an interior node or a tree root.
///
/// Stored as four words so that trees of millions of nodes cost 32 bytes each and no allocations.
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
    private var w0: UInt64
    private var w1: UInt64
    private var w2: UInt64
    private var w3: UInt64

    /// The all-zero value: the `prev` link of entry 0.
    public static let zero = MerkleHash(w0: 0, w1: 0, w2: 0, w3: 0)

    private init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    init(_ digest: SHA256.Digest) {
        self = digest.withUnsafeBytes { MerkleHash(unsafeBytes: $0) }
    }

    init(unsafeBytes raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 32, "a SHA-256 value is 32 bytes")
        w0 = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        w2 = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        w3 = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    /// Creates a hash from exactly 32 bytes; `nil` for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        let array = Array(bytes)
        self = array.withUnsafeBytes { MerkleHash(unsafeBytes: $0) }
    }

    /// Parses standard base64 (RFC 4648 §4) of exactly 32 bytes.
    public init?(base64: some StringProtocol) {
        guard let data = Data(base64Encoded: String(base64)) else { return nil }
        self.init(bytes: data)
    }

    /// Parses 64 hexadecimal digits (either case).
    public init?(hex: some StringProtocol) {
        guard let bytes = HexCoding.decode(Array(hex.utf8)), bytes.count == 32 else { return nil }
        self.init(bytes: bytes)
    }

    /// Calls `body` with the 32 raw bytes.
    @inline(__always)
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: (w0, w1, w2, w3)) { try body($0) }
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
    public var hex: String { withUnsafeBytes { HexCoding.encode($0) } }
    public var base64: String { Data(bytes).base64EncodedString() }
    public var description: String { hex }
}

/// Lower-case hexadecimal encoding used by the log's text fields.
enum HexCoding {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes 2 digits per byte into `out`.
    static func append(_ hash: MerkleHash, to out: inout [UInt8]) {
        hash.withUnsafeBytes { raw in
            for byte in raw {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
        }
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func decode(_ chars: some Collection<UInt8>) -> [UInt8]? {
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var iterator = chars.makeIterator()
        while let hi = iterator.next(), let lo = iterator.next() {
            guard let h = nibble(hi), let l = nibble(lo) else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }
}

// SPDX-License-Identifier: Apache-2.0
// RFC 6962 §2.1 hashing: domain-separated leaf and interior-node hashes over SHA-256.
import Crypto

/// The hash functions of RFC 6962 §2.1 (unchanged in RFC 9162 §2.1.1).
///
/// `leaf = SHA-256(0x00 || entry)`, `node = SHA-256(0x01 || left || right)`, and the hash of the
/// empty tree is `SHA-256("")`. The 0x00/0x01 prefixes keep a leaf from being passed off as a node.
public enum RFC6962 {
    /// The root of the empty tree: `SHA-256()` of no bytes.
    public static let emptyRoot = MerkleHash(SHA256.hash(data: [UInt8]()))

    /// `SHA-256(0x00 || leaf)`.
    @inline(__always)
    public static func leafHash(_ leaf: UnsafeRawBufferPointer) -> MerkleHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: leaf)
        return MerkleHash(hasher.finalize())
    }

    /// `SHA-256(0x00 || leaf)`.
    public static func leafHash(_ leaf: some Collection<UInt8>) -> MerkleHash {
        let bytes = Array(leaf)
        return bytes.withUnsafeBytes { leafHash($0) }
    }

    /// `SHA-256(0x01 || left || right)`.
    @inline(__always)
    public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            buffer[0] = 1
            left.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            right.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
            return MerkleHash(hasher.finalize())
        }
    }

    /// The largest power of two strictly less than `n` (`n` ≥ 2): RFC 6962's split point `k`.
    @inline(__always)
    static func splitPoint(_ n: Int) -> Int {
        precondition(n >= 2)
        return 1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }
}

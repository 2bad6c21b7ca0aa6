// SPDX-License-Identifier: Apache-2.0
// The verifier's full tree: every complete subtree hash, so any root or proof is O(log n).
/// An RFC 6962 Merkle tree that keeps every complete (perfect, aligned) subtree hash.
///
/// `levels[0]` are the leaf hashes; `levels[l][i]` is the hash of leaves `i·2^l ..< (i+1)·2^l`.
/// Memory is about 64 bytes per leaf. Roots of earlier sizes and inclusion/consistency proofs
/// (RFC 6962 §2.1.1, §2.1.2) are computed from stored nodes in O(log n) hashes.
public struct MerkleTree: Sendable {
    private var levels: [[MerkleHash]] = [[]]

    public init() {}

    public init(leafHashes: some Sequence<MerkleHash>) {
        for hash in leafHashes { append(hash) }
    }

    /// The number of leaves.
    public var size: Int { levels[0].count }

    /// The leaf hash at `index`.
    public func leafHash(at index: Int) -> MerkleHash { levels[0][index] }

    /// Appends a leaf hash and every complete subtree it finishes.
    public mutating func append(_ leaf: MerkleHash) {
        levels[0].append(leaf)
        var index = levels[0].count - 1
        var level = 0
        while index & 1 == 1 {
            let parent = RFC6962.nodeHash(levels[level][index - 1], levels[level][index])
            level += 1
            if levels.count == level { levels.append([]) }
            levels[level].append(parent)
            index >>= 1
        }
    }

    func completeNode(level: Int, index: Int) -> MerkleHash { levels[level][index] }

    /// RFC 6962 `MTH(D[0:n])`: the root of the tree of the first `n` leaves.
    public func root(size n: Int) -> MerkleHash {
        precondition(n >= 0 && n <= size, "root of size \(n) asked of a tree of \(size)")
        return n == 0 ? RFC6962.emptyRoot : subtreeHash(0, n)
    }

    /// `MTH(D[lo:hi])` for `hi > lo`: a stored node when the range is a perfect aligned subtree,
    /// otherwise split at RFC 6962's `k` (the left part is then always perfect in proof paths).
    func subtreeHash(_ lo: Int, _ hi: Int) -> MerkleHash {
        let width = hi - lo
        if width & (width - 1) == 0, lo % width == 0 {
            return levels[width.trailingZeroBitCount][lo / width]
        }
        let k = RFC6962.splitPoint(width)
        return RFC6962.nodeHash(subtreeHash(lo, lo + k), subtreeHash(lo + k, hi))
    }
}

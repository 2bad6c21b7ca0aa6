// SPDX-License-Identifier: Apache-2.0
// The writer's O(log n) view of the tree: one hash per perfect subtree of the prefix.
/// The roots of the perfect subtrees that make up a tree of `size` leaves, largest first.
///
/// This is all an appender needs to compute the current root; it costs `popcount(size)` hashes.
public struct MerkleCompactRange: Sendable, Equatable {
    public private(set) var size: Int = 0
    private(set) var peaks: [MerkleHash] = []

    public init() {}

    /// Rebuilds the range from a full tree's stored complete subtrees.
    init(tree: MerkleTree) {
        size = tree.size
        var offset = 0
        for level in stride(from: Int.bitWidth - 1, through: 0, by: -1) where (size >> level) & 1 == 1 {
            peaks.append(tree.completeNode(level: level, index: offset >> level))
            offset += 1 << level
        }
    }

    /// Adds one leaf hash, merging equal-sized subtrees.
    public mutating func append(_ leaf: MerkleHash) {
        var hash = leaf
        var count = size
        while count & 1 == 1 {
            hash = RFC6962.nodeHash(peaks.removeLast(), hash)
            count >>= 1
        }
        peaks.append(hash)
        size += 1
    }

    /// The RFC 6962 Merkle tree hash of all leaves appended so far.
    public var root: MerkleHash {
        guard var root = peaks.last else { return RFC6962.emptyRoot }
        for peak in peaks.dropLast().reversed() {
            root = RFC6962.nodeHash(peak, root)
        }
        return root
    }
}

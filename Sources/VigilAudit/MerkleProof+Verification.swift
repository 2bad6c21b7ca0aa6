// SPDX-License-Identifier: Apache-2.0
// RFC 9162 §2.1.3.2 and §2.1.4.2: verifying proofs with nothing but hashes (offline).
/// Proof verification that needs no tree: an auditor's side of RFC 6962.
public enum MerkleProof {
    /// RFC 9162 §2.1.3.2: does `proof` show leaf `leafHash` at `index` in the tree of `size` with `root`?
    /// A wrong proof is `false`, never a thrown error.
    public static func verifyInclusion(
        leafHash: MerkleHash, index: Int, size: Int, proof: [MerkleHash], root: MerkleHash
    ) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = RFC6962.nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = RFC6962.nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// RFC 9162 §2.1.4.2: is the tree (`newSize`, `newRoot`) an append-only extension of
    /// (`oldSize`, `oldRoot`)? Equal sizes need equal roots and an empty proof; size 0 is a prefix of all.
    public static func verifyConsistency(
        oldSize: Int, oldRoot: MerkleHash, newSize: Int, newRoot: MerkleHash, proof: [MerkleHash]
    ) -> Bool {
        guard oldSize >= 0, oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof[...]
        if oldSize & (oldSize - 1) == 0 { path = [oldRoot] + path }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path.first!
        var sr = fr
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = RFC6962.nodeHash(c, fr)
                sr = RFC6962.nodeHash(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = RFC6962.nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}

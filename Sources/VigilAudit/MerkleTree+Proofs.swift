// SPDX-License-Identifier: Apache-2.0
// RFC 6962 §2.1.1 audit paths and §2.1.2 consistency proofs, generated from a full tree.
extension MerkleTree {
    /// RFC 6962 `PATH(m, D[0:n])`: the inclusion proof of leaf `index` in the tree of size `n`,
    /// sibling hashes from the leaf upwards.
    public func inclusionProof(index: Int, size n: Int) -> [MerkleHash] {
        precondition(index >= 0 && index < n && n <= size, "no leaf \(index) in a tree of \(n)")
        var proof: [MerkleHash] = []
        path(index, 0, n, into: &proof)
        return proof
    }

    private func path(_ m: Int, _ lo: Int, _ hi: Int, into proof: inout [MerkleHash]) {
        guard hi - lo > 1 else { return }
        let k = RFC6962.splitPoint(hi - lo)
        if m < lo + k {
            path(m, lo, lo + k, into: &proof)
            proof.append(subtreeHash(lo + k, hi))
        } else {
            path(m, lo + k, hi, into: &proof)
            proof.append(subtreeHash(lo, lo + k))
        }
    }

    /// RFC 6962 `PROOF(m, D[n])`: the consistency proof from size `m` to size `n` (0 < m ≤ n).
    public func consistencyProof(from m: Int, to n: Int) -> [MerkleHash] {
        precondition(m > 0 && m <= n && n <= size, "no consistency proof \(m) → \(n) in a tree of \(size)")
        var proof: [MerkleHash] = []
        subproof(m, 0, n, true, into: &proof)
        return proof
    }

    private func subproof(_ m: Int, _ lo: Int, _ hi: Int, _ complete: Bool, into proof: inout [MerkleHash]) {
        let n = hi - lo
        if m == n {
            if !complete { proof.append(subtreeHash(lo, hi)) }
            return
        }
        let k = RFC6962.splitPoint(n)
        if m <= k {
            subproof(m, lo, lo + k, complete, into: &proof)
            proof.append(subtreeHash(lo + k, hi))
        } else {
            subproof(m - k, lo + k, hi, false, into: &proof)
            proof.append(subtreeHash(lo, lo + k))
        }
    }
}

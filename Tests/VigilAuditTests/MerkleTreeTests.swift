// SPDX-License-Identifier: Apache-2.0
// RFC 6962 hashing against independent vectors, and proof generation/verification properties.
import Testing
@testable import VigilAudit

@Suite("RFC 6962 Merkle tree")
struct MerkleTreeTests {
    /// The classic CT test leaves; roots cross-checked with an independent Python implementation.
    static let leaves: [[UInt8]] = [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57], Array(0x60...0x6f),
    ]
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func tree(_ n: Int) -> MerkleTree {
        MerkleTree(leafHashes: (0..<n).map { RFC6962.leafHash(leaves[$0 % leaves.count] + [UInt8(truncatingIfNeeded: $0 / 8)]) })
    }

    @Test func rootsMatchKnownVectors() {
        let tree = MerkleTree(leafHashes: Self.leaves.map { RFC6962.leafHash($0) })
        var compact = MerkleCompactRange()
        for n in 1...8 {
            compact.append(RFC6962.leafHash(Self.leaves[n - 1]))
            #expect(tree.root(size: n).hex == Self.roots[n - 1], "size \(n)")
            #expect(compact.root.hex == Self.roots[n - 1], "compact size \(n)")
        }
        #expect(tree.root(size: 0).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(MerkleCompactRange().root == RFC6962.emptyRoot)
    }

    @Test func proofsMatchIndependentVectors() {
        let tree = MerkleTree(leafHashes: Self.leaves.map { RFC6962.leafHash($0) })
        #expect(
            tree.inclusionProof(index: 5, size: 7).map(\.hex) == [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ])
        #expect(
            tree.consistencyProof(from: 3, to: 7).map(\.hex) == [
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
            ])
    }

    @Test func everyInclusionProofVerifiesAndTamperedOnesFail() {
        let tree = Self.tree(37)
        for size in 1...37 {
            let root = tree.root(size: size)
            for index in 0..<size {
                let proof = tree.inclusionProof(index: index, size: size)
                let leaf = tree.leafHash(at: index)
                #expect(MerkleProof.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof, root: root))
                let other = tree.leafHash(at: (index + 1) % tree.size)
                #expect(!MerkleProof.verifyInclusion(leafHash: other, index: index, size: size, proof: proof, root: root) || other == leaf)
                if size > 1 {
                    #expect(!MerkleProof.verifyInclusion(leafHash: leaf, index: (index + 1) % size, size: size, proof: proof, root: root))
                    var bad = proof
                    bad[bad.count - 1] = RFC6962.leafHash([1, 2, 3])
                    #expect(!MerkleProof.verifyInclusion(leafHash: leaf, index: index, size: size, proof: bad, root: root))
                    #expect(!MerkleProof.verifyInclusion(leafHash: leaf, index: index, size: size, proof: proof.dropLast(), root: root))
                }
            }
        }
    }

    @Test func everyConsistencyProofVerifiesAndWrongRootsFail() {
        let tree = Self.tree(33)
        for new in 1...33 {
            for old in 1...new {
                let proof = tree.consistencyProof(from: old, to: new)
                let (oldRoot, newRoot) = (tree.root(size: old), tree.root(size: new))
                #expect(MerkleProof.verifyConsistency(oldSize: old, oldRoot: oldRoot, newSize: new, newRoot: newRoot, proof: proof))
                if old < new {
                    let forged = RFC6962.nodeHash(oldRoot, oldRoot)
                    #expect(!MerkleProof.verifyConsistency(oldSize: old, oldRoot: forged, newSize: new, newRoot: newRoot, proof: proof))
                    #expect(!MerkleProof.verifyConsistency(oldSize: old, oldRoot: oldRoot, newSize: new, newRoot: forged, proof: proof))
                    #expect(!MerkleProof.verifyConsistency(oldSize: old, oldRoot: oldRoot, newSize: new, newRoot: newRoot, proof: []))
                }
            }
        }
        #expect(MerkleProof.verifyConsistency(oldSize: 0, oldRoot: RFC6962.emptyRoot, newSize: 5, newRoot: tree.root(size: 5), proof: []))
        #expect(!MerkleProof.verifyConsistency(oldSize: 6, oldRoot: tree.root(size: 6), newSize: 5, newRoot: tree.root(size: 5), proof: []))
    }

    @Test func compactRangeRebuiltFromTreeMatches() {
        let tree = Self.tree(45)
        var compact = MerkleCompactRange()
        for i in 0..<45 { compact.append(tree.leafHash(at: i)) }
        #expect(MerkleCompactRange(tree: tree) == compact)
        #expect(compact.root == tree.root(size: 45))
    }

    @Test func crc32cKnownValue() {
        // RFC 3720 B.4: CRC-32C of "123456789" is 0xE3069283.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }
}

// SPDX-License-Identifier: Apache-2.0
// Offline-verifiable inclusion proofs in the C2SP tlog-proof format, with the leaf carried as `extra`.
import Foundation

/// A self-contained proof that one entry is in the log, as a C2SP `tlog-proof` text:
///
/// ```
/// c2sp.org/tlog-proof@v1
/// extra <base64 of the leaf bytes>
/// index <N>
/// <base64 sibling hash, leaf level first> …
///
/// <checkpoint note, verbatim>
/// ```
///
/// The `extra` line carries the leaf itself, so a verifier needs only this text and the log's
/// public key: the leaf hashes into the proof, the proof into the signed root.
public struct InclusionProof: Sendable, Hashable {
    public static let header = "c2sp.org/tlog-proof@v1"

    public var index: Int
    public var leaf: [UInt8]
    public var hashes: [MerkleHash]
    /// The signed checkpoint note the proof is against.
    public var checkpointNote: String

    public init(index: Int, leaf: [UInt8], hashes: [MerkleHash], checkpointNote: String) {
        self.index = index
        self.leaf = leaf
        self.hashes = hashes
        self.checkpointNote = checkpointNote
    }

    public var text: String {
        var text = "\(Self.header)\nextra \(Data(leaf).base64EncodedString())\nindex \(index)\n"
        for hash in hashes { text += hash.base64 + "\n" }
        return text + "\n" + checkpointNote
    }

    /// Parses the text form.
    /// - Throws: ``AuditError/Code/proofInvalid`` when it is not a tlog-proof with an `extra` leaf.
    public init(parsing text: String) throws(AuditError) {
        guard let split = text.range(of: "\n\n") else { throw AuditError(.proofInvalid, "no blank line before the checkpoint") }
        let lines = text[..<split.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3, lines[0] == Self.header else { throw AuditError(.proofInvalid, "first line is not \(Self.header)") }
        guard lines[1].hasPrefix("extra "), let leaf = Data(base64Encoded: String(lines[1].dropFirst(6))) else {
            throw AuditError(.proofInvalid, "no `extra` line with the base64 leaf")
        }
        guard lines[2].hasPrefix("index "), let index = Int(lines[2].dropFirst(6)), index >= 0,
            String(index) == lines[2].dropFirst(6)
        else { throw AuditError(.proofInvalid, "no valid `index` line") }
        var hashes: [MerkleHash] = []
        for line in lines.dropFirst(3) {
            guard let hash = MerkleHash(base64: line) else { throw AuditError(.proofInvalid, "proof line '\(line)' is not a base64 SHA-256") }
            hashes.append(hash)
        }
        self.init(index: index, leaf: Array(leaf), hashes: hashes, checkpointNote: String(text[split.upperBound...]))
    }

    /// The outcome of checking a proof: a value, never a thrown error.
    public struct Verification: Sendable {
        public var isValid: Bool
        public var checkpoint: Checkpoint?
        public var leafHash: MerkleHash
        /// The decoded entry when the leaf decodes.
        public var leaf: AuditLeaf?
        /// Why it failed, when it did.
        public var reason: String?
    }

    /// Verifies offline: the checkpoint is signed by `key` with `key`'s origin, the leaf carries
    /// `index`, and the RFC 9162 inclusion check from the leaf hash reaches the signed root.
    public func verify(key: NoteVerifierKey) -> Verification {
        let leafHash = RFC6962.leafHash(leaf)
        var result = Verification(isValid: false, leafHash: leafHash)
        result.leaf = try? AuditLeaf.decode(leaf)
        guard let note = SignedNote(text: checkpointNote), let checkpoint = Checkpoint(body: note.body) else {
            result.reason = "the embedded checkpoint is not a signed checkpoint note"
            return result
        }
        result.checkpoint = checkpoint
        guard note.isSigned(by: key) else {
            result.reason = "the checkpoint has no valid signature by \(key)"
            return result
        }
        guard checkpoint.origin == key.name else {
            result.reason = "checkpoint origin \(checkpoint.origin) is not the key's log \(key.name)"
            return result
        }
        guard let leafIndex = result.leaf?.index, leafIndex == index else {
            result.reason = "the leaf does not decode or does not carry index \(index)"
            return result
        }
        guard
            MerkleProof.verifyInclusion(
                leafHash: leafHash, index: index, size: checkpoint.size, proof: hashes, root: checkpoint.root)
        else {
            result.reason = "the inclusion proof does not lead from the leaf hash \(leafHash.base64) to the signed root"
            return result
        }
        result.isValid = true
        return result
    }
}

extension AuditVerifier {
    /// Builds an inclusion proof for entry `index` against the log's latest checkpoint, after
    /// verifying the whole log.
    /// - Throws: ``AuditError/Code/logDoesNotVerify`` (with the report); ``AuditError/Code/invalidArgument``
    ///   when no checkpoint covers `index` yet.
    public static func prove(
        directory: String, index: Int, publicKey: NoteVerifierKey? = nil
    ) throws(AuditError) -> InclusionProof {
        let scan = try scan(directory: directory, publicKey: publicKey, options: Options(decodeEntries: false))
        guard scan.report.isValid else {
            throw AuditError(.logDoesNotVerify, "the log does not verify", path: directory, report: scan.report)
        }
        guard let latest = scan.checkpoints.last, index >= 0, index < latest.checkpoint.size else {
            throw AuditError(
                .invalidArgument,
                "entry \(index) is not covered by the latest checkpoint (size \(scan.checkpoints.last?.checkpoint.size ?? 0))",
                path: directory)
        }
        return InclusionProof(
            index: index, leaf: Array(scan.leaf(at: index)),
            hashes: scan.tree.inclusionProof(index: index, size: latest.checkpoint.size), checkpointNote: latest.note.text)
    }
}

// SPDX-License-Identifier: Apache-2.0
// Entry checks: framing and CRC, leaf layout, index, hash chain, JSON, and roots at every checkpoint.
extension LogScanner {
    /// Walks every record of `entries`, rebuilding the tree. Returns `false` after recording a failure.
    static func readEntries(
        layout: AuditLogLayout, covered: Int, options: Options, into scan: inout LogScan
    ) -> Bool {
        let file = layout.entries
        let bytes = scan.entryBytes
        let checkpoints = scan.checkpoints
        var cursor = 0
        var tree = MerkleTree()
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(bytes.count / 256)
        var failure: VerificationFailure?
        var torn: TornTail?

        func checkRoots(at size: Int) -> Bool {
            while cursor < checkpoints.count, checkpoints[cursor].checkpoint.size == size {
                let signed = checkpoints[cursor].checkpoint
                let computed = tree.root(size: size)
                if computed != signed.root {
                    let from = cursor > 0 ? checkpoints[cursor - 1].checkpoint.size : 0
                    failure = VerificationFailure(
                        .rootMismatch, index: min(from, max(size - 1, 0)), checkpoint: checkpoints[cursor].ordinal, file: file,
                        "the entries do not hash to the signed root: an entry in [\(from), \(size)) was altered, "
                            + "inserted, removed or reordered (and its chain links rewritten)",
                        evidence: [
                            .init("checkpoint", signed.description),
                            .init("signed root", signed.root.base64),
                            .init("computed root", computed.base64),
                            .init("last matching checkpoint size", String(from)),
                        ])
                    return false
                }
                cursor += 1
            }
            return true
        }

        let end: Int = bytes.withUnsafeBytes { raw in
            var offset = RecordFraming.headerSize
            var prev = MerkleHash.zero
            guard checkRoots(at: 0) else { return offset }
            while offset < raw.count {
                let index = tree.size
                let result = RecordFraming.read(raw, at: offset)
                guard case .record(let range, let next, _) = result else {
                    if index >= covered, let reason = tornReason(result, raw, at: offset, everyRecordIsABatch: false) {
                        torn = TornTail(file: file, offset: offset, length: raw.count - offset, position: index, reason: reason)
                    } else {
                        failure = damageFailure(result, file: file, offset: offset, index: index, checkpoint: nil, covered: covered)
                    }
                    return offset
                }
                let leaf = UnsafeRawBufferPointer(rebasing: raw[range])
                guard let header = AuditLeaf.parseHeader(leaf) else {
                    failure = VerificationFailure(
                        .malformedLeaf, index: index, file: file, offset: offset,
                        "record does not have the leaf layout {\"v\":1,\"index\":…,\"prev\":…,\"recorded\":…,\"entry\":…}",
                        evidence: [.init("leaf prefix", String(decoding: leaf.prefix(120), as: UTF8.self))])
                    return offset
                }
                guard header.index == index else {
                    failure = VerificationFailure(
                        .indexMismatch, index: index, file: file, offset: offset,
                        "leaf at position \(index) carries index \(header.index): entries were reordered, removed or duplicated",
                        evidence: [.init("position", String(index)), .init("index in leaf", String(header.index))])
                    return offset
                }
                guard header.prev == prev else {
                    failure = VerificationFailure(
                        .chainBroken, index: max(index - 1, 0), file: file, offset: offset,
                        "leaf \(index)'s prev link is not the hash of leaf \(index - 1): one of the two was altered",
                        evidence: [
                            .init("hash of leaf \(index - 1)", prev.hex),
                            .init("prev in leaf \(index)", header.prev.hex),
                        ])
                    return offset
                }
                if options.decodeEntries {
                    do {
                        _ = try AuditLeaf.decode(Array(leaf))
                    } catch {
                        failure = VerificationFailure(
                            .malformedEntry, index: index, file: file, offset: offset, "entry JSON does not decode",
                            evidence: [.init("error", "\(error)")])
                        return offset
                    }
                }
                let hash = RFC6962.leafHash(leaf)
                tree.append(hash)
                ranges.append(range)
                prev = hash
                offset = next
                guard checkRoots(at: tree.size) else { return offset }
            }
            return offset
        }
        scan.tree = tree
        scan.leafRanges = ranges
        scan.entriesEnd = end
        scan.report.entries = tree.size
        if let torn { scan.report.tornTails.append(torn) }
        if let failure {
            scan.report.failure = failure
            return false
        }
        return true
    }

    /// After the walk: the entries must reach every checkpoint we hold; consecutive checkpoints must
    /// be consistent (RFC 6962 proofs generated from the rebuilt tree, verified as an auditor would).
    static func checkCoverage(
        layout: AuditLogLayout, witness: Checkpoint, trusted: [Checkpoint], into scan: inout LogScan
    ) -> Bool {
        let size = scan.tree.size
        var held = scan.checkpoints.map { ("checkpoint #\($0.ordinal)", $0.checkpoint) }
        held.append(("witness", witness))
        held += trusted.enumerated().map { ("trusted checkpoint #\($0.offset)", $0.element) }
        if let (name, longest) = held.max(by: { $0.1.size < $1.1.size }), longest.size > size {
            scan.report.failure = VerificationFailure(
                .entriesTruncated, index: size, file: layout.entries, offset: scan.entriesEnd,
                "the log has \(size) entries but \(name) covers \(longest.size): entries from index \(size) were removed",
                evidence: [.init(name, longest.description), .init("entries present", String(size))])
            return false
        }
        for (number, checkpoint) in trusted.enumerated() where scan.tree.root(size: checkpoint.size) != checkpoint.root {
            scan.report.failure = VerificationFailure(
                .rootMismatch, index: checkpoint.size, file: "trusted checkpoint #\(number)",
                "the log's root at this size differs from a checkpoint held elsewhere (fork or rewrite)",
                evidence: [
                    .init("trusted", checkpoint.description),
                    .init("computed root", scan.tree.root(size: checkpoint.size).base64),
                ])
            return false
        }
        var chain = scan.checkpoints.map(\.checkpoint) + trusted
        chain.sort { $0.size < $1.size }
        for (old, new) in zip(chain, chain.dropFirst()) where old.size < new.size {
            let proof = old.size == 0 ? [] : scan.tree.consistencyProof(from: old.size, to: new.size)
            guard
                MerkleProof.verifyConsistency(
                    oldSize: old.size, oldRoot: old.root, newSize: new.size, newRoot: new.root, proof: proof)
            else {
                scan.report.failure = VerificationFailure(
                    .inconsistentCheckpoints, index: old.size, file: layout.checkpoints,
                    "RFC 6962 consistency proof between two checkpoints does not verify",
                    evidence: [
                        .init("older", old.description), .init("newer", new.description),
                        .init("proof", proof.map(\.base64).joined(separator: " ")),
                    ])
                return false
            }
            scan.report.consistencyProofs += 1
        }
        return true
    }
}

// SPDX-License-Identifier: Apache-2.0
// Every kind of tampering is detected, named, and makes the writer refuse.
import Foundation
import Testing
@testable import VigilAudit

@Suite("Tamper detection")
struct TamperTests {
    /// 100 entries, batches of 10, checkpoints at 0, 30, 60, 90, 100.
    static func log() throws -> (dir: String, signer: Ed25519FileSigner) { try TestLog.make(count: 100) }

    static func failure(_ dir: String, _ signer: Ed25519FileSigner, trusted: [String] = []) throws -> VerificationFailure? {
        try AuditVerifier.verify(
            directory: dir, publicKey: signer.verifierKey, options: .init(trustedCheckpoints: trusted)
        ).failure
    }

    static func editEntries(_ dir: String, _ edit: (inout TestLog.Records) throws -> Void) throws {
        var records = TestLog.Records(try TestLog.read(dir + "/entries"))
        try edit(&records)
        try TestLog.write(dir + "/entries", records.bytes)
    }

    @Test func flippedByteIsNamedByCRC() throws {
        let (dir, signer) = try Self.log()
        try Self.editEntries(dir) { $0.records[37][60] ^= 0x01 }
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .recordChecksum)
        #expect(failure.index == 37)
        #expect(failure.evidence.contains { $0.name == "stored CRC" })
        // The writer refuses, and leaves the bytes alone.
        let before = try TestLog.read(dir + "/entries")
        #expect {
            try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        } throws: { error in
            let error = error as? AuditError
            return error?.code == .logDoesNotVerify && error?.report?.failure?.index == 37
        }
        #expect(try TestLog.read(dir + "/entries") == before)
    }

    @Test func replacedEntryWithValidCRCBreaksTheChain() throws {
        let (dir, signer) = try Self.log()
        try Self.editEntries(dir) { records in
            var payload = TestLog.Records.payload(records.records[37])
            let text = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "\"uid\":1000", with: "\"uid\":0")
            payload = Array(text.utf8)
            records.records[37] = TestLog.Records.frame(payload, batchStart: TestLog.Records.isBatchStart(records.records[37]))
        }
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .chainBroken)
        #expect(failure.index == 37)
    }

    @Test func replacedEntryWithRewrittenChainFailsTheSignedRoot() throws {
        let (dir, signer) = try Self.log()
        try Self.editEntries(dir) { records in
            var prev = RFC6962.leafHash(TestLog.Records.payload(records.records[36]))
            for i in 37..<records.records.count {
                var leaf = try AuditLeaf.decode(TestLog.Records.payload(records.records[i]))
                if i == 37 { leaf.entry.subject?.uid = 0 }
                var bytes: [UInt8] = []
                let json = leaf.entry.canonicalJSON()
                AuditLeaf.write(index: i, prev: prev, recorded: leaf.recorded, entryJSON: json, to: &bytes)
                prev = RFC6962.leafHash(bytes)
                records.records[i] = TestLog.Records.frame(bytes, batchStart: TestLog.Records.isBatchStart(records.records[i]))
            }
        }
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .rootMismatch)
        #expect(failure.index == 30)  // the first index after the last checkpoint that still matches
        #expect(failure.evidence.contains { $0.name == "signed root" })
        #expect(failure.evidence.contains { $0.name == "computed root" })
    }

    @Test func deletedEntryIsNamed() throws {
        let (dir, signer) = try Self.log()
        try Self.editEntries(dir) { _ = $0.records.remove(at: 50) }
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .indexMismatch)
        #expect(failure.index == 50)
    }

    @Test func reorderedEntriesAreNamed() throws {
        let (dir, signer) = try Self.log()
        try Self.editEntries(dir) { $0.records.swapAt(20, 21) }
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .indexMismatch)
        #expect(failure.index == 20)
    }

    @Test func truncationAtARecordBoundaryIsNamed() throws {
        let (dir, signer) = try Self.log()
        try Self.editEntries(dir) { $0.records.removeLast(20) }
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .entriesTruncated)
        #expect(failure.index == 80)
    }

    @Test func truncationInsideACheckpointedRecordIsNotATornTail() throws {
        let (dir, signer) = try Self.log()
        let bytes = try TestLog.read(dir + "/entries")
        let records = TestLog.Records(bytes)
        try TestLog.write(dir + "/entries", Array(bytes.prefix(records.offset(of: 95) + 30)))
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .entriesTruncated)
        #expect(failure.index == 95)
        #expect(failure.offset == records.offset(of: 95))
    }

    @Test func checkpointSignedByAnotherKeyIsNamed() throws {
        let (dir, signer) = try Self.log()
        let forger = try Ed25519FileSigner.generate(name: "vigil/test")
        var records = TestLog.Records(try TestLog.read(dir + "/checkpoints"))
        let original = try #require(SignedNote(text: String(decoding: TestLog.Records.payload(records.records[2]), as: UTF8.self)))
        let forged = try SignedNote.sign(body: original.body, with: forger)
        records.records[2] = TestLog.Records.frame(Array(forged.text.utf8), batchStart: true)
        try TestLog.write(dir + "/checkpoints", records.bytes)
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .checkpointSignature)
        #expect(failure.checkpoint == 2)
    }

    @Test func checkpointReplacedByAnOlderOneIsNamed() throws {
        let (dir, signer) = try Self.log()
        var records = TestLog.Records(try TestLog.read(dir + "/checkpoints"))
        records.records[3] = records.records[1]
        try TestLog.write(dir + "/checkpoints", records.bytes)
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .checkpointOrder)
        #expect(failure.checkpoint == 3)
    }

    @Test func rolledBackCheckpointIsCaughtByTheWitness() throws {
        let (dir, signer) = try Self.log()
        var records = TestLog.Records(try TestLog.read(dir + "/checkpoints"))
        records.records.removeLast()
        try TestLog.write(dir + "/checkpoints", records.bytes)
        let failure = try #require(try Self.failure(dir, signer))
        #expect(failure.kind == .checkpointRollback)
        #expect(failure.evidence.contains { $0.name == "witness" && $0.value.contains("size 100") })
    }

    @Test func rollbackOfEverythingIsCaughtByACheckpointHeldElsewhere() throws {
        let (dir, signer) = try Self.log()
        let held = String(decoding: try TestLog.read(dir + "/checkpoint"), as: UTF8.self)  // e.g. uploaded to the console
        // Roll the whole directory back to the checkpoint at 90: entries, checkpoints and witness.
        var checkpoints = TestLog.Records(try TestLog.read(dir + "/checkpoints"))
        checkpoints.records.removeLast()
        try TestLog.write(dir + "/checkpoints", checkpoints.bytes)
        try TestLog.write(dir + "/checkpoint", TestLog.Records.payload(checkpoints.records.last!))
        try Self.editEntries(dir) { $0.records.removeLast(10) }
        #expect(try Self.failure(dir, signer) == nil)  // locally consistent: only an outside copy can tell
        let failure = try #require(try Self.failure(dir, signer, trusted: [held]))
        #expect(failure.kind == .entriesTruncated)
        #expect(failure.index == 90)
    }

    @Test func witnessDeletedOrStaleIsNamed() throws {
        let (dir, signer) = try Self.log()
        let witness = try TestLog.read(dir + "/checkpoint")
        try FileManager.default.removeItem(atPath: dir + "/checkpoint")
        #expect(try Self.failure(dir, signer)?.kind == .witnessMismatch)
        let checkpoints = TestLog.Records(try TestLog.read(dir + "/checkpoints"))
        try TestLog.write(dir + "/checkpoint", TestLog.Records.payload(checkpoints.records[1]))
        #expect(try Self.failure(dir, signer)?.kind == .witnessMismatch)
        try TestLog.write(dir + "/checkpoint", witness)
        #expect(try Self.failure(dir, signer) == nil)
    }

    @Test func badFileHeaderIsNamed() throws {
        let (dir, signer) = try Self.log()
        var bytes = try TestLog.read(dir + "/entries")
        bytes[0] = UInt8(ascii: "X")
        try TestLog.write(dir + "/entries", bytes)
        #expect(try Self.failure(dir, signer)?.kind == .badFileHeader)
    }

    @Test func deletedEntriesFileIsNamed() throws {
        let (dir, signer) = try Self.log()
        try FileManager.default.removeItem(atPath: dir + "/entries")
        #expect(try Self.failure(dir, signer)?.kind == .missingFile)
        #expect(throws: AuditError.self) { try AuditLog.open(directory: dir, signer: signer, options: TestLog.options()) }
    }
}

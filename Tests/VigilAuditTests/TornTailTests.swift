// SPDX-License-Identifier: Apache-2.0
// The crash-remnant rule: only damage confined to the final, unacknowledged, uncheckpointed batch is excluded.
import Foundation
import Testing
@testable import VigilAudit

@Suite("Torn tails")
struct TornTailTests {
    /// A "crash image": the files of a log with 100 checkpointed entries and three more durable
    /// but uncheckpointed batches (100..<105, 105..<110, 110..<115), copied while the writer is open.
    static func crashImage() throws -> (dir: String, signer: Ed25519FileSigner) {
        let (dir, signer) = try TestLog.make(count: 100)
        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options(every: 1000))
        for start in stride(from: 100, to: 115, by: 5) { try log.append((start..<start + 5).map { TestLog.entry($0) }) }
        let image = try TestLog.temporaryDirectory() + "/image"
        try FileManager.default.createDirectory(atPath: image, withIntermediateDirectories: true)
        for name in ["entries", "checkpoints", "checkpoint", "audit.pub"] {
            try FileManager.default.copyItem(atPath: "\(dir)/\(name)", toPath: "\(image)/\(name)")
        }
        try log.close()
        return (image, signer)
    }

    @Test func crashImageVerifiesWithUncheckpointedEntries() throws {
        let (dir, signer) = try Self.crashImage()
        let report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid && report.entries == 115 && report.latest?.size == 100, "\(report)")
    }

    @Test func partialFinalRecordIsExcludedPreservedAndRecorded() throws {
        let (dir, signer) = try Self.crashImage()
        let bytes = try TestLog.read(dir + "/entries")
        let records = TestLog.Records(bytes)
        let cut = records.offset(of: 112) + 40
        try TestLog.write(dir + "/entries", Array(bytes.prefix(cut)))

        let report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid, "\(report)")
        #expect(report.entries == 112)
        #expect(report.tornTails.first?.position == 112 && report.tornTails.first?.offset == records.offset(of: 112))

        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        #expect(log.openReport.tornTails.count == 1)
        #expect(log.size == 113)  // 112 kept + the gap entry recording the exclusion
        #expect(log.latestCheckpoint.size == 113)
        try log.close()
        let evidence = try TestLog.read(dir + "/entries.torn-at-\(records.offset(of: 112))")
        #expect(evidence == Array(bytes[records.offset(of: 112)..<cut]))
        let after = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(after.isValid && after.entries == 113 && after.tornTails.isEmpty, "\(after)")
        let gap = try #require(try AuditVerifier.readEntries(directory: dir).leaves.last?.entry)
        #expect(gap.kind == .gap && gap.gap?.source == "audit.tornTail" && gap.extra["firstIndex"] == "112")
    }

    @Test func corruptionInTheFinalBatchIsATornTail() throws {
        let (dir, signer) = try Self.crashImage()
        var records = TestLog.Records(try TestLog.read(dir + "/entries"))
        records.records[111][50] ^= 0xff  // final batch is 110..<115
        try TestLog.write(dir + "/entries", records.bytes)
        let report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid && report.entries == 111 && report.tornTails.first?.position == 111, "\(report)")
    }

    @Test func corruptionOfAnEarlierAcknowledgedBatchIsRefused() throws {
        let (dir, signer) = try Self.crashImage()
        var records = TestLog.Records(try TestLog.read(dir + "/entries"))
        records.records[107][50] ^= 0xff  // batch 105..<110 was followed by batch 110: it was acknowledged
        try TestLog.write(dir + "/entries", records.bytes)
        let failure = try #require(try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey).failure)
        #expect(failure.kind == .recordChecksum && failure.index == 107)
        #expect {
            try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        } throws: { ($0 as? AuditError)?.code == .logDoesNotVerify }
    }

    @Test func zeroFilledTailIsATornTail() throws {
        let (dir, signer) = try Self.crashImage()
        try TestLog.write(dir + "/entries", try TestLog.read(dir + "/entries") + [UInt8](repeating: 0, count: 700))
        let report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid && report.entries == 115 && report.tornTails.first?.length == 700, "\(report)")
        var junk = try TestLog.read(dir + "/entries")
        junk[junk.count - 3] = 7  // not all zeros: not explainable by a crash
        try TestLog.write(dir + "/entries", junk)
        #expect(try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey).failure?.kind == .recordFraming)
    }

    @Test func tornCheckpointRecordIsExcludedButNeverPastTheWitness() throws {
        let (dir, signer) = try Self.crashImage()
        let original = try TestLog.read(dir + "/checkpoints")
        var records = TestLog.Records(original)
        // A checkpoint append that never completed.
        let partial = Array(records.records.last!.prefix(30))
        try TestLog.write(dir + "/checkpoints", original + partial)
        let report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid && report.tornTails.first?.file.hasSuffix("checkpoints") == true, "\(report)")
        try AuditLog.open(directory: dir, signer: signer, options: TestLog.options()).close()
        #expect(try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey).tornTails.isEmpty)

        // Tearing the checkpoint the witness holds is a rollback, not a crash.
        let (dir2, signer2) = try Self.crashImage()
        records = TestLog.Records(try TestLog.read(dir2 + "/checkpoints"))
        let last = records.records.removeLast()
        try TestLog.write(dir2 + "/checkpoints", records.bytes + Array(last.prefix(30)))
        let rolledBack = try AuditVerifier.verify(directory: dir2, publicKey: signer2.verifierKey)
        #expect(rolledBack.failure?.kind == .checkpointRollback, "\(rolledBack)")
    }

    @Test func witnessOneBehindIsACrashBetweenTheTwoWritesAndIsCompletedOnOpen() throws {
        let (dir, signer) = try TestLog.make(count: 100)
        let checkpoints = TestLog.Records(try TestLog.read(dir + "/checkpoints"))
        try TestLog.write(dir + "/checkpoint", TestLog.Records.payload(checkpoints.records[checkpoints.records.count - 2]))
        let report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid && report.witness?.size == 90 && !report.notes.isEmpty, "\(report)")
        try AuditLog.open(directory: dir, signer: signer, options: TestLog.options()).close()
        #expect(try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey).witness?.size == 100)
    }

    @Test func unfinishedCreationIsCreatedAfreshButAnEmptiedLogIsNot() throws {
        let (dir, signer) = try TestLog.make(count: 0)
        try FileManager.default.removeItem(atPath: dir + "/entries")  // crash before the last creation step
        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        try log.append(TestLog.entry(0))
        try log.close()
        #expect(try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey).isValid)
        try FileManager.default.removeItem(atPath: dir + "/entries")  // now a checkpoint covers an entry
        #expect {
            try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        } throws: { ($0 as? AuditError)?.report?.failure?.kind == .missingFile }
    }
}

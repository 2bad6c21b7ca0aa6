// SPDX-License-Identifier: Apache-2.0
// The writer: append, reopen, checkpoint cadence, locking, key pinning, limits.
import Foundation
import Testing
@testable import VigilAudit

@Suite("Audit log writer")
struct AuditLogTests {
    @Test func appendsVerifyAndReopenContinues() throws {
        let (dir, signer) = try TestLog.make(count: 100)
        var report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid, "\(report)")
        #expect(report.entries == 100)
        // size 0 at creation, then 30, 60, 90 (every 25, batches of 10), then 100 on close.
        #expect(report.checkpoints == 5)
        #expect(report.consistencyProofs == 4)
        #expect(report.latest?.size == 100)

        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        #expect(log.size == 100)
        #expect(try log.append([TestLog.entry(100), TestLog.entry(101)]) == 100..<102)
        #expect(try log.append([]) == 102..<102)
        try log.close()
        #expect(throws: AuditError.self) { try log.append(TestLog.entry(1)) }
        report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid && report.entries == 102 && report.latest?.size == 102, "\(report)")

        let (leaves, problem) = try AuditVerifier.readEntries(directory: dir)
        #expect(problem == nil)
        #expect(leaves.map(\.entry) == (0..<102).map { TestLog.entry($0) })
        #expect(leaves.map(\.index) == Array(0..<102))
    }

    @Test func secondWriterIsLockedOut() throws {
        let dir = try TestLog.temporaryDirectory() + "/log"
        let signer = try Ed25519FileSigner.generate(name: "vigil/test")
        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        #expect {
            try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        } throws: { ($0 as? AuditError)?.code == .logLocked }
        try log.close()
        try AuditLog.open(directory: dir, signer: signer, options: TestLog.options()).close()
    }

    @Test func refusesAnotherKey() throws {
        let (dir, _) = try TestLog.make(count: 10)
        let intruder = try Ed25519FileSigner.generate(name: "vigil/test")
        #expect {
            try AuditLog.open(directory: dir, signer: intruder, options: TestLog.options())
        } throws: { ($0 as? AuditError)?.code == .keyInvalid }
        // Even with audit.pub removed, the existing checkpoints do not verify under the new key.
        try FileManager.default.removeItem(atPath: dir + "/audit.pub")
        #expect {
            try AuditLog.open(directory: dir, signer: intruder, options: TestLog.options())
        } throws: { ($0 as? AuditError)?.report?.failure?.kind == .checkpointSignature }
    }

    @Test func intervalCheckpointsWithoutFurtherAppends() async throws {
        let dir = try TestLog.temporaryDirectory() + "/log"
        let signer = try Ed25519FileSigner.generate(name: "vigil/test")
        let log = try AuditLog.open(
            directory: dir, signer: signer,
            options: .init(checkpointEvery: 1000, checkpointInterval: .milliseconds(40), deviceId: "d"))
        try log.append([TestLog.entry(0), TestLog.entry(1), TestLog.entry(2)])
        #expect(log.latestCheckpoint.size == 0)
        var waited = 0
        while log.latestCheckpoint.size != 3 && waited < 100 {
            try await Task.sleep(for: .milliseconds(20))
            waited += 1
        }
        #expect(log.latestCheckpoint.size == 3)
        let report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.isValid && report.witness?.size == 3, "\(report)")
        try log.close()
    }

    @Test func oversizedEntryIsRejectedBeforeAnythingIsWritten() throws {
        let dir = try TestLog.temporaryDirectory() + "/log"
        let signer = try Ed25519FileSigner.generate(name: "vigil/test")
        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        var big = TestLog.entry(0)
        big.extra["blob"] = String(repeating: "x", count: 2 << 20)
        #expect {
            try log.append([TestLog.entry(0), big])
        } throws: { ($0 as? AuditError)?.code == .entryTooLarge }
        #expect(try log.append(TestLog.entry(1)) == 0)
        try log.close()
        #expect(try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey).entries == 1)
    }

    @Test func gapEntriesAreOrdinaryEntries() throws {
        let dir = try TestLog.temporaryDirectory() + "/log"
        let signer = try Ed25519FileSigner.generate(name: "vigil/test")
        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        try log.append(.gap(deviceId: "dev-1", source: "sensor.ringbuf", lost: 17, reason: "ring buffer full"))
        try log.close()
        let leaf = try #require(try AuditVerifier.readEntries(directory: dir).leaves.first)
        #expect(leaf.entry.kind == .gap && leaf.entry.gap?.lost == 17 && leaf.entry.gap?.source == "sensor.ringbuf")
    }

    @Test func verifierWithoutAnyLogFails() throws {
        let dir = try TestLog.temporaryDirectory()
        let signer = try Ed25519FileSigner.generate(name: "vigil/test")
        let report = try AuditVerifier.verify(directory: dir, publicKey: signer.verifierKey)
        #expect(report.failure?.kind == .missingFile)
        #expect(throws: AuditError.self) { try AuditVerifier.verify(directory: dir) }  // no key anywhere
    }
}

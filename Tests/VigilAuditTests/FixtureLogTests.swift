// SPDX-License-Identifier: Apache-2.0
// A log written by the code of commit 9b120cb (entry v1), committed as is: it must keep verifying,
// and today's writer must still produce its exact entry bytes (leaves hash the stored bytes).
import Foundation
import Testing
@testable import VigilAudit

@Suite("Fixture log (entry v1)")
struct FixtureLogTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/log-v1").path

    /// The key the log was created with, pinned here rather than trusted from the directory.
    static let publicKey = "vigil/fixture-v1+866dfece+AUcOdSDK0X0yiA1yR+1bzOGdUaEcu5FpiBrCSi9jdUl8"

    @Test func fixtureLogVerifiesWithThePinnedKey() throws {
        let key = try NoteVerifierKey(parsing: Self.publicKey)
        let report = try AuditVerifier.verify(directory: Self.directory, publicKey: key)
        #expect(report.isValid, "\(report)")
        #expect(report.entries == 6)
        #expect(report.checkpoints >= 2)
    }

    @Test func todaysWriterReproducesEveryStoredLeaf() throws {
        let records = TestLog.Records(try TestLog.read(Self.directory + "/entries"))
        let (leaves, problem) = try AuditVerifier.readEntries(directory: Self.directory)
        #expect(problem == nil)
        try #require(leaves.count == records.records.count && leaves.count == 6)
        for (leaf, record) in zip(leaves, records.records) {
            var rewritten: [UInt8] = []
            AuditLeaf.write(index: leaf.index, prev: leaf.prev, recorded: leaf.recorded, entryJSON: leaf.entry.canonicalJSON(), to: &rewritten)
            #expect(rewritten == TestLog.Records.payload(record), "leaf \(leaf.index)")
        }
    }
}

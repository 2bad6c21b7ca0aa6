// SPDX-License-Identifier: Apache-2.0
// The kernel entries' shared fsyncs: what waits, and what is made durable at once.
import Foundation
import Testing
import VigilAudit
import VigilRuntime

@Suite struct KernelAuditBatchTests {
    static func entry(_ decision: AuditEntry.Decision?) -> AuditEntry {
        AuditEntry(kind: .exec, deviceId: "test", decision: decision)
    }

    @Test func allowsWaitAndADenialTakesThemAlongInOrder() {
        let batch = KernelAuditBatch(maxWaitNanoseconds: 60_000_000_000)
        #expect(batch.add([Self.entry(.allow), Self.entry(nil)], force: false).isEmpty)
        #expect(batch.add([Self.entry(.allow)], force: false).isEmpty)
        let due = batch.add([Self.entry(.deny)], force: false)
        #expect(due.map(\.decision) == [.allow, nil, .allow, .deny])
        #expect(batch.add([], force: false).isEmpty)
    }

    @Test func aGapOrAForcedFlushIsDueAtOnce() {
        let batch = KernelAuditBatch(maxWaitNanoseconds: 60_000_000_000)
        #expect(batch.add([Self.entry(.allow)], force: false).isEmpty)
        #expect(batch.add([.gap(deviceId: "test", source: "sensor", lost: 3)], force: false).count == 2)
        #expect(batch.add([Self.entry(.allow)], force: false).isEmpty)
        #expect(batch.add([], force: true).count == 1)
    }

    @Test func allowsWaitAtMost4096Entries() {
        let batch = KernelAuditBatch(maxWaitNanoseconds: 60_000_000_000)
        #expect(batch.add(Array(repeating: Self.entry(.allow), count: 4095), force: false).isEmpty)
        #expect(batch.add([Self.entry(.allow)], force: false).count == 4096)
        #expect(batch.add([Self.entry(.allow)], force: false).isEmpty)
    }

    @Test func allowsWaitAtMost100Milliseconds() {
        let batch = KernelAuditBatch()
        #expect(batch.add([Self.entry(.allow)], force: false).isEmpty)
        usleep(110_000)
        #expect(batch.add([Self.entry(.allow)], force: false).count == 2)
    }
}

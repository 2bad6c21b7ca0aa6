// SPDX-License-Identifier: Apache-2.0
// A kernel decision reaches the decider's logger with the session, the process and the rule.
import Glibc
import InMemoryLogging
import Logging
import Testing
import VigilAudit
import VigilPolicy
import VigilRuntime

@testable import VigilCore

struct KernelLoggingTests {
    @Test func aRefusedConnectIsLoggedWithSessionPidAndRule() throws {
        let records = InMemoryLogHandler()
        var logger = Logger(label: "test") { _ in records }
        logger.logLevel = .trace
        let decider = KernelDecider(deviceID: "dev-1", posture: PostureTimeline(), logger: logger)
        let policy = try Policy(
            yaml: """
                vigil: 1
                version: "k1"
                rules:
                  - id: no-metadata-service
                    match: Connect(169.254.169.254)
                    action: deny
                """, file: "k.yaml")
        let subject = SessionSubject(session: 0xabc, root: 0, identity: Identity(user: "dev"), home: "/home/dev")
        // EPERM from the cgroup hook: decided and audited, nothing left to enforce.
        let event = SensorEvent.connect(
            NetworkEvent(
                header: EventHeader(ktimeNanoseconds: 1, pid: 812, tid: 812, session: 0xabc), family: .inet,
                address: "169.254.169.254", port: 80, result: -Int64(EPERM)))
        var tally = DecisionTally()
        let entry = try #require(decider.decide(event, RenderedContext(), policy: policy, subject: subject, tally: &tally))
        #expect(entry.decision == .deny && entry.winningRule == "no-metadata-service")
        let record = try #require(records.entries.last)
        #expect(record.level == .info)
        #expect(record.metadata["session.id"] == "0000000000000abc")
        #expect(record.metadata["process.pid"] == "812")
        #expect(record.metadata["policy.rule"] == "no-metadata-service")
        #expect(record.metadata["policy.decision"] == "deny")
        #expect(record.metadata["event.kind"] == "connect")
    }
}

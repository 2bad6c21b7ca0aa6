// SPDX-License-Identifier: Apache-2.0
// A hook decision reaches the logger it was given, with the call's identifiers as metadata.
import InMemoryLogging
import Logging
import Testing
import VigilClaude
import VigilJSON
import VigilPolicy

struct HookLoggingTests {
    @Test func aDecisionIsLoggedWithSessionToolUseAndRule() throws {
        let records = InMemoryLogHandler()
        var logger = Logger(label: "test") { _ in records }
        logger.logLevel = .trace
        logger[metadataKey: "process.pid"] = "4242"  // what vigild adds: the caller and its Vigil session
        logger[metadataKey: "session.id"] = "00000000000000ab"
        let policy = try Policy(yaml: testPolicy, file: "test.yaml")
        let context = HookContext(identity: Identity(user: "dev"), deviceID: "dev-box")
        let handler = HookHandler(context: context, loadPolicy: { .success(policy) }, audit: nil, logger: logger)

        let denied = handler.handle(Fixtures.preToolUse("tool_input", .object(["command": .string("curl -s https://x")])).withToolUseID("toolu_9"))
        #expect(denied.decision?.action == .deny)
        let record = try #require(records.entries.last)
        #expect(record.level == .info)
        #expect(record.metadata["tool_use.id"] == "toolu_9")
        #expect(record.metadata["tool.name"] == "Bash")
        #expect(record.metadata["policy.rule"] == "no-curl")
        #expect(record.metadata["policy.decision"] == "deny")
        #expect(record.metadata["claude.session_id"] == .string(Fixtures.session))
        #expect(record.metadata["session.id"] == "00000000000000ab")
        #expect(record.metadata["process.pid"] == "4242")

        records.clear()
        _ = handler.handle(Fixtures.preToolUse("tool_input", .object(["command": .string("echo hi")])).withToolUseID("toolu_10"))
        let allowed = try #require(records.entries.last)
        #expect(allowed.level == .debug)  // allows are routine: below the default level
        #expect(allowed.metadata["policy.decision"] == "allow")
        #expect(allowed.metadata["tool_use.id"] == "toolu_10")
    }
}

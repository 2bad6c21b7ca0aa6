// Unit tests of the daemon's pure parts: hook answers in HTTP terms, who may call the hooks.
import Foundation
import Testing
import VigilClaude
@testable import VigilDaemon

struct HookAnswerTests {
    @Test func aDecisionIsA200WithTheJSONClaudeCodeReads() {
        let answer = Daemon.answer(HookResponse(stdout: #"{"hookSpecificOutput":{}}"#, exitCode: 0))
        #expect(answer.status == 200 && answer.body == #"{"hookSpecificOutput":{}}"#)
        #expect(Daemon.answer(.silent).body == "{}")
    }

    @Test func aBlockingErrorBlocksAndAFailureIsA500() {
        let block = Daemon.answer(.blockingError("unknown event \"x\""))
        #expect(block.status == 200)
        #expect(block.body == #"{"decision":"block","reason":"unknown event \"x\""}"#)
        let failure = Daemon.answer(HookResponse(stderr: "audit log full", exitCode: 1))
        #expect(failure.status == 500 && failure.body == "audit log full")
    }
}

struct AgentTrustTests {
    @Test func aFileAUserCanReplaceIsNotASystemInstall() throws {
        let directory = NSTemporaryDirectory() + "vigil-trust-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/claude"
        FileManager.default.createFile(atPath: file, contents: Data("#!/bin/true\n".utf8), attributes: [.posixPermissions: 0o755])
        #expect(AgentTrust.writableByOthers("/usr/bin/env") == nil, "root-owned, not writable by others, in root-owned directories")
        chmod(file, 0o777)
        #expect(AgentTrust.writableByOthers(file)?.contains("writable by others") == true)
        chown(file, 1000, 1000)
        #expect(AgentTrust.writableByOthers(file)?.contains("owned by uid 1000") == true)
    }

    @Test func aProcessThatIsNotClaudeCodeIsNotTrusted() {
        let trust = AgentTrust(configured: [])
        let verdict = trust.check(pid: getpid())
        #expect(!verdict.trusted)
        #expect(verdict.reason.contains("is not Claude Code"), "\(verdict.reason)")
    }
}

struct TimelineLineTests {
    @Test func theHandWrittenLineDecodesToTheSameRecord() throws {
        let records = [
            TimelineRecord(kind: .kernel, time: 1_795_323_368_717_806_723, toolUseID: "toolu_01", text: "exec /usr/bin/cat cat \"quoted\" \\ tab\t",
                           decision: "kill", rule: "no-secrets", reason: "Secrets stay\nhome", pid: 4242, event: "exec"),
            TimelineRecord(kind: .prompt, time: 0, text: "héllo ✓ \u{1}"),
            TimelineRecord(kind: .sessionEnd, time: -1),
        ]
        for record in records {
            let decoded = try JSONDecoder().decode(TimelineRecord.self, from: Data(record.jsonLine().utf8))
            #expect(decoded == record)
        }
    }
}

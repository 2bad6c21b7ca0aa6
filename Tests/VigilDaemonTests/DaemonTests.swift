// SPDX-License-Identifier: Apache-2.0
// Unit tests of the daemon's pure parts: hook answers in HTTP terms, who may call the hooks.
import Foundation
import Testing
import VigilAPI
import VigilClaude
import VigilTestSupport
@testable import VigilDaemon

struct HookAnswerTests {
    @Test func aDecisionIsA200WithTheJSONClaudeCodeReads() {
        let answer = HookService.answer(HookResponse(stdout: #"{"hookSpecificOutput":{}}"#, exitCode: 0))
        #expect(answer.status == 200 && answer.body == #"{"hookSpecificOutput":{}}"#)
        #expect(HookService.answer(.silent).body == "{}")
    }

    @Test func aBlockingErrorBlocksAndAFailureIsA500() {
        let block = HookService.answer(.blockingError("unknown event \"x\""))
        #expect(block.status == 200)
        #expect(block.body == #"{"decision":"block","reason":"unknown event \"x\""}"#)
        let failure = HookService.answer(HookResponse(stderr: "audit log full", exitCode: 1))
        #expect(failure.status == 500 && failure.body == "audit log full")
    }
}

struct AgentTrustTests {
    /// Root: the file must start out root-owned, and is then given to uid 1000.
    @Test(.requires(.root)) func aFileAUserCanReplaceIsNotASystemInstall() throws {
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
            TimelineRecord(
                kind: .kernel, time: 1_795_323_368_717_806_723, toolUseID: "toolu_01", text: "exec /usr/bin/cat cat \"quoted\" \\ tab\t",
                decision: "kill", rule: "no-secrets", reason: "Secrets stay\nhome", pid: 4242, ppid: 4241, event: "exec"),
            TimelineRecord(kind: .prompt, time: 0, text: "héllo ✓ \u{1}"),
            TimelineRecord(kind: .sessionEnd, time: -1),
        ]
        for record in records {
            let decoded = try JSONDecoder().decode(TimelineRecord.self, from: Data(record.jsonLine().utf8))
            #expect(decoded == record)
        }
    }
}

/// The transcript path comes from a hook payload: the daemon (root) must not be made to copy a
/// file the session's user could not read.
struct TranscriptPathTests {
    let directory = NSTemporaryDirectory() + "vigil-transcript-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    private func failure(_ result: Result<([UInt8], UInt64), DaemonError>) -> String? {
        if case .failure(let error) = result { return error.description }
        return nil
    }

    @Test func onlyARegularFileOfTheSessionsOwnUserIsRead() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transcript = directory + "/session.jsonl"
        try "{\"type\":\"user\"}\n".write(toFile: transcript, atomically: true, encoding: .utf8)
        let owner = getuid()

        guard case .success(let (bytes, start)) = SessionRegistry.readTranscript(path: transcript, owner: owner, from: 0) else {
            Issue.record("the user's own transcript was refused")
            return
        }
        #expect(start == 0 && bytes.count == 16)
        // Read on from where the last read ended; a file that shrank is read again from the start.
        if case .success(let (more, at)) = SessionRegistry.readTranscript(path: transcript, owner: owner, from: 16) {
            #expect(more.isEmpty && at == 16)
        }
        if case .success(let (again, at)) = SessionRegistry.readTranscript(path: transcript, owner: owner, from: 999) {
            #expect(again.count == 16 && at == 0)
        }

        #expect(failure(SessionRegistry.readTranscript(path: transcript, owner: owner &+ 4242, from: 0))?.contains("belongs to uid") == true)
        let link = directory + "/link.jsonl"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/etc/shadow")
        #expect(failure(SessionRegistry.readTranscript(path: link, owner: owner, from: 0))?.contains("cannot be opened") == true)
        #expect(failure(SessionRegistry.readTranscript(path: "relative.jsonl", owner: owner, from: 0))?.contains("not a plain absolute path") == true)
        #expect(
            failure(SessionRegistry.readTranscript(path: directory + "/../x/session.jsonl", owner: owner, from: 0))?.contains(
                "not a plain absolute path") == true)
        #expect(failure(SessionRegistry.readTranscript(path: directory, owner: owner, from: 0))?.contains("not a regular file") == true)
        #expect(failure(SessionRegistry.readTranscript(path: "/dev/zero", owner: 0, from: 0))?.contains("not a regular file") == true)
    }
}

struct SessionEndGateTests {
    /// A session whose processes are all gone ends only once a batch read after that moment has
    /// been processed: what its last processes did may still be in the ring at the moment.
    @Test func aSessionEndsOnlyAfterTheRingWasDrainedPastItsLastProcess() {
        var gate = SessionEndGate()
        let r1 = gate.ready(allGone: false, now: 100, drainedBefore: 90)
        #expect(!r1)
        let r2 = gate.ready(allGone: true, now: 200, drainedBefore: 190)
        #expect(!r2, "found gone: its events may be in flight")
        let r3 = gate.ready(allGone: true, now: 300, drainedBefore: 150)
        #expect(!r3, "the consumer lags: still not past 200")
        let r4 = gate.ready(allGone: true, now: 400, drainedBefore: 250)
        #expect(r4)
    }

    @Test func aProcessBackInTheSessionStartsTheWaitAgain() {
        var gate = SessionEndGate()
        _ = gate.ready(allGone: true, now: 100, drainedBefore: 90)
        let r5 = gate.ready(allGone: false, now: 200, drainedBefore: 190)
        #expect(!r5)
        let r6 = gate.ready(allGone: true, now: 300, drainedBefore: 290)
        #expect(!r6)
        let r7 = gate.ready(allGone: true, now: 400, drainedBefore: 390)
        #expect(r7)
    }

    @Test func whenTheStreamHasEndedEverythingIsDrained() {
        var gate = SessionEndGate()
        let r8 = gate.ready(allGone: true, now: 100, drainedBefore: .max)
        #expect(r8)
    }
}

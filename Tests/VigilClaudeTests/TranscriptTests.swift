// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import VigilAPI
import VigilClaude

/// `Fixtures/transcript-2.1.330.jsonl` is a real transcript: Claude Code 2.1.330 driven by
/// Tests/e2e/mock_model.py with a PreToolUse command hook that denies `rm -rf`; calls: Bash `echo hi`,
/// Read a.txt, Bash `rm -rf …` (denied by the hook), Bash `exit 3`, then the text "done".
enum TranscriptFixture {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/transcript-2.1.330.jsonl").path
    static var bytes: [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }
}

@Suite struct TranscriptTests {
    func kinds(_ items: [ConversationItem]) -> [String] {
        items.map { item in
            switch item.content {
            case .prompt: "prompt"
            case .assistantText(let text): "text:\(text)"
            case .toolUse(let id, let name, _): "use:\(id):\(name)"
            case .toolResult(let id, _, let isError, _): "result:\(id)\(isError ? ":error" : "")"
            }
        }
    }

    @Test func readsTheRealTranscript() throws {
        let bytes = TranscriptFixture.bytes
        #expect(bytes.count > 100_000)
        var reader = TranscriptReader()
        let chunk = reader.read(bytes, from: 0)
        #expect(
            kinds(chunk.items) == [
                "prompt",
                "use:toolu_00_0:Bash", "result:toolu_00_0",
                "use:toolu_01_0:Read", "result:toolu_01_0",
                "use:toolu_02_0:Bash", "result:toolu_02_0:error",
                "use:toolu_03_0:Bash", "result:toolu_03_0:error",
                "text:done",
            ])
        #expect(chunk.newOffset == UInt64(bytes.count))
        #expect(!chunk.hasMore)
        // 40 lines: 5 user, 5 assistant; the other 30 are attachments and bookkeeping.
        #expect(chunk.counters.lines == 40)
        #expect(chunk.counters.ignored == 30)
        #expect(chunk.counters.unknown == 0 && chunk.counters.malformed == 0 && chunk.counters.oversized == 0)

        let prompt = chunk.items[0]
        guard case .prompt(let text) = prompt.content else { Issue.record("not a prompt"); return }
        #expect(text.hasPrefix("go STEPS:[[{\"name\":\"Bash\""))
        #expect(prompt.timestamp == "2026-11-22T04:56:20.851Z")
        #expect(!prompt.uuid.isEmpty)
        #expect(prompt.promptID != nil)

        #expect(chunk.items[1].content == .toolUse(id: "toolu_00_0", name: "Bash", input: #"{"command":"echo hi","description":"say hi"}"#))
        #expect(chunk.items[2].content == .toolResult(id: "toolu_00_0", text: "hi", isError: false, decision: "accept (mode)"))
        #expect(chunk.items[4].content == .toolResult(id: "toolu_01_0", text: "1\thello file\n2\t", isError: false, decision: "accept (mode)"))
        #expect(
            chunk.items[6].content
                == .toolResult(
                    id: "toolu_02_0", text: "PreToolUse:Bash hook error: vigil: rm -rf is denied by rule no-rm", isError: true,
                    decision: "reject (hook: hook:PreToolUse)"))
        #expect(chunk.items[8].content == .toolResult(id: "toolu_03_0", text: "Exit code 3", isError: true, decision: "accept (mode)"))
        #expect(chunk.items.allSatisfy { !$0.timestamp.isEmpty && !$0.isSidechain })
    }

    /// Any split of the file gives the same items: a torn last line waits for the next read.
    @Test(arguments: [97, 4096, 65_536])
    func incrementalReadsMatchOneRead(window: Int) {
        let bytes = TranscriptFixture.bytes
        var whole = TranscriptReader()
        let expected = whole.read(bytes, from: 0).items
        var reader = TranscriptReader()
        var offset = 0
        var items: [ConversationItem] = []
        var end = 0
        while offset < bytes.count {
            end = min(max(end, offset) + window, bytes.count)  // the file grows by `window` bytes
            let chunk = reader.read(bytes[offset..<end], from: UInt64(offset))
            #expect(chunk.newOffset >= UInt64(offset))
            if chunk.newOffset < UInt64(end) { #expect(!bytes[Int(chunk.newOffset)..<end].contains(0x0A)) }
            items += chunk.items
            offset = Int(chunk.newOffset)
        }
        #expect(items == expected)
        #expect(reader.totals.lines == 40)
    }

    @Test func aTornLineIsLeftForTheNextRead() {
        var reader = TranscriptReader()
        let line = #"{"type":"user","message":{"role":"user","content":"hello"},"uuid":"u1","timestamp":"t"}"#
        let bytes = Array((line + "\n" + line).utf8)
        let first = reader.read(bytes, from: 1000)
        #expect(first.items.count == 1)
        #expect(first.newOffset == 1000 + UInt64(line.utf8.count + 1))
        let second = reader.read(Array((line + "\n").utf8), from: first.newOffset)
        #expect(second.items.map(\.content) == [.prompt(text: "hello")])
    }

    @Test func unknownAndMalformedLinesAreCountedNotFatal() {
        let text = """
            {"type":"some-future-line","x":1}
            not json at all
            [1,2,3]
            {"type":"user"}
            {"type":"assistant","message":{"content":"not blocks"}}
            {"type":"user","isMeta":true,"message":{"role":"user","content":"<command-name>/clear</command-name>"},"uuid":"m"}
            {"type":"assistant","message":{"content":[{"type":"thinking","thinking":"hmm"}]},"uuid":"a0"}

            {"type":"user","message":{"role":"user","content":[{"type":"text","text":"look at"},{"type":"image","source":{}},{"type":"text","text":"this"}]},"uuid":"u2","timestamp":"t2"}
            {"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9","content":[{"type":"text","text":"a"},{"type":"image"}],"is_error":false}]},"uuid":"u3","timestamp":"t3"}
            {"type":"assistant","isSidechain":true,"message":{"content":[{"type":"text","text":"x"},{"type":"tool_use","id":"toolu_10","name":"Read","input":{"file_path":"/a/b"}}]},"uuid":"a1","timestamp":"t4"}

            """
        var reader = TranscriptReader()
        let chunk = reader.read(Array(text.utf8), from: 0)
        #expect(
            chunk.items.map(\.content) == [
                .prompt(text: "look at\nthis"),
                .toolResult(id: "toolu_9", text: "a\n[image]", isError: false, decision: nil),
                .assistantText(text: "x"),
                .toolUse(id: "toolu_10", name: "Read", input: #"{"file_path":"/a/b"}"#),
            ])
        #expect(chunk.items[2].isSidechain && chunk.items[3].uuid == "a1")
        #expect(chunk.counters.unknown == 1)
        #expect(chunk.counters.malformed == 4)
        #expect(chunk.counters.ignored == 3)  // isMeta, thinking only, the empty line
        #expect(chunk.counters.lines == 11)
    }

    @Test func oversizedLinesAreSkippedAndCounted() {
        let bytes = TranscriptFixture.bytes
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        var limits = TranscriptReader.Limits()
        limits.lineBytes = 2_000
        var reader = TranscriptReader(limits: limits)
        let chunk = reader.read(bytes, from: 0)
        let long = lines.filter { $0.count > 2_000 }
        #expect(long.count > 0)
        #expect(chunk.counters.oversized == long.count)
        #expect(chunk.counters.lines == 40)
        #expect(chunk.newOffset == UInt64(bytes.count))
        // The short conversation lines survive.
        #expect(chunk.items.contains { $0.content == .assistantText(text: "done") })
    }

    @Test func anOversizedLineSplitAcrossReadsIsSkippedOnce() {
        var limits = TranscriptReader.Limits()
        limits.lineBytes = 200
        var reader = TranscriptReader(limits: limits)
        let huge = #"{"type":"user","message":{"content":""# + String(repeating: "x", count: 500) + #""}}"#
        let next = #"{"type":"assistant","message":{"content":[{"type":"text","text":"after"}]},"uuid":"a","timestamp":"t"}"#
        let all = Array((huge + "\n" + next + "\n").utf8)
        let first = reader.read(all[0..<300], from: 0)
        #expect(first.items.isEmpty && first.newOffset == 300)  // consumed: it can never fit
        let second = reader.read(all[300...], from: 300)
        #expect(second.items.map(\.content) == [.assistantText(text: "after")])
        #expect(second.counters.oversized == 1)
        #expect(reader.totals.oversized == 1)
        #expect(second.newOffset == UInt64(all.count))
    }

    @Test func theItemCapStopsAReadWithoutLosingAnything() {
        let bytes = TranscriptFixture.bytes
        var limits = TranscriptReader.Limits()
        limits.items = 3
        var reader = TranscriptReader(limits: limits)
        var offset: UInt64 = 0
        var items: [ConversationItem] = []
        var reads = 0
        repeat {
            let chunk = reader.read(bytes[Int(offset)...], from: offset)
            #expect(chunk.items.count <= 3)
            items += chunk.items
            offset = chunk.newOffset
            reads += 1
            if !chunk.hasMore { break }
        } while reads < 100
        #expect(items.count == 10)
        #expect(reads == 4)
        #expect(offset == UInt64(bytes.count))
    }

    @Test func longTextsAreCutAtACharacterAndSaySo() {
        var limits = TranscriptReader.Limits()
        limits.textBytes = 4
        var reader = TranscriptReader(limits: limits)
        let line = #"{"type":"user","message":{"role":"user","content":"héé long"},"uuid":"u","timestamp":"t"}"# + "\n"
        let chunk = reader.read(Array(line.utf8), from: 0)
        // "h"=1 byte, "é"=2 bytes: 4 bytes end inside the second é, so the cut keeps "hé".
        #expect(chunk.items.map(\.content) == [.prompt(text: "hé…[7 more bytes]")])
        #expect(chunk.counters.truncatedTexts == 1)
    }

    @Test func itemsRoundTripThroughJSON() throws {
        var reader = TranscriptReader()
        let items = reader.read(TranscriptFixture.bytes, from: 0).items
        let data = try JSONEncoder().encode(items)
        #expect(try JSONDecoder().decode([ConversationItem].self, from: data) == items)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let one = String(decoding: try encoder.encode(items[6]), as: UTF8.self)
        #expect(one.hasPrefix(#"{"decision":"reject (hook: hook:PreToolUse)","id":"toolu_02_0","isError":true,"kind":"toolResult""#))
    }

    @Test func readsTheFileFromAnOffset() throws {
        var reader = TranscriptReader()
        let all = try reader.read(path: TranscriptFixture.path, from: 0)
        #expect(all.items.count == 10)
        let again = try reader.read(path: TranscriptFixture.path, from: all.newOffset)
        #expect(again.items.isEmpty && again.newOffset == all.newOffset)
        #expect(throws: TranscriptError.self) { try reader.read(path: TranscriptFixture.path, from: all.newOffset + 1) }
        do {
            _ = try reader.read(path: "/nonexistent/x.jsonl", from: 0)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unreadable && error.path == "/nonexistent/x.jsonl")
        }
    }
}

@Suite struct SessionTimelineTests {
    var items: [ConversationItem] {
        var reader = TranscriptReader()
        return reader.read(TranscriptFixture.bytes, from: 0).items
    }

    let activity: [String: [KernelActivity]] = [
        "toolu_00_0": [
            KernelActivity(kind: .exec, pid: 1890, detail: "/usr/bin/bash -c … eval 'echo hi' …", decision: .allow),
            KernelActivity(kind: .open, pid: 1890, detail: "/etc/ld.so.cache (r)", decision: .allow),
        ],
        "toolu_01_0": [KernelActivity(kind: .open, pid: 1863, detail: "/tmp/attr/fx/work/a.txt (r)", decision: .allow)],
        "toolu_03_0": [KernelActivity(kind: .connect, pid: 1903, detail: "10.0.0.5:443", decision: .deny, ruleID: "net-deny")],
        "toolu_77": [KernelActivity(kind: .exec, pid: 2000, detail: "/usr/bin/curl https://x", decision: .flag, ruleID: "curl")],
    ]
    let decisions: [String: ToolCallDecision] = [
        "toolu_00_0": ToolCallDecision(verdict: .allow, ruleID: "allow-echo"),
        "toolu_02_0": ToolCallDecision(verdict: .deny, ruleID: "no-rm", reason: "rm -rf is denied by rule no-rm"),
    ]

    @Test func rendersTheStory() {
        let timeline = SessionTimeline(items: items, activity: activity, decisions: decisions)
        #expect(timeline.entries.map(\.kind) == [.prompt, .toolCall, .toolCall, .toolCall, .toolCall, .assistantText, .orphanActivity])
        let text = timeline.text()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("04:56:20.851 prompt: go STEPS:"))
        #expect(lines[1] == #"04:56:20.955 tool Bash toolu_00_0 {"command":"echo hi","description":"say hi"} → allow [allow-echo]"#)
        #expect(lines[2] == "    exec    pid 1890  /usr/bin/bash -c … eval 'echo hi' …  allow")
        #expect(lines[3] == "    open    pid 1890  /etc/ld.so.cache (r)  allow")
        #expect(lines[4] == "  result: hi  (claude: accept (mode))")
        #expect(
            text.contains(
                #"tool Bash toolu_02_0 {"command":"rm -rf /tmp/attr/fx/work","description":"clean"} → deny [no-rm]: rm -rf is denied by rule no-rm"#))
        #expect(text.contains("  error: PreToolUse:Bash hook error: vigil: rm -rf is denied by rule no-rm  (claude: reject (hook: hook:PreToolUse))"))
        #expect(text.contains("    connect pid 1903  10.0.0.5:443  deny [net-deny]"))
        #expect(text.contains("assistant: done"))
        #expect(lines.last == "    exec    pid 2000  /usr/bin/curl https://x  flag [curl]")
        #expect(text.contains("activity of toolu_77 (call not in the transcript)"))
    }

    @Test func theJSONFormCarriesEverything() throws {
        let json = SessionTimeline(items: items, activity: activity, decisions: decisions).json()
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let entries = try #require(object?["entries"] as? [[String: Any]])
        #expect(entries.count == 7)
        let bash = entries[1]
        #expect(bash["kind"] as? String == "toolCall")
        #expect(bash["toolUseID"] as? String == "toolu_00_0")
        #expect((bash["decision"] as? [String: Any])?["verdict"] as? String == "allow")
        #expect((bash["activity"] as? [[String: Any]])?.count == 2)
        #expect((bash["result"] as? [String: Any])?["text"] as? String == "hi")
        #expect(entries[6]["kind"] as? String == "orphanActivity")
    }

    @Test func kernelLinesPerCallAreCappedAndCounted() {
        var limits = SessionTimeline.Limits()
        limits.activityPerCall = 1
        let timeline = SessionTimeline(items: items, activity: activity, decisions: decisions, limits: limits)
        #expect(timeline.entries[1].activity?.count == 1)
        #expect(timeline.entries[1].activityOmitted == 1)
        #expect(timeline.text().contains("    … 1 more kernel events\n"))
    }
}

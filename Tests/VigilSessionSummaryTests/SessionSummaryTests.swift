// SPDX-License-Identifier: Apache-2.0
// The summary of a stored timeline (Fixtures/session-timeline.jsonl: five calls as vigild writes
// them — Claude Code's Bash wrapper, the loader's and locale's opens, a subshell's setsid child, a
// loop, a kill at open, a cgroup deny, a hook deny, the agent's own Read).
import Foundation
import Testing
import VigilAPI

@testable import VigilSessionSummary

struct SessionSummaryTests {
    static let timeline: [TimelineRecord] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/session-timeline.jsonl").path
        let data = FileManager.default.contents(atPath: path) ?? Data()
        return data.split(separator: 0x0A).compactMap { try? JSONDecoder().decode(TimelineRecord.self, from: Data($0)) }
    }()

    static let record = SessionRecord(
        id: "00c0ffee00c0ffee", origin: .wrapped, agent: "claude", uid: 1001, user: "dev", rootPID: 4000, cwd: "/home/dev/work",
        startedAt: 1_795_323_368_000_000_000, kernelEvents: 300, attributedEvents: 299, toolCalls: 5, deniedToolCalls: 1,
        decisions: ["allow": 297, "deny": 1, "kill": 1])

    static func summary(conversation: [ConversationItem] = []) -> SessionSummary {
        SessionSummary(SessionDetail(record: record, timeline: timeline, unreadableTimelineLines: 0, conversation: conversation))
    }

    func step(_ id: String, in summary: SessionSummary = summary()) throws -> SessionSummary.Step {
        try #require(summary.steps.first { $0.toolUseID == id })
    }

    @Test func theFixtureIsTheStoredForm() {
        #expect(Self.timeline.count == 311)
        #expect(Self.timeline.filter { $0.kind == .kernel }.count == 298)
    }

    @Test func claudeCodesBashWrapperShowsAsTheUsersCommand() throws {
        let call = try step("toolu_00_0")
        let command = #"sh -c 'cat /etc/hostname; (setsid sh -c "ls / > /dev/null" &); sleep 0.2'"#
        #expect(call.command == command)
        let shell = try #require(call.kernel?.processes.first)
        #expect(call.kernel?.processes.count == 1)
        #expect(shell.isToolShell && shell.command == command && shell.pid == 4201 && shell.executable == nil)
        let text = Self.summary().text()
        // The command is the tree's first line, not repeated above it.
        #expect(text.contains("Bash toolu_00_0 → allow [tools-default]\n  ran:\n    $ \(command)  [pid 4201]\n"), "\(text)")
        #expect(!text.contains("shell-snapshots") && !text.contains("pwd -P") && !text.contains("builtin"), "\(text)")
    }

    @Test func theCommandsAreATreeWithAProcessThatExecdTwiceAsOneNode() throws {
        let shell = try #require(try step("toolu_00_0").kernel?.processes.first)
        #expect(
            shell.children.map(\.command) == [
                #"sh -c cat /etc/hostname; (setsid sh -c "ls / > /dev/null" &); sleep 0.2"#, "setsid sh -c ls / > /dev/null",
            ])
        let sh = shell.children[0]
        #expect(sh.children.map(\.command) == ["cat /etc/hostname", "sleep 0.2"])
        // Its parent, a subshell, never exec'd: it hangs from the tool shell everything descends from.
        let setsid = shell.children[1]
        #expect(setsid.pid == 4205 && setsid.thenExecuted == ["sh -c ls / > /dev/null"])
        #expect(setsid.children.map(\.command) == ["ls /"])
        let text = Self.summary().text()
        #expect(
            text.contains(
                "    ├─ sh -c cat /etc/hostname; (setsid sh -c \"ls / > /dev/null\" &); sleep 0.2  [pid 4202]\n    │  ├─ cat /etc/hostname  [pid 4203]\n"
            ), "\(text)")
        #expect(text.contains("    └─ setsid sh -c ls / > /dev/null → sh -c ls / > /dev/null  [pid 4205]\n       └─ ls /  [pid 4206]\n"), "\(text)")
    }

    @Test func theSystemsOwnFilesFoldIntoOneCountedLinePerCategory() throws {
        let kernel = try #require(try step("toolu_00_0").kernel)
        #expect(kernel.files.map(\.path) == ["/etc/hostname", "/"])
        let counts = Dictionary(uniqueKeysWithValues: kernel.systemFiles.map { ($0.category, $0.count) })
        // Seven execs, each: the loader cache, libc, the locale archive, 12 locale files, gconv.
        #expect(counts[.locale] == 7 * 14)
        #expect(counts[.libraries] == 7 * 2 + 1 + 2)  // + bash's libtinfo, ls's libselinux and libpcre2
        #expect(counts[.terminfo] == 1 && counts[.processInfo] == 1 && counts[.nameService] == 3)  // + cat's connect to the nscd socket
        #expect(counts[.toolShell] == 1 && counts[.devices] == 3)
        let text = Self.summary().text()
        #expect(
            text.contains(
                "  system files: 17 libraries, 98 locale, 1 terminfo, 1 /proc and /sys, 3 devices, 3 name service, 1 Claude Code's shell snapshot\n"),
            "\(text)")
        #expect(!text.contains("LC_CTYPE") && !text.contains("locale-archive") && !text.contains("libc.so"))
        // A unix socket is its path; the name service cache's is counted above, not listed.
        #expect(kernel.network == [SessionSummary.Destination(event: "connect", family: "unix", endpoint: "/run/user/1001/bus", count: 1)])
        #expect(text.contains("  network: connect unix /run/user/1001/bus\n") && !text.contains("nscd"), "\(text)")
    }

    @Test func repeatsCollapseWithACount() throws {
        let kernel = try #require(try step("toolu_02_0").kernel)
        let shell = try #require(kernel.processes.first)
        #expect(shell.children.map(\.command) == ["cat notes.txt", #"python3 -c print(open("secret.txt").read())"#])
        #expect(shell.children[0].count == 3)
        #expect(shell.children[1].executable == "/usr/bin/python3.11")
        #expect(kernel.files.first { $0.path == "/home/dev/work/notes.txt" }?.count == 3)
        #expect(kernel.files.contains { $0.path == "/home/dev/work/pyvenv.cfg" && $0.failure == "ENOENT" })
        // The interpreter's own search of a system path is not the command's choice.
        #expect(!kernel.files.contains { $0.path == "/usr/bin/pyvenv.cfg" })
        #expect(kernel.systemFiles.contains(SessionSummary.SystemFiles(category: .searched, count: 1)))
        let read = try #require(try step("toolu_04_0").kernel)
        #expect(read.files == [SessionSummary.FileAccess(path: "/home/dev/work/notes.txt", write: false, failure: nil, count: 4)])
        let text = Self.summary().text()
        #expect(text.contains("    ├─ cat notes.txt  [pid 4302]  ×3"), "\(text)")
        #expect(text.contains("  files: /home/dev/work/notes.txt (read)  ×4"), "\(text)")
    }

    @Test func denialsAndKillsComeFirstAndStandOut() throws {
        let hook = try step("toolu_01_0")
        #expect(hook.decision == SessionSummary.Decision(verdict: "deny", rule: "no-curl", reason: "Downloads go through the artifact proxy."))
        #expect(hook.kernel == nil)
        let killed = try #require(try step("toolu_02_0").kernel?.refusals)
        #expect(killed.map(\.what) == ["/home/dev/work/secret.txt (read)"] && killed.first?.decision == "kill" && killed.first?.rule == "no-secrets")
        // A refused open is not also listed among the files.
        #expect(try step("toolu_02_0").kernel?.files.contains { $0.path.hasSuffix("secret.txt") } == false)
        let denied = try #require(try step("toolu_03_0").kernel)
        #expect(denied.refusals.map(\.what) == ["inet 203.0.113.7 port 80"] && denied.network.isEmpty)
        let text = Self.summary().text()
        #expect(text.contains("Bash toolu_01_0 → !! DENY [no-curl]: Downloads go through the artifact proxy."), "\(text)")
        #expect(text.contains("  !! KILL open /home/dev/work/secret.txt (read) [no-secrets] (bpf-sigkill: SIGKILL in the kernel at open)"), "\(text)")
        #expect(text.contains("  !! DENY connect inet 203.0.113.7 port 80 [no-test-net] (cgroup-deny: EPERM in the kernel)"), "\(text)")
        let lines = text.split(separator: "\n")
        let call2 = try #require(lines.firstIndex { $0.contains("Bash toolu_02_0") })
        #expect(lines[call2 + 1].hasPrefix("  !! KILL"), "the kill is the first thing under the call")
    }

    @Test func theSummaryIsShortAndKeepsEveryCallAndResult() throws {
        let summary = Self.summary()
        #expect(summary.steps.map(\.kind) == [.prompt, .toolCall, .toolCall, .toolCall, .toolCall, .toolCall, .assistantText])
        #expect(summary.unattributedEvents == 4)
        #expect(try step("toolu_00_0").result == SessionSummary.Result(text: "devbox (212 ms)", isError: false, permission: nil))
        #expect(try step("toolu_02_0").result?.isError == true)
        let text = summary.text()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count <= 50, "\(lines.count) lines:\n\(text)")
        // The agent's own work: its refusal shown like any other, its destinations and helpers, its files counted.
        #expect(
            text.contains(
                "the agent's own activity, tied to no tool call: 4 kernel events\n"
                    + "  !! DENY connect inet 198.51.100.9 port 443 [no-telemetry] (cgroup-deny: EPERM from the cgroup connect hook; no packet sent)\n"
                    + "  network: connect inet 127.0.0.1 port 41234\n"
                    + "  ran 1 processes, opened 1 files and 0 of the system's own (--all lists them)\n"),
            "\(text)")
        #expect(summary.ended == "every process of the session has exited" && text.contains("\nended: every process of the session has exited\n"))
    }

    @Test func aConversationGivesTheStepsAndTheResultsTheModelSaw() throws {
        let conversation: [ConversationItem] = [
            ConversationItem(.prompt(text: "check the host"), timestamp: "2026-11-22T04:56:20.851Z", uuid: "u1"),
            ConversationItem(
                .toolUse(id: "toolu_00_0", name: "Bash", input: #"{"command":"sh -c 'cat /etc/hostname'","description":"host"}"#),
                timestamp: "2026-11-22T04:56:20.955Z", uuid: "a1"),
            ConversationItem(.toolResult(id: "toolu_00_0", text: "devbox", isError: false, decision: "accept (mode)"), timestamp: "", uuid: "u2"),
            ConversationItem(.assistantText(text: "devbox"), timestamp: "2026-11-22T04:56:21.300Z", uuid: "a2"),
        ]
        let summary = Self.summary(conversation: conversation)
        #expect(summary.steps.prefix(3).map(\.kind) == [.prompt, .toolCall, .assistantText])
        // The calls the transcript does not show still appear, at the end.
        #expect(summary.steps.dropFirst(3).map(\.kind) == Array(repeating: .orphanActivity, count: 4))
        #expect(try step("toolu_00_0", in: summary).result == SessionSummary.Result(text: "devbox", isError: false, permission: "accept (mode)"))
        let text = summary.text()
        #expect(text.contains("04:56:20.955 Bash toolu_00_0 → allow [tools-default]\n  $ sh -c 'cat /etc/hostname'\n"), "\(text)")
        #expect(text.contains("activity of toolu_02_0 (call not in the conversation)"))
    }

    @Test func theJSONFormDecodesToTheSameSummary() throws {
        let summary = Self.summary()
        let decoded = try JSONDecoder().decode(SessionSummary.self, from: Data(try summary.json().utf8))
        #expect(decoded == summary)
    }
}

struct ToolShellTests {
    static func wrapper(_ quoted: String, login: Bool = true) -> String {
        "/bin/bash -c\(login ? " -l" : "") source /h/.claude/shell-snapshots/snapshot-bash-1795322931251-xsg0xe.sh 2>/dev/null || true && "
            + "\\builtin shopt -u extglob 2>/dev/null || true && eval \(quoted) < /dev/null && pwd -P >| /tmp/claude-a65e-cwd"
    }

    @Test func theQuotedCommandIsUnquoted() {
        // Verbatim from a trace of Claude Code 2.1.330 (ToolCallAttributorTests' `tricky`).
        let quoted = #"'echo '"'"'it'"'"'"'"'"'"'"'"'s'"'"' "$HOME"; (setsid sh -c '"'"'sleep 0.3; echo bg'"'"' &) ; grep -c hello a.txt'"#
        #expect(
            ToolShell.command(inArgv: Self.wrapper(quoted))
                == #"echo 'it'"'"'s' "$HOME"; (setsid sh -c 'sleep 0.3; echo bg' &) ; grep -c hello a.txt"#)
        #expect(ToolShell.command(inArgv: Self.wrapper("'ls -la'", login: false)) == "ls -la")
        #expect(ToolShell.command(inArgv: Self.wrapper(#"'echo '\''x'\'''"#)) == "echo 'x'")
    }

    @Test func aCommandCutByTheArgvLimitEndsInAnEllipsis() {
        let cut = String(Self.wrapper("'python3 -c \"print(1)\"'").prefix { $0 != "(" })
        #expect(ToolShell.command(inArgv: cut) == "python3 -c \"print…")
    }

    @Test func otherShellsAreNotTheWrapper() {
        #expect(ToolShell.command(inArgv: "/bin/sh -c eval 'ls'") == nil)
        #expect(ToolShell.command(inArgv: "/bin/bash -c -l SNAPSHOT_FILE=/h/.claude/shell-snapshots/snapshot-bash-1-x.sh echo x") == nil)
        #expect(ToolShell.command(inArgv: "cat /etc/hostname") == nil)
    }
}

struct SystemFileTests {
    @Test func onlyTheSystemsOwnReadsFold() {
        #expect(SystemFileCategory.of(path: "/usr/lib/x86_64-linux-gnu/libssl.so.3", write: false) == .libraries)
        #expect(SystemFileCategory.of(path: "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", write: false) == .locale)
        #expect(SystemFileCategory.of(path: "/lib/terminfo/x/xterm", write: false) == .terminfo)
        #expect(SystemFileCategory.of(path: "/proc/self/status", write: false) == .processInfo)
        #expect(SystemFileCategory.of(path: "/tmp/claude-a65e-cwd", write: true) == .toolShell)
        #expect(SystemFileCategory.of(path: "/etc/locale.alias", write: false) == .locale)
        #expect(SystemFileCategory.of(path: "/home/dev/.bashrc", write: false) == .shellStartup)
        #expect(SystemFileCategory.of(path: "/usr/bin/python3._pth", write: false, notFound: true) == .searched)
        #expect(SystemFileCategory.of(path: "/usr/bin/python3._pth", write: false) == nil)
        #expect(SystemFileCategory.of(path: "/home/dev/work/pyvenv.cfg", write: false, notFound: true) == nil)
        // A write into the system, and the files a command chooses, are shown.
        #expect(SystemFileCategory.of(path: "/usr/lib/x86_64-linux-gnu/libc.so.6", write: true) == nil)
        #expect(SystemFileCategory.of(path: "/etc/shadow", write: false) == nil)
        #expect(SystemFileCategory.of(path: "/home/dev/.ssh/id_ed25519", write: false) == nil)
        #expect(SystemFileCategory.of(path: "/etc/hostname", write: false) == nil)
    }

    @Test func kernelLinesReadBackIntoTheirParts() {
        #expect(KernelLine.parse(event: "open", text: "open /a b  w  -> -13") == .open(path: "/a b", write: true, result: -13))
        #expect(KernelLine.parse(event: "exec", text: "exec /usr/bin/ls  ls -l  /") == .exec(path: "/usr/bin/ls", argv: "ls -l  /"))
        #expect(
            KernelLine.parse(event: "connect", text: "connect inet 127.0.0.1 port 5432  -> 0 — crossing to pid 12 (postgres)")
                == .network(event: "connect", family: "inet", endpoint: "127.0.0.1 port 5432", result: 0, peer: "pid 12 (postgres)"))
        #expect(KernelLine.parse(event: nil, text: "root pid 1 runs /x") == .other(text: "root pid 1 runs /x"))
    }
}

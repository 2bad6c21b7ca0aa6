// SPDX-License-Identifier: Apache-2.0
// The real vigild with the real Claude Code 2.1.330: wrapped and adopted sessions, kernel events
// tied to the tool call that caused them, kernel enforcement recorded against that call, a forged
// hook call refused, the daemon down failing closed, agents outside every session reported, policy
// reloads that keep the last good policy. Each case ends with `vigil audit verify` passing. vigild
// runs as root; Claude Code and `vigil claude` run as the developer account, as deployed.
// Root, BPF + the claude binary (`make claude`): a visible skip without them, a failure under VIGIL_REQUIRE_PRIVILEGED=1.
import Foundation
import Glibc
import Testing
import VigilAudit
import VigilTestSupport
import VigilTransport
import VigilTransportClient

@Suite(.serialized, .requires(.root, .bpf, .claudeCode))
struct DaemonEndToEndTests {
    static let policy = """
        vigil: 1
        version: "daemon-e2e-1"
        defaults:
          tool: allow
        rules:
          - id: no-curl
            match: Bash(curl *)
            action: deny
            reason: Downloads go through the artifact proxy.
          - id: no-secrets
            match: Open(**/secret.txt)
            action: deny
            reason: Secrets stay on the vault.
          - id: no-test-net
            match: Connect(203.0.113.0/24)
            action: deny
            reason: Not a place to talk to.
        """

    private func world(_ name: String) throws -> ClaudeWorld {
        let world = try ClaudeWorld.make(name)
        try world.writePolicy(Self.policy)
        return world
    }

    /// Audit entries whose `extra[key] == value`.
    private func entries(_ world: ClaudeWorld, where key: String, is value: String) throws -> [AuditEntry] {
        try AuditVerifier.readEntries(directory: world.audit).leaves.map(\.entry).filter { $0.extra[key] == value }
    }

    @Test func aWrappedSessionTiesWhatEachToolCallRanToItAndADeniedCallReachesTheModelWithTheRule() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try world("wrapped")
        defer { world.remove() }
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }

        let run = try world.claude(
            ClaudeWorld.prompt(bash: ["sh -c 'cat /etc/hostname; (setsid sh -c \"ls / > /dev/null\" &); sleep 0.2'", "curl -s http://example.com"]),
            model: model, wrapper: vigil, socket: daemon.socket)
        #expect(run.status == 0, "claude: \(run.stderr)")
        let results = try model.toolResults()
        #expect(results["toolu_00_0"]?.isError == false, "\(results)")
        let denied = results["toolu_01_0"]
        #expect(denied?.text.contains("Denied by Vigil rule 'no-curl'") == true, "\(String(describing: denied))")

        var session: [String: Any] = [:]
        try daemon.wait("the wrapped session to end") {
            session = try daemon.sessions(origin: "wrapped").first { $0["endedAt"] != nil } ?? [:]
            return !session.isEmpty
        }
        let id = try #require(session["id"] as? String)
        #expect(session["uid"] as? Int == Int(world.developer.uid) && session["user"] as? String == Developer.name, "\(session)")
        #expect(session["toolCalls"] as? Int == 2)
        #expect(session["deniedToolCalls"] as? Int == 1)
        #expect((session["claudeSessionIDs"] as? [String])?.isEmpty == false)
        let timeline = try daemon.timeline(id)
        // What the allowed call ran — its shell, cat, and the double-forked setsid child — is its own.
        let ran = timeline.filter { $0["kind"] as? String == "kernel" && $0["toolUseID"] as? String == "toolu_00_0" }
        let texts = ran.compactMap { $0["text"] as? String }
        #expect(texts.contains { $0.hasPrefix("exec /usr/bin/cat") }, "\(texts.prefix(40))")
        #expect(texts.contains { $0.hasPrefix("exec /usr/bin/ls") }, "\(texts.prefix(60))")
        #expect(texts.contains { $0.hasPrefix("open /etc/hostname") })
        #expect(!timeline.contains { $0["toolUseID"] as? String == "toolu_01_0" && $0["kind"] as? String == "kernel" })
        let kinds = timeline.compactMap { $0["kind"] as? String }
        #expect(kinds.first == "sessionStart" && kinds.contains("prompt") && kinds.contains("toolResult") && kinds.last == "sessionEnd", "\(kinds)")

        // The conversation, from Claude Code's transcript, is stored with the session and reads as
        // prompt → tool call → what ran → result.
        let detail = try #require(try daemon.get("/v1/sessions/\(id)") as? [String: Any])
        let conversation = detail["conversation"] as? [[String: Any]] ?? []
        #expect(conversation.count >= 4, "\(detail["record"] ?? "")")
        // Issue 16: the summary shows the command the model asked for (not Claude Code's shell
        // wrapper), the system's own files as counts, and is short; `--all` has every event.
        let shown = try world.run([vigil, "session", "show", id, "--socket", daemon.socket])
        #expect(shown.status == 0, "\(shown.output)")
        let command = #"$ sh -c 'cat /etc/hostname; (setsid sh -c "ls / > /dev/null" &); sleep 0.2'"#
        #expect(shown.output.contains(command + "  [pid ") && shown.output.contains("cat /etc/hostname  [pid "), "\(shown.output)")
        #expect(shown.output.contains("no-curl") && shown.output.contains("system files: "), "\(shown.output)")
        #expect(!shown.output.contains("shell-snapshots") && !shown.output.contains("locale-archive"), "\(shown.output)")
        let all = try world.run([vigil, "session", "show", id, "--all", "--socket", daemon.socket])
        #expect(all.output.contains("exec /usr/bin/cat") && all.output.contains("shell-snapshots"), "\(all.output)")
        let lines = (summary: shown.output.split(separator: "\n").count, all: all.output.split(separator: "\n").count)
        print("vigil session show: \(lines.summary) lines; --all: \(lines.all) lines")
        // Measured: 26 lines against 53 (no locale files here; with them --all grows, the summary does not).
        #expect(lines.summary <= 30 && lines.summary < lines.all, "\(lines)\n\(shown.output)")

        daemon.stop()
        let execs = try entries(world, where: "toolUseId", is: "toolu_00_0").filter { $0.kind == .exec }
        #expect(execs.contains { $0.action.path == "/usr/bin/cat" }, "the exec of cat is audited against its tool call")
        // Issue 16: every process in an entry's ancestry carries its executable's SHA-256, the
        // ancestors that started before the session (the harness, its shell, init) included.
        // A digest may be missing only where root cannot read the image either (pid 1 of some VMs),
        // and then the link says why.
        let unhashed = Set(try entries(world, where: "vigilSession", is: id).flatMap(\.ancestry).filter { $0.sha256 == nil })
        let readable = unhashed.filter { link in
            let fd = open("/proc/\(link.pid)/exe", O_RDONLY | O_CLOEXEC)
            defer { if fd >= 0 { close(fd) } }
            return fd >= 0 || link.sha256Error == nil
        }
        #expect(readable.isEmpty, "\(readable.map { "\($0.pid) \($0.exe): \($0.sha256Error ?? "no reason")" })")
        print("ancestry links without a digest: \(unhashed.map { "\($0.pid) \($0.exe): \($0.sha256Error ?? "no reason")" })")
        #expect(execs.allSatisfy { $0.ancestry.count >= 4 }, "\(execs.map(\.ancestry))")
        let call = try entries(world, where: "toolUseId", is: "toolu_01_0")
        #expect(call.contains { $0.decision == .deny && $0.winningRule == "no-curl" })
        try daemon.verifyAudit()
    }

    /// Issue 16 measured 322 lines of `vigil session show` for a 4-call session, most of them locale
    /// files: with a locale set, as on a developer's desktop, the summary stays a few lines per call,
    /// names no locale file, and shows each command the model asked for.
    @Test func aFourCallSessionWithALocaleIsSummarisedInAFewLinesPerCall() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try world("locale")
        defer { world.remove() }
        try "alpha\nbeta\n".write(toFile: world.work + "/notes.txt", atomically: true, encoding: .utf8)
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        let loop = "for i in 1 2 3; do cat notes.txt; done | sort | uniq -c"
        let run = try world.claude(
            ClaudeWorld.prompt(bash: ["ls -la", "wc -l notes.txt", "date -u +%Y", loop]), model: model, wrapper: vigil, socket: daemon.socket,
            language: "C.UTF-8")
        #expect(run.status == 0, "claude: \(run.stderr)")
        var id = ""
        try daemon.wait("the session to end") {
            id = try daemon.sessions(origin: "wrapped").first { $0["endedAt"] != nil }?["id"] as? String ?? ""
            return !id.isEmpty
        }
        let shown = try world.run([vigil, "session", "show", id, "--socket", daemon.socket]).output
        let all = try world.run([vigil, "session", "show", id, "--all", "--socket", daemon.socket]).output
        let lines = (summary: shown.split(separator: "\n").count, all: all.split(separator: "\n").count)
        print("vigil session show (4 calls, LANG=C.UTF-8): \(lines.summary) lines; --all: \(lines.all) lines")
        #expect(all.contains("/usr/lib/locale/"), "the locale's files are in the timeline: \(all.prefix(3000))")
        #expect(!shown.contains("/usr/lib/locale/") && shown.contains(" locale"), "\(shown)")
        for command in ["ls -la", "wc -l notes.txt", "date -u +%Y", loop] { #expect(shown.contains("    $ \(command)  [pid "), "\(shown)") }
        #expect(shown.contains("cat notes.txt  [pid ") && shown.contains("  ×3"), "\(shown)")
        #expect(lines.summary <= 45 && lines.summary * 3 < lines.all, "\(lines)\n\(shown)")
        daemon.stop()
        try daemon.verifyAudit()
    }

    @Test func vigilClaudeKeepsTheTerminalTheArgumentsAndTheExitStatus() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let claude = try #require(ClaudeE2E.claudeBinary())
        let world = try world("terminal")
        defer { world.remove() }
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_SOCKET"] = daemon.socket
        environment["VIGIL_CLAUDE_BIN"] = claude
        // In a pseudo-terminal (`script`), as a developer types it: claude sees a terminal on stdin
        // and stdout, its own process is the session root, its output and status come back unchanged.
        let probe = "[ -t 0 ] && [ -t 1 ] && echo on-a-tty; exec \(vigil) claude --version"
        let version = try world.run(["/usr/bin/script", "-qec", "sh -c '\(probe)'", "/dev/null"], environment: environment, asDeveloper: true)
        #expect(version.status == 0, "\(version.output)")
        #expect(version.output.contains("on-a-tty") && version.output.contains("(Claude Code)"), "\(version.output)")
        let failing = try world.run([vigil, "claude", "--no-such-flag"], environment: environment, asDeveloper: true)
        #expect(failing.status == 1, "claude's own exit status comes back: \(failing.output)")
        var wrapped: [[String: Any]] = []
        try daemon.wait("both wrapped sessions to end") {
            wrapped = try daemon.sessions(origin: "wrapped").filter { $0["endedAt"] != nil }
            return wrapped.count == 2
        }
        #expect(wrapped.allSatisfy { $0["uid"] as? Int == Int(world.developer.uid) }, "\(wrapped)")
        daemon.stop()
        try daemon.verifyAudit()
    }

    @Test func aProtectedFileOrAddressReachedByASubprocessIsStoppedInTheKernelAndRecordedAgainstItsToolCall() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try world("kernel")
        defer { world.remove() }
        try "top secret\n".write(toFile: world.work + "/secret.txt", atomically: true, encoding: .utf8)
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }

        let run = try world.claude(
            ClaudeWorld.prompt(bash: [
                #"python3 -c 'print(open("secret.txt").read())'"#,
                #"python3 -c 'import socket; s=socket.socket(); s.settimeout(3); s.connect(("203.0.113.7", 80))'"#,
            ]),
            model: model, wrapper: vigil, socket: daemon.socket)
        #expect(run.status == 0, "claude: \(run.stderr)")
        let results = try model.toolResults()
        #expect(results["toolu_00_0"]?.text.contains("top secret") == false, "\(results)")
        #expect(
            results["toolu_01_0"]?.text.contains("PermissionError") == true || results["toolu_01_0"]?.text.contains("not permitted") == true,
            "\(results)")

        var id = ""
        try daemon.wait("the session to end") {
            id = try daemon.sessions(origin: "wrapped").first { $0["endedAt"] != nil }?["id"] as? String ?? ""
            return !id.isEmpty
        }
        let timeline = try daemon.timeline(id)
        let stopped = timeline.filter { $0["kind"] as? String == "kernel" && ["kill", "deny"].contains($0["decision"] as? String ?? "") }
        #expect(stopped.contains { $0["toolUseID"] as? String == "toolu_00_0" && $0["rule"] as? String == "no-secrets" }, "\(stopped)")
        #expect(stopped.contains { $0["toolUseID"] as? String == "toolu_01_0" && $0["rule"] as? String == "no-test-net" }, "\(stopped)")
        // The summary puts both refusals first under their calls, marked.
        let shown = try world.run([vigil, "session", "show", id, "--socket", daemon.socket]).output
        #expect(
            shown.contains("/work/secret.txt (read) [no-secrets]") && shown.contains("!! DENY connect inet 203.0.113.7 port 80 [no-test-net]"),
            "\(shown)")
        let all = try world.run([vigil, "session", "show", id, "--all", "--socket", daemon.socket]).output
        print("vigil session show: \(shown.split(separator: "\n").count) lines; --all: \(all.split(separator: "\n").count) lines")
        daemon.stop()
        let secret = try entries(world, where: "toolUseId", is: "toolu_00_0").filter { $0.winningRule == "no-secrets" }
        #expect(secret.contains { $0.decision == .kill || $0.decision == .deny }, "\(secret)")
        let net = try entries(world, where: "toolUseId", is: "toolu_01_0").filter { $0.winningRule == "no-test-net" }
        #expect(net.contains { $0.decision == .deny && $0.enforcement?.action == "cgroup-deny" }, "\(net)")
        try daemon.verifyAudit()
    }

    @Test func anUnwrappedClaudeIsAdoptedBareDoesNotEscapeAForgedCallIsRefusedAndOtherAgentsAreReported() throws {
        let world = try world("adopt")
        defer { world.remove() }
        // Another agent CLI, running outside every session: a binary named `codex`.
        let bin = world.base + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: bin + "/codex")
        // And one that was running before the daemon started: found by the start-up scan.
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: bin + "/gemini")
        let gemini = Process()
        gemini.executableURL = URL(fileURLWithPath: bin + "/gemini")
        gemini.arguments = ["30"]
        try gemini.run()
        defer { Child(gemini).stop() }
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let codex = Process()
        codex.executableURL = URL(fileURLWithPath: bin + "/codex")
        codex.arguments = ["30"]
        try codex.run()
        defer { Child(codex).stop() }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }

        let run = try world.claude(
            ClaudeWorld.prompt(bash: ["cat /etc/hostname", "curl -s http://example.com"]), model: model,
            extraArguments: ["--bare"])
        #expect(run.status == 0, "claude: \(run.stderr)")
        let results = try model.toolResults()
        #expect(results["toolu_00_0"]?.isError == false)
        #expect(results["toolu_01_0"]?.text.contains("Denied by Vigil rule 'no-curl'") == true, "--bare: \(results)")

        var adopted: [String: Any] = [:]
        try daemon.wait("the adopted session to end") {
            adopted = try daemon.sessions(origin: "adopted").first { $0["endedAt"] != nil } ?? [:]
            return !adopted.isEmpty
        }
        #expect(adopted["uid"] as? Int == Int(world.developer.uid) && adopted["user"] as? String == Developer.name, "\(adopted)")
        let timeline = try daemon.timeline(try #require(adopted["id"] as? String))
        #expect(timeline.contains { $0["toolUseID"] as? String == "toolu_00_0" && ($0["text"] as? String ?? "").hasPrefix("exec /usr/bin/cat") })

        // A hook call that is not from Claude Code: refused, audited.
        let client = HTTPClient(.tcp(host: "127.0.0.1", port: UInt16(daemon.port)))
        let forged =
            #"{"hook_event_name":"PreToolUse","session_id":"x","cwd":"/","tool_name":"Bash","tool_input":{"command":"true"},"tool_use_id":"forged"}"#
        let response = try client.request("POST", "/v1/hook", headers: ["Content-Type": "application/json"], body: Array(forged.utf8))
        client.close()
        #expect(response.status == 403, "\(response.status) \(response.bodyText)")

        var status: [String: Any] = [:]
        try daemon.wait("codex to be reported") {
            status = try daemon.status()
            return (status["unmanagedAgents"] as? [[String: Any]] ?? []).contains { $0["agent"] as? String == "codex" }
        }
        #expect((status["hooks"] as? [String: Any])?["rejectedCallers"] as? Int == 1)
        let text = try world.run([try ClaudeE2E.vigilBinary(), "status", "--socket", daemon.socket])
        // (Other tests' Claude Code processes, running meanwhile, may be listed too: the daemon sees the machine.)
        #expect(text.status == 0 && text.output.contains("agents outside Vigil: ") && text.output.contains(bin + "/codex"), "\(text.output)")
        #expect(text.output.contains("refused callers 1"), "\(text.output)")
        // A kernel without Yama's ptrace restriction (or scope 0) is reported in posture and status.
        let scope = (try? String(contentsOfFile: "/proc/sys/kernel/yama/ptrace_scope", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let restricted = (scope ?? 0) > 0
        #expect(status["ptraceRestricted"] as? Bool == restricted, "\(status["ptraceRestricted"] ?? "absent")")
        #expect(text.output.contains("PTRACE UNRESTRICTED") == !restricted, "\(text.output)")
        daemon.stop()
        let leaves = try AuditVerifier.readEntries(directory: world.audit).leaves.map(\.entry)
        #expect(leaves.contains { $0.kind.rawValue == "hookRejected" })
        #expect(leaves.contains { $0.kind.rawValue == "agent" && $0.extra["agent"] == "codex" })
        #expect(
            leaves.contains {
                $0.kind.rawValue == "agent" && $0.extra["agent"] == "gemini-cli" && $0.extra["note"] == "already running when vigild started"
            })
        // The Claude Code started outside Vigil was reported when it started, before it was adopted.
        let root = try #require(adopted["rootPID"] as? Int)
        #expect(leaves.contains { $0.kind.rawValue == "agent" && $0.extra["agent"] == "claude-code" && $0.extra["pid"] == String(root) })
        #expect(!leaves.contains { $0.extra["toolUseId"] == "forged" })
        try daemon.verifyAudit()
    }

    @Test func withTheDaemonDownToolCallsAreBlocked() throws {
        let world = try world("down")
        defer { world.remove() }
        let daemon = try DaemonUnderTest.start(world: world)
        daemon.stop()
        #expect(
            FileManager.default.fileExists(atPath: world.root + "/etc/claude-code/managed-settings.d/50-vigil.json"),
            "the drop-in stays when the daemon stops")
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        let run = try world.claude(ClaudeWorld.prompt(bash: ["touch ran.txt"]), model: model)
        // Nothing gets through: the prompt itself is blocked (UserPromptSubmit fails closed too).
        #expect(!world.exists("ran.txt"), "the tool call ran while the daemon was down")
        let said = run.result?["result"] as? String ?? ""
        #expect(said.contains("blocking because onFailure is \"block\"") && said.contains("ECONNREFUSED"), "\(run.raw.suffix(2000))")
        // `vigil claude` refuses to start without the daemon.
        let wrapped = try world.claude(
            ClaudeWorld.prompt(bash: ["touch ran2.txt"]), model: model,
            wrapper: try ClaudeE2E.vigilBinary(), socket: daemon.socket)
        #expect(wrapped.status == 69, "\(wrapped.stderr)")
        #expect(wrapped.stderr.contains("vigild is not reachable"))
        try daemon.verifyAudit()
    }

    /// A reload asked for as soon as the daemon is reachable (its port file exists) is a reload: SIGHUP is
    /// trapped before the servers come up, so it waits for the policy service instead of killing vigild
    /// (which its API clients saw as "Connection reset by peer").
    @Test func aSIGHUPRightAfterStartReloadsThePolicyAndDoesNotKillTheDaemon() throws {
        let world = try world("early-hup")
        defer { world.remove() }
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        kill(daemon.child.process.processIdentifier, SIGHUP)
        try daemon.wait("the early SIGHUP to reload the policy") {
            ((try daemon.status()["policy"] as? [String: Any])?["reloads"] as? Int ?? 0) >= 1
        }
        #expect(daemon.child.process.isRunning, "vigild log:\n\(daemon.log)")
    }

    /// A SIGTERM as early as the socket exists (a service manager stopping a daemon it has just
    /// started) is a graceful stop: exit 0 and a closed, verifying audit log, not death by signal.
    @Test func aSIGTERMRightAfterStartStopsTheDaemonGracefully() throws {
        let world = try world("early-term")
        defer { world.remove() }
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        kill(daemon.child.process.processIdentifier, SIGTERM)
        try daemon.wait("vigild to stop") { !daemon.child.process.isRunning }
        #expect(daemon.child.process.terminationReason == .exit, "vigild log:\n\(daemon.log)")
        #expect(daemon.child.process.terminationStatus == 0, "vigild log:\n\(daemon.log)")
        try daemon.verifyAudit()
    }

    @Test func aPolicyThatDoesNotCompileIsRejectedAndTheLastGoodOneStaysInForce() throws {
        let world = try world("reload")
        defer { world.remove() }
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        // Bad requests on the API get a clear answer and change nothing.
        let client = HTTPClient(.unix(path: daemon.socket))
        let garbage = try client.request("POST", "/v1/sessions", body: Array("{not json".utf8))
        #expect(garbage.status == 400 && garbage.bodyText.contains("a session request is"), "\(garbage.bodyText)")
        let badID = try client.request("GET", "/v1/sessions/../../etc")
        #expect(badID.status == 400 || badID.status == 404, "\(badID.status) \(badID.bodyText)")
        let unknown = try client.request("GET", "/v1/sessions/0123456789abcdef")
        #expect(unknown.status == 404)
        client.close()
        let first = try daemon.status()
        let before = try #require((first["policy"] as? [String: Any])?["version"] as? String, "\(first)\n\(daemon.log)")
        try "vigil: 1\nrules:\n  - {id: broken, match: 'Bash(curl *', action: deny}\n".write(toFile: world.policy, atomically: true, encoding: .utf8)
        kill(daemon.child.process.processIdentifier, SIGHUP)
        var policy: [String: Any] = [:]
        try daemon.wait("the broken policy to be rejected") {
            policy = try daemon.status()["policy"] as? [String: Any] ?? [:]
            return (policy["rejected"] as? Int ?? 0) >= 1
        }
        #expect(policy["version"] as? String == before)
        #expect((policy["lastError"] as? String)?.contains("policy.yaml") == true, "\(policy)")
        // Fixed by an edit: picked up without a signal.
        try (Self.policy.replacingOccurrences(of: "daemon-e2e-1", with: "daemon-e2e-2")).write(
            toFile: world.policy, atomically: true, encoding: .utf8)
        try daemon.wait("the fixed policy to be in force") {
            ((try daemon.status()["policy"] as? [String: Any])?["version"] as? String)?.hasPrefix("daemon-e2e-2") == true
        }
        daemon.stop()
        let leaves = try AuditVerifier.readEntries(directory: world.audit).leaves.map(\.entry)
        #expect(leaves.contains { $0.kind.rawValue == "policy" && $0.extra["event"] == "rejected" })
        #expect(leaves.contains { $0.kind.rawValue == "policy" && $0.extra["event"] == "reloaded" })
        try daemon.verifyAudit()
    }
}

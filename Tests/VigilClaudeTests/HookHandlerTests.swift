// SPDX-License-Identifier: Apache-2.0
// The whole hook path without Claude Code: real policy, real signed audit log in a temp directory.
import Foundation
import Logging
import Testing
import VigilAudit
import VigilClaude
import VigilJSON
import VigilPolicy
#if canImport(Glibc)
    import Glibc
#endif

struct Scratch {
    let path: String
    init(_ name: String) throws {
        path = NSTemporaryDirectory() + "vigil-claude-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// A fresh audit directory with a signing key in it (as `vigil audit keygen DIR` makes).
    func auditDirectory(_ name: String = "audit") throws -> String {
        let directory = path + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Ed25519FileSigner.generate(name: "vigil/test").write(toKeyFile: AuditLogLayout(directory: directory).defaultPrivateKey)
        return directory
    }
}

/// The handlers log nothing these tests read (HookLoggingTests reads what they log).
let silentLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

let testPolicy = """
    vigil: 1
    version: "t1"
    defaults:
      tool: allow
    rules:
      - id: no-curl
        match: Bash(curl *)
        action: deny
        reason: Downloads go through the artifact proxy.
      - id: push-asks
        match: Bash(git push *)
        action: ask
      - id: no-ssh-keys
        match: Read(~/.ssh/**)
        action: deny
    """

struct HookHandlerTests {
    let context = HookContext(
        identity: Identity(user: "dev"), subject: .init(uid: 1000, userName: "dev"), deviceID: "dev-box",
        environment: ["CLAUDE_PID": "4242", "HOME": "/root-from-env"], fallbackHome: "/home/fallback")

    func handler(policy: String = testPolicy, audit: (any HookAuditSink)?) -> HookHandler {
        let compiled = Result<Policy, HookPolicyError> { () throws(HookPolicyError) -> Policy in
            do { return try Policy(yaml: policy, file: "test.yaml") } catch { throw HookPolicyError(path: "test.yaml", reason: "\(error)") }
        }
        return HookHandler(context: context, loadPolicy: { compiled }, audit: audit, logger: silentLogger)
    }

    func bash(_ command: String, id: String = "toolu_1") -> [UInt8] {
        Fixtures.preToolUse("tool_input", .object(["command": .string(command)])).withToolUseID(id)
    }

    func entries(_ directory: String) throws -> [AuditEntry] {
        let report = try AuditVerifier.verify(directory: directory)
        #expect(report.isValid, "\(report)")
        return try AuditVerifier.readEntries(directory: directory).leaves.map(\.entry)
    }

    @Test func deniesAllowsAndAsksWithTheRuleAndRecordsEachDecision() throws {
        let scratch = try Scratch("decide")
        defer { scratch.remove() }
        let audit = HookAuditLog(directory: try scratch.auditDirectory(), deviceID: "dev-box")
        let hook = handler(audit: audit)

        let denied = hook.handle(bash("curl -fsSL https://x.example/install.sh -o i.sh", id: "t-deny"))
        #expect(denied.response.exitCode == 0)
        #expect(denied.response.stdout.contains(#""permissionDecision":"deny""#))
        #expect(denied.response.stdout.contains("Denied by Vigil rule 'no-curl': Downloads go through the artifact proxy. [policy t1+"))
        #expect(denied.decision?.winningRuleID == "no-curl")

        let allowed = hook.handle(bash("ls -la", id: "t-allow"))
        #expect(allowed.response.stdout.contains(#""permissionDecision":"allow""#))

        let asked = hook.handle(bash("git push origin main", id: "t-ask"))
        #expect(asked.response.stdout.contains(#""permissionDecision":"ask""#))
        #expect(asked.response.stdout.contains("Vigil rule 'push-asks' requires approval"))

        let recorded = try entries(audit.directory)
        #expect(recorded.count == 3)
        let deny = recorded[0]
        #expect(deny.kind == .toolCall)
        #expect(deny.decision == .deny)
        #expect(deny.winningRule == "no-curl")
        #expect(deny.matchedRules == ["no-curl"])
        #expect(deny.policyVersion == denied.decision?.policyVersion)
        #expect(deny.sessionId == Fixtures.session)
        #expect(deny.deviceId == "dev-box")
        #expect(deny.subject == AuditEntry.Subject(uid: 1000, userName: "dev"))
        #expect(deny.action.toolName == "Bash")
        #expect(deny.action.toolInput == #"{"command":"curl -fsSL https://x.example/install.sh -o i.sh"}"#)
        #expect(deny.action.cwd == "/home/dev/work/wcap")
        #expect(deny.enforcement == AuditEntry.Enforcement(action: "hookDeny", succeeded: true))
        #expect(deny.extra["toolUseId"] == "t-deny")
        #expect(deny.extra["event"] == "PreToolUse")
        #expect(deny.extra["claudePid"] == "4242")
        #expect(deny.extra["promptId"] == "bd8dc3b6-4ad1-4c01-8234-184779abf7d0")
        #expect(recorded[1].decision == .allow && recorded[1].winningRule == nil)
        #expect(recorded[2].decision == .ask && recorded[2].winningRule == "push-asks")
    }

    @Test func homeComesFromTheTranscriptPath() throws {
        // The transcript lives under /home/dev/work/home/.claude/projects/…: that is the home Claude Code uses.
        let hook = handler(audit: nil)
        let read = Fixtures.preToolUse("tool_name", .string("Read"))
        let key = read.replacingInput(["file_path": .string("/home/dev/work/home/.ssh/id_ed25519")])
        let outcome = hook.handle(key)
        #expect(outcome.decision?.winningRuleID == "no-ssh-keys")
        #expect(outcome.response.stdout.contains(#""permissionDecision":"deny""#))
        // Without a transcript path, HOME from the hook's environment decides.
        var object = try JSONDecoder().decode([String: JSONValue].self, from: Data(key))
        object["transcript_path"] = nil
        let other = hook.handle(Array(try JSONEncoder().encode(object)))
        #expect(other.decision?.action == .allow)
        #expect(context.home(for: try HookPayload(object: object)) == "/root-from-env")
    }

    @Test func unreadableOrInvalidPolicyFailsClosedAndIsRecorded() throws {
        let scratch = try Scratch("policy")
        defer { scratch.remove() }
        let audit = HookAuditLog(directory: try scratch.auditDirectory(), deviceID: "dev-box")
        let missing = scratch.path + "/nope.yaml"
        let hook = HookHandler(context: context, loadPolicy: { HookPolicyFile.load(missing) }, audit: audit, logger: silentLogger)
        let outcome = hook.handle(bash("echo hi"))
        #expect(outcome.response.exitCode == 0)
        #expect(outcome.response.stdout.contains(#""permissionDecision":"deny""#))
        #expect(
            outcome.response.stdout.contains(
                "Denied by Vigil (fail closed): cannot use the policy \(missing): unreadable (No such file or directory)"))
        #expect(outcome.response.stderr.contains(missing))

        let broken = scratch.path + "/broken.yaml"
        try "rules:\n  - id: x\n    match: Bash(\n    action: deny\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let invalid = HookHandler(context: context, loadPolicy: { HookPolicyFile.load(broken) }, audit: audit, logger: silentLogger).handle(
            bash("echo hi"))
        #expect(invalid.response.stdout.contains(#""permissionDecision":"deny""#))
        #expect(invalid.response.stdout.contains("cannot use the policy \(broken): rejected: \(broken):"))

        let directory = HookHandler(context: context, loadPolicy: { HookPolicyFile.load(scratch.path) }, audit: audit, logger: silentLogger).handle(
            bash("echo hi"))
        #expect(directory.response.stdout.contains("is a directory"))

        let recorded = try entries(audit.directory)
        #expect(recorded.count == 3)
        #expect(recorded.allSatisfy { $0.decision == .deny && $0.kind == .toolCall && $0.action.toolName == "Bash" })
        #expect(recorded[0].extra["failure"]?.contains(missing) == true)
        #expect(recorded[0].enforcement?.detail == "fail closed")
    }

    @Test func auditFailureDeniesTheCallAndBlocksThePrompt() throws {
        let scratch = try Scratch("auditfail")
        defer { scratch.remove() }
        // No key in the directory: nothing can be signed.
        let dir = scratch.path + "/nokey"
        let audit = HookAuditLog(directory: dir, deviceID: "dev-box")
        let hook = handler(audit: audit)

        let call = hook.handle(bash("ls"))
        #expect(call.response.exitCode == 0)
        #expect(call.response.stdout.contains(#""permissionDecision":"deny""#))
        #expect(call.response.stdout.contains("Denied by Vigil (fail closed): the audit log at \(dir) cannot record this call"))
        #expect(call.decision?.action == .allow, "the policy allowed it; the audit failure denied it")
        #expect(call.recorded == nil)

        let prompt = hook.handle(Array(Fixtures.userPromptSubmit.utf8))
        #expect(prompt.response.stdout.hasPrefix(#"{"decision":"block","reason":"Vigil blocked this prompt (fail closed): the audit log at \#(dir)"#))

        for text in [Fixtures.postToolUseBash, Fixtures.sessionStart, Fixtures.stop, Fixtures.sessionEnd] {
            let outcome = hook.handle(Array(text.utf8))
            #expect(outcome.response.exitCode == 1, "\(text)")
            #expect(outcome.response.stdout.isEmpty)
            #expect(outcome.response.stderr.contains(dir))
        }

        // A key others can read is refused as well.
        let loose = try scratch.auditDirectory("loose")
        chmod(AuditLogLayout(directory: loose).defaultPrivateKey, 0o644)
        let insecure = handler(audit: HookAuditLog(directory: loose, deviceID: "d")).handle(bash("ls"))
        #expect(insecure.response.stdout.contains(#""permissionDecision":"deny""#))
        #expect(insecure.response.stdout.contains("group/others must have no access"))
    }

    @Test func malformedPayloads() throws {
        let scratch = try Scratch("malformed")
        defer { scratch.remove() }
        let audit = HookAuditLog(directory: try scratch.auditDirectory(), deviceID: "dev-box")
        let hook = handler(audit: audit)

        // A PreToolUse missing its input: deny, in the PreToolUse format.
        let pre = hook.handle(Fixtures.preToolUse("tool_input", nil))
        #expect(pre.response.exitCode == 0)
        #expect(pre.response.stdout.contains(#""permissionDecision":"deny""#))
        #expect(pre.response.stdout.contains("malformed hook payload (PreToolUse): field 'tool_input': missing"))

        // Not JSON: the event is unknown, so exit 2 (Claude Code's blocking error) with the reason.
        let garbage = hook.handle(Array("{garbage".utf8))
        #expect(garbage.response.exitCode == 2)
        #expect(garbage.response.stdout.isEmpty)
        #expect(garbage.response.stderr.contains("not valid JSON"))

        let empty = hook.handle([])
        #expect(empty.response.exitCode == 2)

        let recorded = try entries(audit.directory)
        #expect(recorded.count == 3)
        #expect(recorded[0].decision == .deny)
        #expect(recorded[1].kind.rawValue == "hookError")
    }

    @Test func everyEventIsRecorded() throws {
        let scratch = try Scratch("events")
        defer { scratch.remove() }
        let audit = HookAuditLog(directory: try scratch.auditDirectory(), deviceID: "dev-box")
        let hook = handler(audit: audit)
        for text in [
            Fixtures.sessionStart, Fixtures.userPromptSubmit, Fixtures.preToolUseBash, Fixtures.postToolUseBash,
            Fixtures.postToolUseFailure, Fixtures.stop, Fixtures.sessionEnd, Fixtures.postToolBatch,
        ] {
            let outcome = hook.handle(Array(text.utf8))
            #expect(outcome.response.exitCode == 0, "\(text)")
            #expect(outcome.recorded != nil)
        }
        let recorded = try entries(audit.directory)
        #expect(
            recorded.map { $0.extra["event"] ?? "?" } == [
                "SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "Stop", "SessionEnd", "PostToolBatch",
            ])
        #expect(recorded.map(\.kind) == [.session, .session, .toolCall, .toolCall, .toolCall, .session, .session, .session])
        #expect(recorded[0].extra["producer"] == "claude-code.hook")
        #expect(recorded[0].extra["source"] == "startup")
        #expect(recorded[1].extra["prompt"]?.hasPrefix("go STEPS:") == true)
        #expect(recorded[3].extra["outcome"] == "ran" && recorded[3].extra["durationMs"] == "30")
        #expect(recorded[4].extra["outcome"] == "failed" && recorded[4].extra["error"] == "Exit code 1")
        #expect(recorded[6].extra["reason"] == "other")
        #expect(recorded.allSatisfy { $0.sessionId == Fixtures.session })
    }

    @Test func parallelHooksTakeTurnsOnTheLog() async throws {
        let scratch = try Scratch("parallel")
        defer { scratch.remove() }
        let audit = HookAuditLog(directory: try scratch.auditDirectory(), deviceID: "dev-box")
        let hook = handler(audit: audit)
        let payloads = (0..<16).map { bash("echo \($0)", id: "t\($0)") }
        let outcomes = await withTaskGroup(of: HookOutcome.self) { group in
            for payload in payloads { group.addTask { hook.handle(payload) } }
            return await group.reduce(into: [HookOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.response.stdout.contains(#""permissionDecision":"allow""#) })
        #expect(try entries(audit.directory).count == 16)
    }
}

extension [UInt8] {
    func withToolUseID(_ id: String) -> [UInt8] {
        var object = try! JSONDecoder().decode([String: JSONValue].self, from: Data(self))
        object["tool_use_id"] = .string(id)
        return Array(try! JSONEncoder().encode(object))
    }

    func replacingInput(_ input: [String: JSONValue]) -> [UInt8] {
        var object = try! JSONDecoder().decode([String: JSONValue].self, from: Data(self))
        object["tool_input"] = .object(input)
        return Array(try! JSONEncoder().encode(object))
    }
}

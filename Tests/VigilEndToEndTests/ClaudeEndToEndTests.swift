// SPDX-License-Identifier: Apache-2.0
// The real Claude Code 2.1.330 with Vigil's managed hooks: allowed calls run, denied calls are
// refused with the rule id reaching the model, `--bare` and the other hook kill-switches do not get
// around them, a failing hook blocks, and the audit log holds every event and verifies. Claude Code
// (and so the hook) runs as the developer account, never as root.
// Root + the claude binary (`make claude`): a visible skip without them, a failure under VIGIL_REQUIRE_PRIVILEGED=1.
import Foundation
import Glibc
import Testing
import VigilAudit
import VigilClaude
import VigilTestSupport

@Suite(.serialized, .requires(.root, .claudeCode))
struct ClaudeEndToEndTests {
    /// Sets up a world with the drop-in installed under its ROOT by the real `vigil hooks install`.
    private func installedWorld(_ name: String, vigil: String, hookBinary: String? = nil) throws -> ClaudeWorld {
        let world = try ClaudeWorld.make(name)
        try world.writePolicy()
        try world.makeAuditKey(vigil: vigil)
        try world.developer.mustExecute(hookBinary ?? vigil)
        let install = try world.run([
            vigil, "hooks", "install", "--root", world.root, "--state-dir", world.stateDir, "--policy", world.policy,
            "--audit-dir", world.audit, "--vigil", hookBinary ?? vigil, "--timeout", "30",
        ])
        #expect(install.status == 0, "vigil hooks install: \(install.output)")
        #expect(FileManager.default.fileExists(atPath: world.root + "/etc/claude-code/managed-settings.d/50-vigil.json"))
        return world
    }

    @Test func allowedCallRunsDeniedCallIsRefusedWithTheRuleAndEverythingIsAudited() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try installedWorld("deny", vigil: vigil)
        defer { world.remove() }
        // A user hook and a project hook that would leave a mark: allowManagedHooksOnly silences both.
        for (directory, mark) in [(world.home + "/.claude", "user-hook-ran"), (world.work + "/.claude", "project-hook-ran")] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let hook = #"{"hooks":{"PreToolUse":[{"matcher":"*","hooks":[{"type":"command","command":"touch \#(world.base)/\#(mark)"}]}]}}"#
            try hook.write(toFile: directory + "/settings.json", atomically: true, encoding: .utf8)
        }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }

        let run = try world.claude(
            ClaudeWorld.prompt(bash: ["echo hi > allowed.txt", "curl -s -o denied.txt file:///etc/hostname"]), model: model)
        #expect(run.status == 0, "claude exited \(run.status): \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: world.base + "/user-hook-ran"), "a user hook ran beside the managed one")
        #expect(!FileManager.default.fileExists(atPath: world.base + "/project-hook-ran"), "a project hook ran beside the managed one")

        // The allowed call ran; the denied one did not.
        #expect(world.exists("allowed.txt"))
        #expect(!world.exists("denied.txt"))

        // The model saw the denial with the rule id.
        let results = try model.toolResults()
        let denied = try #require(results["toolu_01_0"], "no tool_result for the curl call; results: \(results.keys.sorted())")
        #expect(denied.isError)
        #expect(denied.text.contains("PreToolUse:Bash hook error: Denied by Vigil rule 'no-curl': Downloads go through the artifact proxy."))
        #expect(denied.text.contains("[policy e2e-1+"))
        #expect(results["toolu_00_0"]?.isError == false)

        // stream-json lists exactly the denied call.
        #expect(run.deniedToolUseIDs == ["toolu_01_0"], "permission_denials: \(run.deniedToolUseIDs)")

        // The audit log verifies and holds every event of the session.
        let report = try AuditVerifier.verify(directory: world.audit)
        #expect(report.isValid, "\(report)")
        let entries = try AuditVerifier.readEntries(directory: world.audit).leaves.map(\.entry)
        let session = try #require(run.sessionID)
        #expect(entries.allSatisfy { $0.sessionId == session })
        let events = entries.compactMap { $0.extra["event"] }
        for event in ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"] {
            #expect(events.contains(event), "no \(event) entry in \(events)")
        }
        let decided = entries.filter { $0.extra["event"] == "PreToolUse" }
        #expect(decided.count == 2)
        let deny = try #require(decided.first { $0.decision == .deny })
        #expect(deny.kind == .toolCall)
        #expect(deny.action.toolName == "Bash")
        #expect(deny.action.toolInput?.contains("curl -s -o denied.txt") == true)
        #expect(deny.winningRule == "no-curl")
        #expect(deny.policyVersion?.hasPrefix("e2e-1+") == true)
        #expect(deny.extra["toolUseId"] == "toolu_01_0")
        #expect(deny.subject?.uid == world.developer.uid && deny.subject?.userName == Developer.name, "\(String(describing: deny.subject))")
        #expect(entries.allSatisfy { $0.subject == nil || $0.subject?.uid == world.developer.uid }, "every hook ran as the developer")
        let allow = try #require(decided.first { $0.decision == .allow })
        #expect(allow.extra["toolUseId"] == "toolu_00_0")
        #expect(allow.action.toolInput?.contains("echo hi") == true)
        // The call that ran is recorded as run; the denied one never reached PostToolUse.
        let ran = entries.filter { $0.extra["event"] == "PostToolUse" }.compactMap { $0.extra["toolUseId"] }
        #expect(ran == ["toolu_00_0"])
    }

    /// The hook kill-switches a user or a flag can pull do not reach managed hooks.
    @Test(arguments: [
        ["--bare"],
        ["--settings", #"{"disableAllHooks":true}"#],
        ["--setting-sources", "user"],
        ["--dangerously-skip-permissions"],
    ])
    func killSwitchesDoNotBypassTheManagedHook(_ arguments: [String]) throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try installedWorld("bypass", vigil: vigil)
        defer { world.remove() }
        // A user-level kill switch as well.
        try FileManager.default.createDirectory(atPath: world.home + "/.claude", withIntermediateDirectories: true)
        try #"{"disableAllHooks":true}"#.write(toFile: world.home + "/.claude/settings.json", atomically: true, encoding: .utf8)
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }

        let run = try world.claude(
            ClaudeWorld.prompt(bash: ["curl -s -o denied.txt file:///etc/hostname", "echo ok > allowed.txt"]), model: model,
            extraArguments: arguments)
        #expect(run.status == 0, "claude \(arguments) exited \(run.status): \(run.stderr)")
        #expect(!world.exists("denied.txt"), "curl ran with \(arguments)")
        #expect(world.exists("allowed.txt"))
        let results = try model.toolResults()
        #expect(results["toolu_00_0"]?.text.contains("Denied by Vigil rule 'no-curl'") == true, "\(arguments): \(results)")
        #expect(run.deniedToolUseIDs.contains("toolu_00_0"))
        #expect(try AuditVerifier.verify(directory: world.audit).isValid)
    }

    /// The policy file becomes unreadable after the install: every call is denied, with the reason.
    @Test func anEDRKilledMidSessionTightensTheVeryNextToolCall() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try installedWorld("posture", vigil: vigil)
        defer { world.remove() }
        try world.writePolicy(
            """
            vigil: 1
            version: "e2e-posture"
            defaults:
              tool: allow
            rules:
              - id: bash-needs-edr
                match: Bash
                action: deny
                when: edr_running == false
                reason: No shell without endpoint protection.
            """)
        // A stand-in endpoint-protection agent: a copy of sleep under a name the probe knows. It runs
        // as the developer, so that the agent (the developer too) can kill it from a tool call; the
        // probe sees it by its name either way.
        let edrBinary = world.base + "/osqueryd"
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: edrBinary)
        let edr = Process()
        let edrCommand = world.developer.command([edrBinary, "120"])
        edr.executableURL = URL(fileURLWithPath: edrCommand[0])
        edr.arguments = Array(edrCommand.dropFirst())
        try edr.run()
        defer { if edr.isRunning { kill(edr.processIdentifier, SIGKILL) } }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }

        // The first tool call runs (EDR up) and kills the EDR; the next one is decided under the new posture.
        let run = try world.claude(
            ClaudeWorld.prompt(bash: [
                "kill -9 \(edr.processIdentifier); echo one > one.txt", "echo two > two.txt",
            ]), model: model)
        #expect(run.status == 0, "claude exited \(run.status): \(run.stderr)")
        #expect(world.exists("one.txt"))
        #expect(!world.exists("two.txt"))
        let results = try model.toolResults()
        let denied = try #require(results["toolu_01_0"], "results: \(results.keys.sorted())")
        #expect(denied.isError && denied.text.contains("bash-needs-edr"), "\(denied.text)")
        #expect(run.deniedToolUseIDs == ["toolu_01_0"])

        // The change is in the log with before and after, and every hook entry cites its posture.
        let entries = try AuditVerifier.readEntries(directory: world.audit).leaves.map(\.entry)
        let change = try #require(entries.first { $0.kind == .posture }, "no posture entry")
        #expect(change.extra["change.edr_running"] == "true -> false", "\(change.extra)")
        let calls = entries.filter { $0.kind == .toolCall }
        #expect(!calls.isEmpty && calls.allSatisfy { $0.postureRef != nil })
        #expect(try AuditVerifier.verify(directory: world.audit).isValid)
    }

    @Test func unreadablePolicyFailsClosed() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try installedWorld("nopolicy", vigil: vigil)
        defer { world.remove() }
        try FileManager.default.removeItem(atPath: world.policy)
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }

        let run = try world.claude(ClaudeWorld.prompt(bash: ["echo hi > allowed.txt"]), model: model)
        #expect(run.status == 0, "claude exited \(run.status): \(run.stderr)")
        #expect(!world.exists("allowed.txt"), "the call ran although the policy is unreadable")
        let result = try #require(try model.toolResults()["toolu_00_0"])
        #expect(result.text.contains("Denied by Vigil (fail closed): cannot use the policy \(world.policy): unreadable"))
        #expect(run.deniedToolUseIDs == ["toolu_00_0"])
        // The fail-closed denial is on record too.
        let entries = try AuditVerifier.readEntries(directory: world.audit).leaves.map(\.entry)
        let denial = try #require(entries.first { $0.extra["event"] == "PreToolUse" })
        #expect(denial.decision == .deny)
        #expect(denial.extra["failure"]?.contains(world.policy) == true)
        #expect(try AuditVerifier.verify(directory: world.audit).isValid)
    }

    /// The hook itself cannot run (its binary is gone): `onFailure:"block"` blocks the call.
    @Test func missingHookBinaryBlocks() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let scratch = try ClaudeWorld.make("nobinary-bin")
        defer { scratch.remove() }
        let copy = scratch.base + "/vigil"
        try FileManager.default.copyItem(atPath: vigil, toPath: copy)
        let world = try installedWorld("nobinary", vigil: vigil, hookBinary: copy)
        defer { world.remove() }
        try FileManager.default.removeItem(atPath: copy)
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }

        let run = try world.claude(ClaudeWorld.prompt(bash: ["echo hi > allowed.txt"]), model: model)
        #expect(!world.exists("allowed.txt"), "the call ran although the hook could not start")
        // The first hook that blocks is UserPromptSubmit: the prompt never reaches the model.
        let result = try #require(run.result, "no result event; stderr: \(run.stderr)")
        let text = result["result"] as? String ?? ""
        #expect(text.hasPrefix("UserPromptSubmit operation blocked by hook:"), "\(text)")
        #expect(text.contains(#"failed; blocking because onFailure is "block""#), "\(text)")
        #expect(result["num_turns"] as? Int == 0)
        #expect(try model.toolResults().isEmpty)
    }

    /// Uninstall puts back the managed file that was there before, and the Vigil hooks are gone.
    @Test func uninstallRestoresThePreviousManagedFileAndRemovesTheHooks() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try ClaudeWorld.make("uninstall")
        defer { world.remove() }
        try world.writePolicy()
        // An administrator's own managed file of the same name: a Claude Code deny rule on touch.
        let dropInDirectory = world.root + "/etc/claude-code/managed-settings.d"
        try FileManager.default.createDirectory(atPath: dropInDirectory, withIntermediateDirectories: true)
        let previous = Data(#"{"permissions":{"deny":["Bash(touch *)"]}}"#.utf8) + Data([0x0A, 0x20, 0x0A])
        let dropIn = dropInDirectory + "/50-vigil.json"
        try previous.write(to: URL(fileURLWithPath: dropIn))
        // A mode of its own (not the installer's 0644), that the developer running Claude Code can still read.
        chmod(dropIn, 0o444)

        let install = try world.run([vigil, "hooks", "install", "--root", world.root, "--state-dir", world.stateDir, "--policy", world.policy])
        #expect(install.status == 0, "\(install.output)")
        let model = try MockModel.start(dumpDirectory: world.requests + "-1")
        defer { model.child.stop() }
        let hooked = try world.claude(ClaudeWorld.prompt(bash: ["curl -s -o denied.txt file:///etc/hostname"]), model: model)
        #expect(try model.toolResults()["toolu_00_0"]?.text.contains("Denied by Vigil rule 'no-curl'") == true, "\(hooked.stderr)")

        let uninstall = try world.run([vigil, "hooks", "uninstall", "--root", world.root, "--state-dir", world.stateDir])
        #expect(uninstall.status == 0, "\(uninstall.output)")
        #expect(FileManager.default.contents(atPath: dropIn) == previous)
        let mode = try FileManager.default.attributesOfItem(atPath: dropIn)[.posixPermissions] as? Int
        #expect(mode == 0o444)

        let model2 = try MockModel.start(dumpDirectory: world.requests + "-2")
        defer { model2.child.stop() }
        let unhooked = try world.claude(
            ClaudeWorld.prompt(bash: ["touch touched.txt", "curl -s -o denied.txt file:///etc/hostname"]), model: model2)
        let results = try model2.toolResults()
        // The restored managed rule works again, and no answer comes from Vigil.
        #expect(!world.exists("touched.txt"))
        #expect(results["toolu_00_0"]?.text.contains("has been denied") == true, "\(results) \(unhooked.stderr)")
        #expect(results.values.allSatisfy { !$0.text.contains("Vigil") }, "\(results)")
    }
}

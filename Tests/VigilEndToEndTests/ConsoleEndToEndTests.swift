// SPDX-License-Identifier: Apache-2.0
// The organisation's policy on a real device: the real vigil-console (SQLite), `vigil enroll` as
// root, the real vigild applying what the console pushes, and the real Claude Code (as the
// developer account) deciding by it — a rule written once on the console, changed there, in force here.
import Foundation
import Testing
import VigilAudit
import VigilTestSupport
#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized, .requires(.root, .bpf, .claudeCode))
struct ConsoleEndToEndTests {
    static let localPolicy = """
        vigil: 1
        version: "laptop-1"
        defaults:
          tool: allow
        rules:
          - {id: no-curl, match: Bash(curl *), action: deny, reason: Downloads go through the artifact proxy.}
          - {id: local-kubectl, match: Bash(kubectl *), action: allow}
        """

    static func orgPolicy(version: String, kubectlTeams: String) -> String {
        """
        vigil: 1
        version: "\(version)"
        defaults:
          tool: allow
        rules:
          - {id: no-kubectl, match: Bash(kubectl *), action: deny, reason: Clusters change through the pipeline.}
          - {id: infra-kubectl, match: Bash(kubectl *), action: allow, scope: {team: \(kubectlTeams)}, overrides: [no-kubectl]}
        """
    }

    /// The real console on a loopback port of its own, its state under the world.
    final class ConsoleUnderTest {
        let child: Child
        let state: String
        let binary: String
        let url: String

        init(world: ClaudeWorld) throws {
            binary = ClaudeE2E.packageRoot + "/.build/debug/vigil-console"
            guard access(binary, X_OK) == 0 else { throw Privileges.Missing(description: "\(binary) is missing: build it first") }
            state = world.base + "/console"
            let port = Int.random(in: 20000...40000)
            url = "https://127.0.0.1:\(port)"
            let log = world.base + "/console.log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["serve", "--state", state, "--listen", "127.0.0.1:\(port)"]
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            child = Child(process)
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if (try? admin(["devices"]))?.status == 0 { return }
                usleep(100_000)
            }
            child.stop()
            throw Privileges.Missing(description: "vigil-console did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }

        /// A `vigil-console` admin command on this console.
        @discardableResult
        func admin(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments + ["--state", state]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }

        func push(_ world: ClaudeWorld, _ document: String, _ name: String) throws {
            let file = world.base + "/\(name).yaml"
            try document.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try admin(["policy", "push", file, "--comment", name])
            guard result.status == 0 else { throw Privileges.Missing(description: "policy push failed: \(result.output)") }
        }
    }

    private func link(_ daemon: DaemonUnderTest) throws -> [String: Any] {
        (try daemon.status()["policy"] as? [String: Any])?["console"] as? [String: Any] ?? [:]
    }

    @Test func aRuleWrittenOnTheConsoleDecidesClaudeCodesToolCallsAndAChangeArrivesWhileItRuns() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try ClaudeWorld.make("console")
        defer { world.remove() }
        try world.writePolicy(Self.localPolicy)
        let console = try ConsoleUnderTest(world: world)
        defer { console.child.stop() }
        try console.push(world, Self.orgPolicy(version: "org-1", kubectlTeams: "infra"), "org-1")

        // `vigil enroll` as root, as an admin would run it on the laptop.
        let token = try console.admin(["enroll-token", "--team", "web"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let enrol = try world.run([vigil, "enroll", token, "--state-dir", world.stateDir])
        #expect(enrol.status == 0, "\(enrol.output)")

        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        try daemon.wait("console policy v1 in force") { try link(daemon)["appliedVersion"] as? Int == 1 }
        let policy = try daemon.status()["policy"] as? [String: Any] ?? [:]
        #expect((policy["sources"] as? [String])?.first == "console v1", "\(policy)")
        #expect(try link(daemon)["connected"] as? Bool == true)
        // The local file's allow of kubectl is left out: it may only add denials.
        #expect((try link(daemon)["droppedLocalRules"] as? [String])?.contains { $0.hasPrefix("local-kubectl") } == true)

        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        let first = try world.claude(
            ClaudeWorld.prompt(bash: ["kubectl get pods", "curl -s http://example.com"]), model: model, wrapper: vigil, socket: daemon.socket)
        #expect(first.status == 0, "claude: \(first.stderr)")
        var results = try model.toolResults()
        #expect(results["toolu_00_0"]?.text.contains("Denied by Vigil rule 'no-kubectl'") == true, "\(results)")
        #expect(results["toolu_00_0"]?.text.contains("pipeline") == true)
        // The local denial still holds under the console's policy.
        #expect(results["toolu_01_0"]?.text.contains("Denied by Vigil rule 'local.no-curl'") == true, "\(results)")

        // The console lets the web team use kubectl: the device applies v2 over its open stream.
        try console.push(world, Self.orgPolicy(version: "org-2", kubectlTeams: "[infra, web]"), "org-2")
        try daemon.wait("console policy v2 in force", timeout: 10) { try link(daemon)["appliedVersion"] as? Int == 2 }
        let secondModel = try MockModel.start(dumpDirectory: world.requests + "-2")
        defer { secondModel.child.stop() }
        let second = try world.claude(ClaudeWorld.prompt(bash: ["kubectl get pods"]), model: secondModel, wrapper: vigil, socket: daemon.socket)
        #expect(second.status == 0, "claude: \(second.stderr)")
        results = try secondModel.toolResults()
        #expect(results["toolu_00_0"]?.text.contains("Denied by Vigil") == false, "\(results)")

        // The console shows what the device applied.
        // (Reports are spread over a couple of seconds after a change, so the console learns it soon, not at once.)
        var devices = ""
        try daemon.wait("the console to learn that v2 is in force") {
            devices = try console.admin(["devices", "--json"]).output
            return devices.contains("\"policyVersion\":2")
        }
        // The device's own log has both applications.
        let applied = try AuditVerifier.readEntries(directory: world.audit).leaves.map(\.entry)
            .filter { $0.extra["event"] == "console-applied" }.compactMap { $0.extra["consoleVersion"] }
        #expect(applied == ["1", "2"], "\(applied)")

        // Revoked: the stream is cut, reconnects are refused, the policy in force stays.
        let deviceID = try #require(try link(daemon)["deviceID"] as? String)
        #expect(try console.admin(["revoke", deviceID, "--reason", "laptop lost"]).status == 0)
        try daemon.wait("the console refuses the device") { (try link(daemon)["lastError"] as? String)?.contains("403") == true }
        #expect(try link(daemon)["appliedVersion"] as? Int == 2)
        #expect(try link(daemon)["connected"] as? Bool == false)

        // The console's own log verifies offline and holds every admin action with its actor.
        let verify = try world.run([vigil, "audit", "verify", console.state + "/audit"])
        #expect(verify.status == 0, "\(verify.output)")
        let shown = try world.run([vigil, "audit", "show", console.state + "/audit"]).output
        for action in ["token.issue", "policy.change", "device.enroll", "device.revoke"] {
            #expect(shown.contains("action=\(action)"), "\(action) missing from:\n\(shown)")
        }
        #expect(shown.contains("reason=laptop lost"))

        // The developer account cannot use the admin socket (root-only directory and socket).
        let asDeveloper = try world.run([console.binary, "devices", "--state", console.state], asDeveloper: true)
        #expect(asDeveloper.status != 0 && asDeveloper.output.contains("cannot reach the console's admin socket"), "\(asDeveloper.output)")
    }

    /// One step of the browser walkthrough (Browser/console_walkthrough.py): its JSON line.
    private func browser(_ step: String, _ console: ConsoleUnderTest, _ world: ClaudeWorld, _ extra: [String]) throws -> [String: Any] {
        let python = ClaudeE2E.packageRoot + "/.output/py-venv/bin/python"
        guard access(python, X_OK) == 0, access("/usr/bin/chromedriver", X_OK) == 0 else {
            throw Privileges.Missing(description: "the browser walkthrough needs `make pytools browser` (selenium, chromium, chromium-driver)")
        }
        let script = ClaudeE2E.packageRoot + "/Tests/VigilEndToEndTests/Browser/console_walkthrough.py"
        let run = try world.run(
            [python, script, step, "--url", console.url, "--shots", Self.screenshots, "--user", "alice", "--password", "a long admin passphrase"]
                + extra,
            environment: ["PATH": "/usr/bin:/bin", "HOME": world.base])
        guard run.status == 0, let line = run.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let answer = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            throw BrowserFailure(description: "browser step \(step) failed (screenshots in \(Self.screenshots)):\n\(run.output)")
        }
        return answer
    }

    struct BrowserFailure: Error, CustomStringConvertible { var description: String }

    /// Kept after the run for a person to look at.
    static let screenshots = ClaudeE2E.packageRoot + "/.output/screenshots/console"

    @Test func aSecurityAdminWorksTheConsoleInARealBrowser() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try ClaudeWorld.make("console-browser")
        defer { world.remove() }
        try world.writePolicy(Self.localPolicy)
        let console = try ConsoleUnderTest(world: world)
        defer { console.child.stop() }
        try? FileManager.default.removeItem(atPath: Self.screenshots)

        // `vigil-console admin add` prints a one-time password; the first login in the browser replaces it.
        let added = try console.admin(["admin", "add", "alice", "--role", "admin"])
        #expect(added.status == 0, "\(added.output)")
        let oneTime = try #require(added.output.split(separator: "\n").last.map(String.init))
        let token = try #require(try browser("setup", console, world, ["--one-time", oneTime, "--team", "infra"])["token"] as? String)

        // Enrolled while vigild runs: it takes up the console link without a restart.
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let enrol = try world.run([vigil, "enroll", token, "--state-dir", world.stateDir])
        #expect(enrol.status == 0, "\(enrol.output)")
        try daemon.wait("the device connected to the console") { try link(daemon)["connected"] as? Bool == true }

        // In the browser: import the team's settings.json, then a rule for the infra team only.
        let settings = world.base + "/settings.json"
        try #"{"permissions": {"deny": ["Bash(curl *)", "Read(./.env)"], "allow": ["Bash(npm *)", "Bash(terraform *)"]}}"#
            .write(toFile: settings, atomically: true, encoding: .utf8)
        let hostname = ProcessInfo.processInfo.hostName
        let published = try browser("policy", console, world, ["--settings", settings, "--team", "infra", "--hostname", hostname])
        let version = try #require(published["version"] as? Int)
        try daemon.wait("console policy v\(version) in force") { try link(daemon)["appliedVersion"] as? Int == version }

        // The real Claude Code, as the developer, on this infra device: the rule written in the browser decides.
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        let run = try world.claude(
            ClaudeWorld.prompt(bash: ["terraform plan", "npm --version"]), model: model, wrapper: vigil, socket: daemon.socket)
        #expect(run.status == 0, "claude: \(run.stderr)")
        let results = try model.toolResults()
        #expect(results["toolu_00_0"]?.text.contains("Terraform runs from the pipeline") == true, "\(results)")
        #expect(results["toolu_01_0"]?.text.contains("Denied by Vigil") == false, "\(results)")

        // Revoked from its page: the device is refused at once and keeps the policy in force.
        let deviceID = try #require(try link(daemon)["deviceID"] as? String)
        _ = try browser("revoke", console, world, ["--device", deviceID, "--hostname", hostname])
        try daemon.wait("the console refuses the device") { (try link(daemon)["lastError"] as? String)?.contains("403") == true }
        #expect(try link(daemon)["appliedVersion"] as? Int == version)

        // Unenrolled (locally: the console refuses a revoked device): the local file alone is in force again.
        let unenrol = try world.run([vigil, "unenroll", "--local", "--state-dir", world.stateDir])
        #expect(unenrol.status == 0, "\(unenrol.output)")
        try daemon.wait("the local policy alone in force") {
            let policy = try daemon.status()["policy"] as? [String: Any] ?? [:]
            return (policy["sources"] as? [String])?.count == 1 && policy["console"] == nil
        }

        let shots = (try? FileManager.default.contentsOfDirectory(atPath: Self.screenshots)) ?? []
        #expect(shots.filter { $0.hasSuffix(".png") }.count >= 13, "\(shots)")
        // Every admin action of the walkthrough is in the console's signed log, with the admin's name.
        let shown = try world.run([vigil, "audit", "show", console.state + "/audit"]).output
        for action in ["admin.add", "admin.login", "admin.password", "token.issue", "policy.change", "device.revoke"] {
            #expect(shown.contains("action=\(action)"), "\(action) missing")
        }
        #expect(shown.contains("actor=admin:alice"))
    }
}

// SPDX-License-Identifier: Apache-2.0
// `vigil login` on a real device: the real console (SQLite) knows the developer as a person of team
// infra, the device is enrolled in team web; before the login the developer's Claude Code is
// decided as an unverified OS account, after it (a code an admin read from `vigil-console logins`)
// as that person — the console's `Bash(kubectl *)` deny lifted for infra decides differently.
import Foundation
import Testing
import VigilTestSupport

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized, .requires(.root, .bpf, .claudeCode))
struct LoginEndToEndTests {
    static let orgPolicy = """
        vigil: 1
        version: "org-people"
        defaults:
          tool: allow
        rules:
          - {id: no-kubectl, match: Bash(kubectl *), action: deny, reason: Clusters change through the pipeline.}
          - {id: infra-kubectl, match: Bash(kubectl *), action: allow, scope: {team: infra}, overrides: [no-kubectl]}
          - {id: unverified-no-push, match: Bash(git push *), action: deny, scope: {identity: unverified}}
        """

    /// The code and id of the pending login of `email`, as an admin reads them.
    private func pending(_ console: ConsoleEndToEndTests.ConsoleUnderTest, _ email: String) throws -> (code: String, id: String)? {
        let listed = try console.admin(["logins"]).output
        guard let line = listed.split(separator: "\n").first(where: { $0.contains("\t\(email)\t") }) else { return nil }
        let columns = line.split(separator: "\t").map(String.init)
        return (columns[0], columns[columns.count - 1])
    }

    @Test func aDeveloperLogsInAndIsDecidedAsTheirPerson() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let world = try ClaudeWorld.make("login")
        defer { world.remove() }
        try world.writePolicy(ConsoleEndToEndTests.localPolicy)
        let console = try ConsoleEndToEndTests.ConsoleUnderTest(world: world)
        defer { console.child.stop() }
        try console.push(world, Self.orgPolicy, "org-people")
        let person = try console.admin(["people", "set", "ana@example.com", "--team", "infra", "--role", "sre"])
        #expect(person.status == 0, "\(person.output)")
        let token = try console.admin(["enroll-token", "--team", "web"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let enrol = try world.run([vigil, "enroll", token, "--state-dir", world.stateDir])
        #expect(enrol.status == 0, "\(enrol.output)")
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        try daemon.wait("console policy v1 in force") {
            ((try daemon.status()["policy"] as? [String: Any])?["console"] as? [String: Any])?["appliedVersion"] as? Int == 1
        }

        // Unverified: the device's team (web) alone, and the unverified rule.
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        let before = try world.claude(
            ClaudeWorld.prompt(bash: ["kubectl get pods", "git push origin main"]), model: model, wrapper: vigil, socket: daemon.socket)
        #expect(before.status == 0, "claude: \(before.stderr)")
        var results = try model.toolResults()
        #expect(results["toolu_00_0"]?.text.contains("Denied by Vigil rule 'no-kubectl'") == true, "\(results)")
        #expect(results["toolu_01_0"]?.text.contains("vigil login") == true, "\(results)")

        // Root may not bind an account; a stranger's email is refused by the console.
        let asRoot = try world.run([vigil, "login", "ana@example.com", "--socket", daemon.socket])
        #expect(asRoot.status != 0 && asRoot.output.contains("as yourself"), "\(asRoot.output)")
        let stranger = try world.run([vigil, "login", "eve@example.com", "--socket", daemon.socket], asDeveloper: true)
        #expect(stranger.status != 0 && stranger.output.contains("unknown_person"), "\(stranger.output)")

        let started = try world.run([vigil, "login", "ana@example.com", "--socket", daemon.socket], asDeveloper: true)
        #expect(started.status == 0 && started.output.contains("vigil login --login"), "\(started.output)")
        let login = try #require(try pending(console, "ana@example.com"))
        let wrongCode = login.code == "000000" ? "111111" : "000000"
        let wrong = try world.run([vigil, "login", "--login", login.id, "--code", wrongCode, "--socket", daemon.socket], asDeveloper: true)
        #expect(wrong.status != 0 && wrong.output.contains("wrong_code"), "\(wrong.output)")
        let done = try world.run([vigil, "login", "--login", login.id, "--code", login.code, "--socket", daemon.socket], asDeveloper: true)
        #expect(done.status == 0 && done.output.contains("is now ana@example.com"), "\(done.output)")
        let reused = try world.run([vigil, "login", "--login", login.id, "--code", login.code, "--socket", daemon.socket], asDeveloper: true)
        #expect(reused.status != 0 && reused.output.contains("login_used"), "\(reused.output)")

        // `vigil status` shows who is behind the account.
        let status = try world.run([vigil, "status", "--socket", daemon.socket], asDeveloper: true)
        #expect(status.output.contains("ana@example.com (teams infra; roles sre"), "\(status.output)")

        // Decided as ana (team infra, verified) from the next session on.
        let after = try MockModel.start(dumpDirectory: world.requests + "-2")
        defer { after.child.stop() }
        let second = try world.claude(
            ClaudeWorld.prompt(bash: ["kubectl get pods", "git push origin main"]), model: after, wrapper: vigil, socket: daemon.socket)
        #expect(second.status == 0, "claude: \(second.stderr)")
        results = try after.toolResults()
        #expect(results["toolu_00_0"]?.text.contains("Denied by Vigil") == false, "\(results)")
        #expect(results["toolu_01_0"]?.text.contains("Denied by Vigil") == false, "\(results)")

        let shown = try world.run([vigil, "audit", "show", console.state + "/audit"]).output
        for action in ["person.set", "login.start", "login.codes.read", "login.complete"] {
            #expect(shown.contains("action=\(action)"), "\(action) missing from:\n\(shown)")
        }
    }
}

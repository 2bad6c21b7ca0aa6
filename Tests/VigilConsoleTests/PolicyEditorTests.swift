// SPDX-License-Identifier: Apache-2.0
// The policy editor: each edit a new version (compiled first, audited, announced), a broken row
// refused with its line, a stale base refused, settings imported per layer, diffs between versions.
import Foundation
import Logging
import Testing
import VigilAPI
import VigilAudit
import VigilJSON
import VigilPolicy

@testable import VigilConsole

/// A console that is not serving: the editor over its real store, audit log and publisher.
struct EditorConsole {
    let console: Console
    let state: String

    init() throws {
        state = TemporaryDirectory.make() + "/console"
        console = try Console(configuration: ConsoleConfiguration(stateDirectory: state, port: 0), logger: .init(label: "editor-test"))
    }

    var editor: PolicyEditor { console.policyEditor }

    func audit(_ action: String = "policy.change") throws -> [AuditEntry] {
        try console.audit.sync()
        return try AuditVerifier.readEntries(directory: state + "/audit").leaves.map(\.entry).filter { $0.extra["action"] == action }
    }

    /// The version the devices' streams are told is current.
    func announced() async -> Int? {
        var stream = console.policies.subscribe(device: "probe").makeAsyncIterator()
        return await stream.next()
    }
}

private let noKubectl = PolicyRow(id: "no-kubectl", match: "Bash(kubectl *)", action: .deny, reason: "Clusters are changed through the pipeline.")
private let infraKubectl = PolicyRow(
    id: "infra-kubectl", match: "Bash(kubectl *)", action: .allow, scope: Scope(teams: ["infra"]), overrides: ["no-kubectl"])

private func decide(_ document: String, _ command: String, teams: [String]) throws -> PolicyAction {
    let call = ToolCall(name: "Bash", input: ["command": .string(command)], cwd: "/home/dev/p", home: "/home/dev")
    return try Policy(yaml: document, file: "device").decide(call, identity: Identity(user: "dev", teams: teams)).action
}

@Suite struct PolicyEditorTests {
    @Test func eachEditIsANewVersionCompiledAuditedAndAnnounced() async throws {
        let setup = try EditorConsole()
        let editor = setup.editor
        #expect(try await editor.rows() == PolicyRowsView(version: 0, rows: PolicyRows()))

        let v1 = try await editor.addRow(noKubectl, base: 0, author: "alice", comment: "no clusters from agents")
        #expect(v1.bundle.version == 1 && v1.bundle.author == "alice" && v1.bundle.comment == "no clusters from agents")
        #expect(v1.rows.rows == [noKubectl])
        let v2 = try await editor.addRow(PolicyRow(id: "npm", match: "Bash(npm *)", action: .allow), at: 0, base: 1, author: "bob", comment: nil)
        #expect(v2.rows.rows.map(\.id) == ["npm", "no-kubectl"])
        let v3 = try await editor.addRow(infraKubectl, at: 1, base: 2, author: "alice", comment: "infra runs the clusters")
        #expect(v3.rows.rows.map(\.id) == ["npm", "infra-kubectl", "no-kubectl"])

        var reworded = noKubectl
        reworded.reason = "Use the deploy pipeline."
        reworded.when = ["disk_encrypted==false"]
        let v4 = try await editor.updateRow(id: "no-kubectl", to: reworded, base: 3, author: "carol", comment: nil)
        // Stored as the parser reads it back.
        #expect(v4.rows.rows[2].when == ["disk_encrypted == false"])
        #expect(v4.rows.rows[2].reason == "Use the deploy pipeline.")

        let v5 = try await editor.deleteRow(id: "npm", base: 4, author: "carol", comment: "npm is asked again")
        #expect(v5.rows.rows.map(\.id) == ["infra-kubectl", "no-kubectl"])
        let v6 = try await editor.setDefaults(PolicyDefaults(tool: .allow), label: "org-2", base: 5, author: "alice", comment: nil)
        #expect(v6.rows.defaults.tool == .allow && v6.rows.label == "org-2")

        // What is stored is the canonical document of the rows, and it is what devices compile.
        let stored = try #require(try await setup.console.store.latestPolicy())
        #expect(stored.version == 6)
        #expect(stored.document == v6.rows.yaml())
        #expect(try await editor.rows() == PolicyRowsView(version: 6, rows: v6.rows))
        #expect(try await editor.rows(version: 2).rows.rows.map(\.id) == ["npm", "no-kubectl"])
        // The deny holds on unencrypted disks now; a device that can't tell fails closed.
        #expect(try decide(stored.document, "kubectl apply -f x", teams: ["web"]) == .deny)
        #expect(try decide(stored.document, "kubectl apply -f x", teams: ["infra"]) == .allow)
        #expect(try decide(stored.document, "ls", teams: []) == .allow)

        let entries = try setup.audit()
        #expect(entries.map { $0.extra["operation"] } == ["add-row", "add-row", "add-row", "update-row", "delete-row", "set-defaults"])
        #expect(entries.map { $0.extra["target"] } == ["v1", "v2", "v3", "v4", "v5", "v6"])
        #expect(entries.allSatisfy { $0.decision == .allow })
        #expect(entries[0].extra["actor"] == "alice" && entries[0].extra["row"] == "no-kubectl" && entries[0].extra["base"] == "v0")
        #expect(entries[3].extra["diff"]?.contains("+    reason: 'Use the deploy pipeline.'") == true, "\(entries[3].extra["diff"] ?? "")")
        #expect(await setup.announced() == 6)
    }

    @Test func aBrokenRowIsRefusedWithItsLineAndReasonAndNothingChanges() async throws {
        let setup = try EditorConsole()
        _ = try await setup.editor.addRow(noKubectl, base: 0, author: "alice", comment: nil)
        let broken = PolicyRow(id: "bad", match: "Bash(", action: .deny)
        do {
            _ = try await setup.editor.addRow(broken, base: 1, author: "mallory", comment: nil)
            Issue.record("a broken pattern was stored")
        } catch PolicyEditError.refused(let error, let document) {
            let lines = document.split(separator: "\n", omittingEmptySubsequences: false)
            let row = try #require(lines.firstIndex { $0 == "  - id: bad" })
            #expect(error.ruleID == "bad")
            #expect(error.file == "console policy")
            #expect(error.line == row + 2 && error.column == 12, "\(error)")
            #expect(error.reason.hasPrefix("invalid pattern 'Bash('"), "\(error)")
        }
        // Other refusals of the compiler name their rule too: a kernel rule can't ask.
        await #expect(throws: PolicyEditError.self) {
            try await setup.editor.addRow(PolicyRow(id: "ask-exec", match: "Exec(nc)", action: .ask), base: 1, author: "m", comment: nil)
        }
        #expect(try await setup.console.store.latestPolicy()?.version == 1)
        #expect(try await setup.editor.rows().rows.rows == [noKubectl])
        let entries = try setup.audit()
        #expect(entries.map(\.decision) == [.allow, .deny, .deny])
        #expect(entries[1].extra["reason"]?.contains("rule 'bad': invalid pattern") == true)
        #expect(entries[1].extra["actor"] == "mallory")
        #expect(await setup.announced() == 1)
    }

    @Test func aStaleBaseIsRefusedAndTwoEditorsAtOnceLoseNothing() async throws {
        let setup = try EditorConsole()
        let editor = setup.editor
        _ = try await editor.addRow(noKubectl, base: 0, author: "alice", comment: nil)
        _ = try await editor.addRow(infraKubectl, base: 1, author: "alice", comment: nil)
        // Bob edited what he saw at v1.
        await #expect(throws: PolicyEditError.staleBase(base: 1, latest: 2)) {
            try await editor.deleteRow(id: "no-kubectl", base: 1, author: "bob", comment: nil)
        }
        #expect(try await editor.rows().rows.rows.map(\.id) == ["no-kubectl", "infra-kubectl"])
        #expect(try setup.audit().last?.extra["reason"]?.contains("made against v1, but the policy is at v2") == true)

        // Eight editors add a row each against v2 at once: one is stored, the others are refused, none lost silently.
        let outcomes = await withTaskGroup(of: Result<Int, PolicyEditError>.self) { group in
            for index in 0..<8 {
                group.addTask {
                    do {
                        let result = try await editor.addRow(
                            PolicyRow(id: "r\(index)", match: "Bash(tool\(index) *)", action: .deny), base: 2, author: "e\(index)", comment: nil)
                        return .success(result.bundle.version)
                    } catch let error as PolicyEditError {
                        return .failure(error)
                    } catch {
                        return .failure(.unchanged)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let stored = outcomes.compactMap { try? $0.get() }
        #expect(stored == [3])
        for case .failure(let error) in outcomes { #expect(error == .staleBase(base: 2, latest: 3)) }
        #expect(try await editor.rows().rows.rows.count == 3)
    }

    @Test func rowsAreNamedAndPlacedOrRefused() async throws {
        let editor = try EditorConsole().editor
        _ = try await editor.addRow(noKubectl, base: 0, author: "a", comment: nil)
        _ = try await editor.addRow(infraKubectl, base: 1, author: "a", comment: nil)
        await #expect(throws: PolicyEditError.rowExists("no-kubectl")) { try await editor.addRow(noKubectl, base: 2, author: "a", comment: nil) }
        await #expect(throws: PolicyEditError.noSuchPosition(5, rows: 2)) {
            try await editor.addRow(PolicyRow(id: "x", match: "Bash(x)", action: .deny), at: 5, base: 2, author: "a", comment: nil)
        }
        await #expect(throws: PolicyEditError.noSuchRow("nope")) { try await editor.deleteRow(id: "nope", base: 2, author: "a", comment: nil) }
        await #expect(throws: PolicyEditError.unchanged) {
            try await editor.updateRow(id: "no-kubectl", to: noKubectl, base: 2, author: "a", comment: nil)
        }
        // A rule others make exceptions to can't go while they do: the compiler names the exception.
        do {
            _ = try await editor.deleteRow(id: "no-kubectl", base: 2, author: "a", comment: nil)
            Issue.record("deleted a rule another rule overrides")
        } catch PolicyEditError.refused(let error, _) {
            #expect(error.ruleID == "infra-kubectl" && error.reason.contains("overrides 'no-kubectl', which is not a rule"), "\(error)")
        }
        // Renaming it carries the exception along.
        var renamed = noKubectl
        renamed.id = "clusters/no-kubectl"
        let result = try await editor.updateRow(id: "no-kubectl", to: renamed, base: 2, author: "a", comment: nil)
        #expect(result.rows.rows.map(\.id) == ["clusters/no-kubectl", "infra-kubectl"])
        #expect(result.rows.rows[1].overrides == ["clusters/no-kubectl"])
        #expect(result.notes == ["infra-kubectl now overrides clusters/no-kubectl (was no-kubectl)"])
        #expect(try decide(result.bundle.document, "kubectl get pods", teams: ["infra"]) == .allow)
        #expect(try decide(result.bundle.document, "kubectl get pods", teams: ["web"]) == .deny)
    }

    @Test func settingsOfEachLayerImportAsVigilPolicyImportReadsThem() async throws {
        let setup = try EditorConsole()
        let editor = setup.editor
        _ = try await editor.addRow(PolicyRow(id: "no-curl", match: "Bash(curl *)", action: .deny), base: 0, author: "a", comment: nil)
        let managed = """
            {
              "allowManagedPermissionRulesOnly": false,
              "permissions": {
                "deny": ["Bash(curl *)", "Read(/secrets/**)", "WebFetch(domain:pastebin.com)"],
                "ask": ["Bash(git push *)"],
                "allow": ["Bash(npm run test:*)"]
              },
              "env": {"CLAUDE_CODE_ENABLE_TELEMETRY": "0"}
            }
            """
        let user = """
            {"model": "opus", "permissions": {"allow": ["Read(/notes/**)", "Bash(ls *)"], "ask": ["Bash(docker *)"], "deny": ["Read(~/.ssh/**)"], "defaultMode": "default"}}
            """
        let project = """
            {
              "permissions": {
                "allow": ["Edit(src/**)", "Bash(swift build *)"],
                "ask": ["Bash(rm *)"],
                "deny": ["Read(./.env)", "Read(/config/prod.yaml)"]
              },
              "hooks": {}
            }
            """
        let v2 = try await editor.importSettings(managed, layer: .managed, base: 1, author: "a", comment: "company settings")
        #expect(v2.rows.rows.map(\.id) == ["no-curl", "managed-deny-2", "managed-deny-3", "managed-ask-1", "managed-allow-1"])
        #expect(v2.notes.contains("managed-deny-1 skipped: the same rule as no-curl"))
        #expect(v2.rows.rows[1].match == "Read(//etc/claude-code/secrets/**)", "managed /path is anchored at the managed directory")
        let v3 = try await editor.importSettings(user, layer: .user, base: 2, author: "a", comment: nil)
        #expect(v3.rows.rows.suffix(4).map(\.id) == ["user-deny-1", "user-ask-1", "user-allow-1", "user-allow-2"])
        #expect(v3.rows.rows.first { $0.id == "user-allow-1" }?.match == "Read(~/.claude/notes/**)")
        let v4 = try await editor.importSettings(project, layer: .project, base: 3, author: "a", comment: nil)
        #expect(
            v4.rows.rows.suffix(5).map(\.match) == ["Read(./.env)", "Read(/config/prod.yaml)", "Bash(rm *)", "Edit(src/**)", "Bash(swift build *)"])
        #expect(v4.bundle.version == 4)
        #expect(v4.rows.defaults.tool == .ask)

        // The merged policy decides as Claude Code would with the three layers: deny > ask > allow.
        let document = v4.bundle.document
        #expect(try decide(document, "curl https://x", teams: []) == .deny)
        #expect(try decide(document, "git push origin main", teams: []) == .ask)
        #expect(try decide(document, "npm run test", teams: []) == .allow)
        #expect(try decide(document, "docker ps", teams: []) == .ask)
        #expect(try decide(document, "swift build -c release", teams: []) == .allow)
        #expect(try decide(document, "rm -rf build", teams: []) == .ask)

        // The same file again adds nothing.
        await #expect(throws: PolicyEditError.unchanged) {
            try await editor.importSettings(project, layer: .project, base: 4, author: "a", comment: nil)
        }
        // A changed file whose ids are taken: refused by default, naming them; renamed on request.
        let changed = project.replacingOccurrences(of: "Bash(rm *)", with: "Bash(rm -rf *)")
        await #expect(throws: PolicyEditError.importClash(["project-ask-1"])) {
            try await editor.importSettings(changed, layer: .project, base: 4, author: "a", comment: nil)
        }
        let v5 = try await editor.importSettings(changed, layer: .project, onClash: .rename, base: 4, author: "a", comment: nil)
        #expect(v5.rows.rows.last?.id == "project-ask-2" && v5.rows.rows.last?.match == "Bash(rm -rf *)")
        let v6 = try await editor.importSettings(
            changed.replacingOccurrences(of: "Bash(rm -rf *)", with: "Bash(rmdir *)"), layer: .project, onClash: .replace, base: 5, author: "a",
            comment: nil)
        #expect(v6.rows.rows.first { $0.id == "project-ask-1" }?.match == "Bash(rmdir *)")

        // A broken settings file is located in itself.
        do {
            _ = try await editor.importSettings(
                "{\n  \"permissions\": {\"deny\": [\"Bash(x\"]}\n}", layer: .project, base: 6, author: "a", comment: nil)
            Issue.record("a broken settings file was imported")
        } catch PolicyEditError.settingsInvalid(let error) {
            #expect(error.file == ".claude/settings.json" && error.line == 2, "\(error)")
        }
        #expect(try await setup.console.store.latestPolicy()?.version == 6)
        #expect(try setup.audit().compactMap { $0.extra["operation"] }.filter { $0 == "import" }.count == 8)
    }

    @Test func aDiffBetweenVersionsNamesTheLinesAddedAndRemoved() async throws {
        let editor = try EditorConsole().editor
        _ = try await editor.addRow(noKubectl, base: 0, author: "a", comment: nil)
        _ = try await editor.addRow(infraKubectl, base: 1, author: "a", comment: nil)
        var reworded = noKubectl
        reworded.reason = "Pipeline only."
        _ = try await editor.updateRow(id: "no-kubectl", to: reworded, base: 2, author: "a", comment: nil)

        let diff = try await editor.diff(from: 1, to: 3)
        #expect(diff.added == 7 && diff.removed == 1, "\(diff.unified)")
        #expect(
            diff.unified == """
                --- v1
                +++ v3
                @@ -9,4 +9,10 @@
                   - id: no-kubectl
                     match: 'Bash(kubectl *)'
                     action: deny
                -    reason: 'Clusters are changed through the pipeline.'
                +    reason: 'Pipeline only.'
                +  - id: infra-kubectl
                +    match: 'Bash(kubectl *)'
                +    action: allow
                +    scope:
                +      team: [infra]
                +    overrides: [no-kubectl]

                """)
        let first = try await editor.diff(from: 0, to: 1)
        #expect(first.removed == 0 && first.added == 12 && first.unified.contains("@@ -0,0 +1,12 @@"))
        #expect(try await editor.diff(from: 2, to: 2).unified == "")
        await #expect(throws: PolicyEditError.noSuchVersion(9)) { try await editor.diff(from: 1, to: 9) }
    }
}

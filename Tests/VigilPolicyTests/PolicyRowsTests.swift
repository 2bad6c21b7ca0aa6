// SPDX-License-Identifier: Apache-2.0
// The rows model: a document to rows by the parser, rows back to one canonical document that means
// the same, awkward text kept exactly, broken rows left for the compiler to locate, imports merged.
import Foundation
import Testing
@testable import VigilPolicy

private let examplePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("examples/policy.yaml").path

@Suite struct PolicyRowsTests {
    @Test func theExamplePolicyRoundTripsThroughRows() throws {
        let text = try String(contentsOfFile: examplePath, encoding: .utf8)
        let rows = try PolicyRows(yaml: text, file: "policy.yaml")
        #expect(rows.rows.count == 15)
        #expect(rows.label == "2026-11-22.1")
        #expect(rows.defaults == PolicyDefaults(tool: .ask, kernel: .none, deriveKernel: true, unknownPosture: .failClosed))
        let infra = try #require(rows.rows.first { $0.id == "infra-kubectl" })
        #expect(
            infra
                == PolicyRow(id: "infra-kubectl", match: "Bash(kubectl *)", action: .allow, scope: Scope(teams: ["infra"]), overrides: ["no-kubectl"])
        )
        #expect(rows.rows.first { $0.id == "stale-patches-ask" }?.when == ["os_patch_age_days > 30"])
        #expect(rows.rows.first { $0.id == "unencrypted-no-secrets" }?.when == ["disk_encrypted == false"])
        #expect(rows.rows.first { $0.id == "no-curl" }?.kernel == .kill)

        let canonical = rows.yaml()
        let again = try PolicyRows(yaml: canonical, file: "canonical.yaml")
        #expect(again == rows)
        #expect(again.yaml() == canonical, "the canonical form is a fixed point")

        // The canonical document compiles to the same policy: same rules, derivations and warnings.
        let original = try Policy(yaml: text, file: "p.yaml")
        let rewritten = try Policy(yaml: canonical, file: "p.yaml")
        #expect(rewritten.compiledRuleCount == original.compiledRuleCount)
        #expect(rewritten.derivations.map(\.note) == original.derivations.map(\.note))
        #expect(rewritten.warnings.map(\.message) == original.warnings.map(\.message))
        let calls: [(ToolCall, Identity)] = [
            (toolCall("Bash", "kubectl get pods"), Identity(user: "a", teams: ["infra"])),
            (toolCall("Bash", "kubectl get pods"), Identity(user: "b", teams: ["web"])),
            (toolCall("Bash", "curl https://x"), someone),
            (toolCall("Bash", "npm test"), Identity(user: "c", role: "contractor")),
            (toolCall("Read", home + "/.aws/credentials"), someone),
            (toolCall("Edit", cwd + "/src/a.swift"), someone),
        ]
        for (call, identity) in calls {
            let before = original.decide(call, identity: identity)
            let after = rewritten.decide(call, identity: identity)
            #expect(before.action == after.action && before.winningRuleID == after.winningRuleID, "\(call.name) \(identity.teams)")
        }
    }

    @Test func awkwardTextIsKeptExactly() throws {
        let rows = PolicyRows(
            label: "1.0", defaults: PolicyDefaults(tool: .deny, kernel: .flag, deriveKernel: false, unknownPosture: .noMatch),
            rows: [
                PolicyRow(id: "true", match: "Bash(echo 'it''s' # not: a comment)", action: .deny, reason: "null"),
                PolicyRow(
                    id: "a:b/c.d_e-1", match: "Read(**/.env)", action: .ask,
                    scope: Scope(users: ["o'brien", "x y"], teams: ["yes"], devices: ["-dev"]),
                    when: ["os_release == \"Debian 12\"", "kernel_version >= \"6.1\""], onUnknown: .match,
                    reason: "line one\nline two\t\"quoted\" \\ back ü \u{2028} end "),
                PolicyRow(id: "empty-reason", match: "WebFetch(domain:*.example.com)", action: .allow, reason: ""),
                PolicyRow(id: "k", match: "Connect(*:25)", action: .deny, kernel: .flag, reason: "[not, a, list]: {nor: a map}"),
            ])
        let canonical = rows.yaml(comments: ["written by a test\nsecond line is folded"])
        #expect(canonical.hasPrefix("# written by a test second line is folded\nvigil: 1\n"))
        #expect(try PolicyRows(yaml: canonical, file: "t.yaml") == rows)
        _ = try Policy(yaml: canonical, file: "t.yaml")
        #expect(PolicyRows(label: "x").yaml().hasSuffix("rules: []\n"))
        #expect(try PolicyRows(yaml: PolicyRows(label: "x").yaml(), file: "e.yaml") == PolicyRows(label: "x"))
    }

    @Test func aBrokenRowIsWrittenAsGivenAndTheCompilerLocatesIt() throws {
        var rows = try PolicyRows(yaml: try String(contentsOfFile: examplePath, encoding: .utf8), file: "p.yaml")
        rows.rows.insert(PolicyRow(id: "bad", match: "Bash(", action: .deny), at: 3)
        let canonical = rows.yaml()
        let lines = canonical.split(separator: "\n", omittingEmptySubsequences: false)
        let matchLine = try #require(lines.firstIndex { $0 == "  - id: bad" }) + 2
        #expect(lines[matchLine - 1] == "    match: 'Bash('")
        do {
            _ = try Policy(yaml: canonical, file: "console policy")
            Issue.record("a broken pattern compiled")
        } catch {
            #expect(error.ruleID == "bad")
            #expect(error.line == matchLine)
            #expect(error.column == 12)
            #expect(error.reason.contains("invalid pattern 'Bash('"), "\(error)")
        }
        // A condition the parser can't read, and an empty scope list, are also the compiler's to name.
        rows.rows[3] = PolicyRow(id: "bad", match: "Bash(x)", action: .deny, when: ["disk_encrypted > 3"])
        #expect(throws: PolicyError.self) { try Policy(yaml: rows.yaml(), file: "c") }
        rows.rows[3] = PolicyRow(id: "bad", match: "Bash(x)", action: .deny, scope: Scope(teams: []))
        do {
            _ = try Policy(yaml: rows.yaml(), file: "c")
            Issue.record("an empty team list compiled")
        } catch {
            #expect(error.ruleID == "bad" && error.reason.contains("must not be an empty list"), "\(error)")
        }
    }

    @Test func importedRowsMergeSkippingRepeatsAndHandlingTakenIDs() throws {
        let current = PolicyRows(rows: [
            PolicyRow(id: "no-curl", match: "Bash(curl *)", action: .deny),
            PolicyRow(id: "project-deny-1", match: "Read(.env)", action: .deny),
        ])
        let imported = [
            PolicyRow(id: "project-deny-1", match: "Bash(curl *)", action: .deny, reason: "Claude Code project settings deny rule Bash(curl *)"),
            PolicyRow(id: "project-deny-2", match: "Bash(rm -rf *)", action: .deny),
            PolicyRow(id: "project-allow-1", match: "Bash(npm *)", action: .allow),
        ]
        // project-deny-1 is the same rule as no-curl: skipped whatever its id, so nothing clashes.
        let merged = try current.merging(imported, onClash: .refuse)
        #expect(merged.rows.rows.map(\.id) == ["no-curl", "project-deny-1", "project-deny-2", "project-allow-1"])
        #expect(merged.notes == ["project-deny-1 skipped: the same rule as no-curl"])
        // The same import again adds nothing.
        #expect(try merged.rows.merging(imported, onClash: .refuse).rows == merged.rows)

        let clashing = [
            PolicyRow(id: "project-deny-1", match: "Bash(wget *)", action: .deny), PolicyRow(id: "no-curl", match: "Bash(nc *)", action: .deny),
        ]
        #expect(throws: RowIDClash(ids: ["project-deny-1", "no-curl"])) { try current.merging(clashing, onClash: .refuse) }
        let renamed = try current.merging(clashing, onClash: .rename)
        #expect(renamed.rows.rows.map(\.id) == ["no-curl", "project-deny-1", "project-deny-2", "no-curl-2"])
        #expect(renamed.rows.rows[2].match == "Bash(wget *)")
        let replaced = try current.merging(clashing, onClash: .replace)
        #expect(replaced.rows.rows.map(\.id) == ["no-curl", "project-deny-1"])
        #expect(replaced.rows.rows.map(\.match) == ["Bash(nc *)", "Bash(wget *)"])
    }

    @Test func settingsBecomeRowsAsVigilPolicyImportReadsThem() throws {
        let settings = ClaudeSettingsLayer(
            source: .user, path: home + "/.claude/settings.json",
            text: #"{"permissions": {"allow": ["Bash(npm *)", "Read(/notes/**)"], "ask": ["Bash(git push *)"], "deny": ["Read(/secret)"]}}"#)
        let imported = try ClaudeSettingsImport.rows(from: [settings])
        #expect(imported.rows.map(\.id) == ["user-deny-1", "user-ask-1", "user-allow-1", "user-allow-2"])
        #expect(imported.rows.map(\.match) == ["Read(~/.claude/secret)", "Bash(git push *)", "Bash(npm *)", "Read(~/.claude/notes/**)"])
        #expect(imported.rows.map(\.action) == [.deny, .ask, .allow, .allow])
        #expect(imported.notes == ["user: \(home)/.claude/settings.json"])
        // The YAML `vigil policy import` prints is these rows' canonical document.
        let yaml = try ClaudeSettingsImport.yaml(from: [settings], version: "v")
        #expect(try PolicyRows(yaml: yaml, file: "i.yaml") == PolicyRows(label: "v", defaults: PolicyDefaults(tool: .ask), rows: imported.rows))
        #expect(yaml.hasPrefix("# Imported from Claude Code settings by `vigil policy import`.\n#   user: "))
    }

    @Test func rowsTravelAsJSONWithTheDocumentsScopeKeys() throws {
        let row = PolicyRow(id: "infra-kubectl", match: "Bash(kubectl *)", action: .allow, scope: Scope(teams: ["infra"]), overrides: ["no-kubectl"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(row), as: UTF8.self)
        #expect(json.contains(#""scope":{"team":["infra"]}"#), "\(json)")
        #expect(try JSONDecoder().decode(PolicyRow.self, from: Data(json.utf8)) == row)
        // Only id, match and action are required.
        let minimal = try JSONDecoder().decode(PolicyRow.self, from: Data(#"{"id": "a", "match": "Bash", "action": "deny"}"#.utf8))
        #expect(minimal == PolicyRow(id: "a", match: "Bash", action: .deny))
    }
}

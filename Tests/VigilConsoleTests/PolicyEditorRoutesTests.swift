// SPDX-License-Identifier: Apache-2.0
// The policy editor on the admin socket, as `vigil-console policy …` calls it, and the mission's
// example written through it: kubectl denied everywhere, allowed for infra, decided on two devices.
import Foundation
import Testing
import VigilAPI
import VigilAudit
import VigilConsole
import VigilFleet
import VigilPolicy
import VigilTransport
import VigilTransportClient

extension LiveConsole {
    /// A call with no body (GET), or with bytes as given.
    func adminRaw(_ method: String, _ path: String, body: [UInt8] = []) async throws -> VigilTransport.HTTPResponse {
        let socket = console.configuration.adminSocket
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let client = VigilTransportClient.HTTPClient(.unix(path: socket))
                defer { client.close() }
                let headers: VigilTransport.HTTPHeaders = body.isEmpty ? [:] : ["Content-Type": "application/json"]
                continuation.resume(with: Result { try client.request(method, path, headers: headers, body: body) })
            }
        }
    }

    func edit(_ method: String, _ path: String, _ body: some Encodable & Sendable, expect status: Int) async throws -> PolicyEditResult {
        let answer = try await admin(method, path, body)
        guard answer.status == status else { throw TestFailure("\(method) \(path) answered \(answer.status): \(answer.bodyText)") }
        return try JSONDecoder().decode(PolicyEditResult.self, from: Data(answer.body))
    }
}

private let noKubectl = PolicyRow(id: "no-kubectl", match: "Bash(kubectl *)", action: .deny, reason: "Clusters are changed through the pipeline.")
private let infraKubectl = PolicyRow(
    id: "infra-kubectl", match: "Bash(kubectl *)", action: .allow, scope: Scope(teams: ["infra"]), overrides: ["no-kubectl"])

@Suite(.serialized) struct PolicyEditorRoutesTests {
    @Test func kubectlIsDeniedEverywhereButForInfraOnTwoEnrolledDevices() async throws {
        let live = try await LiveConsole.start()
        let infra = try await live.enrolDevice(team: "infra")
        let web = try await live.enrolDevice(team: "web")
        let tasks = [Task { await infra.uplink.run() }, Task { await web.uplink.run() }]
        // Written row by row through the editor, as the CLI and the web UI write it.
        _ = try await live.edit(
            "POST", "/admin/v1/policy/rows", AddPolicyRowRequest(base: 0, row: noKubectl, actor: "test", comment: "global"), expect: 201)
        let v2 = try await live.edit(
            "POST", "/admin/v1/policy/rows", AddPolicyRowRequest(base: 1, row: infraKubectl, actor: "test", comment: "infra may"), expect: 201)
        #expect(v2.bundle.version == 2)
        try await infra.policy.wait("infra applies v2") { infra.policy.versions.last == 2 }
        try await web.policy.wait("web applies v2") { web.policy.versions.last == 2 }
        #expect(infra.policy.decideBash("kubectl get pods") == .allow)
        #expect(web.policy.decideBash("kubectl get pods") == .deny)
        #expect(web.policy.decideBash("kubectl get pods && ls") == .deny)
        #expect(infra.policy.decideBash("ls") == .ask, "no rule: the default")
        try await web.policy.wait("web reports v2") { (try? await live.console.store.device(id: web.state.deviceID)?.policyVersion) == 2 }
        for task in tasks { task.cancel() }
        try await live.stop()
    }

    @Test func theAdminRoutesAnswerAsTheEditorDecides() async throws {
        let live = try await LiveConsole.start()
        func view(_ query: String = "") async throws -> PolicyRowsView {
            let answer = try await live.adminRaw("GET", "/admin/v1/policy/rows" + query)
            #expect(answer.status == 200, "\(answer.bodyText)")
            return try JSONDecoder().decode(PolicyRowsView.self, from: Data(answer.body))
        }
        #expect(try await view().version == 0)
        _ = try await live.edit(
            "POST", "/admin/v1/policy/rows", AddPolicyRowRequest(base: 0, row: noKubectl, actor: "alice", comment: nil), expect: 201)

        // A body the API can't take, a rule the compiler refuses, a stale base.
        let perhaps = #"{"base": 1, "actor": "a", "row": {"id": "x", "match": "Bash", "action": "perhaps"}}"#
        let malformed = try await live.adminRaw("POST", "/admin/v1/policy/rows", body: Array(perhaps.utf8))
        #expect(malformed.status == 400 && malformed.bodyText.contains("row.action"), "\(malformed.bodyText)")
        let broken = try await live.admin(
            "POST", "/admin/v1/policy/rows",
            AddPolicyRowRequest(base: 1, row: PolicyRow(id: "bad", match: "Bash(", action: .deny), actor: "a", comment: nil))
        #expect(broken.status == 400 && broken.bodyText.contains("policy_invalid"), "\(broken.bodyText)")
        #expect(broken.bodyText.contains("console policy:14:12: rule 'bad': invalid pattern"), "\(broken.bodyText)")
        let stale = try await live.admin("POST", "/admin/v1/policy/rows", AddPolicyRowRequest(base: 0, row: infraKubectl, actor: "a", comment: nil))
        #expect(stale.status == 409 && stale.bodyText.contains("stale_base"), "\(stale.bodyText)")
        #expect(try await view().version == 1)

        // Ids with a slash are one path parameter.
        let slashed = PolicyRow(id: "clusters/prod", match: "Bash(helm *)", action: .ask)
        _ = try await live.edit("POST", "/admin/v1/policy/rows", AddPolicyRowRequest(base: 1, row: slashed, actor: "a", comment: nil), expect: 201)
        var denied = slashed
        denied.action = .deny
        let v3 = try await live.edit(
            "PUT", "/admin/v1/policy/rows/clusters/prod", UpdatePolicyRowRequest(base: 2, row: denied, actor: "a", comment: nil), expect: 200)
        #expect(v3.rows.rows.last?.action == .deny)
        let unknown = try await live.admin(
            "PUT", "/admin/v1/policy/rows/nope", UpdatePolicyRowRequest(base: 3, row: denied, actor: "a", comment: nil))
        #expect(unknown.status == 404 && unknown.bodyText.contains("unknown_row"))
        _ = try await live.edit(
            "DELETE", "/admin/v1/policy/rows/clusters/prod", DeletePolicyRowRequest(base: 3, actor: "a", comment: nil), expect: 200)
        let v5 = try await live.edit(
            "PUT", "/admin/v1/policy/defaults", PolicyDefaultsRequest(base: 4, defaults: PolicyDefaults(tool: .allow), actor: "a", comment: nil),
            expect: 200)
        #expect(v5.rows.defaults.tool == .allow)

        let settings = #"{"permissions": {"deny": ["Bash(terraform destroy *)"], "allow": ["Bash(kubectl get *)"]}}"#
        let v6 = try await live.edit(
            "POST", "/admin/v1/policy/import", ImportSettingsRequest(base: 5, settings: settings, layer: .project, actor: "a", comment: nil),
            expect: 201)
        #expect(v6.rows.rows.map(\.id) == ["no-kubectl", "project-deny-1", "project-allow-1"])
        #expect(v6.notes.contains("defaults.tool stays allow (Claude Code asks when no rule applies)"))
        let clash = try await live.admin(
            "POST", "/admin/v1/policy/import",
            ImportSettingsRequest(
                base: 6, settings: settings.replacingOccurrences(of: "destroy", with: "apply"), layer: .project, actor: "a", comment: nil))
        #expect(clash.status == 409 && clash.bodyText.contains("id_clash") && clash.bodyText.contains("project-deny-1"), "\(clash.bodyText)")

        let diff = try await live.adminRaw("GET", "/admin/v1/policy/diff?from=5&to=6")
        let decoded = try JSONDecoder().decode(PolicyVersionDiff.self, from: Data(diff.body))
        #expect(decoded.added == 8 && decoded.removed == 0 && decoded.unified.hasPrefix("--- v5\n+++ v6\n"), "\(decoded.unified)")
        #expect(try await live.adminRaw("GET", "/admin/v1/policy/diff?from=5").status == 400)
        #expect(try await live.adminRaw("GET", "/admin/v1/policy/diff?from=5&to=60").status == 404)
        // The older routes are still theirs.
        let v1 = try await live.adminRaw("GET", "/admin/v1/policy/1")
        #expect(v1.status == 200)
        #expect(try JSONDecoder().decode(PolicyBundle.self, from: Data(v1.body)).version == 1)
        #expect(try await view("?version=2").rows.rows.map(\.id) == ["no-kubectl", "clusters/prod"])

        // Every edit and refusal is in the console's audit log, with the kernel's word on the caller.
        let entries = try live.auditEntries("policy.change")
        #expect(entries.map(\.decision) == [.allow, .deny, .deny, .allow, .allow, .deny, .allow, .allow, .allow, .deny])
        #expect(entries.allSatisfy { $0.extra["actor"]?.contains("(uid=") == true })
        try await live.stop()
    }
}

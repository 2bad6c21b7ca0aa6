// SPDX-License-Identifier: Apache-2.0
// Binding OS accounts to people through a real console: a device starts a login, an admin reads the
// code, the device completes it; wrong, expired and reused codes are refused with reasons and
// audited. Then the mission's example: two OS accounts of one device, bound to two people in two
// teams, get different decisions for the same tool call from the policy the device applied, and an
// account bound to no one is `unverified`.
import Foundation
import Testing
import VigilAPI
import VigilAudit
import VigilConsole
import VigilFleet
import VigilPolicy
import VigilTransport

extension LiveConsole {
    func setPerson(_ email: String, teams: [String], roles: [String] = []) async throws {
        let answer = try await admin("POST", "/admin/v1/people", AddPersonRequest(email: email, teams: teams, roles: roles, actor: "test"))
        guard answer.status == 201 else { throw TestFailure("people answered \(answer.status): \(answer.bodyText)") }
    }

    /// What an admin sees: the pending logins with their codes.
    func pendingLogins() async throws -> [PendingLoginSummary] {
        let answer = try await admin("GET", "/admin/v1/logins", [String: String]())
        guard answer.status == 200 else { throw TestFailure("logins answered \(answer.status): \(answer.bodyText)") }
        return try JSONDecoder().decode([PendingLoginSummary].self, from: Data(answer.body))
    }

    func code(of login: String) async throws -> String {
        guard let code = try await pendingLogins().first(where: { $0.id == login })?.code else { throw TestFailure("no pending login \(login)") }
        return code
    }
}

/// The console's refusal status of `work`, or nil when it succeeded.
private func refusal<T>(_ work: () async throws(FleetError) -> T) async -> (status: Int?, message: String)? {
    do {
        _ = try await work()
        return nil
    } catch {
        return (error.status, error.message)
    }
}

private let bindingPolicy = """
    vigil: 1
    version: "org-people"
    defaults:
      tool: allow
    rules:
      - {id: no-kubectl, match: Bash(kubectl *), action: deny, reason: Clusters are changed through the pipeline.}
      - {id: infra-kubectl, match: Bash(kubectl *), action: allow, scope: {team: infra}, overrides: [no-kubectl]}
      - {id: unverified-no-push, match: Bash(git push *), action: deny, scope: {identity: unverified}}
    """

@Suite(.serialized) struct HumanLoginTests {
    @Test func aCodeBindsOnceAndEveryRefusalIsAuditedWithItsReason() async throws {
        // A code's life shorter than a signature's: the console's clock can pass it and still take the device's requests.
        let live = try await LiveConsole.start {
            $0.loginLifetime = 60
            $0.loginsPerHour = 8
        }
        try await live.setPerson("ana@example.com", teams: ["infra"], roles: ["sre"])
        let device = try await live.enrolDevice(team: nil)
        let client = try device.enrollment.client(for: device.state)

        // Nobody the console knows: refused before any code is made.
        let stranger = await refusal { () async throws(FleetError) in
            try await client.startLogin(LoginStartRequest(uid: 1001, user: "ana", email: "eve@example.com"))
        }
        #expect(stranger?.status == 404 && stranger?.message.contains("unknown_person") == true)

        let started = try await client.startLogin(LoginStartRequest(uid: 1001, user: "ana", email: "Ana@Example.com"))
        #expect(started.attempts == 5)
        let code = try await live.code(of: started.id)
        #expect(code.count == 6 && code.allSatisfy(\.isNumber))
        let wrong = code == "000000" ? "111111" : "000000"
        let wrongAnswer = await refusal { () async throws(FleetError) in try await client.completeLogin(id: started.id, uid: 1001, code: wrong) }
        #expect(wrongAnswer?.status == 403 && wrongAnswer?.message.contains("4 attempts left") == true)
        // Another OS account of the device cannot use the code of this one's login.
        let foreign = await refusal { () async throws(FleetError) in try await client.completeLogin(id: started.id, uid: 1002, code: code) }
        #expect(foreign?.status == 404)
        #expect(try await client.binding(uid: 1001) == nil)

        let binding = try await client.completeLogin(id: started.id, uid: 1001, code: code)
        #expect(binding.email == "ana@example.com" && binding.teams == ["infra"] && binding.roles == ["sre"] && binding.uid == 1001)
        #expect(binding.deviceID == device.state.deviceID && binding.method == "console-code")
        #expect(try await client.binding(uid: 1001) == binding)
        #expect(try await live.pendingLogins().isEmpty)
        let reused = await refusal { () async throws(FleetError) in try await client.completeLogin(id: started.id, uid: 1001, code: code) }
        #expect(reused?.status == 409 && reused?.message.contains("login_used") == true)

        // Expired: the console's clock moves past the code's life (60 s here).
        let late = try await client.startLogin(LoginStartRequest(uid: 1002, user: "ana2", email: "ana@example.com"))
        let lateCode = try await live.code(of: late.id)
        live.clock.advance(61)
        let expired = await refusal { () async throws(FleetError) in try await client.completeLogin(id: late.id, uid: 1002, code: lateCode) }
        #expect(expired?.status == 410 && expired?.message.contains("expired") == true)
        #expect(try await client.binding(uid: 1002) == nil)

        // Starting login after login to guess codes is bounded per OS account and hour.
        for _ in 0..<8 { _ = try await client.startLogin(LoginStartRequest(uid: 1003, user: "ana3", email: "ana@example.com")) }
        let flood = await refusal { () async throws(FleetError) in
            try await client.startLogin(LoginStartRequest(uid: 1003, user: "ana3", email: "ana@example.com"))
        }
        #expect(flood?.status == 429 && flood?.message.contains("too_many_logins") == true)

        let completions = try live.auditEntries("login.complete")
        #expect(completions.filter { $0.decision == .allow }.map { $0.extra["email"] } == ["ana@example.com"])
        let reasons = completions.filter { $0.decision == .deny }.compactMap { $0.extra["reason"] }
        #expect(reasons.contains { $0.contains("wrong") } && reasons.contains { $0.contains("already completed") })
        #expect(reasons.contains { $0.contains("expired") } && reasons.contains { $0.contains("no such login") })
        let starts = try live.auditEntries("login.start")
        #expect(starts.filter { $0.decision == .deny }.count == 2 && starts.filter { $0.decision == .allow }.count == 10)
        #expect(try live.auditEntries("login.codes.read").count >= 3)
        #expect(try live.auditEntries("person.set").first?.extra["target"] == "ana@example.com")
        try await live.stop()
    }

    @Test func twoPeopleOnOneDeviceGetDifferentDecisionsForTheSameCall() async throws {
        let live = try await LiveConsole.start()
        try await live.setPerson("ana@example.com", teams: ["infra"])
        try await live.setPerson("bo@example.com", teams: ["web"])
        // A device of no team: only the people's teams tell them apart.
        let device = try await live.enrolDevice(team: nil)
        let client = try device.enrollment.client(for: device.state)
        let task = Task { await device.uplink.run() }
        #expect(try await live.changePolicy(bindingPolicy).status == 201)
        try await device.policy.wait("the device applies v1") { device.policy.versions == [1] }

        var identities: [String: Identity] = [:]
        for (uid, user, email) in [(UInt32(1001), "ana", "ana@example.com"), (1002, "bo", "bo@example.com")] {
            let started = try await client.startLogin(LoginStartRequest(uid: uid, user: user, email: email))
            _ = try await client.completeLogin(id: started.id, uid: uid, code: try await live.code(of: started.id))
            // What vigild asks for each OS account it sees, and makes the identity of.
            let binding = try #require(try await client.binding(uid: uid))
            identities[user] = .verified(
                user: user, email: binding.email, teams: binding.teams, roles: binding.roles, device: device.state.deviceID)
        }
        let ana = try #require(identities["ana"])
        let bo = try #require(identities["bo"])
        // An OS account bound to no one.
        let cy = Identity(user: "cy", device: device.state.deviceID)
        #expect(!cy.verified)

        #expect(device.policy.decideBash("kubectl get pods", identity: ana)?.action == .allow)
        let denied = try #require(device.policy.decideBash("kubectl get pods", identity: bo))
        #expect(denied.action == .deny && denied.reason == "Clusters are changed through the pipeline.")
        #expect(device.policy.decideBash("git push origin main", identity: bo)?.action == .allow)
        let unverified = try #require(device.policy.decideBash("git push origin main", identity: cy))
        #expect(unverified.action == .deny && unverified.winningRuleID == "unverified-no-push")
        #expect(unverified.reason.contains("bound to no verified person") && unverified.reason.contains("vigil login"))
        // A change to a person's teams reaches the binding the device reads next.
        try await live.setPerson("bo@example.com", teams: ["web", "infra"])
        #expect(try await client.binding(uid: 1002)?.teams == ["web", "infra"])
        task.cancel()
        try await live.stop()
    }
}

@Suite(.serialized) struct PeoplePageTests {
    @Test func adminsSeeTheCodesOnThePeoplePageAndAuditorsDoNot() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        let admin = try await live.loggedIn("root-admin", role: .admin)
        let page = try await admin.get("/people")
        let csrf = try #require(page.csrf)
        let added = try await admin.post("/people", ["csrf": csrf, "email": "Ana@Example.com", "teams": "infra, sre", "roles": "engineer"])
        #expect(added.status == 303 && added.location == "/people")
        #expect(try await live.console.store.person(email: "ana@example.com")?.teams == ["infra", "sre"])
        #expect(try live.auditEntries("person.set").first?.extra["actor"] == "admin:root-admin")

        let device = try await live.enrolDevice(team: nil)
        let client = try device.enrollment.client(for: device.state)
        let started = try await client.startLogin(LoginStartRequest(uid: 1001, user: "ana", email: "ana@example.com"))
        let code = try #require(try await live.console.store.logins().first { $0.id == started.id }?.code)
        let shown = try await admin.get("/people")
        #expect(shown.status == 200 && shown.body.contains("<code class=\"code\">\(code)</code>"))
        #expect(try live.auditEntries("login.codes.read").contains { $0.extra["actor"] == "admin:root-admin" && $0.extra["logins"] == started.id })

        // An auditor reads the people and the bindings, never a code; nor may they change a person.
        let auditor = try await live.loggedIn("reader", role: .auditor)
        let read = try await auditor.get("/people")
        #expect(read.status == 200 && read.body.contains("ana@example.com") && !read.body.contains(code))
        let refused = try await auditor.post("/people", ["csrf": read.csrf ?? "", "email": "eve@example.com"])
        #expect(refused.status == 403)
        _ = try await client.completeLogin(id: started.id, uid: 1001, code: code)
        let bound = try await auditor.get("/people")
        #expect(bound.body.contains("ana (uid 1001)") && bound.body.contains("in force"))
    }
}

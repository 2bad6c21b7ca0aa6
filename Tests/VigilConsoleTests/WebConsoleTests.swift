// SPDX-License-Identifier: Apache-2.0
// The web console as a browser meets it, over the real HTTPS listener: nothing without a login,
// the one-time password replaced first, CSRF and Origin on every change, roles, lockout, TOTP,
// and every page rendered from what devices reported.
import Foundation
import HummingbirdOTP
import Testing
import VigilAPI
import VigilConsole
import VigilFleet
import VigilAudit
import VigilTransport
import VigilPolicy

/// A cookie jar and a pinned HTTPS client: what a browser keeps between requests.
final class Browser: @unchecked Sendable {
    let client: PinnedHTTPSClient
    let origin: String
    private(set) var cookies: [String: String] = [:]

    init(_ live: LiveConsole) {
        client = PinnedHTTPSClient(host: "127.0.0.1", port: live.port, pin: live.console.tls.pin)
        origin = "https://127.0.0.1:\(live.port)"
    }

    struct Page {
        var status: Int
        var body: String
        var location: String?
        /// The CSRF token of the page's forms.
        var csrf: String? { Self.value(of: "csrf", in: body) }

        static func value(of field: String, in html: String) -> String? {
            guard let range = html.range(of: "name=\"\(field)\" value=\"") else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Page { try await send("GET", path, headers: headers) }

    func post(_ path: String, _ fields: [String: String], origin: String? = nil, json: Bool = false) async throws -> Page {
        let body = fields.map { "\(Self.escape($0.key))=\(Self.escape($0.value))" }.joined(separator: "&")
        return try await send(
            "POST", path, body: Array(body.utf8),
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin ?? self.origin)])
    }

    func send(_ method: String, _ path: String, body: [UInt8] = [], headers: [(String, String)] = []) async throws -> Page {
        var headers = headers
        if !cookies.isEmpty { headers.append(("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))) }
        let answer = try await client.execute(method, path, headers: headers, body: body)
        for (name, value) in answer.headers where name.lowercased() == "set-cookie" {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2, !value.contains("Max-Age=0") { cookies[pair[0]] = pair[1] } else { cookies[pair[0]] = nil }
            #expect(value.contains("HttpOnly") && value.contains("Secure") && value.contains("SameSite=Strict"), "cookie \(value)")
        }
        return Page(status: answer.status, body: String(decoding: answer.body, as: UTF8.self), location: answer.header("Location"))
    }

    func forget(_ name: String) { cookies[name] = nil }
    func set(_ name: String, _ value: String) { cookies[name] = value }

    /// Logs in through the form; the page it lands on.
    @discardableResult
    func login(_ name: String, _ password: String, code: String? = nil) async throws -> Page {
        let form = try await get("/login")
        let token = try #require(Page.value(of: "login", in: form.body))
        var fields = ["login": token, "name": name, "password": password, "next": "/"]
        if let code { fields["code"] = code }
        return try await post("/login", fields)
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

extension LiveConsole {
    /// `vigil-console admin add NAME --role R`: the one-time password.
    func addAdmin(_ name: String, role: AdminRole) async throws -> String {
        let answer = try await admin("POST", "/admin/v1/admins", AddAdminRequest(name: name, role: role, actor: "test"))
        guard answer.status == 201 else { throw TestFailure("admin add answered \(answer.status): \(answer.bodyText)") }
        return try JSONDecoder().decode(AddedAdmin.self, from: Data(answer.body)).oneTimePassword
    }

    /// An account past its one-time password, logged in on a new browser.
    func loggedIn(_ name: String, role: AdminRole, password: String = "correct horse battery") async throws -> Browser {
        let browser = Browser(self)
        let oneTime = try await addAdmin(name, role: role)
        let first = try await browser.login(name, oneTime)
        guard first.location == "/account/password" else { throw TestFailure("first login went to \(first.location ?? "-")") }
        let form = try await browser.get("/account/password")
        let changed = try await browser.post("/account/password", ["csrf": form.csrf ?? "", "current": oneTime, "new": password, "again": password])
        guard changed.status == 303 else { throw TestFailure("password change answered \(changed.status): \(changed.body)") }
        return browser
    }
}

@Suite(.serialized) struct WebConsoleTests {
    @Test func nothingAnswersWithoutALogin() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        let browser = Browser(live)
        for path in ["/", "/devices", "/devices/dev_x", "/policy", "/tokens", "/admins", "/audit", "/account", "/events", "/policy/diff?to=1"] {
            let page = try await browser.get(path)
            #expect(page.status == 303, "\(path)")
            #expect(page.location?.hasPrefix("/login") == true, "\(path) went to \(page.location ?? "-")")
        }
        for path in ["/api/v1/admin/devices", "/api/v1/admin/overview", "/api/v1/admin/admins", "/api/v1/admin/tokens"] {
            let page = try await browser.get(path)
            #expect(page.status == 401, "\(path)")
            #expect(page.body.contains("login_required"))
        }
        let post = try await browser.post("/tokens", ["team": "x"])
        #expect(post.status == 303 && post.location == "/login")
        #expect(try await live.console.store.tokens().isEmpty)
        // The login page and the assets are the only pages that answer.
        #expect(try await browser.get("/login").status == 200)
        #expect(try await browser.get("/static/console.css").status == 200)
    }

    @Test func theOneTimePasswordMustBeReplacedAndOldSessionsEnd() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        let password = try await live.addAdmin("alice", role: .admin)
        let browser = Browser(live)
        let landed = try await browser.login("alice", password)
        #expect(landed.status == 303 && landed.location == "/account/password")
        // Every other page sends the account back to the password form, the API refuses.
        #expect(try await browser.get("/devices").location == "/account/password")
        #expect(try await browser.get("/api/v1/admin/devices").status == 403)
        let oldSession = try #require(browser.cookies["vigil_session"])
        let form = try await browser.get("/account/password")
        let weak = try await browser.post("/account/password", ["csrf": form.csrf ?? "", "current": password, "new": "short", "again": "short"])
        #expect(weak.status == 400 && weak.body.contains("at least 12"))
        let done = try await browser.post(
            "/account/password", ["csrf": form.csrf ?? "", "current": password, "new": "a long passphrase 1", "again": "a long passphrase 1"])
        #expect(done.status == 303 && done.location == "/")
        #expect(browser.cookies["vigil_session"] != oldSession)
        #expect(try await browser.get("/").status == 200)
        // The session id from before the change is dead.
        let stale = Browser(live)
        stale.set("vigil_session", oldSession)
        #expect(try await stale.get("/").status == 303)
        // The one-time password no longer logs in; the new one does.
        #expect(try await Browser(live).login("alice", password).status == 401)
        #expect(try await Browser(live).login("alice", "a long passphrase 1").location == "/")
        let logins = try live.auditEntries("admin.login")
        #expect(logins.contains { $0.decision == .deny && $0.extra["reason"] == "wrong password" })
        #expect(try live.auditEntries("admin.password").count == 1)
    }

    @Test func everyChangeNeedsTheSessionsCSRFTokenAndItsOrigin() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        let browser = try await live.loggedIn("root-admin", role: .admin)
        let page = try await browser.get("/tokens")
        let csrf = try #require(page.csrf)
        let missing = try await browser.post("/tokens", ["team": "infra", "days": "1", "uses": "1"])
        #expect(missing.status == 403 && missing.body.contains("CSRF"))
        let wrong = try await browser.post("/tokens", ["csrf": "forged", "team": "infra", "days": "1", "uses": "1"])
        #expect(wrong.status == 403)
        let foreign = try await browser.post("/tokens", ["csrf": csrf, "team": "infra", "days": "1", "uses": "1"], origin: "https://evil.example")
        #expect(foreign.status == 403 && foreign.body.contains("evil.example"))
        #expect(try await live.console.store.tokens().isEmpty)
        #expect(try live.auditEntries("request.refused").contains { $0.extra["reason"] == "missing or wrong CSRF token" })
        let issued = try await browser.post("/tokens", ["csrf": csrf, "team": "infra", "days": "1", "uses": "2"])
        #expect(issued.status == 201)
        #expect(issued.body.contains("sudo vigil enroll vigil-enroll-1."))
        let tokens = try await live.console.store.tokens()
        #expect(tokens.count == 1 && tokens[0].team == "infra" && tokens[0].issuedBy == "admin:root-admin")
        #expect(tokens[0].requireTPM == false)
        // The form's checkbox makes a token that admits only TPM-held keys, and the list says so.
        let tpmOnly = try await browser.post("/tokens", ["csrf": csrf, "days": "1", "uses": "1", "require_tpm": "1"])
        #expect(tpmOnly.status == 201 && tpmOnly.body.contains("<td>TPM only</td>"))
        #expect(try await live.console.store.tokens().filter(\.requireTPM).count == 1)
        // The JSON API takes the token in a header.
        let json = try await browser.send(
            "POST", "/api/v1/admin/tokens", body: Array(#"{"expiresIn": 60, "uses": 1, "requireTPM": true}"#.utf8),
            headers: [("Content-Type", "application/json"), ("X-CSRF-Token", csrf)])
        #expect(json.status == 201 && json.body.contains(#""requireTPM":true"#))
        let noHeader = try await browser.send(
            "POST", "/api/v1/admin/tokens", body: Array(#"{"expiresIn": 60, "uses": 1}"#.utf8), headers: [("Content-Type", "application/json")])
        #expect(noHeader.status == 403)
        // A login form posted without its cookie (login CSRF) is refused.
        let other = Browser(live)
        let form = try await other.get("/login")
        other.forget("vigil_login")
        let loginToken = try #require(Browser.Page.value(of: "login", in: form.body))
        #expect(try await other.post("/login", ["login": loginToken, "name": "root-admin", "password": "correct horse battery"]).status == 403)
    }

    @Test func rolesBoundWhatAnAccountMayChange() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        let auditor = try await live.loggedIn("carol", role: .auditor)
        let editor = try await live.loggedIn("dave", role: .policyEditor)
        for path in ["/", "/devices", "/policy", "/tokens", "/admins", "/audit"] {
            #expect(try await auditor.get(path).status == 200, "\(path)")
        }
        // An empty fleet: no gap table, and words instead of empty tables.
        let empty = try await auditor.get("/")
        #expect(!empty.body.contains("id=\"gaps\"") && empty.body.contains("No agent session runs right now"))
        #expect(!empty.body.contains("card warn"))
        let policyPage = try await auditor.get("/policy")
        #expect(!policyPage.body.contains("Publish a new version"))
        let csrf = try #require(policyPage.csrf)
        let refused = try await auditor.post("/policy", ["csrf": csrf, "document": kubectlPolicy, "base": "0"])
        #expect(refused.status == 403)
        #expect(try await live.console.store.latestPolicy() == nil)
        #expect(try await auditor.post("/tokens", ["csrf": csrf, "days": "1", "uses": "1"]).status == 403)
        let editorCSRF = try #require(try await editor.get("/policy").csrf)
        let published = try await editor.post(
            "/policy", ["csrf": editorCSRF, "document": kubectlPolicy, "comment": "kubectl for infra only", "base": "0"])
        #expect(published.status == 303 && published.location == "/policy?published=1")
        #expect(try await live.console.store.latestPolicy()?.author == "admin:dave")
        #expect(try await editor.post("/admins", ["csrf": editorCSRF, "name": "eve", "role": "admin"]).status == 403)
        #expect(try await live.console.store.admin(name: "eve") == nil)
        // A broken document is refused with its line, the version unchanged.
        let broken = try await editor.post(
            "/policy", ["csrf": editorCSRF, "document": "vigil: 1\nrules:\n  - {id: x, match: Bash(, action: deny}\n", "base": "1"])
        #expect(broken.status == 400 && broken.body.contains("Not published"))
        #expect(try await live.console.store.latestPolicy()?.version == 1)
        #expect(try live.auditEntries("request.refused").contains { $0.extra["reason"]?.contains("role auditor") == true })
    }

    @Test func repeatedFailuresLockTheAccount() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        let password = try await live.addAdmin("frank", role: .admin)
        for _ in 0..<5 { #expect(try await Browser(live).login("frank", "guess guess guess").status == 401) }
        // Locked: even the right password is refused for now.
        let locked = try await Browser(live).login("frank", password)
        #expect(locked.status == 429 && locked.body.contains("too many failed logins"))
        #expect(try live.auditEntries("admin.login").contains { $0.extra["lockout"] == "started" })
        // An unknown name gets the same answer as a wrong password.
        let unknown = try await Browser(live).login("nobody", "whatever whatever")
        #expect(unknown.status == 401 && unknown.body.contains("the name, password or code is wrong"))
    }

    @Test func totpIsAskedOnceOnAndACodeWorksOnce() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        let browser = try await live.loggedIn("grace", role: .admin, password: "grace's passphrase")
        let account = try await browser.get("/account")
        let secret = try #require(Browser.Page.value(of: "secret", in: account.body))
        #expect(account.body.contains("otpauth://totp/Vigil:grace?secret="))
        let wrong = try await browser.post("/account/totp", ["csrf": account.csrf ?? "", "secret": secret, "code": "000000"])
        #expect(wrong.status == 400)
        let now = Date(timeIntervalSince1970: Double(live.clock.read()))
        let code = String(format: "%06d", TOTP(secret: secret).compute(date: now))
        #expect(try await browser.post("/account/totp", ["csrf": account.csrf ?? "", "secret": secret, "code": code]).status == 303)
        #expect(try await live.console.store.admin(name: "grace")?.totpSecret == secret)
        // Without the code, or with the one just used, no login.
        #expect(try await Browser(live).login("grace", "grace's passphrase").status == 401)
        #expect(try await Browser(live).login("grace", "grace's passphrase", code: code).status == 401)
        #expect(try live.auditEntries("admin.login").contains { $0.extra["reason"] == "TOTP code already used" })
        // The next step's code logs in, once.
        let next = String(format: "%06d", TOTP(secret: secret).compute(date: now.addingTimeInterval(30)))
        #expect(try await Browser(live).login("grace", "grace's passphrase", code: next).location == "/")
        #expect(try await Browser(live).login("grace", "grace's passphrase", code: next).status == 401)
    }

    @Test func pagesShowWhatDevicesReported() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        #expect(try await live.changePolicy(kubectlPolicy).status == 201)
        let device = try await live.enrolDevice(team: "infra")
        let client = try device.enrollment.client(for: device.state)
        var facts = sampleFacts
        let activity = DeviceActivity(
            sessions: [.init(id: "ses_1", agent: "claude", user: "dev", startedAt: live.clock.read() - 30, toolCalls: 7, denied: 2)],
            unmanagedAgents: [.init(pid: 4242, agent: "claude", user: "uid 1000", exe: "/home/dev/.local/bin/claude", firstSeen: live.clock.read())],
            hooksDropIn: nil, errors: 1)
        for posture in ["disk_encrypted=true", "disk_encrypted=false"] {
            facts.posture = ["posture": posture]
            let report = DeviceReport(facts: facts, policyVersion: nil, counters: ["kernel_dropped": 3, "errors": 1], activity: activity)
            #expect(try await client.send("POST", "/api/v1/device/report", body: Array(try JSONEncoder().encode(report))).status == 204)
        }
        let browser = try await live.loggedIn("henry", role: .auditor)
        let dashboard = try await browser.get("/")
        #expect(dashboard.status == 200)
        for gap in ["hooks-missing", "policy-stale", "agents-outside-vigil"] { #expect(dashboard.body.contains(gap), "\(gap)") }
        #expect(dashboard.body.contains("/home/dev/.local/bin/claude"))
        #expect(dashboard.body.contains("<td>7</td>"))
        let overview = try await browser.get("/api/v1/admin/overview")
        let decoded = try JSONDecoder().decode(FleetOverview.self, from: Data(overview.body.utf8))
        #expect(decoded.enrolled == 1 && decoded.sessions.count == 1 && decoded.counters["kernel_dropped"] == 3)
        let devicePage = try await browser.get("/devices/\(device.state.deviceID)")
        #expect(devicePage.status == 200)
        #expect(devicePage.body.contains("disk_encrypted=true") && devicePage.body.contains("disk_encrypted=false"))
        #expect(devicePage.body.contains("class=\"changed\""))
        #expect(devicePage.body.contains("MISSING"))
        // The key's kind and holder (this device has a file key, as every test device without swtpm).
        #expect(devicePage.body.contains("<code>ecdsa-p256-sha256</code>, a file key (no TPM)"))
        // Absent values are absent, not "nil" (an Optional in a template's context is always "true").
        #expect(!devicePage.body.contains("Revoked because") && !devicePage.body.contains(">nil<"))
        // An auditor sees no revoke button; text from devices is escaped, never markup.
        #expect(!devicePage.body.contains("Revoke device"))
        facts.hostname = "<script>alert(1)</script>"
        _ = try await client.send("POST", "/api/v1/device/report", body: Array(try JSONEncoder().encode(DeviceReport(facts: facts))))
        let list = try await browser.get("/devices")
        #expect(!list.body.contains("<script>alert(1)</script>") && list.body.contains("&lt;script&gt;"))
        let audit = try await browser.get("/audit")
        #expect(audit.body.contains("device.enroll") && audit.body.contains("policy.change"))
        let diff = try await browser.get("/policy/diff?from=0&to=1")
        #expect(diff.body.contains("class=\"add\"") && diff.body.contains("infra-kubectl"))
        #expect(diff.body.contains("<span class=\"hunk\">--- v0</span>") && diff.body.contains("<span class=\"hunk\">+++ v1</span>"))
    }

    @Test func theBuilderAddsImportsAndDeletesRulesAsVersions() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        #expect(try await live.changePolicy(kubectlPolicy).status == 201)
        let editor = try await live.loggedIn("jack", role: .policyEditor)
        let page = try await editor.get("/policy")
        #expect(page.body.contains("id=\"rows\"") && page.body.contains("infra-kubectl") && page.body.contains("team infra"))
        let csrf = try #require(page.csrf)
        // A team-scoped rule with a posture condition, from the form.
        let added = try await editor.post(
            "/policy/rows",
            [
                "csrf": csrf, "base": "1", "match": "Bash(terraform *)", "action": "deny", "scope_kind": "team", "scope_value": "infra",
                "when": "disk_encrypted == false", "reason": "Terraform runs from the pipeline.",
            ])
        #expect(added.status == 200 && added.body.contains("Published v2"), "\(added.body)")
        let v2 = try #require(try await live.console.store.latestPolicy())
        let compiled = try Policy(yaml: v2.document, file: "v2")
        let rule = try #require(compiled.document.rules.first { $0.id == "bash-terraform" })
        #expect(rule.scope == Scope(teams: ["infra"]) && rule.action == .deny && rule.conditions.count == 1)
        #expect(v2.author == "admin:jack")
        // Made against v1 while v2 exists: refused, nothing stored.
        let stale = try await editor.post("/policy/rows", ["csrf": csrf, "base": "1", "match": "Bash(helm *)", "action": "deny"])
        #expect(stale.status == 409 && stale.body.contains("Not published"))
        // A settings.json pasted as the managed layer.
        let settings = #"{"permissions": {"deny": ["Bash(curl *)"], "allow": ["Bash(npm *)"], "ask": ["Bash(git push *)"]}}"#
        let imported = try await editor.post(
            "/policy/import", ["csrf": csrf, "base": "2", "settings": settings, "layer": "managed", "on_clash": "rename"])
        #expect(imported.status == 200 && imported.body.contains("Published v3"), "\(imported.body)")
        let v3 = try #require(try await live.console.store.latestPolicy()?.document)
        for match in ["Bash(curl *)", "Bash(npm *)", "Bash(git push *)"] { #expect(v3.contains(match), "\(match)") }
        // Broken settings: refused with where, the version unchanged.
        let broken = try await editor.post("/policy/import", ["csrf": csrf, "base": "3", "settings": "{\"permissions\": ", "layer": "user"])
        #expect(broken.status == 400 && broken.body.contains("Not published"))
        #expect(try await live.console.store.latestPolicy()?.version == 3)
        let deleted = try await editor.post("/policy/rows/bash-terraform/delete", ["csrf": csrf, "base": "3"])
        #expect(deleted.status == 200 && deleted.body.contains("Published v4"))
        #expect(try await live.console.store.latestPolicy()?.document.contains("terraform") == false)
        let diff = try await editor.get("/policy/diff?from=3&to=4")
        #expect(diff.body.contains("terraform"))
        #expect(try live.auditEntries("policy.change").filter { $0.decision != .deny }.count == 4)
    }

    @Test func anAdminRevokesADeviceFromItsPage() async throws {
        let live = try await LiveConsole.start()
        defer { Task { try await live.stop() } }
        let device = try await live.enrolDevice(team: nil)
        let browser = try await live.loggedIn("ivy", role: .admin)
        let page = try await browser.get("/devices/\(device.state.deviceID)")
        #expect(page.body.contains("Revoke device"))
        let revoked = try await browser.post("/devices/\(device.state.deviceID)/revoke", ["csrf": page.csrf ?? "", "reason": "laptop stolen"])
        #expect(revoked.status == 303)
        #expect(try await live.console.store.device(id: device.state.deviceID)?.revokedReason == "laptop stolen")
        let client = try device.enrollment.client(for: device.state)
        #expect(try await client.send("GET", "/api/v1/device").status == 403)
        #expect(try live.auditEntries("device.revoke").contains { $0.extra["actor"] == "admin:ivy" })
    }
}

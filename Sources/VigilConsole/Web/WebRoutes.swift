// SPDX-License-Identifier: Apache-2.0
// The web console on the HTTPS listener: server-rendered pages (mustache) over the same services
// as the admin API, forms that work without JavaScript, and one event stream for live updates.
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import ServiceLifecycle
import VigilAPI
import VigilAudit
import VigilPolicy

struct WebRoutes: Sendable {
    let store: any ConsoleStore
    let audit: ConsoleAudit
    let accounts: AdminAccounts
    let sessions: WebSessions
    let enrollment: EnrollmentService
    let versions: PolicyVersions
    let editor: PolicyEditor
    let admin: AdminRoutes
    let changes: ChangeFeed
    let heartbeat: Duration
    let clock: @Sendable () -> Int64

    func add(to router: Router<ConsoleRequestContext>) {
        router.get("/static/console.css") { _, _ in WebResponse.asset(WebAssets.css, type: "text/css; charset=utf-8") }
        router.get("/static/console.js") { _, _ in WebResponse.asset(WebAssets.javascript, type: "text/javascript; charset=utf-8") }
        let open = router.group().add(middleware: WebPageErrorMiddleware())
        open.get("/login") { request, _ in try loginPage(next: request.uri.queryParameters.get("next"), flash: nil, status: .ok) }
        open.post("/login") { request, context in try await login(request, context) }

        let pages = router.group().add(middleware: WebPageErrorMiddleware()).add(middleware: WebAuthMiddleware(sessions: sessions, audit: audit))
        pages.get("/") { _, context in try await dashboard(context) }
        pages.get("/devices") { _, context in try await devicesPage(context) }
        pages.get("/devices/:id") { _, context in try await devicePage(try context.parameters.require("id"), context) }
        pages.post("/devices/:id/revoke") { request, context in
            let id = try context.parameters.require("id")
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .administer)
            _ = try await admin.revoke(id, reason: try form.require("reason"), actor: who)
            changes.changed()
            return WebResponse.redirect("/devices/\(id)")
        }
        pages.get("/policy") { request, context in
            try await policyPage(
                context,
                flash: request.uri.queryParameters.get("published").map { .init(kind: "ok", text: "Published v\($0): devices are told at once.") })
        }
        pages.post("/policy") { request, context in
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .editPolicy)
            let document = try form.require("document").replacingOccurrences(of: "\r\n", with: "\n")
            do {
                let stored = try await versions.publish(
                    document: document, author: who, comment: form["comment"].flatMap { $0.isEmpty ? nil : $0 }, base: try Self.base(form))
                changes.changed()
                return WebResponse.redirect("/policy?published=\(stored.version)")
            } catch let refusal as Refusal where ["policy_invalid", "stale_base"].contains(refusal.code) {
                return try await policyPage(
                    context, flash: .init(kind: "error", text: "Not published: \(refusal.reason)"), document: document, status: .badRequest)
            }
        }
        pages.post("/policy/rows") { request, context in
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .editPolicy)
            let base = try Self.base(form)
            let match = try form.require("match").trimmingCharacters(in: .whitespaces)
            guard let action = PolicyAction(rawValue: form["action"] ?? "") else {
                throw Refusal(.badRequest, "bad_action", "action is allow, ask or deny")
            }
            let current = (try? await editor.rows().rows.rows.map(\.id)) ?? []
            let id = form["id"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.ruleID(for: match, taken: current)
            let row = PolicyRow(
                id: id, match: match, action: action, scope: try Self.scope(form),
                when: Self.list(form["when"], separators: ";\n"), overrides: Self.list(form["overrides"], separators: ", "),
                reason: form["reason"].flatMap { $0.isEmpty ? nil : $0 })
            return try await edit(context) { try await editor.addRow(row, base: base, author: who, comment: "rule \(id) added on the web") }
        }
        pages.post("/policy/rows/:id/delete") { request, context in
            let id = try context.parameters.require("id")
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .editPolicy)
            let base = try Self.base(form)
            return try await edit(context) { try await editor.deleteRow(id: id, base: base, author: who, comment: "rule \(id) deleted on the web") }
        }
        pages.post("/policy/import") { request, context in
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .editPolicy)
            let base = try Self.base(form)
            guard let layer = ClaudeSettingsLayer.Source(rawValue: form["layer"] ?? "") else {
                throw Refusal(.badRequest, "bad_layer", "layer is managed, user, project or local")
            }
            let clash = ImportClash(rawValue: form["on_clash"] ?? "refuse") ?? .refuse
            let settings = try form.require("settings")
            return try await edit(context) {
                try await editor.importSettings(
                    settings, layer: layer, onClash: clash, base: base, author: who, comment: "settings.json (\(layer.rawValue)) imported on the web")
            }
        }
        pages.get("/policy/versions/:version") { _, context in
            let version = try context.parameters.require("version", as: Int.self)
            guard let bundle = try await store.policy(version: version) else {
                throw Refusal(.notFound, "unknown_version", "there is no policy version \(version)")
            }
            return try render("policyVersion", context, nav: "Policy", ["bundle": Self.dictionary(bundle), "created": Self.time(bundle.createdAt)])
        }
        pages.get("/policy/diff") { request, context in
            let from = request.uri.queryParameters.get("from", as: Int.self) ?? 0
            guard let to = request.uri.queryParameters.get("to", as: Int.self), let new = try await store.policy(version: to) else {
                throw Refusal(.badRequest, "bad_diff", "give ?from=A&to=B, two versions that exist")
            }
            let old = from == 0 ? "" : (try await store.policy(version: from)?.document ?? "")
            let diff = PolicyDiff.unified(from: old, to: new.document, fromName: "v\(from)", toName: "v\(to)")
            let lines = diff.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { index, line -> [String: Any] in
                // The first two lines name the versions (`--- vA`, `+++ vB`); they are not lines removed or added.
                let kind = index < 2 || line.hasPrefix("@@") ? "hunk" : line.hasPrefix("+") ? "add" : line.hasPrefix("-") ? "del" : "same"
                return ["kind": kind, "text": String(line)]
            }
            return try render("policyDiff", context, nav: "Policy", ["from": from, "to": to, "lines": lines])
        }
        pages.get("/tokens") { _, context in try await tokensPage(context, issued: nil) }
        pages.post("/tokens") { request, context in
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .administer)
            guard let days = Int64(form["days"] ?? "7"), let uses = Int(form["uses"] ?? "1") else {
                throw Refusal(.badRequest, "bad_field", "days and uses are whole numbers")
            }
            let team = form["team"].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) }
            // An HTML checkbox is sent only when ticked.
            let issued = try await enrollment.issue(
                team: team, expiresIn: days * 86400, uses: uses, requireTPM: form["require_tpm"] != nil, actor: who, now: clock())
            return try await tokensPage(context, issued: issued, status: .created)
        }
        pages.post("/tokens/:id/revoke") { _, context in
            let id = try context.parameters.require("id")
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .administer)
            guard try await store.revokeToken(id: id, at: clock()) else {
                throw Refusal(.notFound, "unknown_token", "there is no enrolment token \(id)")
            }
            try audit.record("token.revoke", actor: who, target: id)
            return WebResponse.redirect("/tokens")
        }
        pages.get("/people") { _, context in try await peoplePage(context) }
        pages.post("/people") { request, context in
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .administer)
            let ask = AddPersonRequest(
                email: form["email"] ?? "", teams: Self.list(form["teams"], separators: ", "), roles: Self.list(form["roles"], separators: ", "),
                actor: nil)
            _ = try await admin.logins.addPerson(ask, actor: who)
            return WebResponse.redirect("/people")
        }
        pages.get("/admins") { _, context in try await adminsPage(context, added: nil) }
        pages.post("/admins") { request, context in
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .administer)
            guard let role = AdminRole(rawValue: form["role"] ?? "") else {
                throw Refusal(.badRequest, "bad_role", "role is admin, policy-editor or auditor")
            }
            let name = try form.require("name")
            let password = try await accounts.add(name: name, role: role, actor: who)
            return try await adminsPage(context, added: ["name": name, "role": role.rawValue, "password": password], status: .created)
        }
        pages.post("/admins/:name") { request, context in
            let name = try context.parameters.require("name")
            let form = try await form(request)
            let who = try AdminDoor.web(audit: audit).authorize(nil, context, .administer)
            let role = try form["role"].flatMap { $0.isEmpty ? nil : $0 }.map { value in
                guard let role = AdminRole(rawValue: value) else { throw Refusal(.badRequest, "bad_role", "role is admin, policy-editor or auditor") }
                return role
            }
            let disabled = form["disabled"].flatMap { $0.isEmpty ? nil : $0 == "true" }
            _ = try await accounts.update(name: name, role: role, disabled: disabled, resetTOTP: form["resetTOTP"] == "true", actor: who)
            return WebResponse.redirect("/admins")
        }
        pages.get("/account") { _, context in
            let identity = try context.identity.orRefuse()
            let secret = accounts.newTOTPSecret()
            return try render(
                "account", context, nav: nil,
                [
                    "totpOn": identity.admin.totpSecret != nil, "secret": secret,
                    "otpauth": accounts.otpauthURL(secret: secret, name: identity.admin.name),
                ])
        }
        pages.post("/account/totp") { request, context in
            let identity = try context.identity.orRefuse()
            let form = try await form(request)
            try await accounts.confirmTOTP(name: identity.admin.name, secret: try form.require("secret"), code: try form.require("code"))
            return WebResponse.redirect("/account")
        }
        pages.get("/account/password") { _, context in
            try render("password", context, nav: nil, ["temporary": try context.identity.orRefuse().admin.passwordIsTemporary])
        }
        pages.post("/account/password") { request, context in
            let identity = try context.identity.orRefuse()
            let form = try await form(request)
            let new = try form.require("new")
            guard new == form["again"] else {
                return try render(
                    "password", context, nav: nil,
                    ["temporary": identity.admin.passwordIsTemporary, "flash": ["kind": "error", "text": "The two new passwords differ."]],
                    status: .badRequest)
            }
            do {
                try await accounts.changePassword(name: identity.admin.name, current: try form.require("current"), new: new)
            } catch let refusal as Refusal {
                return try render(
                    "password", context, nav: nil,
                    ["temporary": identity.admin.passwordIsTemporary, "flash": ["kind": "error", "text": refusal.reason]],
                    status: refusal.status)
            }
            // Every session ended with the old password; this browser gets a new one.
            let (cookie, _) = try await sessions.start(admin: identity.admin.name)
            var response = WebResponse.redirect("/")
            response.setCookie(cookie)
            return response
        }
        pages.post("/logout") { request, context in
            try await sessions.end(request)
            if let identity = context.identity { try audit.record("admin.logout", actor: identity.actor, target: identity.admin.name) }
            var response = WebResponse.redirect("/login")
            response.setCookie(WebSessions.cookie(WebSessions.cookieName, "", maxAge: 0))
            return response
        }
        pages.get("/audit") { _, context in try auditPage(context) }
        pages.get("/events") { _, _ in events() }

        // The admin API on HTTPS, for scripts with a session: the same routes as the socket's.
        let api = router.group("/api/v1/admin").add(middleware: WebAuthMiddleware(sessions: sessions, audit: audit))
        admin.add(to: api, door: .web(audit: audit))
    }

    // MARK: login

    private func loginPage(next: String?, flash: Flash?, status: HTTPResponse.Status) throws -> Response {
        // Login CSRF: the form carries the value of a cookie only this site could have set.
        let token = WebSessions.randomToken()
        var context: [String: Any] = ["loginToken": token, "next": Self.localPath(next) ?? "/"]
        if let flash { context["flash"] = flash.dictionary }
        var response = try WebResponse.html(Self.renderTemplate("login", context), status: status)
        response.setCookie(WebSessions.cookie(WebSessions.loginCookieName, token, maxAge: 1800))
        return response
    }

    private func login(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        var request = request
        let form = WebForm(try await request.collectBody(upTo: 64 * 1024))
        let peer = context.channel.remoteAddress?.description ?? "unknown"
        guard let presented = form["login"], let expected = request.cookies[WebSessions.loginCookieName]?.value,
            WebSessions.same(presented, expected)
        else {
            try audit.record("request.refused", actor: "peer:\(peer)", target: "/login", decision: .deny, reason: "login form without its cookie")
            return try loginPage(next: form["next"], flash: .init(kind: "error", text: "The login form expired: try again."), status: .forbidden)
        }
        let account: AdminRecord
        do {
            account = try await accounts.login(name: try form.require("name"), password: try form.require("password"), code: form["code"], peer: peer)
        } catch let refusal as Refusal {
            return try loginPage(next: form["next"], flash: .init(kind: "error", text: refusal.reason), status: refusal.status)
        }
        let (cookie, _) = try await sessions.start(admin: account.name)
        var response = WebResponse.redirect(account.passwordIsTemporary ? "/account/password" : (Self.localPath(form["next"]) ?? "/"))
        response.setCookie(cookie)
        response.setCookie(WebSessions.cookie(WebSessions.loginCookieName, "", maxAge: 0))
        return response
    }

    /// Only a path on this console: `next` must never send a browser elsewhere.
    static func localPath(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), !next.contains("://") else { return nil }
        return next
    }

    // MARK: pages

    private func dashboard(_ context: ConsoleRequestContext) async throws -> Response {
        let overview = try await FleetOverview.load(store: store, now: clock())
        return try render(
            "dashboard", context, nav: "Dashboard",
            [
                "o": [
                    "enrolled": overview.enrolled, "reporting": overview.reporting, "latestPolicy": overview.latestPolicy.map { "v\($0)" } ?? "none",
                    "onLatestPolicy": overview.onLatestPolicy,
                    "gaps": overview.gaps.map { ["device": $0.device, "hostname": $0.hostname, "kind": $0.kind.rawValue, "detail": $0.detail] },
                    "sessions": overview.sessions.map {
                        [
                            "device": $0.device, "hostname": $0.hostname, "started": Self.time($0.session.startedAt),
                            "session": [
                                "agent": $0.session.agent, "user": $0.session.user, "toolCalls": $0.session.toolCalls, "denied": $0.session.denied,
                            ],
                        ] as [String: Any]
                    },
                    "outsideAgents": overview.outsideAgents.map {
                        [
                            "device": $0.device, "hostname": $0.hostname,
                            "agent": ["agent": $0.agent.agent, "pid": $0.agent.pid, "user": $0.agent.user, "exe": $0.agent.exe],
                        ] as [String: Any]
                    },
                ] as [String: Any],
                "gapCount": overview.gaps.count, "sessionCount": overview.sessions.count, "outsideCount": overview.outsideAgents.count,
                // Mustache sections take 0 as true: the conditions are booleans.
                "hasGaps": !overview.gaps.isEmpty, "hasSessions": !overview.sessions.isEmpty, "hasOutside": !overview.outsideAgents.isEmpty,
                "hasCounters": !overview.counters.isEmpty,
                "counters": Self.counters(overview.counters),
            ], live: "dashboard")
    }

    private func devicesPage(_ context: ConsoleRequestContext) async throws -> Response {
        let now = clock()
        let devices = try await store.devices().map { device -> [String: Any] in
            let drops = (device.counters["kernel_dropped"] ?? 0) + (device.counters["consumer_dropped"] ?? 0)
            return [
                "id": device.id, "hostname": device.facts.hostname, "team": device.team ?? "", "os": device.facts.os,
                "vigil": device.facts.vigilVersion, "mode": device.facts.enforcementMode, "policy": device.policyVersion.map { "v\($0)" } ?? "none",
                "lastSeen": Self.ago(now - device.lastSeen), "posture": Self.posture(device.facts.posture), "drops": drops,
                "errors": device.counters["errors"] ?? 0, "revoked": device.revokedAt != nil,
                "state": device.revokedAt == nil ? "enrolled" : "revoked",
            ]
        }
        return try render("devices", context, nav: "Devices", ["devices": devices], live: "devices")
    }

    private func devicePage(_ id: String, _ context: ConsoleRequestContext) async throws -> Response {
        let detail = try await admin.detail(id)
        let now = clock()
        var history: [[String: Any]] = []
        for (index, report) in detail.reports.enumerated() {
            let older = index + 1 < detail.reports.count ? detail.reports[index + 1] : nil
            history.append([
                "at": Self.time(report.at), "policy": report.policyVersion.map { "v\($0)" } ?? "none", "mode": report.enforcementMode,
                "posture": Self.posture(report.posture), "changed": older.map { $0.posture != report.posture } ?? false,
            ])
        }
        let device = detail.device
        return try render(
            "device", context, nav: "Devices",
            [
                "d": [
                    "device": [
                        "id": device.id, "keyID": device.keyID, "team": device.team ?? "—",
                        "keyKind": device.keyKind ?? "ecdsa-p256-sha256",
                        "keyHolder": device.keyHolder == "tpm" ? "held in a TPM (not attested)" : "a file key (no TPM)",
                        "facts": [
                            "os": device.facts.os, "kernel": device.facts.kernel, "vigilVersion": device.facts.vigilVersion,
                            "enforcementMode": device.facts.enforcementMode,
                        ],
                    ] as [String: Any],
                    "revokedReason": detail.revokedReason ?? false,
                    "activity": [
                        "sessions": (detail.activity?.sessions ?? []).map {
                            [
                                "id": $0.id, "agent": $0.agent, "user": $0.user, "startedAt": Self.time($0.startedAt), "toolCalls": $0.toolCalls,
                                "denied": $0.denied,
                            ]
                        }
                    ],
                ] as [String: Any],
                "hostname": device.facts.hostname, "state": device.revokedAt == nil ? "enrolled" : "revoked",
                "policy": device.policyVersion.map { "v\($0)" } ?? "none (local policy only)", "enrolled": Self.time(device.enrolledAt),
                "lastSeen": "\(Self.time(device.lastSeen)) (\(Self.ago(now - device.lastSeen)))",
                "hooks": detail.activity.map { $0.hooksDropIn ?? "MISSING: hooks do not reach vigild" } ?? "not reported",
                "mayRevoke": device.revokedAt == nil && context.identity?.admin.role.mayAdminister == true,
                "counters": Self.counters(detail.counters), "history": history,
            ], live: "device")
    }

    private func policyPage(
        _ context: ConsoleRequestContext, flash: Flash?, document: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let versions = try await store.policies(withDocuments: false)
        let latest = try await store.latestPolicy()
        let csrf = context.identity?.session.csrfToken ?? ""
        let base = latest?.version ?? 0
        var values: [String: Any] = [
            "base": base,
            "versions": versions.map {
                [
                    "version": $0.version, "author": $0.author, "created": Self.time($0.createdAt), "comment": $0.comment ?? "",
                    "previous": $0.version > 1 ? $0.version - 1 : 0,
                ] as [String: Any]
            },
            "document": document ?? latest?.document ?? "vigil: 1\nrules: []\n",
            "mayEdit": context.identity?.admin.role.mayEditPolicy == true,
        ]
        if let latest {
            values["latest"] = [
                "version": latest.version, "author": latest.author, "created": Self.time(latest.createdAt), "comment": latest.comment ?? "",
            ]
        }
        do {
            let view = try await editor.rows()
            values["defaultTool"] = view.rows.defaults.tool.rawValue
            values["rows"] = view.rows.rows.map { row -> [String: Any] in
                [
                    "id": row.id, "match": row.match, "action": row.action.rawValue, "scope": row.scope.description,
                    "when": row.when.joined(separator: "; "), "overrides": row.overrides.joined(separator: ", "), "reason": row.reason ?? "",
                    "csrf": csrf, "base": base,
                ]
            }
        } catch {
            values["rowsError"] = "The current version cannot be shown as rules (\(error)); its document is below."
        }
        if let flash { values["flash"] = flash.dictionary }
        return try render("policy", context, nav: "Policy", values, status: status)
    }

    private func tokensPage(_ context: ConsoleRequestContext, issued: EnrollmentService.Issued?, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        let now = clock()
        let csrf = context.identity?.session.csrfToken ?? ""
        let mayAdminister = context.identity?.admin.role.mayAdminister == true
        let tokens = try await store.tokens().reversed().map { token -> [String: Any] in
            let state = token.revokedAt != nil ? "revoked" : token.expiresAt <= now ? "expired" : token.usesLeft == 0 ? "used up" : "valid"
            return [
                "id": token.id, "team": token.team ?? "", "issuedBy": token.issuedBy, "created": Self.time(token.createdAt),
                "expires": Self.time(token.expiresAt), "usesLeft": token.usesLeft, "state": state, "revocable": mayAdminister && state == "valid",
                "keys": token.requireTPM ? "TPM only" : "any",
                "csrf": csrf,
            ]
        }
        var values: [String: Any] = ["tokens": tokens, "mayAdminister": mayAdminister]
        if let issued { values["issued"] = ["id": issued.id, "token": issued.token] }
        return try render("tokens", context, nav: "Tokens", values, status: status)
    }

    /// The people, the bindings, and — for admins only, each look audited — the codes of waiting logins.
    private func peoplePage(_ context: ConsoleRequestContext) async throws -> Response {
        let now = clock()
        let mayAdminister = context.identity?.admin.role.mayAdminister == true
        let people = try await store.people().map { person -> [String: Any] in
            [
                "email": person.email, "teams": person.teams.joined(separator: ", "), "roles": person.roles.joined(separator: ", "),
                "setBy": person.createdBy,
            ]
        }
        let bindings = try await store.bindings().map { binding -> [String: Any] in
            [
                "device": binding.deviceID, "account": "\(binding.user) (uid \(binding.uid))", "email": binding.email,
                "verified": Self.time(binding.verifiedAt), "expires": Self.time(binding.expiresAt),
                "state": binding.expiresAt <= now ? "expired" : "in force",
            ]
        }
        var values: [String: Any] = ["people": people, "bindings": bindings, "mayAdminister": mayAdminister]
        if mayAdminister, let identity = context.identity {
            let pending = try await store.logins().filter { $0.isPending(at: now) }
            try audit.record("login.codes.read", actor: identity.actor, details: ["logins": pending.map(\.id).joined(separator: ",")])
            values["logins"] = pending.map { login -> [String: Any] in
                [
                    "code": login.code, "email": login.email, "device": login.deviceID, "account": "\(login.user) (uid \(login.uid))",
                    "expires": Self.time(login.expiresAt), "attemptsLeft": login.attemptsLeft,
                ]
            }
        }
        return try render("people", context, nav: "People", values)
    }

    private func adminsPage(_ context: ConsoleRequestContext, added: [String: String]?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let csrf = context.identity?.session.csrfToken ?? ""
        let mayAdminister = context.identity?.admin.role.mayAdminister == true
        let admins = try await store.admins().map { admin -> [String: Any] in
            [
                "name": admin.name, "role": admin.role.rawValue, "totp": admin.totpSecret == nil ? "off" : "on",
                "created": Self.time(admin.createdAt),
                "createdBy": admin.createdBy,
                "state": admin.disabledAt != nil ? "disabled" : admin.passwordIsTemporary ? "one-time password not yet replaced" : "active",
                "manage": mayAdminister, "csrf": csrf,
            ]
        }
        var values: [String: Any] = ["admins": admins, "mayAdminister": mayAdminister]
        if let added { values["added"] = added }
        return try render("admins", context, nav: "Admins", values, status: status)
    }

    private func auditPage(_ context: ConsoleRequestContext) throws -> Response {
        let (leaves, problem) = try audit.recent(limit: 300)
        let entries = leaves.map { leaf -> [String: Any] in
            let extra = leaf.entry.extra
            return [
                "seq": leaf.index, "at": Self.time(leaf.entry.time / 1_000_000_000),
                "action": extra["action"] ?? leaf.entry.kind.rawValue, "actor": extra["actor"] ?? "", "target": extra["target"] ?? "",
                "decision": leaf.entry.decision?.rawValue ?? "", "reason": extra["reason"] ?? "",
            ]
        }
        var values: [String: Any] = ["entries": entries, "origin": audit.name, "directory": audit.directory]
        if let problem { values["flash"] = ["kind": "error", "text": "The log could not be read to its end: \(problem)"] }
        return try render("audit", context, nav: "Audit", values)
    }

    /// Server-sent events for the pages' live updates: `change` whenever a device or the policy does.
    private func events() -> Response {
        EventStreamResponse.make(changes.subscribe(), heartbeat: heartbeat) { "event: change\nid: \($0)\ndata: {}\n\n" }
    }

    /// One editor change from a form: published → back to the policy page saying so; refused → the
    /// page again with the editor's reason (rule, line, column), nothing changed.
    private func edit(_ context: ConsoleRequestContext, _ change: () async throws -> PolicyEditResult) async throws -> Response {
        do {
            let result = try await change()
            changes.changed()
            let notes = (result.notes + result.warnings).joined(separator: " ")
            return try await policyPage(
                context,
                flash: .init(kind: "ok", text: "Published v\(result.bundle.version): devices are told at once.\(notes.isEmpty ? "" : " " + notes)"),
                status: .ok)
        } catch let error as PolicyEditError {
            let refusal = PolicyEditorRoutes.refusal(error)
            return try await policyPage(context, flash: .init(kind: "error", text: "Not published: \(refusal.reason)"), status: refusal.status)
        }
    }

    static func base(_ form: WebForm) throws -> Int {
        guard let text = form["base"], let base = Int(text), base >= 0 else {
            throw Refusal(.badRequest, "missing_field", "the form does not say which version it was made against (base)")
        }
        return base
    }

    /// A rule id from its match (`Bash(terraform *)` → `bash-terraform`), unique among `taken`.
    static func ruleID(for match: String, taken: [String]) -> String {
        var words: [String] = []
        var word = ""
        for character in match.lowercased() {
            if character.isASCII && (character.isLetter || character.isNumber) {
                word.append(character)
            } else if !word.isEmpty {
                words.append(word)
                word = ""
            }
        }
        if !word.isEmpty { words.append(word) }
        let stem = String((words.isEmpty ? ["rule"] : words).joined(separator: "-").prefix(48))
        var id = stem
        var n = 2
        while taken.contains(id) {
            id = "\(stem)-\(n)"
            n += 1
        }
        return id
    }

    static func scope(_ form: WebForm) throws -> Scope {
        let names = list(form["scope_value"], separators: ", ")
        switch form["scope_kind"] ?? "everyone" {
        case "everyone": return .everyone
        case let kind where names.isEmpty: throw Refusal(.badRequest, "bad_scope", "a \(kind) scope names at least one \(kind)")
        case "team": return Scope(teams: names)
        case "role": return Scope(roles: names)
        case "user": return Scope(users: names)
        case "device": return Scope(devices: names)
        case "identity":
            // The compiler would refuse it too, but the form can say it plainly.
            if let wrong = names.first(where: { !Scope.identityStates.contains($0) }) {
                throw Refusal(.badRequest, "bad_scope", "an identity scope is verified or unverified, not \(wrong)")
            }
            return Scope(identities: names)
        case let kind: throw Refusal(.badRequest, "bad_scope", "scope is everyone, team, role, user, device or identity, not \(kind)")
        }
    }

    static func list(_ text: String?, separators: String) -> [String] {
        (text ?? "").split(whereSeparator: { separators.contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    // MARK: rendering

    struct Flash {
        var kind: String
        var text: String
        var dictionary: [String: String] { ["kind": kind, "text": text] }
    }

    private func form(_ request: Request) async throws -> WebForm {
        var request = request
        return WebForm(try await request.collectBody(upTo: WebAuthMiddleware.maxFormBytes))
    }

    private func render(
        _ template: String, _ context: ConsoleRequestContext, nav: String?, _ values: [String: Any], live: String? = nil,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        var values = values
        if let identity = context.identity {
            var who: [String: Any] = ["name": identity.admin.name, "role": identity.admin.role.rawValue, "csrf": identity.session.csrfToken]
            if let nav { who["nav" + nav] = true }
            values["identity"] = who
        }
        if let live { values["live"] = live }
        return try WebResponse.html(Self.renderTemplate(template, values), status: status)
    }

    static func renderTemplate(_ name: String, _ values: [String: Any]) throws -> String {
        guard let html = WebTemplates.library.render(values, withTemplate: name) else {
            throw Refusal(.internalServerError, "template", "the page template \(name) is missing")
        }
        return html
    }

    static func time(_ seconds: Int64) -> String {
        let format = Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false)
        return Date(timeIntervalSince1970: Double(seconds)).formatted(format.timeSeparator(.colon)).replacingOccurrences(of: "T", with: " ") + " UTC"
    }

    static func ago(_ seconds: Int64) -> String {
        switch seconds {
        case ..<5: "just now"
        case ..<120: "\(seconds) s ago"
        case ..<7200: "\(seconds / 60) min ago"
        case ..<172_800: "\(seconds / 3600) h ago"
        default: "\(seconds / 86400) days ago"
        }
    }

    static func posture(_ facts: [String: String]) -> String {
        facts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    static func counters(_ counters: [String: UInt64]) -> [[String: Any]] {
        counters.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] }
    }

    static func dictionary(_ bundle: PolicyBundle) -> [String: Any] {
        ["version": bundle.version, "author": bundle.author, "document": bundle.document, "comment": bundle.comment ?? false]
    }
}

extension Optional where Wrapped == WebIdentity {
    func orRefuse() throws -> WebIdentity {
        guard let self else { throw Refusal(.unauthorized, "login_required", "log in first") }
        return self
    }
}

enum WebResponse {
    /// Every page: not cached, not framed, no script or style from anywhere but the console.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        .xContentTypeOptions: "nosniff", .cacheControl: "no-store", HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("X-Frame-Options")!: "DENY",
    ]

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300", .xContentTypeOptions: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// A refusal on a page is a page (with the reason), not a JSON body.
struct WebPageErrorMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let refusal as Refusal {
            return page(refusal.status, refusal.reason, context)
        } catch is NIOTooManyBytesError {
            return page(.contentTooLarge, "the form is over the limit of \(WebAuthMiddleware.maxFormBytes) bytes", context)
        } catch let error as HTTPError where error.status.code < 500 {
            return page(error.status, error.body ?? error.status.reasonPhrase, context)
        }
    }

    private func page(_ status: HTTPResponse.Status, _ reason: String, _ context: Context) -> Response {
        var values: [String: Any] = ["status": "\(status.code) \(status.reasonPhrase)", "reason": reason, "back": "/"]
        if let identity = context.identity {
            values["identity"] = ["name": identity.admin.name, "role": identity.admin.role.rawValue, "csrf": identity.session.csrfToken]
        }
        let html = (try? WebRoutes.renderTemplate("error", values)) ?? "\(status.code) \(reason)"
        return WebResponse.html(html, status: status)
    }
}

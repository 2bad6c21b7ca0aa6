// SPDX-License-Identifier: Apache-2.0
// Browser sessions: an HttpOnly, Secure, SameSite=Strict cookie whose value the console keeps only
// as a SHA-256, a CSRF token per session that every state-changing request must carry, and an
// Origin check on top. Sessions live in the store, so every replica knows them.
import VigilAudit
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VigilAPI

struct WebSessions: Sendable {
    static let cookieName = "vigil_session"
    /// The login form's double-submit token (before there is a session to hold one).
    static let loginCookieName = "vigil_login"
    /// A session ends 12 hours after login, or after an hour without a request.
    static let lifetime: Int64 = 12 * 3600
    static let idleLimit: Int64 = 3600

    let store: any ConsoleStore
    let clock: @Sendable () -> Int64

    /// A new session for `admin` and the cookie that carries it.
    func start(admin: String) async throws -> (cookie: Cookie, session: WebSessionRecord) {
        let id = Self.randomToken()
        let now = clock()
        let session = WebSessionRecord(
            idHash: Self.hash(id), admin: admin, csrfToken: Self.randomToken(), createdAt: now, expiresAt: now + Self.lifetime, lastSeen: now)
        try await store.insertSession(session)
        return (Self.cookie(Self.cookieName, id, maxAge: Int(Self.lifetime)), session)
    }

    /// The session and account of a request's cookie, when both are still good.
    func resolve(_ request: Request) async throws -> (AdminRecord, WebSessionRecord)? {
        guard let id = request.cookies[Self.cookieName]?.value, !id.isEmpty, id.count <= 128 else { return nil }
        let idHash = Self.hash(id)
        guard let session = try await store.session(idHash: idHash) else { return nil }
        let now = clock()
        guard now < session.expiresAt, now - session.lastSeen < Self.idleLimit else {
            try await store.deleteSession(idHash: idHash)
            return nil
        }
        guard let admin = try await store.admin(name: session.admin), admin.disabledAt == nil else {
            try await store.deleteSession(idHash: idHash)
            return nil
        }
        // One write a minute at most, not one per request.
        if now - session.lastSeen >= 60 { try await store.touchSession(idHash: idHash, at: now) }
        return (admin, session)
    }

    func end(_ request: Request) async throws {
        if let id = request.cookies[Self.cookieName]?.value { try await store.deleteSession(idHash: Self.hash(id)) }
    }

    static func cookie(_ name: String, _ value: String, maxAge: Int) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: true, httpOnly: true, sameSite: .strict)
    }

    static func hash(_ text: String) -> String { SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }

    static func randomToken() -> String { Base64URL.encode(EnrollmentService.randomBytes(32)) }

    /// Constant-time comparison of two tokens.
    static func same(_ a: String, _ b: String) -> Bool { digestsEqual(a, b) }
}

/// What a web request carries once the session middleware has run.
struct WebIdentity: Sendable {
    var admin: AdminRecord
    var session: WebSessionRecord
    var actor: String { "admin:\(admin.name)" }
}

/// Guards the web UI and the HTTPS admin API: a session, else the login page (HTML) or 401 (JSON);
/// on every unsafe method the session's CSRF token (form field `csrf` or header `X-CSRF-Token`)
/// and, when the browser sends one, an Origin of this console. An account still on its one-time
/// password may do nothing but replace it.
struct WebAuthMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext
    let sessions: WebSessions
    let audit: ConsoleAudit
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let maxFormBytes = 1 << 20

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let isAPI = request.uri.path.hasPrefix("/api/")
        guard let (admin, session) = try await sessions.resolve(request) else {
            if isAPI { throw Refusal(.unauthorized, "login_required", "log in first: this endpoint needs an admin session") }
            guard request.method == .get else { return WebResponse.redirect("/login") }
            let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return WebResponse.redirect("/login?next=" + (target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"))
        }
        var request = request
        var context = context
        context.identity = WebIdentity(admin: admin, session: session)
        if ![.get, .head].contains(request.method) {
            try checkOrigin(request)
            var presented = request.headers[Self.csrfHeader]
            if presented == nil, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                let body = try await request.collectBody(upTo: Self.maxFormBytes)
                presented = WebForm(body)["csrf"]
            }
            guard let presented, WebSessions.same(presented, session.csrfToken) else {
                try audit.record(
                    "request.refused", actor: "admin:\(admin.name)", target: request.uri.path, decision: .deny, reason: "missing or wrong CSRF token")
                throw Refusal(.forbidden, "csrf", "the request does not carry this session's CSRF token: reload the page and try again")
            }
        }
        if admin.passwordIsTemporary, !["/account/password", "/logout"].contains(request.uri.path) {
            if isAPI { throw Refusal(.forbidden, "password_change_required", "replace the one-time password first (/account/password)") }
            return WebResponse.redirect("/account/password")
        }
        return try await next(request, context)
    }

    /// A browser sends Origin on every cross-site POST; it must be this console's.
    private func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        guard let host = request.head.authority, origin == "https://\(host)" else {
            throw Refusal(.forbidden, "cross_origin", "a request from \(origin) may not change this console")
        }
    }
}

/// An `application/x-www-form-urlencoded` body as name → value (the last of a repeated name).
struct WebForm: Sendable {
    private(set) var fields: [String: String] = [:]

    init(_ body: ByteBuffer) { self.init(String(buffer: body)) }

    init(_ text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
    }

    subscript(_ name: String) -> String? { fields[name] }

    /// A required field, or a 400 naming it.
    func require(_ name: String) throws -> String {
        guard let value = fields[name], !value.isEmpty else { throw Refusal(.badRequest, "missing_field", "the form field \(name) is missing") }
        return value
    }
}

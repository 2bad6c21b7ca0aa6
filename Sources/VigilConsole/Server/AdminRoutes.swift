// SPDX-License-Identifier: Apache-2.0
// The admin API, one set of routes on two doors: the local Unix socket behind the `vigil-console`
// commands (root-only state directory, and the kernel's word — SO_PEERCRED — that the caller is
// root or the console's own user), and HTTPS under /api/v1/admin for a logged-in admin (session
// cookie and CSRF token, the account's role). Every action is audited with its caller.
import Foundation
import Glibc
import Hummingbird
import NIOCore
import VigilAPI
import VigilPolicy
import HTTPTypes
import VigilAudit
import Logging

/// `struct ucred` (behind _GNU_SOURCE, so not imported).
private struct UCred {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

struct PeerCredentialMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let provider = context.channel as? any SocketOptionProvider else {
            throw Refusal(.forbidden, "no_peer", "the admin API answers only on its Unix socket")
        }
        let ucred: UCred = try await provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
        guard ucred.uid == 0 || ucred.uid == geteuid() else {
            throw Refusal(.forbidden, "not_admin", "uid \(ucred.uid) may not use the console's admin socket")
        }
        var context = context
        context.logger[metadataKey: "peer"] = "uid=\(ucred.uid) pid=\(ucred.pid)"
        return try await next(request, context)
    }
}

public struct IssueTokenRequest: Codable, Sendable {
    public var team: String?
    public var expiresIn: Int64
    public var uses: Int
    /// Only TPM-held device keys may enrol with the token (absent: false).
    public var requireTPM: Bool?
    /// On the socket: who the operator says they are (recorded beside the kernel's word). Ignored on HTTPS.
    public var actor: String?
    public init(team: String?, expiresIn: Int64, uses: Int, requireTPM: Bool? = nil, actor: String?) {
        self.team = team
        self.expiresIn = expiresIn
        self.uses = uses
        self.requireTPM = requireTPM
        self.actor = actor
    }
}

public struct RevokeRequest: Codable, Sendable {
    public var reason: String
    public var actor: String?
    public init(reason: String, actor: String?) {
        self.reason = reason
        self.actor = actor
    }
}

/// POST /admin/v1/admins: a new admin account; the answer carries its one-time password.
public struct AddAdminRequest: Codable, Sendable {
    public var name: String
    public var role: AdminRole
    public var actor: String?
    public init(name: String, role: AdminRole, actor: String?) {
        self.name = name
        self.role = role
        self.actor = actor
    }
}

public struct AddedAdmin: Codable, Sendable {
    public var name: String
    public var role: AdminRole
    /// Shown once; the first login must replace it.
    public var oneTimePassword: String
}

/// POST /admin/v1/admins/:name: what to change (absent fields stay).
public struct UpdateAdminRequest: Codable, Sendable {
    public var role: AdminRole?
    public var disabled: Bool?
    public var resetTOTP: Bool?
    public var actor: String?
    public init(role: AdminRole? = nil, disabled: Bool? = nil, resetTOTP: Bool? = nil, actor: String? = nil) {
        self.role = role
        self.disabled = disabled
        self.resetTOTP = resetTOTP
        self.actor = actor
    }
}

/// An admin account as listed (never its hash or TOTP secret).
public struct AdminSummary: Codable, Sendable, Equatable {
    public var name: String
    public var role: AdminRole
    public var totp: Bool
    public var mustChangePassword: Bool
    public var createdAt: Int64
    public var createdBy: String
    public var disabledAt: Int64?

    init(_ record: AdminRecord) {
        name = record.name
        role = record.role
        totp = record.totpSecret != nil
        mustChangePassword = record.passwordIsTemporary
        createdAt = record.createdAt
        createdBy = record.createdBy
        disabledAt = record.disabledAt
    }
}

/// An enrolment token as listed: never its secret.
public struct TokenSummary: Codable, Sendable, Equatable {
    public var id: String
    public var team: String?
    public var createdAt: Int64
    public var expiresAt: Int64
    public var usesLeft: Int
    public var issuedBy: String
    public var revokedAt: Int64?
    public var requireTPM: Bool

    init(_ record: EnrollTokenRecord) {
        requireTPM = record.requireTPM
        id = record.id
        team = record.team
        createdAt = record.createdAt
        expiresAt = record.expiresAt
        usesLeft = record.usesLeft
        issuedBy = record.issuedBy
        revokedAt = record.revokedAt
    }
}

/// One device with its history: GET /admin/v1/devices/:id.
public struct DeviceDetail: Codable, Sendable {
    public var device: DeviceSummary
    public var revokedReason: String?
    public var counters: [String: UInt64]
    public var activity: DeviceActivity?
    /// Newest first.
    public var reports: [Report]

    public struct Report: Codable, Sendable {
        public var at: Int64
        public var policyVersion: Int?
        public var posture: [String: String]
        public var enforcementMode: String
    }
}

/// What an admin request needs.
enum AdminPermission: Sendable {
    case read
    case editPolicy
    case administer
}

/// Who is asking, and whether they may: each door answers in its own way.
struct AdminDoor: Sendable {
    let authorize: @Sendable (_ claimed: String?, _ context: ConsoleRequestContext, _ needs: AdminPermission) throws -> String

    /// The socket: root (or the console's user) may do everything; the name given is recorded with the kernel's word.
    static let socket = AdminDoor { claimed, context, _ in
        let peer = context.logger[metadataKey: "peer"].map { "\($0)" } ?? "?"
        return "\(claimed ?? "root") (\(peer))"
    }

    /// HTTPS: the session's admin, within their role.
    static func web(audit: ConsoleAudit) -> AdminDoor {
        AdminDoor { _, context, needs in
            guard let identity = context.identity else { throw Refusal(.unauthorized, "login_required", "log in first") }
            let role = identity.admin.role
            let allowed =
                switch needs {
                case .read: true
                case .editPolicy: role.mayEditPolicy
                case .administer: role.mayAdminister
                }
            guard allowed else {
                try audit.record("request.refused", actor: identity.actor, decision: .deny, reason: "role \(role.rawValue) may not do this")
                throw Refusal(.forbidden, "role", "the role \(role.rawValue) may not do this")
            }
            return identity.actor
        }
    }
}

struct AdminRoutes: Sendable {
    let store: any ConsoleStore
    let audit: ConsoleAudit
    let enrollment: EnrollmentService
    let policies: PolicyPublisher
    let versions: PolicyVersions
    let accounts: AdminAccounts
    let logins: HumanLogins
    let clock: @Sendable () -> Int64

    func add(to admin: RouterGroup<ConsoleRequestContext>, door: AdminDoor) {
        let versions = self.versions
        admin.get("overview") { _, context in
            _ = try door.authorize(nil, context, .read)
            return try JSONResponse.make(try await FleetOverview.load(store: store, now: clock()))
        }
        admin.get("tokens") { _, context in
            _ = try door.authorize(nil, context, .read)
            return try JSONResponse.make(try await store.tokens().map(TokenSummary.init))
        }
        admin.post("tokens") { request, context in
            let ask = try JSONResponse.decode(
                IssueTokenRequest.self, from: try await request.body.collect(upTo: 64 * 1024), what: "the token request")
            let who = try door.authorize(ask.actor, context, .administer)
            let issued = try await enrollment.issue(
                team: ask.team, expiresIn: ask.expiresIn, uses: ask.uses, requireTPM: ask.requireTPM ?? false, actor: who, now: clock())
            return try JSONResponse.make(issued, status: .created)
        }
        admin.post("tokens/:id/revoke") { _, context in
            let id = try context.parameters.require("id")
            let who = try door.authorize(nil, context, .administer)
            guard try await store.revokeToken(id: id, at: clock()) else {
                try audit.record("token.revoke", actor: who, target: id, decision: .deny, reason: "no such token")
                throw Refusal(.notFound, "unknown_token", "there is no enrolment token \(id)")
            }
            try audit.record("token.revoke", actor: who, target: id)
            return Response(status: .noContent)
        }
        admin.get("devices") { _, context in
            _ = try door.authorize(nil, context, .read)
            return try JSONResponse.make(try await store.devices().map(\.summary))
        }
        admin.get("devices/:id") { _, context in
            let id = try context.parameters.require("id")
            _ = try door.authorize(nil, context, .read)
            return try JSONResponse.make(try await detail(id))
        }
        admin.post("devices/:id/revoke") { request, context in
            let id = try context.parameters.require("id")
            let ask = try JSONResponse.decode(RevokeRequest.self, from: try await request.body.collect(upTo: 64 * 1024), what: "the revoke request")
            let who = try door.authorize(ask.actor, context, .administer)
            return try JSONResponse.make(try await revoke(id, reason: ask.reason, actor: who).summary)
        }
        admin.post("policy") { request, context in
            let change = try JSONResponse.decode(PolicyChange.self, from: try await request.body.collect(upTo: 1 << 20), what: "the policy change")
            let who = try door.authorize(change.actor, context, .editPolicy)
            return try JSONResponse.make(
                try await versions.publish(document: change.document, author: who, comment: change.comment), status: .created)
        }
        admin.get("policy") { _, context in
            _ = try door.authorize(nil, context, .read)
            return try JSONResponse.make(try await store.policies(withDocuments: false))
        }
        admin.get("policy/:version") { _, context in
            let version = try context.parameters.require("version", as: Int.self)
            _ = try door.authorize(nil, context, .read)
            guard let bundle = try await store.policy(version: version) else {
                throw Refusal(.notFound, "unknown_version", "there is no policy version \(version)")
            }
            return try JSONResponse.make(bundle)
        }
        admin.get("admins") { _, context in
            _ = try door.authorize(nil, context, .read)
            return try JSONResponse.make(try await store.admins().map(AdminSummary.init))
        }
        admin.post("admins") { request, context in
            let ask = try JSONResponse.decode(AddAdminRequest.self, from: try await request.body.collect(upTo: 64 * 1024), what: "the admin request")
            let who = try door.authorize(ask.actor, context, .administer)
            let password = try await accounts.add(name: ask.name, role: ask.role, actor: who)
            return try JSONResponse.make(AddedAdmin(name: ask.name, role: ask.role, oneTimePassword: password), status: .created)
        }
        admin.post("admins/:name") { request, context in
            let name = try context.parameters.require("name")
            let ask = try JSONResponse.decode(
                UpdateAdminRequest.self, from: try await request.body.collect(upTo: 64 * 1024), what: "the admin change")
            let who = try door.authorize(ask.actor, context, .administer)
            let updated = try await accounts.update(name: name, role: ask.role, disabled: ask.disabled, resetTOTP: ask.resetTOTP ?? false, actor: who)
            return try JSONResponse.make(AdminSummary(updated))
        }
        admin.get("people") { _, context in
            _ = try door.authorize(nil, context, .read)
            return try JSONResponse.make(try await store.people())
        }
        admin.post("people") { request, context in
            let ask = try JSONResponse.decode(AddPersonRequest.self, from: try await request.body.collect(upTo: 64 * 1024), what: "the person")
            let who = try door.authorize(ask.actor, context, .administer)
            return try JSONResponse.make(try await logins.addPerson(ask, actor: who), status: .created)
        }
        // The codes of waiting logins: only admins see them (they read them out to the person), and each look is audited.
        admin.get("logins") { _, context in
            let who = try door.authorize(nil, context, .administer)
            let now = clock()
            let pending = try await store.logins().filter { $0.isPending(at: now) }.map(PendingLoginSummary.init)
            try audit.record("login.codes.read", actor: who, details: ["logins": pending.map(\.id).joined(separator: ",")])
            return try JSONResponse.make(pending)
        }
        admin.get("bindings") { _, context in
            _ = try door.authorize(nil, context, .read)
            return try JSONResponse.make(try await store.bindings())
        }
        PolicyEditorRoutes(editor: PolicyEditor(versions: versions), door: door).add(to: admin)
    }

    func detail(_ id: String) async throws -> DeviceDetail {
        guard let device = try await store.device(id: id) else { throw Refusal(.notFound, "unknown_device", "device \(id) is not enrolled") }
        let reports = try await store.reports(deviceID: id, limit: 100).map {
            DeviceDetail.Report(
                at: $0.at, policyVersion: $0.report.policyVersion, posture: $0.report.facts.posture, enforcementMode: $0.report.facts.enforcementMode)
        }
        return DeviceDetail(
            device: device.summary, revokedReason: device.revokedReason, counters: device.counters, activity: device.activity, reports: reports)
    }

    /// Refused at once: its key from the next request on, its open stream now.
    func revoke(_ id: String, reason: String, actor: String) async throws -> DeviceRecord {
        guard let device = try await store.revokeDevice(id: id, reason: reason, at: clock()) else {
            try audit.record("device.revoke", actor: actor, target: id, decision: .deny, reason: "no such device")
            throw Refusal(.notFound, "unknown_device", "device \(id) is not enrolled")
        }
        try audit.record("device.revoke", actor: actor, target: id, reason: reason)
        policies.disconnect(device: id)
        return device
    }
}

// SPDX-License-Identifier: Apache-2.0
// The local admin API behind `vigil-console enroll-token | devices | revoke`: a Unix socket in the
// root-only state directory, and the kernel's word (SO_PEERCRED) that the caller is root or the
// console's own user. Every action is audited with that caller.
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
    public var actor: String
    public init(team: String?, expiresIn: Int64, uses: Int, actor: String) {
        self.team = team
        self.expiresIn = expiresIn
        self.uses = uses
        self.actor = actor
    }
}

public struct RevokeRequest: Codable, Sendable {
    public var reason: String
    public var actor: String
    public init(reason: String, actor: String) {
        self.reason = reason
        self.actor = actor
    }
}

struct AdminRoutes: Sendable {
    let store: any ConsoleStore
    let audit: ConsoleAudit
    let enrollment: EnrollmentService
    let policies: PolicyPublisher
    let clock: @Sendable () -> Int64

    func add(to router: Router<ConsoleRequestContext>) {
        let admin = router.group("/admin/v1").add(middleware: PeerCredentialMiddleware())
        admin.post("tokens") { request, context in
            let body = try await request.body.collect(upTo: 64 * 1024)
            let ask = try JSONResponse.decode(IssueTokenRequest.self, from: body, what: "the token request")
            let issued = try await enrollment.issue(
                team: ask.team, expiresIn: ask.expiresIn, uses: ask.uses, actor: actor(ask.actor, context), now: clock())
            return try JSONResponse.make(issued, status: .created)
        }
        admin.get("devices") { _, _ in try JSONResponse.make(try await store.devices().map(\.summary)) }
        admin.post("devices/:id/revoke") { request, context in
            let id = try context.parameters.require("id")
            let body = try await request.body.collect(upTo: 64 * 1024)
            let ask = try JSONResponse.decode(RevokeRequest.self, from: body, what: "the revoke request")
            guard let device = try await store.revokeDevice(id: id, reason: ask.reason, at: clock()) else {
                try audit.record("device.revoke", actor: actor(ask.actor, context), target: id, decision: .deny, reason: "no such device")
                throw Refusal(.notFound, "unknown_device", "device \(id) is not enrolled")
            }
            try audit.record("device.revoke", actor: actor(ask.actor, context), target: id, reason: ask.reason)
            policies.disconnect(device: id)
            return try JSONResponse.make(device.summary)
        }
        // A new policy version: compiled by the devices' own compiler first, so a broken rule is
        // refused with its line and reason before it reaches any device.
        admin.post("policy") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            let change = try JSONResponse.decode(PolicyChange.self, from: body, what: "the policy change")
            let who = actor(change.actor, context)
            let compiled: Policy
            do throws(PolicyError) {
                compiled = try Policy(yaml: change.document, file: "console policy")
            } catch {
                try audit.record("policy.change", actor: who, decision: .deny, reason: error.description)
                throw Refusal(.badRequest, "policy_invalid", error.description)
            }
            let previous = try await store.latestPolicy()
            let stored = try await store.insertPolicy(document: change.document, author: who, comment: change.comment, at: clock())
            try audit.record(
                "policy.change", actor: who, target: "v\(stored.version)",
                details: [
                    "policyVersion": compiled.version, "sha256": compiled.documentHash, "previous": previous.map { "v\($0.version)" } ?? "",
                    "comment": change.comment ?? "", "diff": PolicyDiff.unified(from: previous?.document ?? "", to: change.document),
                ])
            policies.publish(stored.version)
            return try JSONResponse.make(stored, status: .created)
        }
        admin.get("policy") { _, _ in try JSONResponse.make(try await store.policies(withDocuments: false)) }
        admin.get("policy/:version") { _, context in
            let version = try context.parameters.require("version", as: Int.self)
            guard let bundle = try await store.policy(version: version) else {
                throw Refusal(.notFound, "unknown_version", "there is no policy version \(version)")
            }
            return try JSONResponse.make(bundle)
        }
    }

    /// The name the caller gave, and the kernel's word on who it is.
    private func actor(_ name: String, _ context: ConsoleRequestContext) -> String {
        let peer = context.logger[metadataKey: "peer"].map { "\($0)" } ?? "?"
        return "\(name) (\(peer))"
    }
}

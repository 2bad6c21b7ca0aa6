// SPDX-License-Identifier: Apache-2.0
// The device API (HTTPS): health, enrolment (authenticated by the token and the new key's
// signature), and the signed device endpoints. Nothing else answers.
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle
import VigilAPI
import VigilSignatures
import HTTPTypes
import VigilAudit
import Logging

struct DeviceRoutes: Sendable {
    let store: any ConsoleStore
    let audit: ConsoleAudit
    let enrollment: EnrollmentService
    let authenticator: DeviceAuthenticator
    let policyKey: String
    let maxBodyBytes: Int
    let policies: PolicyPublisher
    let signer: PolicyBundleSigner
    let heartbeat: Duration
    let logins: HumanLogins
    let clock: @Sendable () -> Int64
    /// Tells the web pages' live updates that a device enrolled, reported or left.
    let changed: @Sendable () -> Void

    func add(to router: Router<ConsoleRequestContext>) {
        router.get("/healthz") { _, _ in try JSONResponse.make(["status": "ok"]) }
        router.post("/api/v1/enroll") { request, context in try await enroll(request, context) }
        let device = router.group("/api/v1/device")
        device.get { request, context in
            try await signed(request, context, "device.get") { device, _ in
                guard let record = try await store.device(id: device.id) else {
                    throw Refusal(.unauthorized, "unknown_key", "device \(device.id) is no longer enrolled")
                }
                return try JSONResponse.make(record.summary)
            }
        }
        device.post("report") { request, context in
            try await signed(request, context, "device.report") { device, body in
                let report = try JSONResponse.decode(DeviceReport.self, from: body, what: "the device report")
                try await store.recordReport(deviceID: device.id, report: report, at: clock())
                changed()
                return Response(status: .noContent)
            }
        }
        // The signed bundle of the newest policy; `?have=N` answers 204 when N is the newest.
        device.get("policy") { request, context in
            try await signed(request, context, "device.policy") { _, _ in
                let have = request.uri.queryParameters.get("have", as: Int.self)
                let newest: (version: Int, jws: String)
                // After a change every device asks at once: the version announced last, signed once,
                // answers without the store. A device that has heard of a newer one (from another
                // replica, before this one's notification) is answered from the store.
                let announced = policies.version
                if let jws = signer.signed(version: announced), (have ?? 0) <= announced {
                    newest = (announced, jws)
                } else {
                    guard let latest = try await store.latestPolicy() else {
                        throw Refusal(.notFound, "no_policy", "the console has no policy yet")
                    }
                    newest = (latest.version, try signer.sign(latest))
                }
                if have == newest.version { return Response(status: .noContent) }
                var buffer = ByteBuffer()
                buffer.writeString(newest.jws)
                return Response(status: .ok, headers: [.contentType: "application/jose"], body: .init(byteBuffer: buffer))
            }
        }
        // Server-sent events: "policy version N is current" at once and on every change, and a
        // heartbeat comment so that both ends notice a dead connection.
        device.get("policy/events") { request, context in
            try await signed(request, context, "device.events") { device, _ in
                // Re-read on every connect: another replica may have stored a newer version.
                if let latest = try await store.latestPolicy() { policies.publish(latest.version) }
                return EventStreamResponse.make(policies.subscribe(device: device.id), heartbeat: heartbeat) { version in
                    "event: policy\nid: \(version)\ndata: {\"version\":\(version)}\n\n"
                }
            }
        }
        // Human binding: a login for one of the device's OS accounts, completed with the person's code;
        // the binding of an OS account, which vigild asks for each account it sees.
        device.post("logins") { request, context in
            try await signed(request, context, "device.login.start") { device, body in
                let ask = try JSONResponse.decode(LoginStartRequest.self, from: body, what: "the login request")
                return try JSONResponse.make(try await logins.start(device: device, ask), status: .created)
            }
        }
        device.post("logins/:id") { request, context in
            try await signed(request, context, "device.login.complete") { device, body in
                let id = try context.parameters.require("id")
                let ask = try JSONResponse.decode(LoginCompleteRequest.self, from: body, what: "the login's code")
                return try JSONResponse.make(try await logins.complete(device: device, id: id, ask))
            }
        }
        device.get("bindings/:uid") { request, context in
            try await signed(request, context, "device.binding") { device, _ in
                guard let uid = context.parameters.get("uid", as: UInt32.self) else {
                    throw Refusal(.badRequest, "bad_uid", "a uid is a number from 0 to 4294967295")
                }
                return try JSONResponse.make(try await logins.binding(device: device, uid: uid))
            }
        }
        device.post("unenroll") { request, context in
            try await signed(request, context, "device.unenroll") { device, _ in
                let revoked = try await store.revokeDevice(id: device.id, reason: "unenrolled by the device", at: clock())
                try audit.record("device.unenroll", actor: "device:\(device.id)", target: device.id)
                changed()
                guard let revoked else { throw Refusal(.unauthorized, "unknown_key", "device \(device.id) is no longer enrolled") }
                return try JSONResponse.make(revoked.summary)
            }
        }
    }

    private func peer(_ context: ConsoleRequestContext) -> String { context.channel.remoteAddress?.description ?? "unknown" }

    private func enroll(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        do {
            let body = try await request.body.collect(upTo: 64 * 1024)
            try DeviceAuthenticator.checkDigest(request, body: body)
            // The key to check the signature against is in the body, bound to it by the digest just checked.
            let enrol = try JSONResponse.decode(EnrollRequest.self, from: body, what: "the enrolment request")
            let key: MessageVerificationKey
            do {
                key = try MessageVerificationKey(encoded: enrol.publicKey)
            } catch {
                throw Refusal(.badRequest, "bad_key", "publicKey is not an encoded P-256 or Ed25519 public key")
            }
            _ = try await authenticator.verify(request, key: key, now: clock())
            let device = try await enrollment.enroll(enrol, key: key, peer: peer(context), now: clock())
            changed()
            return try JSONResponse.make(EnrollResponse(deviceID: device.id, keyID: device.keyID, team: device.team, policyKey: policyKey))
        } catch let refusal as Refusal {
            try? audit.record(
                "request.refused", actor: "peer:\(peer(context))", target: "/api/v1/enroll", decision: .deny, reason: refusal.description)
            throw refusal
        } catch is NIOTooManyBytesError {
            try? audit.record(
                "request.refused", actor: "peer:\(peer(context))", target: "/api/v1/enroll", decision: .deny, reason: "body over 65536 bytes")
            throw Refusal(.contentTooLarge, "body_too_large", "the body is over the limit of 65536 bytes")
        }
    }

    /// A device endpoint: the body collected under the limit, its digest and the signature checked,
    /// the device known and not revoked; every refusal audited.
    private func signed(
        _ request: Request, _ context: ConsoleRequestContext, _ action: String,
        _ handler: (DeviceStanding, ByteBuffer) async throws -> Response
    ) async throws -> Response {
        do {
            let body = try await request.body.collect(upTo: maxBodyBytes)
            // The signature first (it covers the Content-Digest header), then the header against the bytes.
            let (device, _) = try await authenticator.authenticate(request, now: clock())
            try DeviceAuthenticator.checkDigest(request, body: body)
            return try await handler(device, body)
        } catch let refusal as Refusal {
            try? audit.record(
                "request.refused", actor: "peer:\(peer(context))", target: request.uri.path, decision: .deny, reason: refusal.description,
                details: ["endpoint": action])
            throw refusal
        } catch is NIOTooManyBytesError {
            try? audit.record(
                "request.refused", actor: "peer:\(peer(context))", target: request.uri.path, decision: .deny,
                reason: "body over \(maxBodyBytes) bytes", details: ["endpoint": action])
            throw Refusal(.contentTooLarge, "body_too_large", "the body is over the limit of \(maxBodyBytes) bytes")
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// Two replicas of one console on one PostgreSQL database, behind one balancer, serving one fleet:
// a device streaming from B gets what is pushed through A, a request A accepted is a replay to B,
// a revocation through A cuts B's stream, and a replica that missed notifications catches up.
import Foundation
import Testing
import VigilAPI
import VigilAudit
import VigilFleet
import VigilPolicy
import VigilSignatures
import VigilTestSupport
import VigilTransport

@testable import VigilConsole

/// A, B and the balancer in front of them, on a database of their own.
private struct Replicas {
    let url: String
    let balancer: TCPBalancer
    let a: LiveConsole
    let b: LiveConsole

    static func with(_ body: (Replicas) async throws -> Void) async throws {
        try await PostgresTestDatabase.with { url in
            let balancer = try await TCPBalancer.start()
            let a = try await LiveConsole.start(database: url, publicURL: balancer.url)
            let b = try await LiveConsole.start(database: url, publicURL: balancer.url, sharingKeysOf: a)
            let replicas = Replicas(url: url, balancer: balancer, a: a, b: b)
            let outcome = await Result { try await body(replicas) }
            try await a.stop()
            try await b.stop()
            await balancer.stop()
            try outcome.get()
        }
    }

    /// A device enrolled through B, its uplink running; back when it streams from B with `version` applied.
    func deviceOnB(version: Int) async throws -> (EnrolledDevice, Task<Void, Never>) {
        balancer.route(to: b.port)
        let device = try await b.enrolDevice(team: "web")
        let task = Task { await device.uplink.run() }
        try await device.policy.wait("streaming from B with v\(version)") {
            device.uplink.status.connected && device.policy.versions.last == version
        }
        #expect(b.console.streamConnections == 1)
        #expect(a.console.streamConnections == 0)
        return (device, task)
    }
}

@Suite(.serialized, .requires(.postgres)) struct ReplicaTests {
    @Test func replicasShareTheKeysDevicesPin() async throws {
        try await Replicas.with { replicas in
            #expect(replicas.a.console.tls.pin == replicas.b.console.tls.pin)
            #expect(replicas.a.console.keys.policyKey.publicKey.encoded == replicas.b.console.keys.policyKey.publicKey.encoded)
            #expect(replicas.a.console.store is PostgresConsoleStore)
        }
    }

    @Test func aPolicyPushedThroughAReachesAStreamOnB() async throws {
        try await Replicas.with { replicas in
            #expect(try await replicas.a.changePolicy(kubectlPolicy).status == 201)
            let (device, task) = try await replicas.deviceOnB(version: 1)
            let relaxed = kubectlPolicy.replacingOccurrences(of: "version: \"org-1\"", with: "version: \"org-2\"")
                .replacingOccurrences(of: "scope: {team: infra}", with: "scope: {team: [infra, web]}")
            #expect(try await replicas.a.changePolicy(relaxed).status == 201)
            try await device.policy.wait("v2 pushed through A, streamed by B") { device.policy.versions == [1, 2] }
            #expect(device.policy.decideBash("kubectl get pods") == .allow)
            // What the device reported to B, A reads from the one store.
            try await device.policy.wait("the report of v2 seen by A") {
                (try? await replicas.a.console.store.device(id: device.state.deviceID)?.policyVersion) == 2
            }
            task.cancel()
        }
    }

    @Test func aRequestAcceptedByAIsAReplayToB() async throws {
        try await Replicas.with { replicas in
            replicas.balancer.route(to: replicas.a.port)
            let enrollment = FleetEnrollment(stateDirectory: TemporaryDirectory.make())
            let state = try await enrollment.enroll(token: try await replicas.a.issueToken(), facts: sampleFacts)
            let raw = RawDevice(url: state.consoleURL, pin: state.pin, key: try DeviceKey.load(enrollment.keyPath, create: false))
            let now = replicas.a.clock.read()
            let digest = ContentDigest.header(for: [])
            let signed = try MessageSigner(key: raw.key, keyID: raw.key.publicKey.keyID).sign(
                SignableRequest(
                    method: "GET", authority: "127.0.0.1:\(replicas.balancer.port)", path: "/api/v1/device", query: nil,
                    headers: [("Content-Digest", digest)]),
                created: now)
            let headers = [("Content-Digest", digest), ("Signature-Input", signed.signatureInput), ("Signature", signed.signature)]
            #expect(try await raw.send("GET", "/api/v1/device", created: now, headers: headers).status == 200)
            replicas.balancer.route(to: replicas.b.port)
            let replay = try await raw.send("GET", "/api/v1/device", created: now, headers: headers)
            #expect(replay.status == 401 && replay.body.contains("replayed"), "\(replay)")
            // B itself accepts the device: only the replayed nonce was refused.
            #expect(try await raw.send("GET", "/api/v1/device", created: now).status == 200)
            #expect(try replicas.b.auditEntries("request.refused").contains { $0.extra["reason"]?.contains("replayed") == true })
        }
    }

    @Test func aDeviceRevokedThroughALosesItsStreamOnB() async throws {
        try await Replicas.with { replicas in
            _ = try await replicas.a.changePolicy(kubectlPolicy)
            let (device, task) = try await replicas.deviceOnB(version: 1)
            let revoke = try await replicas.a.admin(
                "POST", "/admin/v1/devices/\(device.state.deviceID)/revoke", RevokeRequest(reason: "stolen", actor: "test"))
            #expect(revoke.status == 200)
            try await device.policy.wait("B cut the stream") { !device.uplink.status.connected && replicas.b.console.streamConnections == 0 }
            try await device.policy.wait("B refuses the reconnection") { device.uplink.status.lastError?.contains("403") == true }
            #expect(device.policy.versions == [1])
            task.cancel()
        }
    }

    /// NOTIFY is lost on a listener that is away: when B listens again it reads what it missed.
    @Test func aReplicaThatMissedNotificationsCatchesUpWhenItListensAgain() async throws {
        try await Replicas.with { replicas in
            _ = try await replicas.a.changePolicy(kubectlPolicy)
            let (device, task) = try await replicas.deviceOnB(version: 1)
            // v2 written as another replica would, without its NOTIFY: nobody is told.
            try await PostgresTestDatabase.execute(
                "INSERT INTO policy_version (version, document, author, created_at) VALUES (2, $doc$\(kubectlPolicy)$doc$, 'test', 0)",
                on: replicas.url)
            try await Task.sleep(for: .milliseconds(500))
            #expect(device.policy.versions == [1])
            let syncs = try #require(replicas.b.console.changeFeed?.syncs)
            // Both replicas' listening connections cut by the server.
            let cut = try await PostgresTestDatabase.execute(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'vigil-console' AND query LIKE 'LISTEN %'
                """, on: replicas.url)
            #expect(cut.count == 2)
            try await replicas.b.waitForSyncs(atLeast: syncs + 1)
            try await device.policy.wait("v2 read by B once it listens again") { device.policy.versions == [1, 2] }
            task.cancel()
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// One policy, written once on the console, in force on enrolled devices: the event stream, the
// signed bundle, the kept copy, and every way it can go wrong leaving the policy in force.
import Crypto
import Foundation
import Synchronization
import Testing
import VigilAPI
import VigilAudit
import VigilConsole
import VigilFleet
import VigilJSON
import VigilPolicy
import VigilSignatures
import VigilTransport

/// A device's policy engine as the uplink sees it: compiles what it is given, decides by it.
final class DevicePolicy: Sendable {
    let team: String?
    private let applied = Mutex<[PolicyBundle]>([])
    private let policy = Mutex<Policy?>(nil)
    let refuseNext = Mutex(false)

    init(team: String?) { self.team = team }

    var apply: PolicyUplink.Apply {
        { [self] bundle, _ in
            if refuseNext.withLock({ $0 }) { return .failure(TestFailure("refused for the test")) }
            do {
                let compiled = try Policy(yaml: bundle.document, file: "console v\(bundle.version)")
                policy.withLock { $0 = compiled }
                applied.withLock { $0.append(bundle) }
                return .success([])
            } catch {
                return .failure(error)
            }
        }
    }

    var versions: [Int] { applied.withLock { $0.map(\.version) } }

    func decideBash(_ command: String) -> PolicyAction? {
        let call = ToolCall(name: "Bash", input: ["command": .string(command)], cwd: "/home/dev", home: "/home/dev")
        return policy.withLock { $0 }?.decide(call, identity: Identity(user: "dev", teams: team.map { [$0] } ?? [])).action
    }

    /// The decision of the applied policy for `identity` (nil before any policy is applied).
    func decideBash(_ command: String, identity: Identity) -> Decision? {
        let call = ToolCall(name: "Bash", input: ["command": .string(command)], cwd: "/home/dev", home: "/home/dev")
        return policy.withLock { $0 }?.decide(call, identity: identity)
    }

    /// Waits (polling, bounded) until `condition` holds.
    func wait(_ what: String, timeout: Duration = .seconds(10), _ condition: () async -> Bool) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while !(await condition()) {
            guard clock.now < end else { throw TestFailure("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

let kubectlPolicy = """
    vigil: 1
    version: "org-1"
    defaults:
      tool: allow
    rules:
      - {id: no-kubectl, match: Bash(kubectl *), action: deny, reason: Clusters are changed through the pipeline.}
      - {id: infra-kubectl, match: Bash(kubectl *), action: allow, scope: {team: infra}, overrides: [no-kubectl]}
    """

struct EnrolledDevice {
    let enrollment: FleetEnrollment
    let state: EnrollmentState
    let policy: DevicePolicy
    let uplink: PolicyUplink
}

extension LiveConsole {
    func changePolicy(_ document: String, comment: String = "test") async throws -> VigilTransport.HTTPResponse {
        try await admin("POST", "/admin/v1/policy", PolicyChange(document: document, actor: "test", comment: comment))
    }

    func enrolDevice(team: String?, idle: TimeAmount = .seconds(45)) async throws -> EnrolledDevice {
        let enrollment = FleetEnrollment(stateDirectory: TemporaryDirectory.make())
        let state = try await enrollment.enroll(token: try await issueToken(team: team), facts: sampleFacts)
        let policy = DevicePolicy(team: state.team)
        let uplink = try PolicyUplink(
            enrollment: enrollment, state: state, apply: policy.apply, record: { _, _ in }, facts: { sampleFacts }, idle: idle)
        return EnrolledDevice(enrollment: enrollment, state: state, policy: policy, uplink: uplink)
    }
}

import NIOCore

@Suite(.serialized) struct PolicyUplinkTests {
    @Test func aTeamScopedRuleDecidesDifferentlyOnTwoDevices() async throws {
        let live = try await LiveConsole.start()
        let infra = try await live.enrolDevice(team: "infra")
        let web = try await live.enrolDevice(team: "web")
        let tasks = [Task { await infra.uplink.run() }, Task { await web.uplink.run() }]
        #expect(try await live.changePolicy(kubectlPolicy).status == 201)
        try await infra.policy.wait("infra applies v1") { infra.policy.versions == [1] }
        try await web.policy.wait("web applies v1") { web.policy.versions == [1] }
        #expect(infra.policy.decideBash("kubectl get pods") == .allow)
        #expect(web.policy.decideBash("kubectl get pods") == .deny)
        #expect(web.policy.decideBash("ls") == .allow)
        // What each device applied is what it reported.
        try await infra.policy.wait("infra reports v1") {
            (try? await live.console.store.device(id: infra.state.deviceID)?.policyVersion) == 1
        }
        for task in tasks { task.cancel() }
        try await live.stop()
    }

    @Test func aChangeArrivesOnTheOpenStreamAndIsKeptForOfflineStarts() async throws {
        let live = try await LiveConsole.start()
        let device = try await live.enrolDevice(team: "web")
        _ = try await live.changePolicy(kubectlPolicy)
        let task = Task { await device.uplink.run() }
        try await device.policy.wait("v1") { device.policy.versions == [1] }
        try await device.policy.wait("connected") { device.uplink.status.connected }
        #expect(live.console.streamConnections == 1)
        let relaxed = kubectlPolicy.replacingOccurrences(of: "version: \"org-1\"", with: "version: \"org-2\"")
            .replacingOccurrences(of: "scope: {team: infra}", with: "scope: {team: [infra, web]}")
        _ = try await live.changePolicy(relaxed)
        // Applied first, then kept on disk and recorded as in force: wait for the last of the three.
        try await device.policy.wait("v2 pushed") { device.uplink.status.appliedVersion == 2 }
        #expect(device.policy.versions == [1, 2])
        #expect(device.policy.decideBash("kubectl get pods") == .allow)
        task.cancel()
        try await live.stop()

        // The console is gone: a new start applies the kept bundle (verified again), offline.
        let restarted = DevicePolicy(team: "web")
        let offline = try PolicyUplink(
            enrollment: device.enrollment, state: device.state, apply: restarted.apply, record: { _, _ in }, facts: { sampleFacts })
        #expect(offline.applyKeptBundle())
        #expect(restarted.versions == [2])
        #expect(restarted.decideBash("kubectl get pods") == .allow)
    }

    @Test func aTamperedOrForeignBundleIsRefusedAndThePolicyStays() async throws {
        let live = try await LiveConsole.start()
        let device = try await live.enrolDevice(team: "web")
        _ = try await live.changePolicy(kubectlPolicy)
        let task = Task { await device.uplink.run() }
        try await device.policy.wait("v1 applied and kept") { device.policy.versions == [1] && device.uplink.status.appliedVersion == 1 }
        task.cancel()
        try await live.stop()
        let kept = try String(contentsOfFile: device.uplink.bundlePath, encoding: .utf8)

        func start(with jws: String) throws -> (DevicePolicy, PolicyUplink) {
            try jws.write(toFile: device.uplink.bundlePath, atomically: true, encoding: .utf8)
            let policy = DevicePolicy(team: "web")
            let uplink = try PolicyUplink(
                enrollment: device.enrollment, state: device.state, apply: policy.apply, record: { _, _ in }, facts: { sampleFacts })
            return (policy, uplink)
        }
        // One changed byte of the payload.
        var parts = kept.split(separator: ".").map(String.init)
        let payload = Data(
            base64Encoded: parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                + String(repeating: "=", count: (4 - parts[1].count % 4) % 4))!
        let edited = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "action: deny", with: "action: allow")
        parts[1] = Base64URL.encode(Array(edited.utf8))
        var (policy, uplink) = try start(with: parts.joined(separator: "."))
        #expect(!uplink.applyKeptBundle())
        #expect(policy.versions.isEmpty)
        #expect(uplink.status.rejectedBundles == 1)
        #expect(uplink.status.lastError?.contains("does not verify") == true)
        // Signed by another key (a console that is not the pinned one).
        let stranger = P256SigningKey(P256.Signing.PrivateKey())
        let foreign = try CompactJWS.sign(payload: Array(edited.utf8), key: stranger, keyID: stranger.publicKey.keyID, type: PolicyBundle.jwsType)
        (policy, uplink) = try start(with: foreign)
        #expect(!uplink.applyKeptBundle())
        #expect(uplink.status.lastError?.contains("not by the pinned console key") == true)
        // Garbage.
        (policy, uplink) = try start(with: "not a bundle")
        #expect(!uplink.applyKeptBundle())
        #expect(uplink.status.lastError?.contains("malformed") == true)
        #expect(policy.versions.isEmpty)
    }

    @Test func aBrokenPolicyIsRefusedWithItsLineBeforeAnyDevice() async throws {
        let live = try await LiveConsole.start()
        let device = try await live.enrolDevice(team: "web")
        _ = try await live.changePolicy(kubectlPolicy)
        let task = Task { await device.uplink.run() }
        try await device.policy.wait("v1") { device.policy.versions == [1] }
        let broken = kubectlPolicy + "\n  - {id: bad, match: Bash(, action: deny}\n"
        let answer = try await live.changePolicy(broken)
        #expect(answer.status == 400)
        // file:line:column: rule: reason — the broken row is the policy's last line.
        let lastLine = broken.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        #expect(answer.bodyText.contains("policy_invalid") && answer.bodyText.contains("console policy:\(lastLine):"), "\(answer.bodyText)")
        #expect(answer.bodyText.contains("bad"))
        #expect(try await live.console.store.latestPolicy()?.version == 1)
        #expect(try live.auditEntries("policy.change").map(\.decision) == [.allow, .deny])
        try await Task.sleep(for: .milliseconds(300))
        #expect(device.policy.versions == [1])
        task.cancel()
        try await live.stop()
    }

    @Test func aRevokedDeviceLosesItsStreamAndIsRefused() async throws {
        let live = try await LiveConsole.start()
        let device = try await live.enrolDevice(team: "web")
        _ = try await live.changePolicy(kubectlPolicy)
        let task = Task { await device.uplink.run() }
        try await device.policy.wait("connected") { device.uplink.status.connected && device.policy.versions == [1] }
        _ = try await live.admin("POST", "/admin/v1/devices/\(device.state.deviceID)/revoke", RevokeRequest(reason: "stolen", actor: "test"))
        try await device.policy.wait("disconnected") { !device.uplink.status.connected }
        try await device.policy.wait("refused on reconnect") { device.uplink.status.lastError?.contains("403") == true }
        #expect(live.console.streamConnections == 0)
        // The policy in force stays.
        #expect(device.policy.versions == [1])
        #expect(device.policy.decideBash("kubectl get pods") == .deny)
        task.cancel()
        try await live.stop()
    }

    @Test func aDeadConsoleIsNoticedByTheMissingHeartbeat() async throws {
        let live = try await LiveConsole.start()
        let device = try await live.enrolDevice(team: "web", idle: .seconds(1))
        _ = try await live.changePolicy(kubectlPolicy)
        let task = Task { await device.uplink.run() }
        try await device.policy.wait("v1") { device.policy.versions == [1] && device.uplink.status.connected }
        try await live.stop()
        try await device.policy.wait("noticed") { !device.uplink.status.connected && device.uplink.status.lastError != nil }
        #expect(device.policy.versions == [1])
        task.cancel()
    }
}

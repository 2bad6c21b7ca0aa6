// SPDX-License-Identifier: Apache-2.0
// Enrolment and signed device requests against a real console on loopback TLS, with the device side
// (VigilFleet) as `vigil enroll` runs it: every refusal is clear, audited, and changes nothing.
import Crypto
import Foundation
import Testing
import VigilAPI
import VigilAudit
import VigilConsole
import VigilFleet
import VigilSignatures
import VigilTransport

@Suite(.serialized) struct EnrollmentTests {
    @Test func enrolReportRevoke() async throws {
        let live = try await LiveConsole.start()
        let token = try await live.issueToken(team: "infra")
        let device = FleetEnrollment(stateDirectory: TemporaryDirectory.make())
        let state = try await device.enroll(token: token, facts: sampleFacts)
        #expect(state.team == "infra")
        #expect(state.pin == live.console.tls.pin)
        #expect(state.policyKey == live.console.keys.policyKey.publicKey.encoded)
        // The key is root-only on disk.
        var st = stat()
        #expect(stat(device.keyPath, &st) == 0 && st.st_mode & 0o777 == 0o600)

        let summary = try await device.client(for: state).call("GET", "/api/v1/device", as: DeviceSummary.self)
        #expect(summary.id == state.deviceID)
        #expect(summary.facts.hostname == "dev-1")

        var facts = sampleFacts
        facts.enforcementMode = "monitor"
        let report = try JSONEncoder().encode(DeviceReport(facts: facts, policyVersion: 3, counters: ["kernelDropped": 2]))
        let answer = try await device.client(for: state).send("POST", "/api/v1/device/report", body: Array(report))
        #expect(answer.status == 204)
        #expect(try await live.console.store.device(id: state.deviceID)?.facts.enforcementMode == "monitor")

        // Revoked by an admin: refused at once, with the reason.
        let revoke = try await live.admin("POST", "/admin/v1/devices/\(state.deviceID)/revoke", RevokeRequest(reason: "laptop lost", actor: "test"))
        #expect(revoke.status == 200)
        let refused = try await device.client(for: state).send("GET", "/api/v1/device")
        #expect(refused.status == 403)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("laptop lost"))

        #expect(try live.auditEntries("token.issue").count == 1)
        #expect(try live.auditEntries("device.enroll").map(\.decision) == [.allow])
        #expect(try live.auditEntries("device.revoke").first?.extra["reason"] == "laptop lost")
        #expect(try live.auditEntries("request.refused").contains { $0.extra["reason"]?.contains("device_revoked") == true })
        try await live.stop()
    }

    @Test func requestsShareOneConnectionAndOutliveTheConsoleClosingIt() async throws {
        let live = try await LiveConsole.start(idleTimeout: .milliseconds(300))
        defer { Task { try await live.stop() } }
        let device = FleetEnrollment(stateDirectory: TemporaryDirectory.make())
        let state = try await device.enroll(token: try await live.issueToken(), facts: sampleFacts)
        let client = try device.client(for: state)
        // The enrolment's own connections (Connection: close) can still be open for a moment on a busy
        // machine, but none stays: a client used once kept one open for two minutes (10,000 devices
        // enrolling ran the machine out of them).
        let settled = ContinuousClock.now + .seconds(5)
        while Self.establishedConnections(to: live.port) > 0 && ContinuousClock.now < settled { try await Task.sleep(for: .milliseconds(10)) }
        let before = Self.establishedConnections(to: live.port)
        #expect(before == 0, "the enrolment left \(before) connections open")
        for _ in 0..<20 { #expect(try await client.send("GET", "/api/v1/device").status == 200) }
        // Twenty requests, one connection.
        #expect(
            Self.establishedConnections(to: live.port) - before == 1,
            "before \(before), after \(Self.establishedConnections(to: live.port)), port \(live.port)")
        // The console closes it when idle; the next request is sent again on a new one.
        try await Task.sleep(for: .milliseconds(800))
        #expect(try await client.send("GET", "/api/v1/device").status == 200)
        let report = try JSONEncoder().encode(DeviceReport(facts: sampleFacts))
        #expect(try await client.send("POST", "/api/v1/device/report", body: Array(report)).status == 204)
    }

    /// Client-side sockets connected to the console's port (from /proc/net/tcp: state 01, remote port).
    static func establishedConnections(to port: Int) -> Int {
        let hex = String(format: ":%04X", port)
        // Read to the end: /proc files have no size for Foundation's whole-file reads.
        let text =
            (try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/tcp")).readToEnd()).map { String(decoding: $0 ?? Data(), as: UTF8.self) }
            ?? ""
        return text.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[2].hasSuffix(hex) && fields[3] == "01"
        }.count
    }

    @Test func unenrolTellsTheConsoleAndForgetsTheKey() async throws {
        let live = try await LiveConsole.start()
        let device = FleetEnrollment(stateDirectory: TemporaryDirectory.make())
        let state = try await device.enroll(token: try await live.issueToken(), facts: sampleFacts)
        #expect(try await device.unenroll()?.deviceID == state.deviceID)
        #expect(try device.load() == nil)
        #expect(!FileManager.default.fileExists(atPath: device.keyPath))
        #expect(try await live.console.store.device(id: state.deviceID)?.revokedReason == "unenrolled by the device")
        #expect(try await device.unenroll() == nil)
        try await live.stop()
    }

    @Test func aWrongPinSendsNothing() async throws {
        let live = try await LiveConsole.start()
        var token = try EnrollToken(parsing: try await live.issueToken())
        token.pin = "sha256:" + String(repeating: "0", count: 64)
        let device = FleetEnrollment(stateDirectory: TemporaryDirectory.make())
        await #expect { try await device.enroll(token: token.encoded, facts: sampleFacts) } throws: { error in
            (error as? FleetError)?.step == .pin && "\(error)".contains(live.console.tls.pin)
        }
        #expect(!FileManager.default.fileExists(atPath: device.keyPath))
        #expect(try await live.console.store.devices().isEmpty)
        #expect(try live.auditEntries("device.enroll").isEmpty)
        try await live.stop()
    }

    @Test func tokensAreSpentForgedAndExpired() async throws {
        let live = try await LiveConsole.start()
        // Reused: a one-use token enrols one device only.
        let once = try await live.issueToken()
        _ = try await FleetEnrollment(stateDirectory: TemporaryDirectory.make()).enroll(token: once, facts: sampleFacts)
        await #expect { try await FleetEnrollment(stateDirectory: TemporaryDirectory.make()).enroll(token: once, facts: sampleFacts) } throws: {
            ($0 as? FleetError)?.status == 403 && "\($0)".contains("no uses left")
        }
        // Forged: the right id with a secret of our own.
        var forged = try EnrollToken(parsing: try await live.issueToken())
        forged.secret = Base64URL.encode(Array(repeating: 7, count: 32))
        await #expect {
            try await FleetEnrollment(stateDirectory: TemporaryDirectory.make()).enroll(token: forged.encoded, facts: sampleFacts)
        } throws: {
            ($0 as? FleetError)?.status == 403 && "\($0)".contains("is not valid")
        }
        // Expired: issued for a minute, presented two minutes later.
        let short = try await live.issueToken(expiresIn: 60)
        live.clock.advance(120)
        await #expect { try await FleetEnrollment(stateDirectory: TemporaryDirectory.make()).enroll(token: short, facts: sampleFacts) } throws: {
            ($0 as? FleetError)?.status == 403 && "\($0)".contains("expired")
        }
        // Garbage is refused before any connection.
        await #expect {
            try await FleetEnrollment(stateDirectory: TemporaryDirectory.make()).enroll(token: "vigil-enroll-1.!!!", facts: sampleFacts)
        } throws: {
            ($0 as? FleetError)?.step == .token
        }
        #expect(try await live.console.store.devices().count == 1)
        let denied = try live.auditEntries("device.enroll").filter { $0.decision == .deny }.compactMap { $0.extra["reason"] }
        #expect(denied.count == 3)
        #expect(denied.contains { $0.contains("wrong secret") })
        try await live.stop()
    }

    @Test func forgedStaleReplayedAndOversizedRequestsAreRefused() async throws {
        let live = try await LiveConsole.start()
        let device = FleetEnrollment(stateDirectory: TemporaryDirectory.make())
        let state = try await device.enroll(token: try await live.issueToken(), facts: sampleFacts)
        let key = try DeviceKey.load(device.keyPath, create: false)
        let raw = RawDevice(url: state.consoleURL, pin: state.pin, key: key)
        let now = live.clock.read()

        // A signed request works once; the same bytes again are a replay.
        let digest = ContentDigest.header(for: [])
        let signed = try MessageSigner(key: key, keyID: key.publicKey.keyID).sign(
            SignableRequest(
                method: "GET", authority: "127.0.0.1:\(live.port)", path: "/api/v1/device", query: nil, headers: [("Content-Digest", digest)]),
            created: now)
        let headers = [("Content-Digest", digest), ("Signature-Input", signed.signatureInput), ("Signature", signed.signature)]
        #expect(try await raw.send("GET", "/api/v1/device", created: now, headers: headers).status == 200)
        let replay = try await raw.send("GET", "/api/v1/device", created: now, headers: headers)
        #expect(replay.status == 401 && replay.body.contains("replayed"))

        let stale = try await raw.send("GET", "/api/v1/device", created: now - 3600)
        #expect(stale.status == 401 && stale.body.contains("stale_signature"))
        let future = try await raw.send("GET", "/api/v1/device", created: now + 3600)
        #expect(future.status == 401 && future.body.contains("stale_signature"))

        let stranger = RawDevice(url: state.consoleURL, pin: state.pin, key: P256SigningKey(P256.Signing.PrivateKey()))
        let unknown = try await stranger.send("GET", "/api/v1/device", created: now)
        #expect(unknown.status == 401 && unknown.body.contains("unknown_key"))

        let moved = try await raw.send("POST", "/api/v1/device/unenroll", created: now, signedPath: "/api/v1/device")
        #expect(moved.status == 401 && moved.body.contains("bad_signature"))

        let report = Array(try JSONEncoder().encode(DeviceReport(facts: sampleFacts)))
        let swapped = try await raw.send("POST", "/api/v1/device/report", body: report, created: now, signedBody: Array("{}".utf8))
        #expect(swapped.status == 400 && swapped.body.contains("bad_digest"))

        let unsigned = try await raw.send("GET", "/api/v1/device", created: now, headers: [])
        #expect(unsigned.status == 401)

        let garbage = try await raw.send("POST", "/api/v1/device/report", body: Array("not json".utf8), created: now)
        #expect(garbage.status == 400 && garbage.body.contains("not valid JSON"))

        let huge = try await raw.send("POST", "/api/v1/device/report", body: Array(repeating: 0x20, count: 2 << 20), created: now)
        #expect(huge.status == 413)

        // Nothing changed: still enrolled, not revoked, and every refusal is in the console's audit log.
        #expect(try await live.console.store.device(id: state.deviceID)?.revokedAt == nil)
        #expect(try live.auditEntries("request.refused").count >= 8)
        try await live.stop()
    }

    @Test func onlyHealthAnswersWithoutCredentials() async throws {
        let live = try await LiveConsole.start()
        let url = "https://127.0.0.1:\(live.port)"
        let pin = live.console.tls.pin
        #expect(try await RawDevice.send(url: url, pin: pin, method: "GET", path: "/healthz", body: [], headers: []).status == 200)
        for (method, path) in [
            ("GET", "/api/v1/device"), ("POST", "/api/v1/device/report"), ("POST", "/api/v1/device/unenroll"), ("POST", "/api/v1/enroll"),
        ] {
            let answer = try await RawDevice.send(url: url, pin: pin, method: method, path: path, body: [], headers: [])
            #expect((400..<500).contains(answer.status), "\(method) \(path) answered \(answer.status)")
        }
        // The admin API is not on the network at all.
        #expect(try await RawDevice.send(url: url, pin: pin, method: "GET", path: "/admin/v1/devices", body: [], headers: []).status == 404)
        try await live.stop()
    }
}

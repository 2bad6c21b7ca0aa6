// SPDX-License-Identifier: Apache-2.0
// The device's uplink: one long-lived signed event stream that says only "policy version N is
// current", then a signed fetch of the bundle, verified against the console's policy key pinned at
// enrolment, applied, kept on disk and reported. Unreachable console, bad signature, garbage: the
// policy in force stays, and the reason is shown and recorded.
import Foundation
import Glibc
import NIOCore
import Synchronization
import VigilAPI
import VigilHost
import VigilSignatures

public final class PolicyUplink: Sendable {
    /// Hands a verified bundle to the policy engine; `.failure` when it does not take it (the policy in force stays).
    public typealias Apply = @Sendable (PolicyBundle, _ trigger: String) -> Result<[String], any Error>
    /// Records an uplink event in the device's audit log: `event` and its details.
    public typealias Record = @Sendable (_ event: String, _ details: [String: String]) -> Void

    public let enrollment: FleetEnrollment
    public let state: EnrollmentState
    private let client: ConsoleClient
    private let policyKey: MessageVerificationKey
    private let apply: Apply
    private let record: Record
    private let facts: @Sendable () -> DeviceFacts
    private let activity: Activity
    /// How often the device reports when nothing changes: what "last seen" and the dashboard's
    /// "stopped reporting" rest on.
    private let reportInterval: Duration
    private let idle: TimeAmount
    /// Reports are sent this many milliseconds after a change is applied (after the hold, spread).
    private let reportDelay: Range<Int>
    /// The defaults: held one second, then spread over five, so that a fleet's reports come after the
    /// second or so in which the console hands every device the new bundle, not during it (a report
    /// costs the console as much as a fetch; what is in force shows on the console seconds later).
    public static let reportHold: Duration = .seconds(1)
    public static let reportSpread: Duration = .seconds(5)
    private let info: Mutex<ConsoleUplinkInfo>

    /// What the device reports besides its facts: `vigil status`'s counters and activity.
    public typealias Activity = @Sendable () -> (counters: [String: UInt64], activity: DeviceActivity?)

    public var bundlePath: String { enrollment.directory + "/policy-bundle.jws" }

    public init(
        enrollment: FleetEnrollment, state: EnrollmentState, apply: @escaping Apply, record: @escaping Record,
        facts: @escaping @Sendable () -> DeviceFacts, activity: @escaping Activity = { ([:], nil) }, idle: TimeAmount = .seconds(45),
        reportHold: Duration = PolicyUplink.reportHold, reportSpread: Duration = PolicyUplink.reportSpread,
        reportInterval: Duration = .seconds(60)
    ) throws(FleetError) {
        let hold = Self.milliseconds(reportHold)
        reportDelay = hold..<(hold + max(1, Self.milliseconds(reportSpread)))
        self.enrollment = enrollment
        self.state = state
        client = try enrollment.client(for: state)
        do {
            policyKey = try MessageVerificationKey(encoded: state.policyKey)
        } catch {
            throw FleetError(.state, "the pinned console policy key in \(enrollment.statePath) does not parse: \(error)")
        }
        self.apply = apply
        self.record = record
        self.facts = facts
        self.activity = activity
        self.reportInterval = reportInterval
        self.idle = idle
        info = Mutex(ConsoleUplinkInfo(url: state.consoleURL, deviceID: state.deviceID, team: state.team, keyHolder: state.keyHolder ?? "file"))
    }

    /// What `vigil status` shows.
    public var status: ConsoleUplinkInfo { info.withLock { $0 } }

    /// At start: the last bundle kept on disk, verified again and applied, so the device is governed
    /// by its console's policy before (and without) any connection. False when there is none or it fails.
    @discardableResult
    public func applyKeptBundle() -> Bool {
        guard let data = FileManager.default.contents(atPath: bundlePath) else { return false }
        switch take(String(decoding: data, as: UTF8.self), trigger: "start (kept bundle)") {
        case .success: return true
        case .failure(let reason):
            fail("the kept bundle \(bundlePath) was not applied: \(reason)", bundle: true)
            return false
        }
    }

    /// Until the task is cancelled: the stream, reconnected with backoff (1 s doubling to 30 s, with jitter).
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.reportPeriodically() }
            await stream()
            group.cancelAll()
        }
    }

    /// A report soon after start and then every `reportInterval` (±20 %, so a fleet started together spreads out).
    private func reportPeriodically() async {
        try? await Task.sleep(for: .milliseconds(Int.random(in: 0..<reportDelay.count)))
        while !Task.isCancelled {
            await report()
            let millis = Double(reportInterval.components.seconds * 1000) * Double.random(in: 0.8...1.2)
            try? await Task.sleep(for: .milliseconds(Int(millis)))
        }
    }

    private func stream() async {
        var backoff: Double = 1
        while !Task.isCancelled {
            let opened = Date()
            do {
                try await client.events(
                    "/api/v1/device/policy/events", idle: idle,
                    onOpen: { [self] in info.withLock { $0.connected = true } },
                    onEvent: { [self] event in
                        guard event.event == "policy", let version = Self.version(event.data) else { return }
                        await announced(version)
                    })
                fail("the console ended the event stream", bundle: false)
            } catch {
                fail(error.description, bundle: false)
            }
            info.withLock {
                $0.connected = false
                $0.reconnects += 1
            }
            if Date().timeIntervalSince(opened) > 60 { backoff = 1 }
            try? await Task.sleep(for: .milliseconds(Int(backoff * 1000 * Double.random(in: 0.8...1.2))))
            backoff = min(backoff * 2, 30)
        }
    }

    /// A version was announced: fetch it if it is newer than the one in force.
    func announced(_ version: Int) async {
        let applied = info.withLock { info in
            info.announcedVersion = max(info.announcedVersion ?? 0, version)
            return info.appliedVersion ?? 0
        }
        guard version > applied else { return }
        await fetch(applied: applied, announced: "v\(version)")
    }

    /// Without a stream: asks for the newest bundle (204 when the one in force is the newest).
    /// What a polling agent does; the benchmark compares it with the stream.
    public func poll() async {
        await fetch(applied: info.withLock { $0.appliedVersion ?? 0 }, announced: "a poll")
    }

    private func fetch(applied: Int, announced version: String) async {
        let answer: ConsoleClient.Answer
        do {
            answer = try await client.send("GET", "/api/v1/device/policy?have=\(applied)")
        } catch {
            fail("cannot fetch the policy after \(version): \(error)", bundle: false)
            return
        }
        guard answer.status == 200 else {
            if answer.status != 204 { fail("the console refused the policy fetch (\(answer.status))", bundle: false) }
            return
        }
        if case .failure(let reason) = take(String(decoding: answer.body, as: UTF8.self), trigger: "console announced \(version)") {
            fail("the policy after \(version) was not applied: \(reason)", bundle: true)
            return
        }
        // Told a little later, spread over the fleet: the console's first job after a change is
        // handing out the bundle, not taking every device's report in the same second.
        Task { [self] in
            try? await Task.sleep(for: .milliseconds(Int.random(in: reportDelay)))
            await report()
        }
    }

    /// Verifies, decodes, applies; keeps the bundle on disk only once it is in force.
    private func take(_ jws: String, trigger: String) -> Result<Int, FleetError> {
        let bundle: PolicyBundle
        do {
            let payload = try CompactJWS.verify(jws, key: policyKey, keyID: policyKey.keyID, type: PolicyBundle.jwsType)
            bundle = try JSONDecoder().decode(PolicyBundle.self, from: Data(payload))
        } catch let error as JWSError {
            return .failure(FleetError(.response, error.description))
        } catch {
            return .failure(FleetError(.response, "the signed bundle's payload is not a policy bundle: \(error)"))
        }
        if let applied = info.withLock({ $0.appliedVersion }), bundle.version <= applied {
            return bundle.version == applied
                ? .success(applied)
                : .failure(FleetError(.response, "v\(bundle.version) is older than v\(applied) in force (a replay or a rollback)"))
        }
        switch apply(bundle, trigger) {
        case .failure(let error): return .failure(FleetError(.refused, "this device did not take it: \(error)"))
        case .success(let dropped):
            do {
                try DurableFile.replace(bundlePath, with: Array(jws.utf8), mode: 0o600)
            } catch {
                // In force, but not kept: a restart without the console would fall back to the previous bundle.
                fail("policy v\(bundle.version) is in force but could not be kept on disk: \(error)", bundle: false)
            }
            info.withLock { info in
                info.appliedVersion = bundle.version
                info.appliedAt = Int64(Date().timeIntervalSince1970)
                info.lastError = nil
                info.droppedLocalRules = dropped
            }
            record("uplink.applied", ["consoleVersion": String(bundle.version), "trigger": trigger])
            return .success(bundle.version)
        }
    }

    /// Tells the console what is in force here.
    func report() async {
        let (counters, activity) = activity()
        let report = DeviceReport(facts: facts(), policyVersion: info.withLock { $0.appliedVersion }, counters: counters, activity: activity)
        guard let body = try? JSONEncoder().encode(report) else { return }
        do {
            let answer = try await client.send("POST", "/api/v1/device/report", body: Array(body))
            if answer.status != 204 { fail("the console refused the report (\(answer.status))", bundle: false) }
        } catch {
            fail("cannot report to the console: \(error)", bundle: false)
        }
    }

    private func fail(_ reason: String, bundle: Bool) {
        info.withLock { info in
            info.lastError = reason
            if bundle { info.rejectedBundles += 1 }
        }
        record(bundle ? "uplink.rejected" : "uplink.problem", ["reason": reason])
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    static func version(_ data: String) -> Int? {
        struct Announcement: Decodable { var version: Int }
        return (try? JSONDecoder().decode(Announcement.self, from: Data(data.utf8)))?.version
    }
}

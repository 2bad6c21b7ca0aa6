// SPDX-License-Identifier: Apache-2.0
// An enrolled device's uplink as one of vigild's services: the console's policy applied through the
// policy service (layered with the local file's denials), every step recorded in the audit log.
import Foundation
import ServiceLifecycle
import Synchronization
import VigilAPI
import VigilAudit
import VigilFleet
import VigilPolicy
import VigilRuntime

/// The device's console link for as long as it is enrolled: started at once when vigild starts
/// enrolled (the kept bundle in force before any connection), started when `vigil enroll` enrols a
/// running device, stopped — the local file alone in force again — when `vigil unenroll` removes
/// the enrolment. No restart either way.
final class UplinkService: Service, Sendable {
    let stateDirectory: String
    let deviceID: String
    let policy: PolicyService
    let journal: DaemonJournal
    let enforcementMode: String
    let teams: DeviceTeams
    /// The console's bindings of OS accounts to people, asked through this enrolment.
    let bindings: HumanBindings
    /// The live posture, whose facts each report carries (the console's posture history).
    let posture: PostureTimeline
    let status: @Sendable () -> DaemonStatus
    /// How often the enrolment file is looked at.
    let checkInterval: Duration
    private let current = Mutex<PolicyUplink?>(nil)

    init(
        stateDirectory: String, deviceID: String, policy: PolicyService, journal: DaemonJournal, enforcementMode: String,
        teams: DeviceTeams, bindings: HumanBindings, posture: PostureTimeline, status: @escaping @Sendable () -> DaemonStatus,
        checkInterval: Duration = .seconds(2)
    ) {
        self.teams = teams
        self.bindings = bindings
        self.posture = posture
        self.stateDirectory = stateDirectory
        self.deviceID = deviceID
        self.policy = policy
        self.journal = journal
        self.enforcementMode = enforcementMode
        self.status = status
        self.checkInterval = checkInterval
    }

    /// At start: the enrolment's uplink with its kept bundle applied, when the device is enrolled.
    func startIfEnrolled() {
        guard let uplink = make() else { return }
        uplink.applyKeptBundle()
        current.withLock { $0 = uplink }
    }

    var enrolmentPath: String { FleetEnrollment(stateDirectory: stateDirectory).statePath }

    /// The uplink of `stateDirectory`'s enrolment; nil when the device is not enrolled. A damaged
    /// enrolment is an error for status (the device then runs on its local policy), never silent.
    private func make() -> PolicyUplink? {
        let enrollment = FleetEnrollment(stateDirectory: stateDirectory)
        do {
            guard let state = try enrollment.load() else { return nil }
            let (policy, journal, deviceID, enforcementMode, status, posture) = (policy, journal, deviceID, enforcementMode, status, posture)
            let uplink = try PolicyUplink(
                enrollment: enrollment, state: state,
                apply: { bundle, trigger in
                    policy.adoptConsole(bundle, trigger: trigger).map(\.dropped).mapError { $0 as any Error }
                },
                record: { event, details in
                    var entry = AuditEntry(kind: "uplink", deviceId: deviceID, policyVersion: policy.current.version)
                    if event == "uplink.rejected" { entry.decision = .deny }
                    entry.extra = details
                    entry.extra["event"] = event
                    entry.extra["console"] = state.consoleURL
                    journal.record([entry])
                },
                facts: { DeviceFacts.local(enforcementMode: enforcementMode, posture: Self.summary(of: posture.current.facts)) },
                activity: { Self.activity(of: status()) })
            // Before anything is switched over: a client that cannot be made leaves the device as it was.
            let client = try enrollment.client(for: state)
            policy.setUplink { uplink.status }
            teams.setConsoleTeam(state.team)
            bindings.setConsole(client)
            return uplink
        } catch {
            journal.noteError("console uplink not started: \(error); the local policy alone is in force")
            return nil
        }
    }

    private var enrolled: Bool { FileManager.default.fileExists(atPath: enrolmentPath) }

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// Runs the uplink while enrolled; notices an enrolment appearing or going.
    private func follow() async {
        // A damaged enrolment is noted once (by make()) and tried again only when the file changes.
        var damaged: Date?
        while !Task.isCancelled {
            if let uplink = current.withLock({ $0 }) {
                let link = Task { await uplink.run() }
                while !Task.isCancelled && enrolled { try? await Task.sleep(for: checkInterval) }
                link.cancel()
                await link.value
                guard !Task.isCancelled else { return }
                current.withLock { $0 = nil }
                policy.setUplink(nil)
                teams.setConsoleTeam(nil)
                bindings.setConsole(nil)
                policy.leaveConsole(reason: "the enrolment \(enrolmentPath) was removed (vigil unenroll)")
            } else if enrolled, modified != damaged {
                if let uplink = make() {
                    damaged = nil
                    current.withLock { $0 = uplink }
                    continue
                }
                damaged = modified
            } else {
                try? await Task.sleep(for: checkInterval)
            }
        }
    }

    private var modified: Date? { (try? FileManager.default.attributesOfItem(atPath: enrolmentPath))?[.modificationDate] as? Date }

    /// Posture facts as the console shows them: `name → value`, an unknown one as `unknown (why)`.
    static func summary(of facts: [String: PostureFact]) -> [String: String] {
        facts.mapValues { fact in
            switch fact {
            case .bool(let value): String(value)
            case .int(let value): String(value)
            case .string(let value): value
            case .unknown(let why): "unknown (\(why))"
            }
        }
    }

    /// What the console's dashboard needs of `vigil status` (root's view: every session).
    static func activity(of status: DaemonStatus) -> (counters: [String: UInt64], activity: DeviceActivity?) {
        let s = status.sensor
        var counters: [String: UInt64] = [
            "kernel_dropped": s.kernelDropped, "consumer_dropped": s.consumerDropped, "decode_errors": UInt64(s.decodeErrors),
            "gaps": UInt64(s.gaps), "hook_failures": UInt64(status.hooks.failures), "audit_failures": UInt64(status.audit.failures),
            "orphan_events": UInt64(status.orphanEvents), "errors": UInt64(status.errors), "degraded_modes": UInt64(s.degraded.count),
        ]
        for (name, count) in status.refused ?? [:] { counters["refused_" + name] = UInt64(count) }
        // The drop-in vigild wrote, if it is still there: a deleted one means hooks no longer reach vigild.
        let dropIn = status.hooks.dropIn.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        let activity = DeviceActivity(
            sessions: status.sessions.map {
                .init(id: $0.id, agent: $0.agent, user: $0.user, startedAt: $0.startedAt, toolCalls: $0.toolCalls, denied: $0.deniedToolCalls)
            },
            unmanagedAgents: status.unmanagedAgents.map {
                .init(pid: $0.pid, agent: $0.agent, user: "uid \($0.uid)", exe: $0.exe, firstSeen: $0.firstSeen)
            },
            hooksDropIn: dropIn, errors: status.errors)
        return (counters, activity)
    }
}

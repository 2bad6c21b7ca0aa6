// SPDX-License-Identifier: Apache-2.0
// An enrolled device's uplink as one of vigild's services: the console's policy applied through the
// policy service (layered with the local file's denials), every step recorded in the audit log.
import Foundation
import ServiceLifecycle
import VigilAPI
import VigilAudit
import VigilFleet
import VigilPolicy

struct UplinkService: Service {
    let uplink: PolicyUplink

    /// The uplink of `stateDirectory`'s enrolment; nil when the device is not enrolled. A damaged
    /// enrolment is an error for status (the device then runs on its local policy), never silent.
    static func make(
        stateDirectory: String, deviceID: String, policy: PolicyService, journal: DaemonJournal, enforcementMode: String,
        status: @escaping @Sendable () -> DaemonStatus
    ) -> UplinkService? {
        let enrollment = FleetEnrollment(stateDirectory: stateDirectory)
        do {
            guard let state = try enrollment.load() else { return nil }
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
                facts: { DeviceFacts.local(enforcementMode: enforcementMode) },
                activity: { Self.activity(of: status()) })
            policy.uplinkInfo = { uplink.status }
            return UplinkService(uplink: uplink)
        } catch {
            journal.noteError("console uplink not started: \(error); the local policy alone is in force")
            return nil
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

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await uplink.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}

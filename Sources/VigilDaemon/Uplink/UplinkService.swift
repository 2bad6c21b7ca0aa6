// SPDX-License-Identifier: Apache-2.0
// An enrolled device's uplink as one of vigild's services: the console's policy applied through the
// policy service (layered with the local file's denials), every step recorded in the audit log.
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
        stateDirectory: String, deviceID: String, policy: PolicyService, journal: DaemonJournal, enforcementMode: String
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
                facts: { DeviceFacts.local(enforcementMode: enforcementMode) })
            policy.uplinkInfo = { uplink.status }
            return UplinkService(uplink: uplink)
        } catch {
            journal.noteError("console uplink not started: \(error); the local policy alone is in force")
            return nil
        }
    }

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await uplink.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}

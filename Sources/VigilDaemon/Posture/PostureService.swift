// SPDX-License-Identifier: Apache-2.0
// Device posture for the whole daemon: the monitor's current snapshot, and each change put in
// force by the engine (decisions read the new facts, every session's kernel rules are re-planned)
// and audited with before and after.
import ServiceLifecycle
import VigilAudit
import VigilPosture
import VigilRuntime

final class PostureService: Service {
    let monitor: PostureMonitor
    let deviceID: String
    private let engine: KernelEngine
    private let journal: DaemonJournal

    init(monitor: PostureMonitor, deviceID: String, engine: KernelEngine, journal: DaemonJournal) {
        self.monitor = monitor
        self.deviceID = deviceID
        self.engine = engine
        self.journal = journal
    }

    /// The posture now (decisions read the engine's timeline, which follows it).
    var snapshot: PostureSnapshot { monitor.current }

    func run() async throws {
        engine.watchPosture(monitor) { [self] before, after, changes, replan in
            let failures = replan.messages(because: "posture change", journal: journal)
            let applied =
                failures.isEmpty
                ? "kernel rules re-planned for every live session"
                : "kernel rules could not be re-planned for some sessions: " + failures.joined(separator: "; ")
            journal.record([
                PostureChangeEntry.make(
                    before: before, after: after, changes: changes, deviceID: deviceID,
                    session: nil, applied: applied)
            ])
        }
        try? await gracefulShutdown()
        monitor.stop()
    }
}

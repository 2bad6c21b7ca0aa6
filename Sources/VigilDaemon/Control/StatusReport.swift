// SPDX-License-Identifier: Apache-2.0
// `DaemonStatus` (VigilAPI) as vigild fills it in for one caller: each service reports its part.
import Foundation
import Glibc
import Synchronization
import VigilAPI
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

struct StatusReport: Sendable {
    let deviceID: String
    let startedAt: Int64
    let enforcementMode: String
    let failClosed: Bool
    let sensor: Sensor
    let kernel: KernelCounters
    let sessions: SessionRegistry
    let policy: PolicyService
    let journal: DaemonJournal
    let hooks: HookService

    private var engine: KernelEngine { sessions.engine }
    private var decider: KernelDecider { sessions.engine.decider }

    /// Status as `uid` may see it.
    func status(for uid: UInt32) -> DaemonStatus {
        let c = sensor.counters()
        let isRoot = uid == 0
        let policyInfo = policy.info, recentErrors = journal.recentErrors
        let view = sessions.statusView(visibleTo: uid)
        let latency = hooks.latency
        return DaemonStatus(
            pid: getpid(), startedAt: startedAt, enforcementMode: enforcementMode, device: deviceID,
            policy: policyInfo, posture: decider.posture.current.hash,
            ptraceRestricted: { if case .bool(let b) = decider.posture.current.facts["ptrace_restricted"] { b } else { nil } }(),
            sensor: .init(
                programs: Dictionary(
                    uniqueKeysWithValues: sensor.programs.map {
                        ($0.name, $0.attached ? "attached" : "not attached: \(String(cString: strerror($0.errorCode ?? 0)))")
                    }),
                degraded: sensor.degradedModes, emitted: c.totalEmitted, kernelDropped: c.totalDropped,
                consumerDropped: sensor.consumerDroppedRecords.load(ordering: .relaxed),
                decodeErrors: kernel.decodeErrors.load(ordering: .relaxed), gaps: kernel.gaps.load(ordering: .relaxed),
                networkDenied: c.networkDenied, execKilled: c.execKilled, openKilled: c.openKilled,
                processAccessKilled: c.processAccessKilled, peerCrossings: c.peerOutside, peerDenied: c.peerDenied),
            hooks: .init(
                url: hooks.url, dropIn: hooks.dropIn, failClosed: failClosed,
                calls: hooks.counters.calls.load(ordering: .relaxed), denied: hooks.counters.denied.load(ordering: .relaxed),
                rejectedCallers: hooks.counters.rejectedCallers.load(ordering: .relaxed),
                failures: hooks.counters.failures.load(ordering: .relaxed),
                p50Microseconds: latency.p50.map { $0 / 1000 },
                p99Microseconds: latency.p99.map { $0 / 1000 },
                trustedBinaries: hooks.trustedBinaries),
            audit: .init(
                directory: journal.audit.layout.directory, entries: journal.audit.size,
                appended: journal.counters.auditEntries.load(ordering: .relaxed),
                failures: journal.counters.auditFailures.load(ordering: .relaxed)),
            deviceKey: .init(
                kind: journal.audit.verifierKey.kind, keyID: journal.audit.verifierKey.hexID,
                verifierKey: journal.audit.verifierKey.description, holder: journal.audit.keyHolder.rawValue),
            sessions: view.live,
            recentlyEnded: view.recentlyEnded,
            unmanagedAgents: view.unmanaged,
            attribution: view.attribution,
            timelineFailures: sessions.counters.timelineFailures.load(ordering: .relaxed),
            orphanEvents: sessions.counters.orphanEvents.load(ordering: .relaxed),
            refused: [
                "nestedSessions": sessions.counters.nestedSessionsRefused.load(ordering: .relaxed),
                "unknownSession": engine.unknownSessionDenials.load(ordering: .relaxed),
            ],
            errors: journal.counters.errors.load(ordering: .relaxed),
            recentErrors: isRoot ? recentErrors : [],
            bindings: sessions.bindings.status(visibleTo: uid),
            scope: isRoot ? "all" : "uid \(uid)")
    }
}

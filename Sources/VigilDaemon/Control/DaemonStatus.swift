// SPDX-License-Identifier: Apache-2.0
// `DaemonStatus` (VigilAPI) as vigild fills it in for one caller.
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

extension Daemon {
    /// Status as `uid` may see it.
    public func status(for uid: UInt32) -> DaemonStatus {
        let c = sensor.counters()
        let isRoot = uid == 0
        let hookURL = "http://\(configuration.hookHost):\(hookPort)/v1/hook"
        let policyInfo = policy.info, recentErrors = journal.recentErrors
        return state.withLock { state in
            let visible = { (owner: UInt32) in isRoot || owner == uid }
            return DaemonStatus(
                pid: getpid(), startedAt: startedAt, enforcementMode: enforcementMode, device: configuration.deviceID,
                policy: policyInfo, posture: decider.posture.current.hash,
                ptraceRestricted: { if case .bool(let b) = decider.posture.current.facts["ptrace_restricted"] { b } else { nil } }(),
                sensor: .init(
                    programs: Dictionary(uniqueKeysWithValues: sensor.programs.map {
                        ($0.name, $0.attached ? "attached" : "not attached: \(String(cString: strerror($0.errorCode ?? 0)))")
                    }),
                    degraded: sensor.degradedModes, emitted: c.totalEmitted, kernelDropped: c.totalDropped,
                    consumerDropped: sensor.consumerDroppedRecords.load(ordering: .relaxed),
                    decodeErrors: counters.decodeErrors.load(ordering: .relaxed), gaps: counters.gaps.load(ordering: .relaxed),
                    networkDenied: c.networkDenied, execKilled: c.execKilled, openKilled: c.openKilled,
                    processAccessKilled: c.processAccessKilled, peerCrossings: c.peerOutside, peerDenied: c.peerDenied),
                hooks: .init(
                    url: hookURL, dropIn: installedDropIn.withLock { $0 }, failClosed: configuration.failClosed,
                    calls: counters.hookCalls.load(ordering: .relaxed), denied: counters.hookDenied.load(ordering: .relaxed),
                    rejectedCallers: counters.hookRejectedCallers.load(ordering: .relaxed),
                    failures: counters.hookFailures.load(ordering: .relaxed),
                    p50Microseconds: state.hookLatencies.percentile(0.5).map { $0 / 1000 },
                    p99Microseconds: state.hookLatencies.percentile(0.99).map { $0 / 1000 },
                    trustedBinaries: trust.configuredPaths),
                audit: .init(directory: audit.layout.directory, entries: audit.size,
                             appended: counters.auditEntries.load(ordering: .relaxed),
                             failures: counters.auditFailures.load(ordering: .relaxed)),
                sessions: state.sessions.values.map(\.record).filter { visible($0.uid) }.sorted { $0.startedAt < $1.startedAt },
                recentlyEnded: state.endedSessions.filter { visible($0.uid) }.suffix(20),
                unmanagedAgents: state.unmanaged.values.filter { visible($0.uid) }.sorted { $0.pid < $1.pid },
                attribution: ["attributed": state.attributor.counters.attributed, "unattributed": state.attributor.counters.unattributed,
                              "pendingDropped": state.attributor.counters.pendingDropped],
                timelineFailures: counters.timelineFailures.load(ordering: .relaxed),
                orphanEvents: counters.orphanEvents.load(ordering: .relaxed),
                refused: ["nestedSessions": counters.nestedSessionsRefused.load(ordering: .relaxed),
                          "unknownSession": engine.unknownSessionDenials.load(ordering: .relaxed)],
                errors: counters.errors.load(ordering: .relaxed),
                recentErrors: isRoot ? recentErrors : [],
                scope: isRoot ? "all" : "uid \(uid)")
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// What `vigil status` shows: the enforcement mode, every session the caller may see, every drop,
// failure and degraded mode — counted, never silent.
import Foundation
import Glibc
import Synchronization
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

public struct DaemonStatus: Codable, Sendable {
    public struct Sensor: Codable, Sendable {
        public var programs: [String: String]
        public var degraded: [String]
        public var emitted: UInt64
        public var kernelDropped: UInt64
        public var consumerDropped: UInt64
        public var decodeErrors: Int
        public var gaps: Int
        public var networkDenied: UInt64
        public var execKilled: UInt64
        public var openKilled: UInt64
    }

    public struct Hooks: Codable, Sendable {
        public var url: String
        public var dropIn: String?
        public var failClosed: Bool
        public var calls: Int
        public var denied: Int
        public var rejectedCallers: Int
        public var failures: Int
        public var p50Microseconds: UInt64?
        public var p99Microseconds: UInt64?
        public var trustedBinaries: [String]
    }

    public struct Audit: Codable, Sendable {
        public var directory: String
        public var entries: Int
        public var appended: Int
        public var failures: Int
    }

    public var version = 1
    public var pid: Int32
    public var startedAt: Int64
    public var enforcementMode: String
    public var device: String
    public var policy: PolicyInfo
    public var posture: String?
    public var sensor: Sensor
    public var hooks: Hooks
    public var audit: Audit
    public var sessions: [SessionRecord]
    public var recentlyEnded: [SessionRecord]
    public var unmanagedAgents: [UnmanagedAgent]
    public var attribution: [String: Int]
    public var timelineFailures: Int
    public var orphanEvents: Int
    public var errors: Int
    public var recentErrors: [String]
    /// The caller sees only their own sessions and agents unless root.
    public var scope: String
}

extension Daemon {
    /// Status as `uid` may see it.
    public func status(for uid: UInt32) -> DaemonStatus {
        let c = sensor.counters()
        let isRoot = uid == 0
        let hookURL = "http://\(configuration.hookHost):\(hookPort)/v1/hook"
        return state.withLock { state in
            let visible = { (owner: UInt32) in isRoot || owner == uid }
            return DaemonStatus(
                pid: getpid(), startedAt: startedAt, enforcementMode: enforcementMode, device: configuration.deviceID,
                policy: state.policyInfo, posture: decider.posture.current.hash,
                sensor: .init(
                    programs: Dictionary(uniqueKeysWithValues: sensor.programs.map {
                        ($0.name, $0.attached ? "attached" : "not attached: \(String(cString: strerror($0.errorCode ?? 0)))")
                    }),
                    degraded: sensor.degradedModes, emitted: c.totalEmitted, kernelDropped: c.totalDropped,
                    consumerDropped: sensor.consumerDroppedRecords.load(ordering: .relaxed),
                    decodeErrors: counters.decodeErrors.load(ordering: .relaxed), gaps: counters.gaps.load(ordering: .relaxed),
                    networkDenied: c.networkDenied, execKilled: c.execKilled, openKilled: c.openKilled),
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
                errors: counters.errors.load(ordering: .relaxed),
                recentErrors: isRoot ? state.recentErrors : [],
                scope: isRoot ? "all" : "uid \(uid)")
        }
    }
}

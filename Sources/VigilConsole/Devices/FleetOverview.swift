// SPDX-License-Identifier: Apache-2.0
// The dashboard's numbers, computed from what devices last reported: who is enrolled and heard
// from, which agent sessions run, and the adoption gaps a security team chases — devices that went
// quiet, devices without the hooks drop-in or behind on policy, agents running outside Vigil.
import VigilAudit
import HTTPTypes
import VigilAPI

public struct FleetOverview: Codable, Sendable, Equatable {
    /// A device that has not reported for this long has stopped reporting (devices report every minute).
    public static let quietAfter: Int64 = 180

    public struct Gap: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            case stoppedReporting = "stopped-reporting", hooksMissing = "hooks-missing", policyStale = "policy-stale", agentsOutsideVigil =
                "agents-outside-vigil", neverReported = "never-reported"
        }
        public var device: String
        public var hostname: String
        public var kind: Kind
        public var detail: String
    }

    public struct ActiveSession: Codable, Sendable, Equatable {
        public var device: String
        public var hostname: String
        public var session: DeviceActivity.Session
    }

    public struct OutsideAgent: Codable, Sendable, Equatable {
        public var device: String
        public var hostname: String
        public var agent: DeviceActivity.UnmanagedAgent
    }

    public var now: Int64
    public var enrolled: Int
    public var reporting: Int
    public var revoked: Int
    public var latestPolicy: Int?
    public var onLatestPolicy: Int
    public var sessions: [ActiveSession]
    public var outsideAgents: [OutsideAgent]
    public var gaps: [Gap]
    /// Drops and errors summed over the fleet, by counter name.
    public var counters: [String: UInt64]

    public static func load(store: any ConsoleStore, now: Int64) async throws -> FleetOverview {
        compute(devices: try await store.devices(), latestPolicy: try await store.latestPolicy()?.version, now: now)
    }

    public static func compute(devices: [DeviceRecord], latestPolicy: Int?, now: Int64) -> FleetOverview {
        var overview = FleetOverview(
            now: now, enrolled: 0, reporting: 0, revoked: 0, latestPolicy: latestPolicy, onLatestPolicy: 0, sessions: [], outsideAgents: [],
            gaps: [], counters: [:])
        for device in devices {
            guard device.revokedAt == nil else {
                overview.revoked += 1
                continue
            }
            overview.enrolled += 1
            let host = device.facts.hostname
            func gap(_ kind: Gap.Kind, _ detail: String) { overview.gaps.append(Gap(device: device.id, hostname: host, kind: kind, detail: detail)) }
            let quiet = now - device.lastSeen
            if quiet > quietAfter {
                gap(.stoppedReporting, "last seen \(quiet / 60) min ago")
            } else {
                overview.reporting += 1
            }
            if let latestPolicy {
                if device.policyVersion == latestPolicy {
                    overview.onLatestPolicy += 1
                } else {
                    gap(.policyStale, device.policyVersion.map { "v\($0) in force, v\(latestPolicy) is current" } ?? "no console policy in force")
                }
            }
            for (name, value) in device.counters { overview.counters[name, default: 0] += value }
            guard let activity = device.activity else {
                if quiet <= quietAfter {
                    gap(.neverReported, "no report since it enrolled (reports come every minute; a Vigil before 0.1 sends none)")
                }
                continue
            }
            if activity.hooksDropIn == nil { gap(.hooksMissing, "Claude Code's hooks do not reach vigild: the managed-settings drop-in is missing") }
            if !activity.unmanagedAgents.isEmpty {
                gap(.agentsOutsideVigil, activity.unmanagedAgents.map { "\($0.agent) pid \($0.pid) (\($0.user))" }.joined(separator: ", "))
            }
            overview.sessions += activity.sessions.map { ActiveSession(device: device.id, hostname: host, session: $0) }
            overview.outsideAgents += activity.unmanagedAgents.map { OutsideAgent(device: device.id, hostname: host, agent: $0) }
        }
        return overview
    }
}

// SPDX-License-Identifier: Apache-2.0
// What `vigild` is told at start: where its policy, state, audit log and sockets are, and how the
// Claude Code hooks reach it.
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

public struct DaemonConfiguration: Sendable {
    public var policyPath = "/etc/vigil/policy.yaml"
    /// Sessions, the install record of the hooks drop-in, the audit log (by default).
    public var stateDirectory = "/var/lib/vigil"
    public var auditDirectory: String?
    /// The audit signing key (default AUDIT/audit.key, generated on first start).
    public var auditKey: String?
    /// The local API: every user may connect; each sees and starts only their own sessions.
    public var socketPath = "/run/vigil/vigild.sock"
    public var hookHost = "127.0.0.1"
    /// 0: any free port (written to `portFile`).
    public var hookPort: UInt16 = 7378
    public var portFile: String?
    /// The managed-settings drop-in goes under ROOT/etc/claude-code.
    public var installRoot = "/"
    public var installHooks = true
    /// Hooks block the tool call when the daemon is down, slow or failing (`onFailure:"block"`).
    public var failClosed = true
    public var hookTimeoutSeconds = 10
    /// Claude Code binaries (or `cli.js` scripts) whose processes may call the hooks, besides
    /// root-owned, non-writable installs recognised as Claude Code.
    public var trustedAgentBinaries: [String] = []
    /// Endpoint-protection process names for the posture probe (default: the probe's list).
    public var edrProcessNames: [String]?
    public var deviceID: String
    /// Teams every user of this device is in for policy scopes, besides their Unix groups: the
    /// configured ones; an enrolled device adds its console team while it is enrolled (DeviceTeams).
    public var deviceTeams: [String] = []
    /// A Claude Code that calls the hooks outside every session is adopted as one (its tree tagged,
    /// moved into a session cgroup, every kernel event decided and audited). Off: its hook calls
    /// are still decided and audited, its kernel events are not followed.
    public var adoptUnwrapped = true
    /// How often the policy file is checked for changes (SIGHUP reloads at once).
    public var policyPollInterval: Duration = .seconds(1)

    public init(deviceID: String) {
        self.deviceID = deviceID
    }

    public var resolvedAuditDirectory: String { auditDirectory ?? stateDirectory + "/audit" }
    public var sessionsDirectory: String { stateDirectory + "/sessions" }
    public var hookURL: String { "http://\(hookHost):\(hookPort)/v1/hook" }
}

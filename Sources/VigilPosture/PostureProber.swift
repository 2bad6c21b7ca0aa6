// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// Runs every probe against one root and assembles the snapshot.

import Foundation

/// What the prober reads and how.
public struct PostureConfiguration: Sendable {
    /// The directory standing in for `/`. Default `/`.
    public var root: String
    /// Paths whose filesystems must be encrypted for `disk_encrypted`. Default `/` and `/home`.
    public var encryptedPaths: [String]
    /// Process names that count as endpoint protection. Default ``EndpointProtectionProbe/defaultProcessNames``.
    public var endpointProtectionProcessNames: [String]
    /// Runs `nft`, `iptables-legacy-save`, `loginctl`. Default: the live ``CommandRunner/system(searchPath:timeout:)``
    /// when `root` is `/`; otherwise a disabled runner, since commands would read the live system, not the root.
    public var commandRunner: CommandRunner
    /// The clock for `taken_at` and patch age. Default: the system clock.
    public var now: @Sendable () -> Date

    public init(
        root: String = "/",
        encryptedPaths: [String] = ["/", "/home"],
        endpointProtectionProcessNames: [String] = EndpointProtectionProbe.defaultProcessNames,
        commandRunner: CommandRunner? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.root = root
        self.encryptedPaths = encryptedPaths
        self.endpointProtectionProcessNames = endpointProtectionProcessNames
        self.commandRunner =
            commandRunner
            ?? (root == "/" ? .system() : .disabled(reason: "commands not run: probe root is \(root), not /"))
        self.now = now
    }
}

/// Takes posture snapshots. Synchronous; all file I/O is relative to the configured root.
public struct PostureProber: Sendable {
    public let configuration: PostureConfiguration

    public init(configuration: PostureConfiguration = PostureConfiguration()) {
        self.configuration = configuration
    }

    /// Runs every probe once. Never fails: a probe that cannot read its source reports `unknown`.
    /// - Parameter vigilHealth: the sensor's state, or `nil` when no daemon is running (→ `unknown`).
    public func snapshot(vigilHealth: VigilHealth?) -> PostureSnapshot {
        let root = PostureRoot(configuration.root)
        let now = configuration.now()
        var observations = VigilHealth.observations(vigilHealth)
        observations[.diskEncrypted] = DiskEncryptionProbe(root: root, paths: configuration.encryptedPaths).observe()
        observations[.secureBoot] = SecureBootProbe(root: root).observe()
        observations[.firewallActive] = FirewallProbe(root: root, runner: configuration.commandRunner).observe()
        observations[.edrRunning] = EndpointProtectionProbe(root: root, names: configuration.endpointProtectionProcessNames).observe()
        observations[.screenLocked] = ScreenLockProbe(root: root, runner: configuration.commandRunner).observe()
        observations.merge(SystemReleaseProbe(root: root, now: now).observe()) { _, new in new }
        observations.merge(KernelHardeningProbe(root: root).observe()) { _, new in new }
        return PostureSnapshot(takenAt: now, observations: observations)
    }

    /// Re-evaluates `edr_running` from a live process list and returns `snapshot` updated with it
    /// (new time, new hash), for the daemon to call on exec/exit of a process.
    public func updatingEndpointProtection(
        _ snapshot: PostureSnapshot, runningProcesses: [RunningProcess]
    ) -> PostureSnapshot {
        let observation = EndpointProtectionProbe.evaluate(
            runningProcesses: runningProcesses, names: configuration.endpointProtectionProcessNames)
        return snapshot.updating([.edrRunning: observation], at: configuration.now())
    }
}

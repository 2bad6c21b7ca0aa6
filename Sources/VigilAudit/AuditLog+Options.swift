// SPDX-License-Identifier: Apache-2.0
// The writer's configuration: checkpoint cadence and what opening checks.
import Foundation

extension AuditLog {
    /// Writer settings. Defaults follow Tessera's cadence order of magnitude (≤ 1 s, ≤ 1,024 entries).
    public struct Options: Sendable {
        /// Issue a checkpoint once this many entries are not covered by one. Default 1,024.
        public var checkpointEvery: Int
        /// Issue a checkpoint when entries have been uncovered this long. Default 1 s.
        public var checkpointInterval: Duration
        /// Run a background timer so the interval holds even when no further appends come. Default `true`.
        public var backgroundCheckpoints: Bool
        /// Device id written into entries the log creates itself (torn-tail gap records). Default: host name.
        public var deviceId: String
        /// On open, also decode every entry's JSON (not only framing, chain and roots). Default `true`.
        public var decodeEntriesOnOpen: Bool
        /// Checkpoint notes held elsewhere (console, auditor); opening refuses a log that lacks them.
        public var trustedCheckpoints: [String]

        public init(
            checkpointEvery: Int = 1024, checkpointInterval: Duration = .seconds(1), backgroundCheckpoints: Bool = true,
            deviceId: String = ProcessInfo.processInfo.hostName, decodeEntriesOnOpen: Bool = true,
            trustedCheckpoints: [String] = []
        ) {
            self.checkpointEvery = max(1, checkpointEvery)
            self.checkpointInterval = checkpointInterval
            self.backgroundCheckpoints = backgroundCheckpoints
            self.deviceId = deviceId
            self.decodeEntriesOnOpen = decodeEntriesOnOpen
            self.trustedCheckpoints = trustedCheckpoints
        }
    }
}

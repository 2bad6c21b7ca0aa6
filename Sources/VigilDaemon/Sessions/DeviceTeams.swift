// SPDX-License-Identifier: Apache-2.0
// The teams every user of this device is in for policy scopes, besides their Unix groups: the
// configured ones and, while the device is enrolled, its console team. Changes when the device
// enrols or leaves while vigild runs; identities made from then on carry the new teams.
import Synchronization

final class DeviceTeams: Sendable {
    private let configured: [String]
    private let console = Mutex<String?>(nil)

    init(configured: [String], console: String?) {
        self.configured = configured
        self.console.withLock { $0 = console }
    }

    var current: [String] { configured + (console.withLock { $0 }.map { [$0] } ?? []) }

    func setConsoleTeam(_ team: String?) { console.withLock { $0 = team } }
}

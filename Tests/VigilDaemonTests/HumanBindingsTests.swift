// SPDX-License-Identifier: Apache-2.0
// vigild's cache of who is behind each OS account: unverified without a binding (the account's
// groups as teams), the person's teams and roles with one, until the binding's own expiry.
import Synchronization
import Testing
import VigilAPI
import VigilHost
import VigilPolicy

@testable import VigilDaemon

@Suite struct HumanBindingsTests {
    private let ana = Account(uid: 1001, gid: 1001, name: "ana", home: "/home/ana", groups: ["ana", "infra"])

    private func binding(expiresAt: Int64) -> HumanBinding {
        HumanBinding(
            deviceID: "dev_1", uid: 1001, user: "ana", subject: "console:ana@example.com", email: "ana@example.com", teams: ["payments"],
            roles: ["sre"], method: "console-code", verifiedAt: 1_000, expiresAt: expiresAt)
    }

    @Test func aBindingReplacesTheAccountsGroupsUntilItExpires() {
        let now = Mutex<Int64>(1_000)
        let bindings = HumanBindings(clock: { now.withLock { $0 } })
        // Not enrolled: nobody to ask, so unverified, with the account's groups.
        let before = bindings.identity(of: ana, deviceTeams: ["web"], device: "dev_1")
        #expect(!before.verified && before.teams == ["ana", "infra", "web"] && before.roles.isEmpty)

        bindings.remember(binding(expiresAt: 1_100))
        let after = bindings.identity(of: ana, deviceTeams: ["web"], device: "dev_1")
        #expect(after.verified && after.email == "ana@example.com" && after.user == "ana")
        #expect(after.teams == ["payments", "web"] && after.roles == ["sre"] && after.device == "dev_1")
        #expect(bindings.status(visibleTo: 1001).map { $0.binding?.email } == ["ana@example.com"])
        #expect(bindings.status(visibleTo: 0).count == 1)
        #expect(bindings.status(visibleTo: 1002).isEmpty)

        now.withLock { $0 = 1_100 }
        #expect(!bindings.identity(of: ana, deviceTeams: [], device: nil).verified)
        #expect(bindings.status(visibleTo: 1001).first?.binding == nil)
    }

    @Test func anotherConsoleForgetsEveryAnswer() {
        let bindings = HumanBindings(clock: { 1_000 })
        bindings.remember(binding(expiresAt: 2_000))
        #expect(bindings.identity(of: ana, deviceTeams: [], device: nil).verified)
        bindings.setConsole(nil)
        #expect(!bindings.identity(of: ana, deviceTeams: [], device: nil).verified)
        #expect(bindings.status(visibleTo: 0).isEmpty)
    }

    /// Issue 15's bound: a cached binding costs a hook call under 0.1 ms at p99 (it is a dictionary
    /// read under a lock, so this holds with a wide margin even on a loaded machine).
    @Test func aCachedLookupCostsUnderATenthOfAMillisecondAtP99() {
        let bindings = HumanBindings(clock: { 1_000 })
        bindings.remember(binding(expiresAt: 2_000))
        let clock = ContinuousClock()
        var samples: [Duration] = []
        samples.reserveCapacity(20_000)
        for _ in 0..<20_000 {
            let start = clock.now
            let identity = bindings.identity(of: ana, deviceTeams: ["web"], device: "dev_1")
            samples.append(clock.now - start)
            precondition(identity.verified)
        }
        samples.sort()
        let p99 = samples[samples.count * 99 / 100]
        print("cached binding lookup: p50 \(samples[samples.count / 2]), p99 \(p99)")
        #expect(p99 < .microseconds(100))
    }
}

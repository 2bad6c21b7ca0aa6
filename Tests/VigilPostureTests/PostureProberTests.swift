// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import VigilPosture

@Suite struct PostureProberTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    /// A complete, hardened workstation: LUKS root, Secure Boot on, nftables drop policy, Falcon running.
    func workstation() throws -> FixtureTree {
        let tree = try FixtureTree()
            .write("/proc/self/mountinfo", "27 1 253:0 / / rw - ext4 /dev/mapper/root rw\n")
            .write("/sys/class/block/dm-0/uevent", "DEVNAME=dm-0\n")
            .write("/sys/class/block/dm-0/dm/uuid", "CRYPT-LUKS2-abc-root\n")
            .symlink("/sys/dev/block/253:0", to: "../../class/block/dm-0")
            .writeBytes("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e39ca44b8dc4", [6, 0, 0, 0, 1])
            .write("/proc/1/comm", "systemd\n")
            .write("/proc/900/comm", "falcon-sensor\n")
            .write("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
            .write("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n")
            .write("/var/lib/dpkg/status", "x")
            .write("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
            .write("/proc/sys/kernel/io_uring_disabled", "2\n")
            .write("/proc/sys/kernel/unprivileged_bpf_disabled", "1\n")
            .write("/proc/sys/kernel/yama/ptrace_scope", "1\n")
        try tree.setModified("/var/lib/dpkg/status", now.addingTimeInterval(-2 * 86_400))
        return tree
    }

    func runner() -> CommandRunner {
        cannedRunner([
            "nft list ruleset": .exited(status: 0, stdout: FirewallProbeTests.dropPolicy, stderr: ""),
            ScreenLockProbeTests.list: ScreenLockProbeTests.ok("2 1000 alice seat0\n"),
            ScreenLockProbeTests.show("2"): ScreenLockProbeTests.ok("Type=wayland\nClass=user\nActive=yes\nLockedHint=yes\n"),
        ])
    }

    @Test func fullSnapshotOfAHardenedWorkstation() throws {
        let tree = try workstation()
        let fixedNow = now
        let prober = PostureProber(configuration: PostureConfiguration(root: tree.path, commandRunner: runner(), now: { fixedNow }))
        let health = VigilHealth(sensorAttached: true, enforcementMode: "enforce", drops: 3, reporter: "test sensor")
        let snapshot = prober.snapshot(vigilHealth: health)
        let expected: [PostureKey: PostureFact] = [
            .diskEncrypted: .bool(true), .secureBoot: .bool(true), .firewallActive: .bool(true), .edrRunning: .bool(true),
            .osPatchAgeDays: .int(2), .kernelVersion: .string("6.1.0-18-amd64"),
            .osRelease: .string("Debian GNU/Linux 12 (bookworm)"), .screenLocked: .bool(true),
            .kernelLockdown: .string("integrity"), .ioUringDisabled: .int(2), .unprivilegedBPFDisabled: .int(1),
            .yamaPtraceScope: .int(1), .ptraceRestricted: .bool(true), .vigilSensorAttached: .bool(true), .vigilEnforcementMode: .string("enforce"),
            .vigilDrops: .int(3),
        ]
        #expect(Set(snapshot.observations.keys) == Set(PostureKey.allCases))
        for key in PostureKey.allCases {
            #expect(snapshot[key] == expected[key], "\(key)")
            #expect(snapshot.observations[key]?.evidence.isEmpty == false, "\(key) has evidence")
        }
        #expect(snapshot.takenAt == now)
        #expect(snapshot.isHashValid)
        #expect(prober.snapshot(vigilHealth: health).hash == snapshot.hash)
        #expect(prober.snapshot(vigilHealth: nil).hash != snapshot.hash)
    }

    @Test func emptyRootGivesOnlyUnknownOrNotApplicable() throws {
        let tree = try FixtureTree()
        let snapshot = PostureProber(configuration: PostureConfiguration(root: tree.path)).snapshot(vigilHealth: nil)
        #expect(Set(snapshot.observations.keys) == Set(PostureKey.allCases))
        for key in PostureKey.allCases {
            let fact = snapshot[key]
            #expect(!fact.isKnown, "\(key) = \(fact)")
            #expect(fact.reason?.isEmpty == false, "\(key)")
        }
        // A non-/ root never runs commands on the live system.
        #expect(snapshot[.firewallActive].reason?.contains("commands not run: probe root is") == true)
        #expect(snapshot[.vigilDrops].reason?.contains("not supplied") == true)
    }
}

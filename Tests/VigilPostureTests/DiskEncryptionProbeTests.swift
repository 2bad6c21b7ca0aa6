// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import VigilPosture

@Suite struct DiskEncryptionProbeTests {
    static func mountinfo(_ lines: [String]) -> String {
        lines.enumerated().map { index, line in "\(20 + index) 1 \(line)" }.joined(separator: "\n") + "\n"
    }

    /// A sysfs block device under /sys/class/block/NAME, reachable from /sys/dev/block/MAJ:MIN.
    func device(
        _ tree: FixtureTree, _ name: String, number: String? = nil, dmUUID: String? = nil, dmName: String? = nil,
        slaves: [String] = []
    ) throws {
        try tree.write("/sys/class/block/\(name)/uevent", "MAJOR=1\nMINOR=1\nDEVNAME=\(name)\nDEVTYPE=disk\n")
        if let dmUUID { try tree.write("/sys/class/block/\(name)/dm/uuid", dmUUID + "\n") }
        if let dmName { try tree.write("/sys/class/block/\(name)/dm/name", dmName + "\n") }
        for slave in slaves { try tree.symlink("/sys/class/block/\(name)/slaves/\(slave)", to: "../../\(slave)") }
        if let number { try tree.symlink("/sys/dev/block/\(number)", to: "../../class/block/\(name)") }
    }

    func probe(_ tree: FixtureTree, paths: [String] = ["/", "/home"]) -> PostureObservation {
        DiskEncryptionProbe(root: tree.root, paths: paths).observe()
    }

    @Test func luksRootIsEncrypted() throws {
        let tree = try FixtureTree()
        try tree.write("/proc/self/mountinfo", Self.mountinfo(["253:0 / / rw,relatime - ext4 /dev/mapper/root rw"]))
        try device(tree, "dm-0", number: "253:0", dmUUID: "CRYPT-LUKS2-0123456789abcdef0123456789abcdef-root")
        let result = probe(tree)
        #expect(result.fact == .bool(true))
        #expect(result.evidence.contains { $0.detail.contains("CRYPT-LUKS2") && $0.source == "/sys/dev/block/253:0/dm/uuid" })
        #expect(result.evidence.contains { $0.source == "/home" && $0.detail.contains("same filesystem") })
    }

    @Test func lvmOnLuksIsEncryptedThroughSlaves() throws {
        let tree = try FixtureTree()
        try tree.write(
            "/proc/self/mountinfo",
            Self.mountinfo([
                "253:1 / / rw - ext4 /dev/mapper/vg-root rw",
                "253:2 / /home rw - xfs /dev/mapper/vg-home rw",
            ]))
        try device(tree, "dm-1", number: "253:1", dmUUID: "LVM-abc", slaves: ["dm-0"])
        try device(tree, "dm-2", number: "253:2", dmUUID: "LVM-def", slaves: ["dm-0"])
        try device(tree, "dm-0", dmUUID: "CRYPT-LUKS2-feed-cryptpv")
        #expect(probe(tree).fact == .bool(true))
    }

    @Test func plainDiskIsNotEncrypted() throws {
        let tree = try FixtureTree()
        try tree.write("/proc/self/mountinfo", Self.mountinfo(["254:0 / / rw,relatime - ext4 /dev/vda rw"]))
        try device(tree, "vda", number: "254:0")
        let result = probe(tree)
        #expect(result.fact == .bool(false))
        #expect(result.evidence.contains { $0.detail.contains("vda: not device-mapper") })
    }

    @Test func encryptedRootButPlainHomeIsNotEncrypted() throws {
        let tree = try FixtureTree()
        try tree.write(
            "/proc/self/mountinfo",
            Self.mountinfo([
                "253:0 / / rw - ext4 /dev/mapper/root rw",
                "8:3 / /home rw - ext4 /dev/sda3 rw",
            ]))
        try device(tree, "dm-0", number: "253:0", dmUUID: "CRYPT-LUKS2-aa-root")
        try device(tree, "sda3", number: "8:3")
        #expect(probe(tree).fact == .bool(false))
        #expect(probe(tree, paths: ["/"]).fact == .bool(true))
    }

    @Test func volumeSpanningCryptAndPlainDevicesIsNotEncrypted() throws {
        let tree = try FixtureTree()
        try tree.write("/proc/self/mountinfo", Self.mountinfo(["253:5 / / rw - ext4 /dev/mapper/vg-root rw"]))
        try device(tree, "dm-5", number: "253:5", dmUUID: "LVM-x", slaves: ["dm-0", "sdb1"])
        try device(tree, "dm-0", dmUUID: "CRYPT-LUKS2-aa-pv")
        try device(tree, "sdb1")
        #expect(probe(tree).fact == .bool(false))
    }

    @Test func btrfsAnonymousDeviceResolvesThroughMapperName() throws {
        let tree = try FixtureTree()
        try tree.write(
            "/proc/self/mountinfo",
            Self.mountinfo([
                "0:31 /@ / rw - btrfs /dev/mapper/luks-1234 rw,subvol=/@",
                "0:31 /@home /home rw - btrfs /dev/mapper/luks-1234 rw,subvol=/@home",
            ]))
        try device(tree, "dm-0", dmUUID: "CRYPT-LUKS2-1234-luks-1234", dmName: "luks-1234")
        try device(tree, "nvme0n1p3")
        #expect(probe(tree).fact == .bool(true))
    }

    @Test func procMountsFallbackUsesTheSource() throws {
        let tree = try FixtureTree()
        try tree.write("/proc/mounts", "/dev/mapper/root / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n")
        try device(tree, "dm-0", dmUUID: "CRYPT-PLAIN-x", dmName: "root")
        let result = probe(tree)
        #expect(result.fact == .bool(true))
        #expect(result.evidence.first?.source == "/proc/mounts")
    }

    @Test func missingMountTableIsUnknownWithReason() throws {
        let tree = try FixtureTree()
        let result = probe(tree)
        #expect(result.fact.isUnknownWithReason)
        #expect(result.fact.reason?.contains("cannot read mount table") == true)
    }

    @Test func missingSysfsIsUnknownNotPlain() throws {
        let tree = try FixtureTree()
        try tree.write("/proc/self/mountinfo", Self.mountinfo(["253:0 / / rw - ext4 /dev/mapper/root rw"]))
        let result = probe(tree)
        #expect(result.fact.isUnknownWithReason)
    }

    @Test func overlayRootHasNoBlockDeviceSoUnknown() throws {
        let tree = try FixtureTree()
        try tree.write("/proc/self/mountinfo", Self.mountinfo(["0:45 / / rw - overlay overlay rw,lowerdir=/a"]))
        let result = probe(tree)
        #expect(result.fact.reason?.contains("no block device") == true)
    }

    @Test func ecryptfsHomeCountsAsEncrypted() throws {
        let tree = try FixtureTree()
        try tree.write(
            "/proc/self/mountinfo",
            Self.mountinfo([
                "253:0 / / rw - ext4 /dev/mapper/root rw",
                "0:50 / /home rw - ecryptfs /home/.ecryptfs rw",
            ]))
        try device(tree, "dm-0", number: "253:0", dmUUID: "CRYPT-LUKS1-aa-root")
        #expect(probe(tree).fact == .bool(true))
    }

    @Test func plainDeviceWinsOverUnknown() throws {
        let tree = try FixtureTree()
        try tree.write(
            "/proc/self/mountinfo",
            Self.mountinfo([
                "254:0 / / rw - ext4 /dev/vda rw",
                "0:60 / /home rw - nfs server:/home rw",
            ]))
        try device(tree, "vda", number: "254:0")
        #expect(probe(tree).fact == .bool(false))
    }

    @Test func mountinfoParserHandlesOptionalFieldsAndEscapes() {
        let table = MountTable(
            mountinfo: """
                27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw,discard
                40 27 8:1 / /mnt/my\\040disk rw - vfat /dev/sdb1 rw
                garbage line
                41 27 0:50 / /mnt/my\\040disk rw - tmpfs tmpfs rw
                """)
        #expect(table.entries.count == 3)
        #expect(table.entries[0].device == DeviceNumber(major: 254, minor: 0))
        #expect(table.entries[0].fsType == "ext4")
        #expect(table.mount(containing: "/mnt/my disk/file")?.fsType == "tmpfs")
        #expect(table.mount(containing: "/mnt/my diskette")?.mountPoint == "/")
    }
}

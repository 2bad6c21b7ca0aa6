// SPDX-License-Identifier: Apache-2.0
import Testing
import VigilPosture

@Suite struct SecureBootProbeTests {
    let variable = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e39ca44b8dc4"

    @Test func enabled() throws {
        let tree = try FixtureTree().writeBytes(variable, [0x06, 0, 0, 0, 1])
        let result = SecureBootProbe(root: tree.root).observe()
        #expect(result.fact == .bool(true))
        #expect(result.evidence.first?.source == variable)
    }

    @Test func disabled() throws {
        let tree = try FixtureTree().writeBytes(variable, [0x06, 0, 0, 0, 0])
        #expect(SecureBootProbe(root: tree.root).observe().fact == .bool(false))
    }

    @Test func noEFIIsNotApplicable() throws {
        let tree = try FixtureTree().mkdir("/sys/firmware/acpi")
        guard case .notApplicable(let reason) = SecureBootProbe(root: tree.root).observe().fact else {
            Issue.record("expected notApplicable")
            return
        }
        #expect(reason.contains("/sys/firmware/efi"))
    }

    @Test func noSysfsIsUnknownNotNotApplicable() throws {
        let fact = SecureBootProbe(root: try FixtureTree().root).observe().fact
        #expect(fact.reason?.contains("sysfs not mounted") == true)
        #expect(fact.isUnknownWithReason)
    }

    @Test func efiWithoutEfivarfsIsUnknownWithReason() throws {
        let tree = try FixtureTree().mkdir("/sys/firmware/efi/efivars")
        let fact = SecureBootProbe(root: tree.root).observe().fact
        #expect(fact.isUnknownWithReason)
        #expect(fact.reason?.contains("efivarfs not mounted") == true)
    }

    @Test func truncatedVariableIsUnknown() throws {
        let tree = try FixtureTree().writeBytes(variable, [0x06, 0, 0, 0])
        #expect(SecureBootProbe(root: tree.root).observe().fact.isUnknownWithReason)
    }

    @Test func unexpectedValueIsUnknown() throws {
        let tree = try FixtureTree().writeBytes(variable, [0x06, 0, 0, 0, 7])
        #expect(SecureBootProbe(root: tree.root).observe().fact.reason?.contains("unexpected value byte 7") == true)
    }

    @Test func legacySysfsVarsInterface() throws {
        let tree = try FixtureTree()
            .writeBytes("/sys/firmware/efi/vars/SecureBoot-8be4df61-93ca-11d2-aa0d-e39ca44b8dc4/data", [1])
        #expect(SecureBootProbe(root: tree.root).observe().fact == .bool(true))
    }
}

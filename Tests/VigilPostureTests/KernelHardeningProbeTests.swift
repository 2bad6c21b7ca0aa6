// SPDX-License-Identifier: Apache-2.0
import Testing
import VigilPosture

@Suite struct KernelHardeningProbeTests {
    @Test func readsEveryKnob() throws {
        let tree = try FixtureTree()
            .write("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
            .write("/proc/sys/kernel/io_uring_disabled", "2\n")
            .write("/proc/sys/kernel/unprivileged_bpf_disabled", "1\n")
            .write("/proc/sys/kernel/yama/ptrace_scope", "3\n")
        let result = KernelHardeningProbe(root: tree.root).observe()
        #expect(result[.kernelLockdown]?.fact == .string("integrity"))
        #expect(result[.ioUringDisabled]?.fact == .int(2))
        #expect(result[.unprivilegedBPFDisabled]?.fact == .int(1))
        #expect(result[.yamaPtraceScope]?.fact == .int(3))
        #expect(result[.yamaPtraceScope]?.evidence == [.init(source: "/proc/sys/kernel/yama/ptrace_scope", detail: "3")])
        #expect(result[.ptraceRestricted]?.fact == .bool(true))
    }

    /// No Yama (the file absent) or scope 0: any process may attach to another of its user.
    @Test func ptraceIsUnrestrictedWithoutYamaOrAtScopeZero() throws {
        let absent = try FixtureTree().mkdir("/proc/sys/kernel")
        let none = KernelHardeningProbe(root: absent.root).observe()[.ptraceRestricted]
        #expect(none?.fact == .bool(false))
        #expect(none?.evidence.first?.detail.contains("no Yama") == true)
        let zero = try FixtureTree().write("/proc/sys/kernel/yama/ptrace_scope", "0\n")
        #expect(KernelHardeningProbe(root: zero.root).observe()[.ptraceRestricted]?.fact == .bool(false))
        let one = try FixtureTree().write("/proc/sys/kernel/yama/ptrace_scope", "1\n")
        #expect(KernelHardeningProbe(root: one.root).observe()[.ptraceRestricted]?.fact == .bool(true))
        let garbage = try FixtureTree().write("/proc/sys/kernel/yama/ptrace_scope", "x\n")
        #expect(KernelHardeningProbe(root: garbage.root).observe()[.ptraceRestricted]?.fact.isUnknownWithReason == true)
    }

    @Test func missingFilesAreUnknownWithSpecificReasons() throws {
        let tree = try FixtureTree().mkdir("/sys/kernel/security").mkdir("/proc/sys/kernel")
        let result = KernelHardeningProbe(root: tree.root).observe()
        #expect(result.count == 5)
        for (key, observation) in result where key != .ptraceRestricted {
            #expect(observation.fact.isUnknownWithReason, "\(key)")
        }
        #expect(result[.ptraceRestricted]?.fact == .bool(false))  // no Yama: known, and unrestricted
        #expect(result[.kernelLockdown]?.fact.reason?.contains("securityfs not mounted") == true)
        #expect(result[.yamaPtraceScope]?.fact.reason?.contains("Yama") == true)
    }

    @Test func securityfsWithoutLockdownSaysLSMNotBuilt() throws {
        let tree = try FixtureTree().mkdir("/sys/kernel/security/apparmor")
        let fact = KernelHardeningProbe(root: tree.root).observe()[.kernelLockdown]?.fact
        #expect(fact?.reason?.contains("lockdown LSM not built") == true)
    }

    @Test func garbageValuesAreUnknown() throws {
        let tree = try FixtureTree()
            .write("/sys/kernel/security/lockdown", "none integrity\n")
            .write("/proc/sys/kernel/io_uring_disabled", "maybe\n")
        let result = KernelHardeningProbe(root: tree.root).observe()
        #expect(result[.kernelLockdown]?.fact.isUnknownWithReason == true)
        #expect(result[.ioUringDisabled]?.fact.reason?.contains("not an integer") == true)
    }

    @Test func lockdownModeSelection() {
        #expect(KernelHardeningProbe.selectedLockdownMode("[none] integrity confidentiality") == "none")
        #expect(KernelHardeningProbe.selectedLockdownMode("none integrity [confidentiality]") == "confidentiality")
        #expect(KernelHardeningProbe.selectedLockdownMode("[] none") == nil)
    }
}

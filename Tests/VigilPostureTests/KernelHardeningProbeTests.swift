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
    }

    @Test func missingFilesAreUnknownWithSpecificReasons() throws {
        let tree = try FixtureTree().mkdir("/sys/kernel/security").mkdir("/proc/sys/kernel")
        let result = KernelHardeningProbe(root: tree.root).observe()
        #expect(result.count == 4)
        for (key, observation) in result {
            #expect(observation.fact.isUnknownWithReason, "\(key)")
        }
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

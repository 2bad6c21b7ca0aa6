// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Testing
import VigilAudit
import VigilRuntime
import VigilTestSupport

/// `vigil run`: a session process reaching into a process outside the session is killed in the
/// kernel, and the audit entry says how, and whom it reached for. In EnforcementTests' serialized
/// suite: one sensor reader at a time.
extension EnforcementTests {
    @Test(.requires(.bpf)) func ptraceAttachOutsideIsKilledAndAuditedWithTheTargetAndItsExecutable() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        // The developer's own process outside the session (setpriv execs sleep: same pid): only
        // Vigil, not the kernel's uid check, stands between the session and it.
        let developer = try Developer.account()
        let outsider = Process()
        outsider.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        outsider.arguments = Array(developer.command(["/bin/sleep", "60"]).dropFirst())
        try outsider.run()
        defer { kill(outsider.processIdentifier, SIGKILL); outsider.waitUntilExit() }
        let target = outsider.processIdentifier
        for _ in 0..<200 where (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(target)/exe")) != "/usr/bin/sleep" {
            usleep(10_000)
        }
        let out = w.dir + "/out"
        let helper = try Privileges.helper("proc_reach")
        try developer.mustExecute(helper)
        let (_, entries, report) = try await w.run(policy: "vigil: 1\nrules: []\n", shell("\(helper) attach \(target)", out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.hasPrefix("before\n") && !text.contains("after"), "\(text)")  // the shell may add "Killed"
        #expect(outsider.isRunning)
        let entry = try #require(entries.first { $0.kind == .processAccess }, "kinds: \(entries.map(\.kind.rawValue))")
        #expect(entry.decision == .kill)
        #expect(entry.enforcement?.action == "bpf-sigkill")
        let detail = entry.enforcement?.detail ?? ""
        #expect(detail.hasPrefix("in-kernel SIGKILL before ptrace/process_vm_*/pidfd_getfd completed"), "\(detail)")
        #expect(detail.contains("PTRACE_ATTACH of pid \(target) (/usr/bin/sleep)"), "\(detail)")
        #expect(entry.extra["target_pid"] == String(target))
        #expect(entry.extra["target_exe"] == "/usr/bin/sleep")
        #expect(entry.extra["target_in_session"] == "false")
        #expect(entry.extra["call"] == "ptrace" && entry.extra["request"] == "PTRACE_ATTACH")
        #expect(report.isValid)
    }
}

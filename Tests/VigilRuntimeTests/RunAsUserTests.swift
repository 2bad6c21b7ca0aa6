// SPDX-License-Identifier: Apache-2.0
// `vigil run --as-user`: the command, and only the command, is the developer account, from its
// first instruction; what it is denied is refused with EPERM and audited with its uid.
import Foundation
import Glibc
import Testing
import VigilAudit
import VigilRuntime
import VigilSensor
import VigilTestSupport

extension EnforcementTests {
    @Test(.requires(.bpf)) func theCommandRunsAsTheDeveloperAndItsDeniedOpenIsEPERMAndAudited() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let account = try w.developer()
        // Outside Vigil the developer reads its own secret: what refuses it below is the policy.
        let plain = Process()
        plain.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        plain.arguments = Array(try Developer.account().command(["/bin/cat", w.secret]).dropFirst())
        let pipe = Pipe()
        plain.standardOutput = pipe
        try plain.run()
        plain.waitUntilExit()
        #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).hasPrefix("TOPSECRET"))

        let policy = "vigil: 1\nrules:\n  - {id: no-secret, match: 'Open(\(w.dir)/secret/**)', action: deny}\n"
        let out = w.dir + "/out"
        let script = "echo uid=$(id -u) gid=$(id -g) groups=$(id -G | tr ' ' ,) home=$HOME user=$USER logname=$LOGNAME; cat \(w.secret); echo cat=$?"
        let (summary, entries, report) = try await w.run(policy: policy, shell(script, out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let groups = account.groups.map(String.init).sorted()
        #expect(text.contains("uid=\(account.uid) gid=\(account.gid) "), "\(text)")
        let printed = text.split(separator: " ").first { $0.hasPrefix("groups=") }.map {
            $0.dropFirst(7).split(separator: ",").map(String.init).sorted()
        }
        #expect(printed == groups, "\(text)")
        #expect(text.contains("home=\(account.home) user=\(Developer.name) logname=\(Developer.name)"), "\(text)")
        #expect(!text.contains("TOPSECRET") && text.contains("Operation not permitted") && text.contains("cat=1"), "\(text)")
        let deny = try #require(entries.first { $0.kind == .open && $0.decision == .deny && $0.winningRule == "no-secret" })
        #expect(deny.enforcement?.action == "fanotify-deny" && deny.enforcement?.succeeded == true)
        #expect(deny.subject?.uid == account.uid && deny.subject?.userName == Developer.name)
        // The session's root is the developer too, from its first exec on.
        #expect(
            entries.filter { $0.kind == .exec }.allSatisfy { $0.subject == nil || $0.subject?.uid == account.uid },
            "\(entries.filter { $0.kind == .exec }.map { "\($0.action.path ?? "") \(String(describing: $0.subject))" })")
        #expect(summary.trace.exitCode == 0)
        #expect(report.isValid, "\(report)")
    }

    /// The real binary, as a CI pipeline calls it: the command is the account, vigil root.
    @Test(.requires(.bpf)) func vigilRunAsUserRunsTheCommandAsThatAccountAndRefusesOneThatDoesNotExist() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let account = try w.developer()
        let policy = w.dir + "/policy.yaml"
        try "vigil: 1\nrules:\n  - {id: no-secret, match: 'Open(\(w.dir)/secret/**)', action: deny}\n".write(
            toFile: policy, atomically: false, encoding: .utf8)
        func vigilRun(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try Privileges.product("vigil"))
            process.arguments = ["run", "--policy", policy, "--audit-dir", w.audit, "--no-posture"] + arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let ran = try vigilRun(["--as-user", Developer.name, "--", "/bin/sh", "-c", "id -u; echo $HOME; cat \(w.secret); echo cat=$?"])
        #expect(ran.status == 0, "\(ran.output)")
        #expect(ran.output.contains("\(account.uid)\n\(account.home)\n"), "\(ran.output)")
        #expect(!ran.output.contains("TOPSECRET") && ran.output.contains("Operation not permitted") && ran.output.contains("cat=1"), "\(ran.output)")
        #expect(ran.output.contains("deny  open  \(w.secret)  [no-secret] fanotify-deny"), "\(ran.output)")
        let entries = try AuditVerifier.readEntries(directory: w.audit).leaves.map(\.entry)
        #expect(
            entries.contains { $0.kind == .open && $0.decision == .deny && $0.subject?.uid == account.uid && $0.subject?.userName == Developer.name },
            "\(entries.map { "\($0.kind) \(String(describing: $0.subject))" })")
        #expect(try AuditVerifier.verify(directory: w.audit).isValid)

        let refused = try vigilRun(["--as-user", "vigil-no-such-user", "--", "/usr/bin/touch", w.dir + "/ran"])
        #expect(refused.status == 2 && refused.output.contains("--as-user vigil-no-such-user: no such user, nothing run"), "\(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: w.dir + "/ran"))
    }

    @Test func anAccountThatDoesNotExistIsRefused() throws {
        #expect(throws: SensorError.self) { _ = try UserAccount.named("vigil-no-such-user-\(getpid())") }
        let root = try UserAccount.named("root")
        #expect(root.uid == 0 && root.gid == 0 && root.home == "/root" && root.groups.contains(0))
    }
}

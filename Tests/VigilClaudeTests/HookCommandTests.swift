// SPDX-License-Identifier: Apache-2.0
// `vigil hook` and `vigil hooks` as Claude Code runs them: the built binary, stdin in, stdout/exit out.
import Foundation
import Testing
import VigilAudit
import VigilTestSupport

struct HookCommandTests {
    func hook(_ vigil: String, _ arguments: [String], stdin: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: vigil)
        process.arguments = ["hook"] + arguments
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test func decidesRecordsAndFailsClosed() throws {
        let vigil = try Privileges.product("vigil")
        let scratch = try Scratch("cli")
        defer { scratch.remove() }
        let policy = scratch.path + "/policy.yaml"
        try testPolicy.write(toFile: policy, atomically: true, encoding: .utf8)
        let audit = try scratch.auditDirectory()

        let curl = Fixtures.preToolUseBash.replacingOccurrences(of: "echo hi", with: "curl -s https://x")
        let denied = try hook(vigil, ["--policy", policy, "--audit-dir", audit], stdin: curl)
        #expect(denied.status == 0, "\(denied.stderr)")
        #expect(
            denied.stdout.hasPrefix(
                #"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"Denied by Vigil rule 'no-curl': "#
            ))

        let allowed = try hook(vigil, ["--policy", policy, "--audit-dir", audit], stdin: Fixtures.preToolUseBash)
        #expect(allowed.stdout.contains(#""permissionDecision":"allow""#))

        let quiet = try hook(vigil, ["--policy", policy, "--audit-dir", audit], stdin: Fixtures.sessionEnd)
        #expect(quiet.status == 0 && quiet.stdout.isEmpty)

        let garbage = try hook(vigil, ["--policy", policy, "--audit-dir", audit], stdin: "{garbage")
        #expect(garbage.status == 2)
        #expect(garbage.stderr.contains("malformed hook payload: not valid JSON"))

        let noPolicy = try hook(vigil, ["--policy", scratch.path + "/gone.yaml"], stdin: Fixtures.preToolUseBash)
        #expect(noPolicy.status == 0)
        #expect(noPolicy.stdout.contains("Denied by Vigil (fail closed): cannot use the policy \(scratch.path)/gone.yaml"))

        let entries = try AuditVerifier.readEntries(directory: audit).leaves.map(\.entry)
        #expect(entries.map { $0.decision?.rawValue ?? "-" } == ["deny", "allow", "-", "-"])
        #expect(try AuditVerifier.verify(directory: audit).isValid)
    }
}

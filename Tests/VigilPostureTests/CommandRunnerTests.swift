// SPDX-License-Identifier: Apache-2.0
import Testing
import VigilPosture

/// The live runner, with ordinary coreutils/sh commands.
@Suite struct CommandRunnerTests {
    let runner = CommandRunner.system(searchPath: ["/usr/bin", "/bin"], timeout: 2)

    @Test func capturesStatusStdoutAndStderr() {
        let outcome = runner.run(PostureCommand("sh", ["-c", "echo out; echo err >&2; exit 3"]))
        #expect(outcome == .exited(status: 3, stdout: "out\n", stderr: "err\n"))
    }

    @Test func missingExecutableIsUnavailableWithReason() {
        guard case .unavailable(let reason) = runner.run(PostureCommand("vigil-no-such-tool")) else {
            Issue.record("expected unavailable")
            return
        }
        #expect(reason == "vigil-no-such-tool not found in /usr/bin:/bin")
    }

    @Test func runsWithCLocaleAndNoInheritedEnvironment() {
        let outcome = runner.run(PostureCommand("sh", ["-c", "echo $LC_ALL ${HOME:-nohome}"]))
        #expect(outcome == .exited(status: 0, stdout: "C nohome\n", stderr: ""))
    }

    @Test func slowCommandTimesOut() {
        let quick = CommandRunner.system(searchPath: ["/usr/bin", "/bin"], timeout: 0.3)
        guard case .unavailable(let reason) = quick.run(PostureCommand("sleep", ["5"])) else {
            Issue.record("expected a timeout")
            return
        }
        #expect(reason.contains("timed out"))
    }

    @Test func disabledRunnerRunsNothing() {
        #expect(CommandRunner.disabled(reason: "off").run(PostureCommand("sh")) == .unavailable(reason: "off"))
    }
}

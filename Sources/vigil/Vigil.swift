// SPDX-License-Identifier: Apache-2.0
// The `vigil` command: a thin shell over the library modules. Each subcommand group lives in its
// own file as `extension Vigil { struct X: AsyncParsableCommand }`.
import ArgumentParser
import Foundation
import Logging
import VigilHost

@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Vigil: a trust layer for AI coding agents on Linux.",
        subcommands: [
            Claude.self, Session.self, Trace.self, Run.self, Status.self, Posture.self, PolicyCommand.self, Audit.self, Hook.self, Hooks.self,
            Enroll.self, Unenroll.self, Login.self,
        ]
    )

    /// The logger a subcommand hands the library: diagnostics on stderr at `VIGIL_LOG_LEVEL`, else
    /// `warning` (a command's stderr is also its output: `vigil hook`'s goes to Claude Code).
    static func logger(_ label: String) -> Logger {
        let level = ProcessInfo.processInfo.environment["VIGIL_LOG_LEVEL"].flatMap(Logger.Level.init(name:)) ?? .warning
        return Logger(label: label) { StandardErrorLogHandler(label: $0, logLevel: level) }
    }
}

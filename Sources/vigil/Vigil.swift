// SPDX-License-Identifier: Apache-2.0
// The `vigil` command: a thin shell over the library modules. Each subcommand group lives in its
// own file as `extension Vigil { struct X: AsyncParsableCommand }`.
import ArgumentParser

@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Vigil: a trust layer for AI coding agents on Linux.",
        subcommands: [Claude.self, Session.self, Trace.self, Run.self, Status.self, Posture.self, PolicyCommand.self, Audit.self, Hook.self, Hooks.self]
    )
}

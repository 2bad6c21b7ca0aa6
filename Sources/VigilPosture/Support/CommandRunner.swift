// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// The few probes that must run a command (nft, loginctl) do it through this injectable runner.

/// A command a probe wants run: an executable name looked up on the runner's search path, and arguments.
public struct PostureCommand: Sendable, Hashable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]

    public init(_ executable: String, _ arguments: [String] = []) {
        self.executable = executable
        self.arguments = arguments
    }

    /// `nft list ruleset`.
    public var description: String { ([executable] + arguments).joined(separator: " ") }
}

/// What running a command produced. A non-zero exit is a result, not a failure to run.
public enum CommandOutcome: Sendable, Hashable {
    /// The command ran to completion.
    case exited(status: Int32, stdout: String, stderr: String)
    /// The command could not be run at all (not installed, runner disabled, timed out), with the reason.
    case unavailable(reason: String)
}

/// Runs ``PostureCommand``s. Tests inject a closure that returns canned outcomes.
public struct CommandRunner: Sendable {
    private let body: @Sendable (PostureCommand) -> CommandOutcome

    public init(_ body: @escaping @Sendable (PostureCommand) -> CommandOutcome) {
        self.body = body
    }

    public func run(_ command: PostureCommand) -> CommandOutcome { body(command) }

    /// A runner that runs nothing and answers every command with `.unavailable(reason)`.
    public static func disabled(reason: String) -> CommandRunner {
        CommandRunner { _ in .unavailable(reason: reason) }
    }
}

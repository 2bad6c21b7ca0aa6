// SPDX-License-Identifier: Apache-2.0
// The inputs to a decision: a tool call or a kernel action, who asks, and the device's posture.
import VigilJSON

/// One attempted Claude Code tool call, as a PreToolUse hook sees it.
public struct ToolCall: Sendable, Hashable {
    /// The model-facing tool name: `Bash`, `Read`, `mcp__sec__echo`, … (`Task` is read as `Agent`).
    public var name: String
    /// The tool input object (`command`, `file_path`, `url`, …).
    public var input: [String: JSONValue]
    /// The session's working directory; relative paths and `Read(path)` rules resolve against it.
    public var cwd: String
    /// The user's home directory, for `~/` rules.
    public var home: String
    /// The project root, for single-slash `/path` rules; Claude Code anchors those at the settings source.
    public var projectDir: String

    public init(name: String, input: [String: JSONValue], cwd: String, home: String, projectDir: String? = nil) {
        self.name = name
        self.input = input
        self.cwd = cwd
        self.home = home
        self.projectDir = projectDir ?? cwd
    }
}

/// Something a process in the agent's tree did, seen in the kernel.
public enum KernelAction: Sendable, Hashable {
    case exec(path: String, argv: [String])
    case open(path: String, write: Bool)
    /// `address` is an IPv4/IPv6 literal or an AF_UNIX path; `host` is the name it was resolved from, if known.
    case connect(address: String, port: UInt16, host: String?)
    /// A connect or datagram to a local socket (at `address`, a loopback or unspecified literal, and
    /// `port`) owned by a process outside the session: a crossing of the session boundary.
    case peer(address: String, port: UInt16)
    /// An open of a FIFO (a named pipe) at `path`: its other end may be a process outside the session.
    case fifo(path: String)
}

/// Where a kernel action happened, for rules written with `~/`.
public struct KernelContext: Sendable, Hashable {
    public let home: String?
    /// The loopback port of the model API the session's Claude Code is configured with, for `Peer(model-api)`.
    public let modelAPIPort: UInt16?
    /// Split once: a context is built per session, decisions run per event.
    let homeSegments: [Substring]

    public init(home: String? = nil, modelAPIPort: UInt16? = nil) {
        self.home = home
        self.modelAPIPort = modelAPIPort
        homeSegments = home.map { pathSegments($0, relativeTo: []) } ?? []
    }
}

/// Who a session is decided for, and the device: the person an OS account is bound to (`verified`:
/// their email, teams and roles, from the console), or the OS account alone (`unverified`).
public struct Identity: Sendable, Hashable {
    /// The OS account's name.
    public var user: String
    public var teams: [String]
    public var roles: [String]
    public var device: String?
    /// The verified person's email; nil for an OS account bound to no one.
    public var email: String?

    public var verified: Bool { email != nil }

    public init(user: String, teams: [String] = [], role: String? = nil, device: String? = nil) {
        self.user = user
        self.teams = teams
        self.roles = role.map { [$0] } ?? []
        self.device = device
    }

    /// The person `email` behind OS account `user`: their teams and roles take the place of the
    /// account's groups (the device's own teams, `deviceTeams`, still apply).
    public static func verified(
        user: String, email: String, teams: [String], roles: [String], deviceTeams: [String] = [], device: String? = nil
    ) -> Identity {
        var identity = Identity(user: user, teams: teams + deviceTeams, device: device)
        identity.roles = roles
        identity.email = email
        return identity
    }
}

/// One fact about the device's security posture, or why it isn't known.
public enum PostureFact: Sendable, Hashable {
    case bool(Bool)
    case int(Int)
    case string(String)
    case unknown(String)
}

// SPDX-License-Identifier: Apache-2.0
// Who a rule is for: everyone, or some users, teams, roles or devices.

/// A rule's audience. Each non-nil list must contain the identity's value (any of the list);
/// several lists must all hold: `{team: infra, role: contractor}` is infra contractors only.
public struct Scope: Sendable, Hashable {
    public var users: [String]?
    public var teams: [String]?
    public var roles: [String]?
    public var devices: [String]?

    public static let everyone = Scope()

    public init(users: [String]? = nil, teams: [String]? = nil, roles: [String]? = nil, devices: [String]? = nil) {
        self.users = users
        self.teams = teams
        self.roles = roles
        self.devices = devices
    }

    public var isEveryone: Bool { users == nil && teams == nil && roles == nil && devices == nil }

    public func contains(_ identity: Identity) -> Bool {
        if let users, !users.contains(identity.user) { return false }
        if let teams, !teams.contains(where: identity.teams.contains) { return false }
        if let roles, !(identity.role.map(roles.contains) ?? false) { return false }
        if let devices, !(identity.device.map(devices.contains) ?? false) { return false }
        return true
    }

    public var description: String {
        if isEveryone { return "everyone" }
        var parts: [String] = []
        if let users { parts.append("user \(users.joined(separator: "|"))") }
        if let teams { parts.append("team \(teams.joined(separator: "|"))") }
        if let roles { parts.append("role \(roles.joined(separator: "|"))") }
        if let devices { parts.append("device \(devices.joined(separator: "|"))") }
        return parts.joined(separator: ", ")
    }
}

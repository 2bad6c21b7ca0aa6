// SPDX-License-Identifier: Apache-2.0
// Who a rule is for: everyone, or some users, teams, roles or devices.

/// A rule's audience. Each non-nil list must contain the identity's value (any of the list);
/// several lists must all hold: `{team: infra, role: contractor}` is infra contractors only.
/// A verified person is a `user` by their email, an OS account bound to no one by its name;
/// `identity: unverified` is every OS account bound to no one (`verified`, every one that is).
public struct Scope: Sendable, Hashable {
    public var users: [String]?
    public var teams: [String]?
    public var roles: [String]?
    public var devices: [String]?
    /// `verified`, `unverified` (``Scope/identityStates``).
    public var identities: [String]?

    public static let everyone = Scope()
    public static let identityStates = ["verified", "unverified"]

    public init(
        users: [String]? = nil, teams: [String]? = nil, roles: [String]? = nil, devices: [String]? = nil, identities: [String]? = nil
    ) {
        self.users = users
        self.teams = teams
        self.roles = roles
        self.devices = devices
        self.identities = identities
    }

    public var isEveryone: Bool { users == nil && teams == nil && roles == nil && devices == nil && identities == nil }

    /// Only OS accounts bound to no one: a deny of such a rule says so (and how to bind).
    public var isUnverifiedOnly: Bool { identities.map { !$0.isEmpty && !$0.contains("verified") } ?? false }

    public func contains(_ identity: Identity) -> Bool {
        if let users, !users.contains(identity.email ?? identity.user) { return false }
        if let teams, !teams.contains(where: identity.teams.contains) { return false }
        if let roles, !roles.contains(where: identity.roles.contains) { return false }
        if let devices, !(identity.device.map(devices.contains) ?? false) { return false }
        if let identities, !identities.contains(identity.verified ? "verified" : "unverified") { return false }
        return true
    }

    public var description: String {
        if isEveryone { return "everyone" }
        var parts: [String] = []
        if let users { parts.append("user \(users.joined(separator: "|"))") }
        if let teams { parts.append("team \(teams.joined(separator: "|"))") }
        if let roles { parts.append("role \(roles.joined(separator: "|"))") }
        if let devices { parts.append("device \(devices.joined(separator: "|"))") }
        if let identities { parts.append("identity \(identities.joined(separator: "|"))") }
        return parts.joined(separator: ", ")
    }
}

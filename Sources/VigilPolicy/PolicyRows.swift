// SPDX-License-Identifier: Apache-2.0
// The policy as an editor shows it: the defaults and an ordered list of rows. Read from a document
// by the one parser (PolicyDocument), written back as one canonical document (PolicyRows+YAML).

/// The document's `version:` label and `defaults:`.
public struct PolicyDefaults: Sendable, Hashable, Codable {
    public var tool: PolicyAction
    public var kernel: KernelEnforcement
    public var deriveKernel: Bool
    public var unknownPosture: UnknownPosture

    public init(
        tool: PolicyAction = .ask, kernel: KernelEnforcement = .none, deriveKernel: Bool = true, unknownPosture: UnknownPosture = .failClosed
    ) {
        self.tool = tool
        self.kernel = kernel
        self.deriveKernel = deriveKernel
        self.unknownPosture = unknownPosture
    }
}

/// One rule as an editor holds it. What an admin types (match, conditions) stays text, so the
/// compiler is the one judge of it and its error points at the line it is on.
public struct PolicyRow: Sendable, Hashable, Codable {
    public var id: String
    /// `Tool(pattern)` in Claude Code syntax, or a kernel kind (`Exec(…)`, `Open(…)`, `Connect(…)`, `Peer(…)`).
    public var match: String
    public var action: PolicyAction
    public var scope: Scope
    /// Posture conditions as written (`disk_encrypted == false`); all must hold.
    public var when: [String]
    /// Ids of the stricter rules this allow/ask rule is an exception to.
    public var overrides: [String]
    public var kernel: KernelEnforcement?
    public var onUnknown: UnknownPosture?
    public var reason: String?

    public init(
        id: String, match: String, action: PolicyAction, scope: Scope = .everyone, when: [String] = [], overrides: [String] = [],
        kernel: KernelEnforcement? = nil, onUnknown: UnknownPosture? = nil, reason: String? = nil
    ) {
        self.id = id
        self.match = match
        self.action = action
        self.scope = scope
        self.when = when
        self.overrides = overrides
        self.kernel = kernel
        self.onUnknown = onUnknown
        self.reason = reason
    }

    public init(rule: PolicyRule) {
        self.init(
            id: rule.id, match: rule.match, action: rule.action, scope: rule.scope, when: rule.conditions.map(\.description),
            overrides: rule.overrides, kernel: rule.kernel, onUnknown: rule.onUnknown, reason: rule.reason)
    }

    /// Only id, match and action are required on the wire; the rest default as in the document.
    public init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try keys.decode(String.self, forKey: .id), match: try keys.decode(String.self, forKey: .match),
            action: try keys.decode(PolicyAction.self, forKey: .action),
            scope: try keys.decodeIfPresent(Scope.self, forKey: .scope) ?? .everyone,
            when: try keys.decodeIfPresent([String].self, forKey: .when) ?? [],
            overrides: try keys.decodeIfPresent([String].self, forKey: .overrides) ?? [],
            kernel: try keys.decodeIfPresent(KernelEnforcement.self, forKey: .kernel),
            onUnknown: try keys.decodeIfPresent(UnknownPosture.self, forKey: .onUnknown),
            reason: try keys.decodeIfPresent(String.self, forKey: .reason))
    }

    /// The same rule whatever it is called or says to the model: what an import compares to skip repeats.
    func sameRule(as other: PolicyRow) -> Bool {
        match == other.match && action == other.action && scope == other.scope && when == other.when && overrides == other.overrides
            && kernel == other.kernel && onUnknown == other.onUnknown
    }
}

/// A whole policy as rows.
public struct PolicyRows: Sendable, Hashable, Codable {
    /// The author's `version:` label (decisions carry `<label>+<sha256 prefix>`).
    public var label: String
    public var defaults: PolicyDefaults
    public var rows: [PolicyRow]

    public init(label: String = "0", defaults: PolicyDefaults = PolicyDefaults(), rows: [PolicyRow] = []) {
        self.label = label
        self.defaults = defaults
        self.rows = rows
    }

    public init(document: PolicyDocument) {
        self.init(
            label: document.version,
            defaults: PolicyDefaults(
                tool: document.defaultTool, kernel: document.defaultKernel, deriveKernel: document.deriveKernel,
                unknownPosture: document.unknownPosture),
            rows: document.rules.map(PolicyRow.init(rule:)))
    }

    /// Parses a document (any valid one, comments and all) into rows.
    /// - Throws: `PolicyError` with file:line:column, as `PolicyDocument(yaml:file:)`.
    public init(yaml text: String, file: String) throws(PolicyError) {
        self.init(document: try PolicyDocument(yaml: text, file: file))
    }

    public func index(of id: String) -> Int? { rows.firstIndex { $0.id == id } }
}

extension Scope: Codable {
    private enum CodingKeys: String, CodingKey {
        case user, team, role, device, identity
    }

    /// `{}` is everyone; the keys are the document's (`user`, `team`, `role`, `device`).
    public init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            users: try keys.decodeIfPresent([String].self, forKey: .user), teams: try keys.decodeIfPresent([String].self, forKey: .team),
            roles: try keys.decodeIfPresent([String].self, forKey: .role), devices: try keys.decodeIfPresent([String].self, forKey: .device),
            identities: try keys.decodeIfPresent([String].self, forKey: .identity))
    }

    public func encode(to encoder: any Encoder) throws {
        var keys = encoder.container(keyedBy: CodingKeys.self)
        try keys.encodeIfPresent(users, forKey: .user)
        try keys.encodeIfPresent(teams, forKey: .team)
        try keys.encodeIfPresent(roles, forKey: .role)
        try keys.encodeIfPresent(devices, forKey: .device)
        try keys.encodeIfPresent(identities, forKey: .identity)
    }
}

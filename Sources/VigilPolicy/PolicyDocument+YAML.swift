// SPDX-License-Identifier: Apache-2.0
// Reading a policy document from YAML. The schema is documented in VigilPolicy.docc/PolicyLanguage.md.
import Yams

extension PolicyDocument {
    static let topKeys = ["vigil", "version", "defaults", "rules"]
    static let defaultKeys = ["tool", "kernel", "derive_kernel", "unknown_posture"]
    static let ruleKeys = ["id", "match", "action", "scope", "when", "kernel", "reason", "overrides", "on_unknown"]

    /// Parses a policy document. Patterns and conditions are checked here so errors point at their text.
    /// - Throws: `PolicyError` with file:line:column, for malformed YAML or any invalid rule.
    public init(yaml text: String, file: String) throws(PolicyError) {
        var reader = YAMLReader(file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw reader.error(at: .unknown, "the policy document is empty")
            }
            root = node
        } catch let error as PolicyError {
            throw error
        } catch let error as YamlError {
            throw reader.yamlError(error)
        } catch {
            throw reader.error(at: .unknown, "cannot read YAML: \(error)")
        }
        let top = try reader.mapping(root, what: "the policy document", allowed: PolicyDocument.topKeys)
        self.init(file: file, text: text)
        if let schema = top["vigil"] {
            guard (try reader.string(schema.value, what: "vigil")) == "1" else {
                throw reader.error(schema.value, "unsupported policy schema; this Vigil reads 'vigil: 1'")
            }
        }
        if let version = top["version"] { self.version = try reader.string(version.value, what: "version") }
        if let defaults = top["defaults"] { try readDefaults(defaults.value, reader) }
        guard let rules = top["rules"] else { throw reader.error(root, "the policy document needs a 'rules' list") }
        guard case .sequence(let items) = rules.value else {
            if case .scalar(let scalar) = rules.value, scalar.string.isEmpty || scalar.string == "null" { return }
            throw reader.error(rules.value, "'rules' must be a list")
        }
        for item in items {
            reader.ruleID = nil
            self.rules.append(try PolicyDocument.readRule(item, reader: &reader))
        }
    }

    private mutating func readDefaults(_ node: Node, _ reader: YAMLReader) throws(PolicyError) {
        let keys = try reader.mapping(node, what: "defaults", allowed: PolicyDocument.defaultKeys)
        if let tool = keys["tool"] {
            defaultTool = try reader.choice(tool.value, what: "defaults.tool", PolicyAction.self, allowed: PolicyAction.allCases)
        }
        if let kernel = keys["kernel"] {
            defaultKernel = try reader.choice(
                kernel.value, what: "defaults.kernel", KernelEnforcement.self,
                allowed: KernelEnforcement.allCases)
        }
        if let derive = keys["derive_kernel"] { deriveKernel = try reader.bool(derive.value, what: "defaults.derive_kernel") }
        if let unknown = keys["unknown_posture"] {
            unknownPosture = try reader.choice(
                unknown.value, what: "defaults.unknown_posture", UnknownPosture.self,
                allowed: [.failClosed, .match, .noMatch])
        }
    }

    private static func readRule(_ node: Node, reader: inout YAMLReader) throws(PolicyError) -> PolicyRule {
        guard case .mapping = node else { throw reader.error(node, "each rule must be a mapping with id, match and action") }
        // Find the id first so every later error names the rule.
        if case .mapping(let mapping) = node, let idNode = mapping["id"], case .scalar(let scalar) = idNode {
            reader.ruleID = scalar.string
        }
        let keys = try reader.mapping(node, what: "a rule", allowed: ruleKeys)
        guard let idEntry = keys["id"] else { throw reader.error(node, "the rule has no 'id'") }
        let id = try reader.string(idEntry.value, what: "id")
        guard id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:/".contains($0)) }) else {
            throw reader.error(idEntry.value, "rule id '\(id)' may use only letters, digits and - _ . : /")
        }
        guard let matchEntry = keys["match"] else { throw reader.error(node, "the rule has no 'match' pattern") }
        guard let actionEntry = keys["action"] else { throw reader.error(node, "the rule has no 'action'") }
        let action = try reader.choice(actionEntry.value, what: "action", PolicyAction.self, allowed: PolicyAction.allCases)
        let match = try reader.string(matchEntry.value, what: "match")
        do {
            _ = try RulePattern(parsing: match, action: action)
        } catch {
            throw reader.error(matchEntry.value, "invalid pattern '\(match)': \(error.reason)")
        }
        var rule = PolicyRule(id: id, match: match, action: action, location: reader.location(node))
        if let scope = keys["scope"] { rule.scope = try readScope(scope.value, reader) }
        if let when = keys["when"] {
            let nodes: [Node]
            if case .sequence(let items) = when.value { nodes = Array(items) } else { nodes = [when.value] }
            for conditionNode in nodes {
                let text = try reader.string(conditionNode, what: "a condition")
                do {
                    rule.conditions.append(try PostureCondition(parsing: text))
                } catch {
                    throw reader.error(conditionNode, "invalid condition: \(error.reason)")
                }
            }
        }
        if let kernel = keys["kernel"] {
            rule.kernel = try reader.choice(kernel.value, what: "kernel", KernelEnforcement.self, allowed: KernelEnforcement.allCases)
        }
        if let reason = keys["reason"] { rule.reason = try reader.string(reason.value, what: "reason") }
        if let overrides = keys["overrides"] { rule.overrides = try reader.strings(overrides.value, what: "overrides") }
        if let onUnknown = keys["on_unknown"] {
            rule.onUnknown = try reader.choice(
                onUnknown.value, what: "on_unknown", UnknownPosture.self,
                allowed: [.failClosed, .match, .noMatch])
        }
        return rule
    }

    private static func readScope(_ node: Node, _ reader: YAMLReader) throws(PolicyError) -> Scope {
        if case .scalar(let scalar) = node {
            guard scalar.string == "everyone" else {
                throw reader.error(node, "scope must be 'everyone' or a mapping of user/team/role/device/identity")
            }
            return .everyone
        }
        let keys = try reader.mapping(node, what: "scope", allowed: ["user", "team", "role", "device", "identity"])
        guard !keys.isEmpty else { throw reader.error(node, "an empty scope matches nobody; write 'everyone'") }
        var scope = Scope()
        if let users = keys["user"] { scope.users = try reader.strings(users.value, what: "scope.user") }
        if let teams = keys["team"] { scope.teams = try reader.strings(teams.value, what: "scope.team") }
        if let roles = keys["role"] { scope.roles = try reader.strings(roles.value, what: "scope.role") }
        if let devices = keys["device"] { scope.devices = try reader.strings(devices.value, what: "scope.device") }
        if let identities = keys["identity"] {
            let states = try reader.strings(identities.value, what: "scope.identity")
            if let wrong = states.first(where: { !Scope.identityStates.contains($0) }) {
                throw reader.error(identities.value, "scope.identity is verified or unverified, not '\(wrong)'")
            }
            scope.identities = states
        }
        return scope
    }
}

extension YAMLReader {
    func yamlError(_ error: YamlError) -> PolicyError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return self.error(at: SourceLocation(line: mark.line, column: mark.column), "invalid YAML: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return self.error(
                at: SourceLocation(line: context.mark.line, column: context.mark.column),
                "duplicate key \(duplicates.joined(separator: ", ")) \(context.text)")
        default:
            return self.error(at: .unknown, "invalid YAML: \(error)")
        }
    }
}

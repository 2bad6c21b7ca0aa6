// SPDX-License-Identifier: Apache-2.0
// Document → compiled rules: validation across rules, Claude Code's inert forms, derivation, exceptions.

struct PolicyCompiler {
    let document: PolicyDocument
    private(set) var rules: [CompiledRule] = []
    /// For each rule, the rules whose `overrides:` name it.
    private(set) var liftedBy: [[Int]] = []
    private(set) var warnings: [PolicyWarning] = []
    private(set) var derivations: [Policy.Derivation] = []

    init(document: PolicyDocument) {
        self.document = document
    }

    private func error(_ rule: PolicyRule, _ reason: String) -> PolicyError {
        PolicyError(
            file: document.file, line: rule.location.line, column: rule.location.column,
            ruleID: rule.id, reason: reason)
    }

    private mutating func warn(_ rule: PolicyRule, _ message: String) {
        warnings.append(
            PolicyWarning(
                file: document.file, line: rule.location.line, column: rule.location.column,
                ruleID: rule.id, message: message))
    }

    mutating func compile() throws(PolicyError) {
        var positions: [String: Int] = [:]
        for rule in document.rules {
            guard positions[rule.id] == nil else { throw error(rule, "duplicate rule id '\(rule.id)'") }
            positions[rule.id] = rules.count
            rules.append(try compiled(rule, order: rules.count))
            liftedBy.append([])
        }
        try linkOverrides(positions)
        if document.deriveKernel { derive() }
    }

    private mutating func compiled(_ rule: PolicyRule, order: Int) throws(PolicyError) -> CompiledRule {
        let pattern: RulePattern
        do {
            pattern = try RulePattern(parsing: rule.match, action: rule.action)
        } catch {
            throw self.error(rule, "invalid pattern '\(rule.match)': \(error.reason)")
        }
        if pattern.isKernel, rule.action == .ask {
            throw error(rule, "the kernel can't ask: use action deny with kernel: flag to record without blocking")
        }
        if rule.kernel != nil, rule.action != .deny {
            throw error(rule, "'kernel:' says what a deny does in the kernel; this rule's action is \(rule.action.rawValue)")
        }
        let inert = rule.action == .allow ? inertReason(pattern) : nil
        if let inert { warn(rule, "never allows anything: \(inert)") }
        if case .parameter(.exact(let tool), _, _) = pattern, tool.hasPrefix("mcp__"), rule.action != .allow {
            warn(rule, "Claude Code ignores key:value rules on MCP tools; Vigil enforces this one")
        }
        if case .path(.write, _) = pattern, rule.action != .allow {
            warn(rule, "Claude Code never matches Write(path); Vigil applies it to Edit, Write and NotebookEdit")
        }
        for condition in rule.conditions where PostureCondition.knownKeys[condition.key] == nil {
            warn(rule, "'\(condition.key)' is not a posture fact Vigil reports; the condition will be unknown")
        }
        return CompiledRule(
            id: rule.id, match: rule.match, pattern: pattern, action: rule.action, scope: rule.scope,
            conditions: rule.conditions, unknown: rule.onUnknown ?? document.unknownPosture,
            enforcement: rule.action == .deny ? (rule.kernel ?? .deny) : .none, reason: rule.reason, order: order,
            derivedFrom: nil, inert: inert != nil)
    }

    /// Allow forms Claude Code accepts but never matches; Vigil must not allow more than it does.
    private func inertReason(_ pattern: RulePattern) -> String? {
        switch pattern {
        case .anyCall(.glob(let glob)), .parameter(.glob(let glob), _, _):
            let prefix = String(decoding: glob.literalPrefix, as: UTF8.self)
            if prefix.hasPrefix("mcp__"), prefix.dropFirst(5).contains("__") { return nil }
            return "Claude Code skips allow globs that don't name a server (e.g. 'mcp__*')"
        case .parameter:
            return "key:value rules only work in deny and ask"
        case .path(.write, _):
            return "Claude Code never matches Write(path) rules; write Edit(path)"
        default:
            return nil
        }
    }

    private mutating func linkOverrides(_ positions: [String: Int]) throws(PolicyError) {
        for (index, rule) in document.rules.enumerated() {
            for target in rule.overrides {
                guard let targetIndex = positions[target] else {
                    throw error(rule, "overrides '\(target)', which is not a rule in this policy")
                }
                guard rule.action != .deny else { throw error(rule, "a deny rule can't override anything") }
                guard rules[targetIndex].action > rule.action else {
                    throw error(rule, "overrides '\(target)', which is not stricter than \(rule.action.rawValue)")
                }
                guard rules[targetIndex].pattern.isKernel == rules[index].pattern.isKernel else {
                    throw error(rule, "overrides '\(target)': a tool rule and a kernel rule can't override each other")
                }
                liftedBy[targetIndex].append(index)
            }
        }
    }

    /// Adds a kernel rule for every deny tool rule that implies one, carrying its scope, conditions and exceptions.
    private mutating func derive() {
        let written = rules
        for (index, source) in written.enumerated() where source.action == .deny && !source.pattern.isKernel {
            let rule = document.rules[index]
            if source.enforcement == .none { continue }
            switch Policy.derivation(for: source.pattern) {
            case .success(let kernel):
                let text = kernel.kernelText
                let derived = CompiledRule(
                    id: source.id, match: text, pattern: kernel, action: .deny, scope: source.scope,
                    conditions: source.conditions, unknown: source.unknown, enforcement: source.enforcement,
                    reason: source.reason, order: source.order, derivedFrom: source.id, inert: false)
                rules.append(derived)
                liftedBy.append(liftedBy[index])
                derivations.append(
                    .init(
                        ruleID: source.id, kernelRule: text,
                        note: "\(source.match) → \(text) in the agent's process tree"))
            case .failure(let gap):
                derivations.append(.init(ruleID: source.id, kernelRule: nil, note: "not derived: \(gap.reason)"))
                if rule.kernel != nil { warn(rule, "'kernel: \(rule.kernel!.rawValue)' has no effect: \(gap.reason)") }
            }
        }
    }
}

extension RulePattern {
    /// A derived kernel pattern spelled as a rule.
    var kernelText: String {
        switch self {
        case .exec(let exec): "Exec(\(exec.source))"
        case .open(let open): "Open(\(open.path.source)\(open.mode == .any ? "" : ", \(open.mode.rawValue)"))"
        case .connect(let connect): "Connect(\(connect.source))"
        case .peer(let peer): "Peer(\(peer.source))"
        default: ""
        }
    }
}

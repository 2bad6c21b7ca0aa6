// SPDX-License-Identifier: Apache-2.0
// A rule ready for the hot path: pattern parsed, defaults resolved, exceptions linked.

/// A class so the hot path passes references, not copies of every field.
final class CompiledRule: Sendable {
    let id: String
    let match: String
    let pattern: RulePattern
    let action: PolicyAction
    let scope: Scope
    let conditions: [PostureCondition]
    let unknown: UnknownPosture
    /// For deny rules on kernel actions (their own or derived ones).
    let enforcement: KernelEnforcement
    let reason: String?
    /// Position of the written rule (derived rules share their source's): earlier wins ties.
    let order: Int
    /// The tool rule this kernel rule was derived from.
    let derivedFrom: String?
    /// Compiled but never matches: a form Claude Code ignores in allow (`allow mcp__*`, `allow Write(path)`),
    /// kept so `explain` can say so.
    let inert: Bool
    /// `describedReason`, built once.
    let reasonText: String

    init(
        id: String, match: String, pattern: RulePattern, action: PolicyAction, scope: Scope,
        conditions: [PostureCondition], unknown: UnknownPosture, enforcement: KernelEnforcement, reason: String?,
        order: Int, derivedFrom: String?, inert: Bool
    ) {
        self.id = id
        self.match = match
        self.pattern = pattern
        self.action = action
        self.scope = scope
        self.conditions = conditions
        self.unknown = unknown
        self.enforcement = enforcement
        self.reason = reason
        self.order = order
        self.derivedFrom = derivedFrom
        self.inert = inert
        let described = CompiledRule.describe(reason: reason, action: action, match: match, id: id, derivedFrom: derivedFrom)
        // Said in the reason so the developer knows what lifts it.
        reasonText =
            scope.isUnverifiedOnly && action != .allow
            ? described + " (this OS account is bound to no verified person: `vigil login` binds it)" : described
    }

    /// Scope and posture: does this rule speak for this person on this device now?
    func applies(to identity: Identity, posture: [String: PostureFact]) -> Bool {
        if !scope.isEveryone, !scope.contains(identity) { return false }
        for condition in conditions {
            switch condition.evaluate(posture) {
            case .some(true): continue
            case .some(false): return false
            case .none:
                switch unknown {
                case .match: continue
                case .noMatch: return false
                case .failClosed: if action == .allow { return false }
                }
            }
        }
        return true
    }

    var describedReason: String { reasonText }

    private static func describe(reason: String?, action: PolicyAction, match: String, id: String, derivedFrom: String?) -> String {
        if let reason { return reason }
        let verb: String
        switch action {
        case .deny: verb = "denies"
        case .ask: verb = "requires approval for"
        case .allow: verb = "allows"
        }
        if let derivedFrom {
            return "Vigil policy rule '\(derivedFrom)' \(verb) \(match) (derived for the kernel)"
        }
        return "Vigil policy rule '\(id)' \(verb) \(match)"
    }
}

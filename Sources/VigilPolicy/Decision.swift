// SPDX-License-Identifier: Apache-2.0
// The outcome of one decision, as a value: the daemon enforces it, the audit log records it.

/// What the policy decided about one tool call or kernel action.
public struct Decision: Sendable, Hashable {
    /// allow / ask / deny. For kernel actions `ask` never occurs.
    public var action: PolicyAction
    /// What the sensor does (kernel actions only; `.none` for tool calls).
    public var enforcement: KernelEnforcement
    /// Every rule that applied (pattern, scope and conditions all held), in document order,
    /// including denies that an `overrides:` exception lifted.
    public var matchedRuleIDs: [String]
    /// The rule that decided, or `nil` when no rule applied and the default decided.
    public var winningRuleID: String?
    /// Why, in words suitable to show the model.
    ///
    /// A default decision keeps the pieces of its message and joins them only when this is read: most
    /// decisions on the hot path are defaults whose reason nobody reads. The value read is always the same.
    public var reason: String {
        get { reasonSource.text }
        set { reasonSource = .text(newValue) }
    }
    /// The policy that decided: its declared version and a hash of the document.
    public var policyVersion: String
    /// The winning rule was derived from a tool rule (e.g. `Bash(curl *)` → `Exec(curl)`).
    public var derived: Bool

    /// `reason`, as text or as the pieces of a default decision's message.
    var reasonSource: ReasonSource

    enum ReasonSource: Sendable {
        case text(String)
        /// "No Vigil policy rule allows `WORDS` (default: ACTION)": the view's words joined by single spaces.
        case bashDefault(words: [ShellWord], view: CommandView?, action: PolicyAction)
        /// "No Vigil policy rule allows this TOOL call (default: ACTION)".
        case toolDefault(tool: String, action: PolicyAction)
        /// "No Vigil policy rule names this KIND (default: ENFORCEMENT)".
        case kernelDefault(kind: String, enforcement: KernelEnforcement)

        var text: String {
            switch self {
            case .text(let text):
                return text
            case .bashDefault(let words, let view, let action):
                return builtString(
                    prefix: "No Vigil policy rule allows `", words: view?.words(in: words) ?? [],
                    suffix: "` (default: ", action.rawValue, ")")
            case .toolDefault(let tool, let action):
                return builtString(
                    prefix: "No Vigil policy rule allows this ", words: [tool],
                    suffix: " call (default: ", action.rawValue, ")")
            case .kernelDefault(let kind, let enforcement):
                return builtString(
                    prefix: "No Vigil policy rule names this ", words: [kind],
                    suffix: " (default: ", enforcement.rawValue, ")")
            }
        }
    }

    public init(
        action: PolicyAction, enforcement: KernelEnforcement = .none, matchedRuleIDs: [String] = [],
        winningRuleID: String? = nil, reason: String, policyVersion: String, derived: Bool = false
    ) {
        self.init(
            action: action, enforcement: enforcement, matchedRuleIDs: matchedRuleIDs,
            winningRuleID: winningRuleID, reasonSource: .text(reason), policyVersion: policyVersion,
            derived: derived)
    }

    init(
        action: PolicyAction, enforcement: KernelEnforcement = .none, matchedRuleIDs: [String] = [],
        winningRuleID: String? = nil, reasonSource: ReasonSource, policyVersion: String, derived: Bool = false
    ) {
        self.action = action
        self.enforcement = enforcement
        self.matchedRuleIDs = matchedRuleIDs
        self.winningRuleID = winningRuleID
        self.reasonSource = reasonSource
        self.policyVersion = policyVersion
        self.derived = derived
    }

    /// True when no rule applied and the document's default decided.
    public var isDefault: Bool { winningRuleID == nil }

    /// Equal as values: the same fields, with `reason` compared as text however it is held.
    public static func == (lhs: Decision, rhs: Decision) -> Bool {
        lhs.action == rhs.action && lhs.enforcement == rhs.enforcement && lhs.matchedRuleIDs == rhs.matchedRuleIDs
            && lhs.winningRuleID == rhs.winningRuleID && lhs.policyVersion == rhs.policyVersion
            && lhs.derived == rhs.derived && lhs.reason == rhs.reason
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(action)
        hasher.combine(enforcement)
        hasher.combine(matchedRuleIDs)
        hasher.combine(winningRuleID)
        hasher.combine(reason)
        hasher.combine(policyVersion)
        hasher.combine(derived)
    }
}

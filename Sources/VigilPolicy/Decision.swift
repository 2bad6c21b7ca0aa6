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
    public var reason: String
    /// The policy that decided: its declared version and a hash of the document.
    public var policyVersion: String
    /// The winning rule was derived from a tool rule (e.g. `Bash(curl *)` → `Exec(curl)`).
    public var derived: Bool

    public init(
        action: PolicyAction, enforcement: KernelEnforcement = .none, matchedRuleIDs: [String] = [],
        winningRuleID: String? = nil, reason: String, policyVersion: String, derived: Bool = false
    ) {
        self.action = action
        self.enforcement = enforcement
        self.matchedRuleIDs = matchedRuleIDs
        self.winningRuleID = winningRuleID
        self.reason = reason
        self.policyVersion = policyVersion
        self.derived = derived
    }

    /// True when no rule applied and the document's default decided.
    public var isDefault: Bool { winningRuleID == nil }
}

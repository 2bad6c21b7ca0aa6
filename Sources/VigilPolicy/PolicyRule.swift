// SPDX-License-Identifier: Apache-2.0
// The policy document as written: rules, defaults, declared version. Parsed from YAML, then compiled.

/// One rule as written in the document.
public struct PolicyRule: Sendable, Hashable {
    public var id: String
    /// `Tool(pattern)` in Claude Code syntax, or a kernel kind: `Exec(…)`, `Open(…)`, `Connect(…)`.
    public var match: String
    public var action: PolicyAction
    public var scope: Scope
    /// All must hold.
    public var conditions: [PostureCondition]
    /// Deny rules: what the kernel does (for kernel rules, and for kernel rules derived from this tool rule).
    /// `.none` on a tool rule turns derivation off for it. nil: `deny`.
    public var kernel: KernelEnforcement?
    /// Shown to the model when this rule decides.
    public var reason: String?
    /// Deny/ask rules this allow/ask rule makes an exception to, where its scope and conditions hold.
    public var overrides: [String]
    /// What a condition that can't be evaluated means for this rule; nil: the document's default.
    public var onUnknown: UnknownPosture?
    public var location: SourceLocation

    public init(
        id: String, match: String, action: PolicyAction, scope: Scope = .everyone,
        conditions: [PostureCondition] = [], kernel: KernelEnforcement? = nil, reason: String? = nil,
        overrides: [String] = [], onUnknown: UnknownPosture? = nil, location: SourceLocation = .unknown
    ) {
        self.id = id
        self.match = match
        self.action = action
        self.scope = scope
        self.conditions = conditions
        self.kernel = kernel
        self.reason = reason
        self.overrides = overrides
        self.onUnknown = onUnknown
        self.location = location
    }
}

/// A whole policy document.
public struct PolicyDocument: Sendable, Hashable {
    /// The author's version label (`version:`), part of every decision's `policyVersion`.
    public var version: String
    /// The decision for a tool call no rule applies to.
    public var defaultTool: PolicyAction
    /// The enforcement for a kernel action no rule applies to.
    public var defaultKernel: KernelEnforcement
    /// Derive kernel rules from deny tool rules where that is sound.
    public var deriveKernel: Bool
    public var unknownPosture: UnknownPosture
    public var rules: [PolicyRule]
    /// The file name errors are reported against.
    public var file: String
    /// The exact text, hashed into the policy version.
    public var text: String

    public init(
        version: String = "0", defaultTool: PolicyAction = .ask, defaultKernel: KernelEnforcement = .none,
        deriveKernel: Bool = true, unknownPosture: UnknownPosture = .failClosed, rules: [PolicyRule] = [],
        file: String = "<policy>", text: String = ""
    ) {
        self.version = version
        self.defaultTool = defaultTool
        self.defaultKernel = defaultKernel
        self.deriveKernel = deriveKernel
        self.unknownPosture = unknownPosture
        self.rules = rules
        self.file = file
        self.text = text
    }
}

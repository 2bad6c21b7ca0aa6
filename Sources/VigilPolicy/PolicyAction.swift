// SPDX-License-Identifier: Apache-2.0
// The three answers a rule can give, and what the kernel does about a kernel-level deny.

/// What a rule says about a tool call or kernel action. Ordered by strictness: `deny > ask > allow`.
public enum PolicyAction: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case allow
    case ask
    case deny

    private var strictness: Int {
        switch self {
        case .allow: 0
        case .ask: 1
        case .deny: 2
        }
    }

    public static func < (lhs: PolicyAction, rhs: PolicyAction) -> Bool {
        lhs.strictness < rhs.strictness
    }
}

/// What the sensor does with a kernel action the policy denies. Ordered by force: `kill > deny > flag > none`.
public enum KernelEnforcement: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Let it happen, record nothing special.
    case none
    /// Let it happen, but record and alert.
    case flag
    /// Refuse the syscall (cgroup hook / fanotify) where the sensor can.
    case deny
    /// Kill the process (the backstop where no real denial exists).
    case kill

    private var force: Int {
        switch self {
        case .none: 0
        case .flag: 1
        case .deny: 2
        case .kill: 3
        }
    }

    public static func < (lhs: KernelEnforcement, rhs: KernelEnforcement) -> Bool {
        lhs.force < rhs.force
    }
}

// SPDX-License-Identifier: Apache-2.0
// The daemon's holder for the policy in force: a reload swaps in a new policy only if it compiles.
import Synchronization

/// Holds the policy in force. `reload` compiles first and swaps only on success, so a bad document
/// never replaces a good one and nothing is half-applied.
public final class PolicyStore: Sendable {
    private let state: Mutex<Policy>

    public init(_ policy: Policy) {
        state = Mutex(policy)
    }

    /// The policy in force. Take it once per decision; it is an immutable value.
    public var current: Policy {
        state.withLock { $0 }
    }

    /// Compiles `yaml` and makes it current.
    /// - Returns: the new policy.
    /// - Throws: `PolicyError` (the previous policy stays in force).
    @discardableResult
    public func reload(yaml: String, file: String) throws(PolicyError) -> Policy {
        let policy = try Policy(yaml: yaml, file: file)
        state.withLock { $0 = policy }
        return policy
    }

    /// Makes an already compiled policy current.
    public func replace(with policy: Policy) {
        state.withLock { $0 = policy }
    }
}

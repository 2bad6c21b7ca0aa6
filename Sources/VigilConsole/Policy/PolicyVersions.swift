// SPDX-License-Identifier: Apache-2.0
// A new version of the organisation's policy: compiled by the devices' own compiler first, so a
// broken rule is refused with its line and reason before it reaches any device; stored, audited
// with its author and diff, and announced to every device stream.
import VigilAudit
import HTTPTypes
import VigilAPI
import VigilPolicy

struct PolicyVersions: Sendable {
    let store: any ConsoleStore
    let audit: ConsoleAudit
    let policies: PolicyPublisher
    let clock: @Sendable () -> Int64
    let changed: @Sendable () -> Void

    /// `base`: the version the document was written against, when the writer says (the web form
    /// does): a newer version stored meanwhile refuses it (409) instead of being overwritten.
    func publish(document: String, author: String, comment: String?, base: Int? = nil) async throws -> PolicyBundle {
        let compiled: Policy
        do throws(PolicyError) {
            compiled = try Policy(yaml: document, file: "console policy")
        } catch {
            try audit.record("policy.change", actor: author, decision: .deny, reason: error.description)
            throw Refusal(.badRequest, "policy_invalid", error.description)
        }
        let previous = try await store.latestPolicy()
        let stored: PolicyBundle
        do {
            stored = try await store.insertPolicy(document: document, author: author, comment: comment, at: clock(), base: base)
        } catch ConsoleStoreError.policyBaseStale(let base, let latest) {
            try audit.record("policy.change", actor: author, decision: .deny, reason: "made against v\(base); v\(latest) is newer")
            throw Refusal(
                .conflict, "stale_base", "the policy was changed since v\(base) (v\(latest) is the newest): reload and make the change again")
        }
        try audit.record(
            "policy.change", actor: author, target: "v\(stored.version)",
            details: [
                "policyVersion": compiled.version, "sha256": compiled.documentHash, "previous": previous.map { "v\($0.version)" } ?? "",
                "comment": comment ?? "", "diff": PolicyDiff.unified(from: previous?.document ?? "", to: document),
            ])
        policies.publish(stored.version)
        changed()
        return stored
    }
}

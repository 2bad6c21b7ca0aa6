// SPDX-License-Identifier: Apache-2.0
// The compiled policy: built once from a document, then asked for decisions on the hot path.

import Crypto
import VigilCore

/// A compiled, immutable policy. `decide` is synchronous, allocation-light and does no I/O.
public struct Policy: Sendable {
    /// `"<declared version>+<first 12 hex of SHA-256 of the document>"`.
    public let version: String
    /// SHA-256 of the document text, hex.
    public let documentHash: String
    public let document: PolicyDocument
    /// Legal but suspicious rules (ones Claude Code would never match, kernel settings with no effect, …).
    public let warnings: [PolicyWarning]
    /// What each deny tool rule became in the kernel, or why it didn't (for `explain` and `check`).
    public let derivations: [Derivation]

    let rules: [CompiledRule]
    /// For each rule, the exceptions (`overrides:`) that can lift it.
    let liftedBy: [[Int]]
    let index: PolicyIndex

    public struct Derivation: Sendable, Hashable {
        public var ruleID: String
        /// The kernel rule derived, e.g. `Exec(curl)`; nil when none could be.
        public var kernelRule: String?
        public var note: String
    }

    /// Parses and compiles a YAML policy.
    /// - Throws: `PolicyError` naming file:line:column and the rule.
    public init(yaml: String, file: String) throws(PolicyError) {
        try self.init(document: PolicyDocument(yaml: yaml, file: file))
    }

    /// Compiles a document: every pattern parsed, exceptions linked, kernel rules derived, indexes built.
    /// - Throws: `PolicyError` for invalid patterns, duplicate ids and bad `overrides`.
    public init(document: PolicyDocument) throws(PolicyError) {
        var compiler = PolicyCompiler(document: document)
        try compiler.compile()
        self.document = document
        documentHash = SHA256.hexDigest(Array(document.text.utf8))
        version = "\(document.version)+\(documentHash.prefix(12))"
        warnings = compiler.warnings
        derivations = compiler.derivations
        rules = compiler.rules
        liftedBy = compiler.liftedBy
        index = PolicyIndex(rules: compiler.rules)
    }

    /// Number of compiled rules, derived kernel rules included.
    public var compiledRuleCount: Int { rules.count }
}

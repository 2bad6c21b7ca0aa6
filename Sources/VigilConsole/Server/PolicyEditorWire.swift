// SPDX-License-Identifier: Apache-2.0
// The policy editor's admin API bodies. They carry VigilPolicy's rows, so they live with the console
// (which the CLI imports) rather than in VigilAPI, which depends on nothing.
import VigilAPI
import VigilPolicy

/// GET /admin/v1/policy/rows: a version (0: none yet) and its rows.
public struct PolicyRowsView: Codable, Sendable, Equatable {
    public var version: Int
    public var rows: PolicyRows

    public init(version: Int, rows: PolicyRows) {
        self.version = version
        self.rows = rows
    }
}

/// What an edit made: the new version, its rows, the compiler's warnings, and notes on what the edit
/// did beyond the obvious (rows an import skipped or renamed, overrides carried to a renamed rule).
public struct PolicyEditResult: Codable, Sendable, Equatable {
    public var bundle: PolicyBundle
    public var rows: PolicyRows
    public var warnings: [String]
    public var notes: [String]

    public init(bundle: PolicyBundle, rows: PolicyRows, warnings: [String], notes: [String]) {
        self.bundle = bundle
        self.rows = rows
        self.warnings = warnings
        self.notes = notes
    }
}

/// GET /admin/v1/policy/diff?from=A&to=B.
public struct PolicyVersionDiff: Codable, Sendable, Equatable {
    public var from: Int
    public var to: Int
    public var added: Int
    public var removed: Int
    /// `diff -u` of the two documents; empty when they are the same.
    public var unified: String

    public init(from: Int, to: Int, added: Int, removed: Int, unified: String) {
        self.from = from
        self.to = to
        self.added = added
        self.removed = removed
        self.unified = unified
    }
}

/// POST /admin/v1/policy/rows.
public struct AddPolicyRowRequest: Codable, Sendable {
    /// The version the edit was made against (0: no policy yet).
    public var base: Int
    public var row: PolicyRow
    /// Insert before the row at this index; nil: at the end.
    public var position: Int?
    /// On the socket: who the operator says they are (recorded beside the kernel's word). Ignored on HTTPS.
    public var actor: String?
    public var comment: String?

    public init(base: Int, row: PolicyRow, position: Int? = nil, actor: String?, comment: String?) {
        self.base = base
        self.row = row
        self.position = position
        self.actor = actor
        self.comment = comment
    }
}

/// PUT /admin/v1/policy/rows/:id.
public struct UpdatePolicyRowRequest: Codable, Sendable {
    public var base: Int
    public var row: PolicyRow
    /// On the socket: who the operator says they are (recorded beside the kernel's word). Ignored on HTTPS.
    public var actor: String?
    public var comment: String?

    public init(base: Int, row: PolicyRow, actor: String?, comment: String?) {
        self.base = base
        self.row = row
        self.actor = actor
        self.comment = comment
    }
}

/// DELETE /admin/v1/policy/rows/:id.
public struct DeletePolicyRowRequest: Codable, Sendable {
    public var base: Int
    /// On the socket: who the operator says they are (recorded beside the kernel's word). Ignored on HTTPS.
    public var actor: String?
    public var comment: String?

    public init(base: Int, actor: String?, comment: String?) {
        self.base = base
        self.actor = actor
        self.comment = comment
    }
}

/// PUT /admin/v1/policy/defaults.
public struct PolicyDefaultsRequest: Codable, Sendable {
    public var base: Int
    public var defaults: PolicyDefaults
    /// The document's `version:` label; nil keeps it.
    public var label: String?
    /// On the socket: who the operator says they are (recorded beside the kernel's word). Ignored on HTTPS.
    public var actor: String?
    public var comment: String?

    public init(base: Int, defaults: PolicyDefaults, label: String? = nil, actor: String?, comment: String?) {
        self.base = base
        self.defaults = defaults
        self.label = label
        self.actor = actor
        self.comment = comment
    }
}

/// POST /admin/v1/policy/import: one Claude Code settings.json, pasted.
public struct ImportSettingsRequest: Codable, Sendable {
    public var base: Int
    /// The settings file's text.
    public var settings: String
    public var layer: ClaudeSettingsLayer.Source
    /// Where the file lives (anchors managed `/path` rules); nil: the layer's usual place.
    public var path: String?
    /// nil: refuse.
    public var onClash: ImportClash?
    /// On the socket: who the operator says they are (recorded beside the kernel's word). Ignored on HTTPS.
    public var actor: String?
    public var comment: String?

    public init(
        base: Int, settings: String, layer: ClaudeSettingsLayer.Source, path: String? = nil, onClash: ImportClash? = nil, actor: String?,
        comment: String?
    ) {
        self.base = base
        self.settings = settings
        self.layer = layer
        self.path = path
        self.onClash = onClash
        self.actor = actor
        self.comment = comment
    }
}

// SPDX-License-Identifier: Apache-2.0
// The policy builder's one service, for the admin API and the web UI alike: each edit of the rows is
// a new policy version, stored only if the devices' compiler accepts the whole document, audited,
// and announced to devices. An edit names the version it was made against; a stale one is refused.
import VigilAPI
import VigilAudit
import VigilPolicy

public final class PolicyEditor: Sendable {
    /// The name compiler errors give the document (the same as a pushed document's).
    public static let file = "console policy"

    /// The same store, audit log, device streams and change feed as a pushed document's.
    let versions: PolicyVersions
    private var store: any ConsoleStore { versions.store }
    private var audit: ConsoleAudit { versions.audit }

    init(versions: PolicyVersions) {
        self.versions = versions
    }

    /// The rows of `version` (nil: the newest). Version 0 is the empty policy before the first.
    public func rows(version: Int? = nil) async throws -> PolicyRowsView {
        let bundle: PolicyBundle?
        if let version, version != 0 {
            guard let found = try await store.policy(version: version) else { throw PolicyEditError.noSuchVersion(version) }
            bundle = found
        } else {
            bundle = version == 0 ? nil : try await store.latestPolicy()
        }
        return PolicyRowsView(version: bundle?.version ?? 0, rows: try Self.rows(of: bundle))
    }

    /// Inserts `row` before the row at `position` (nil: at the end).
    public func addRow(_ row: PolicyRow, at position: Int? = nil, base: Int, author: String, comment: String?) async throws -> PolicyEditResult {
        try await change("add-row", row: row.id, base: base, author: author, comment: comment) {
            (rows: inout PolicyRows) throws(PolicyEditError) -> [String] in
            guard rows.index(of: row.id) == nil else { throw .rowExists(row.id) }
            let at = position ?? rows.rows.count
            guard (0...rows.rows.count).contains(at) else { throw .noSuchPosition(at, rows: rows.rows.count) }
            rows.rows.insert(row, at: at)
            return []
        }
    }

    /// Replaces the row `id` where it stands. A new id is carried into other rows' `overrides:`, so
    /// renaming a rule keeps its exceptions.
    public func updateRow(id: String, to row: PolicyRow, base: Int, author: String, comment: String?) async throws -> PolicyEditResult {
        try await change("update-row", row: id, base: base, author: author, comment: comment) {
            (rows: inout PolicyRows) throws(PolicyEditError) -> [String] in
            guard let index = rows.index(of: id) else { throw .noSuchRow(id) }
            var notes: [String] = []
            if row.id != id {
                guard rows.index(of: row.id) == nil else { throw .rowExists(row.id) }
                for other in rows.rows.indices where rows.rows[other].overrides.contains(id) {
                    rows.rows[other].overrides = rows.rows[other].overrides.map { $0 == id ? row.id : $0 }
                    notes.append("\(rows.rows[other].id) now overrides \(row.id) (was \(id))")
                }
            }
            rows.rows[index] = row
            return notes
        }
    }

    /// Removes the row `id`. Refused by the compiler while another row still overrides it.
    public func deleteRow(id: String, base: Int, author: String, comment: String?) async throws -> PolicyEditResult {
        try await change("delete-row", row: id, base: base, author: author, comment: comment) {
            (rows: inout PolicyRows) throws(PolicyEditError) -> [String] in
            guard let index = rows.index(of: id) else { throw .noSuchRow(id) }
            rows.rows.remove(at: index)
            return []
        }
    }

    /// Sets the defaults, and the version label when one is given.
    public func setDefaults(_ defaults: PolicyDefaults, label: String? = nil, base: Int, author: String, comment: String?) async throws
        -> PolicyEditResult
    {
        try await change("set-defaults", row: nil, base: base, author: author, comment: comment) {
            (rows: inout PolicyRows) throws(PolicyEditError) -> [String] in
            rows.defaults = defaults
            if let label { rows.label = label }
            return []
        }
    }

    /// Merges one Claude Code settings file (pasted text) into the rows, as `vigil policy import` reads
    /// it: its permission rules become rows `<layer>-<action>-<n>` at the end; a rule the policy has
    /// already is skipped; an id taken by a different rule is handled as `onClash` says; the defaults stay.
    /// - Parameter path: where the file lives; anchors Claude Code's `/path` rules (default: the layer's usual place).
    public func importSettings(
        _ text: String, layer: ClaudeSettingsLayer.Source, path: String? = nil, onClash: ImportClash = .refuse, base: Int, author: String,
        comment: String?
    ) async throws -> PolicyEditResult {
        let settings = ClaudeSettingsLayer(source: layer, path: path ?? Self.usualPath(layer), text: text)
        return try await change("import", row: nil, base: base, author: author, comment: comment) {
            (rows: inout PolicyRows) throws(PolicyEditError) -> [String] in
            let imported: (rows: [PolicyRow], notes: [String])
            do throws(PolicyError) {
                imported = try ClaudeSettingsImport.rows(from: [settings])
            } catch {
                throw .settingsInvalid(error)
            }
            let merged: (rows: PolicyRows, notes: [String])
            do throws(RowIDClash) {
                merged = try rows.merging(imported.rows, onClash: onClash)
            } catch {
                throw .importClash(error.ids)
            }
            var notes = imported.notes + merged.notes
            if rows.defaults.tool != .ask {
                notes.append("defaults.tool stays \(rows.defaults.tool.rawValue) (Claude Code asks when no rule applies)")
            }
            rows = merged.rows
            return notes
        }
    }

    /// The unified diff of two versions' documents (0: the empty document before the first version).
    public func diff(from: Int, to: Int) async throws -> PolicyVersionDiff {
        let old = try await document(version: from)
        let new = try await document(version: to)
        let result = PolicyDiff.compare(old, new, fromName: "v\(from)", toName: "v\(to)")
        return PolicyVersionDiff(from: from, to: to, added: result.added, removed: result.removed, unified: result.unified)
    }

    // MARK: the one path of every edit

    private func change(
        _ operation: String, row: String?, base: Int, author: String, comment: String?,
        _ edit: (inout PolicyRows) throws(PolicyEditError) -> [String]
    ) async throws -> PolicyEditResult {
        var details = ["operation": operation, "base": "v\(base)", "comment": comment ?? ""]
        if let row { details["row"] = row }
        do {
            let current = try await store.latestPolicy()
            let latest = current?.version ?? 0
            guard latest == base else { throw PolicyEditError.staleBase(base: base, latest: latest) }
            let before = try Self.rows(of: current)
            var rows = before
            let notes = try edit(&rows)
            var document = rows.yaml()
            var compiled = try Self.compile(document)
            // Stored as the parser reads it back (`a==b` is `a == b`), so the document is a fixed point.
            let settled = PolicyRows(document: compiled.document)
            if settled != rows {
                rows = settled
                document = rows.yaml()
                compiled = try Self.compile(document)
            }
            guard rows != before else { throw PolicyEditError.unchanged }
            let stored: PolicyBundle
            do {
                stored = try await store.insertPolicy(document: document, author: author, comment: comment, at: versions.clock(), base: base)
            } catch ConsoleStoreError.policyBaseStale(let base, let latest) {
                throw PolicyEditError.staleBase(base: base, latest: latest)
            }
            details["policyVersion"] = compiled.version
            details["sha256"] = compiled.documentHash
            details["previous"] = current.map { "v\($0.version)" } ?? ""
            details["diff"] = PolicyDiff.unified(from: current?.document ?? "", to: document, fromName: "v\(latest)", toName: "v\(stored.version)")
            if !notes.isEmpty { details["notes"] = notes.joined(separator: "\n") }
            try audit.record("policy.change", actor: author, target: "v\(stored.version)", details: details)
            versions.policies.publish(stored.version)
            versions.changed()
            return PolicyEditResult(bundle: stored, rows: rows, warnings: compiled.warnings.map(\.description), notes: notes)
        } catch let refusal as PolicyEditError {
            try audit.record("policy.change", actor: author, decision: .deny, reason: refusal.description, details: details)
            throw refusal
        }
    }

    /// The devices' own compiler, on the whole candidate document.
    private static func compile(_ document: String) throws(PolicyEditError) -> Policy {
        do throws(PolicyError) {
            return try Policy(yaml: document, file: file)
        } catch {
            throw .refused(error, document: document)
        }
    }

    private func document(version: Int) async throws -> String {
        guard version != 0 else { return "" }
        guard let bundle = try await store.policy(version: version) else { throw PolicyEditError.noSuchVersion(version) }
        return bundle.document
    }

    /// A stored version's rows; before the first version, none (and Vigil's defaults).
    private static func rows(of bundle: PolicyBundle?) throws -> PolicyRows {
        guard let bundle else { return PolicyRows() }
        do throws(PolicyError) {
            return try PolicyRows(yaml: bundle.document, file: "console v\(bundle.version)")
        } catch {
            throw PolicyEditError.unreadable(version: bundle.version, error)
        }
    }

    /// Where Claude Code keeps each layer's settings; only managed paths change what a rule means.
    static func usualPath(_ layer: ClaudeSettingsLayer.Source) -> String {
        switch layer {
        case .managed: "/etc/claude-code/managed-settings.json"
        case .user: "~/.claude/settings.json"
        case .project: ".claude/settings.json"
        case .local: ".claude/settings.local.json"
        }
    }
}

/// Why the editor refused a change; nothing was stored.
public enum PolicyEditError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The edited policy does not compile: the compiler's error names the rule, its line and column
    /// in `document` (the candidate, never stored), and the reason.
    case refused(PolicyError, document: String)
    /// The edit was made against `base`, but the newest version is `latest`: reload and edit again.
    case staleBase(base: Int, latest: Int)
    case noSuchRow(String)
    case rowExists(String)
    case noSuchPosition(Int, rows: Int)
    case noSuchVersion(Int)
    /// The edit leaves the rows as they are.
    case unchanged
    /// The pasted settings.json is not valid: located in it.
    case settingsInvalid(PolicyError)
    /// Imported ids taken by other rules (with ``ImportClash/refuse``).
    case importClash([String])
    /// A stored version the parser no longer reads (stored by an older console).
    case unreadable(version: Int, PolicyError)

    public var description: String {
        switch self {
        case .refused(let error, _): error.description
        case .staleBase(let base, let latest): "the edit was made against v\(base), but the policy is at v\(latest) now: reload it and edit again"
        case .noSuchRow(let id): "the policy has no rule '\(id)'"
        case .rowExists(let id): "the policy has a rule '\(id)' already"
        case .noSuchPosition(let at, let rows): "position \(at) is outside the rules (0...\(rows))"
        case .noSuchVersion(let version): "there is no policy version \(version)"
        case .unchanged: "the edit changes nothing"
        case .settingsInvalid(let error): "the settings can't be imported: \(error.description)"
        case .importClash(let ids): RowIDClash(ids: ids).description
        case .unreadable(let version, let error): "policy v\(version) can't be read for editing: \(error.description)"
        }
    }
}

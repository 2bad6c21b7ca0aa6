// SPDX-License-Identifier: Apache-2.0
// `vigil policy import`: Claude Code settings layers → one Vigil policy meaning the same thing.
// Claude Code merges permission lists across every layer and lets deny > ask > allow decide, so the
// union of the lists, in Vigil's deny > ask > allow, is equivalent (reference §2.2).
import Yams

/// One Claude Code settings file.
public struct ClaudeSettingsLayer: Sendable, Hashable {
    /// Claude Code's settings sources, highest precedence first.
    public enum Source: String, Sendable, Hashable, Codable, CaseIterable {
        case managed
        case local
        case project
        case user
    }

    public var source: Source
    /// The file's path: names errors, and anchors single-slash `/path` rules.
    public var path: String
    public var text: String

    public init(source: Source, path: String, text: String) {
        self.source = source
        self.path = path
        self.text = text
    }

    /// Guesses the layer from where the file lives (`/etc/claude-code/…` is managed, `settings.local.json`
    /// is local, `<home>/.claude/settings.json` is user, any other `.claude/settings.json` is project).
    public static func source(forPath path: String, home: String) -> Source {
        if path.hasPrefix("/etc/claude-code/") || path.contains("managed-settings") { return .managed }
        if path.hasSuffix("settings.local.json") { return .local }
        let normalizedHome = home.hasSuffix("/") ? String(home.dropLast()) : home
        if path == normalizedHome + "/.claude/settings.json" { return .user }
        return .project
    }
}

public enum ClaudeSettingsImport {
    /// The merged permission rules of all layers as a Vigil policy document in YAML.
    /// - Throws: `PolicyError` located in the settings file at fault.
    public static func yaml(from layers: [ClaudeSettingsLayer], version: String = "imported") throws(PolicyError) -> String {
        let imported = try rows(from: layers)
        let comments = ["Imported from Claude Code settings by `vigil policy import`."] + imported.notes.map { "  " + $0 }
        return PolicyRows(label: version, defaults: PolicyDefaults(tool: .ask), rows: imported.rows).yaml(comments: comments)
    }

    /// The merged permission rules of all layers as rows (ids `<layer>-<action>-<n>`), and what was
    /// read (each layer's path, a managed `allowManagedPermissionRulesOnly`). Claude Code's default for
    /// a call no rule names is ask.
    /// - Throws: `PolicyError` located in the settings file at fault.
    public static func rows(from layers: [ClaudeSettingsLayer]) throws(PolicyError) -> (rows: [PolicyRow], notes: [String]) {
        var rows: [PolicyRow] = []
        var notes: [String] = []
        var managedOnly = false
        for layer in layers where layer.source == .managed {
            if try permissions(layer).managedOnly { managedOnly = true }
        }
        if managedOnly { notes.append("managed allowManagedPermissionRulesOnly: rules from other layers are dropped, as in Claude Code") }
        let ordered = layers.sorted {
            ClaudeSettingsLayer.Source.allCases.firstIndex(of: $0.source)! < ClaudeSettingsLayer.Source.allCases.firstIndex(of: $1.source)!
        }
        var counters: [String: Int] = [:]
        for layer in ordered where !managedOnly || layer.source == .managed {
            let lists = try permissions(layer)
            for (action, patterns) in [(PolicyAction.deny, lists.deny), (.ask, lists.ask), (.allow, lists.allow)] {
                for (pattern, node) in patterns {
                    let rewritten = anchor(pattern, layer: layer)
                    do {
                        _ = try RulePattern(parsing: rewritten, action: action)
                    } catch {
                        let at = node.mark
                        throw PolicyError(
                            file: layer.path, line: at?.line ?? 0, column: at?.column ?? 0,
                            reason: "Claude Code rule '\(pattern)' can't be imported: \(error.reason)")
                    }
                    let key = "\(layer.source.rawValue)-\(action.rawValue)"
                    counters[key, default: 0] += 1
                    rows.append(
                        PolicyRow(
                            id: "\(key)-\(counters[key]!)", match: rewritten, action: action,
                            reason: "Claude Code \(layer.source.rawValue) settings \(action.rawValue) rule \(pattern)"))
                }
            }
            notes.append("\(layer.source.rawValue): \(layer.path)")
        }
        return (rows, notes)
    }

    /// `/path` in Claude Code is relative to the settings source: the project root for project and local
    /// settings (Vigil's `/path` too), `~/.claude` for user settings, the managed directory for managed ones.
    static func anchor(_ pattern: String, layer: ClaudeSettingsLayer) -> String {
        guard let open = pattern.firstIndex(of: "(") else { return pattern }
        let tool = pattern[..<open]
        let inner = pattern[pattern.index(after: open)...]
        guard ["Read", "Edit", "Write"].contains(tool), inner.hasPrefix("/"), !inner.hasPrefix("//") else { return pattern }
        switch layer.source {
        case .project, .local: return pattern
        case .user: return "\(tool)(~/.claude\(inner)"
        case .managed:
            let directory = layer.path.split(separator: "/").dropLast().joined(separator: "/")
            return "\(tool)(//\(directory)\(inner)"
        }
    }

    private struct Lists {
        var allow: [(String, Node)] = []
        var ask: [(String, Node)] = []
        var deny: [(String, Node)] = []
        var managedOnly = false
    }

    /// Reads `permissions.{allow,ask,deny}` with positions (JSON is YAML, so Yams gives line:column).
    private static func permissions(_ layer: ClaudeSettingsLayer) throws(PolicyError) -> Lists {
        let reader = YAMLReader(file: layer.path)
        let root: Node?
        do {
            root = try Yams.compose(yaml: layer.text)
        } catch let error as YamlError {
            throw reader.yamlError(error)
        } catch {
            throw reader.error(at: .unknown, "cannot read settings: \(error)")
        }
        var lists = Lists()
        guard let root else { return lists }
        guard case .mapping(let top) = root else { throw reader.error(root, "settings must be a JSON object") }
        if let flag = top["allowManagedPermissionRulesOnly"] { lists.managedOnly = flag.bool ?? false }
        guard let permissions = top["permissions"] else { return lists }
        guard case .mapping(let map) = permissions else { throw reader.error(permissions, "'permissions' must be an object") }
        if let flag = map["allowManagedPermissionRulesOnly"] { lists.managedOnly = lists.managedOnly || (flag.bool ?? false) }
        for key in ["allow", "ask", "deny"] {
            guard let list = map[key] else { continue }
            guard case .sequence(let items) = list else { throw reader.error(list, "permissions.\(key) must be a list") }
            var values: [(String, Node)] = []
            for item in items { values.append((try reader.string(item, what: "a permission rule"), item)) }
            switch key {
            case "allow": lists.allow = values
            case "ask": lists.ask = values
            default: lists.deny = values
            }
        }
        return lists
    }
}
